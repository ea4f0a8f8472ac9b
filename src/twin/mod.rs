//! The digital twin: live data from the factory on the showroom's screens and machines.
//!
//! Feeds (an HTTP endpoint polled, a file another program rewrites, or pushes to the
//! control API) each hold the last good JSON document. A feed that dies or sends garbage
//! keeps its last good values and is marked stale, so a screen never goes blank or shows
//! nonsense on air; it says its numbers are old. The Bevy side only reads snapshots.

mod plugin;

pub use plugin::{TwinNow, TwinPlugin};

use crate::scene::{FeedSource, FeedSpec, LoadedScene};
use crate::watch::FileWatch;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// One feed's state.
#[derive(Debug, Clone, Default)]
struct Feed {
    doc: Option<Value>,
    last_good: Option<Instant>,
    /// The last attempt failed (garbage, unreachable): stale until the next good one.
    failing: Option<String>,
    stale_after: Duration,
}

/// A feed as the screens see it.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct FeedNow {
    pub doc: Option<Value>,
    pub stale: bool,
    /// Seconds since the last good update.
    pub age: Option<f64>,
    pub error: Option<String>,
}

#[derive(Clone, Default)]
pub struct TwinFeeds {
    feeds: Arc<Mutex<HashMap<String, Feed>>>,
    /// The scene's feeds as taken last, and the names of those fed by the API.
    specs: Arc<Mutex<(Vec<FeedSpec>, Vec<String>)>>,
    /// Counts the sets of feeds taken: a poller stops once it is not of the last one.
    generation: Arc<AtomicU64>,
}

impl TwinFeeds {
    /// Starts polling the scene's HTTP and file feeds on one thread of its own.
    pub fn start(scene: &LoadedScene) -> Self {
        let twin = Self::default();
        twin.follow(scene);
        twin
    }

    /// Takes the feeds of `scene` (a scene edited while the show runs), if they are not
    /// the ones taken, and says whether they were not: a feed it names as before keeps its
    /// values; the others start empty, and the poller of the old set stops for one of the
    /// new set.
    pub fn follow(&self, scene: &LoadedScene) -> bool {
        let specs = &scene.description.feeds;
        let mut taken = self.specs.lock().unwrap_or_else(|e| e.into_inner());
        if &taken.0 == specs {
            return false;
        }
        let generation = {
            let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
            let mut before = std::mem::take(&mut *feeds);
            for f in specs {
                let unchanged = taken.0.contains(f);
                let feed = (before.remove(&f.name))
                    .filter(|_| unchanged)
                    .unwrap_or_else(|| Feed {
                        stale_after: Duration::from_secs_f32(f.stale_after),
                        ..Feed::default()
                    });
                feeds.insert(f.name.clone(), feed);
            }
            // Under the feeds' lock: the old poller, which checks it under the same lock,
            // records nothing into the new set.
            self.generation.fetch_add(1, Ordering::SeqCst) + 1
        };
        let api = specs.iter().filter(|f| f.source == FeedSource::Api);
        *taken = (specs.clone(), api.map(|f| f.name.clone()).collect());
        let polled: Vec<(String, Poll)> = specs
            .iter()
            .filter_map(|f| match &f.source {
                FeedSource::Http { url, every_seconds } => Some((
                    f.name.clone(),
                    Poll::Http {
                        url: url.clone(),
                        every: Duration::from_secs_f32(*every_seconds),
                    },
                )),
                FeedSource::File { path } => {
                    Some((f.name.clone(), Poll::file(scene.asset_path(path))))
                }
                FeedSource::Api => None,
            })
            .collect();
        if !polled.is_empty() {
            let shared = Arc::downgrade(&self.feeds);
            let current = Arc::clone(&self.generation);
            let _ = std::thread::Builder::new()
                .name("twin feeds".into())
                .spawn(move || poll_forever(polled, shared, (current, generation)));
        }
        true
    }

    pub fn api_feeds(&self) -> Vec<String> {
        let taken = self.specs.lock().unwrap_or_else(|e| e.into_inner());
        taken.1.clone()
    }

    /// A document pushed to the API; `Err` names why it was refused.
    pub fn push(&self, feed: &str, doc: Value) -> Result<(), String> {
        let api = self.api_feeds();
        if !api.iter().any(|f| f == feed) {
            return Err(format!(
                "no API feed `{feed}` in the scene (it has: {})",
                api.join(", ")
            ));
        }
        if !doc.is_object() {
            return Err("the body must be a JSON object".into());
        }
        self.update(feed, Ok(doc));
        Ok(())
    }

    fn update(&self, feed: &str, result: Result<Value, String>) {
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = feeds.get_mut(feed) {
            record(feed, f, result);
        }
    }

    /// What every feed holds now, and whether it is stale.
    pub fn snapshot(&self) -> HashMap<String, FeedNow> {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        feeds
            .iter()
            .map(|(name, f)| {
                let age = f.last_good.map(|t| t.elapsed());
                let stale = f.failing.is_some() || age.is_none_or(|a| a > f.stale_after);
                (
                    name.clone(),
                    FeedNow {
                        doc: f.doc.clone(),
                        stale,
                        age: age.map(|a| a.as_secs_f64()),
                        error: f.failing.clone(),
                    },
                )
            })
            .collect()
    }
}

fn record(name: &str, feed: &mut Feed, result: Result<Value, String>) {
    match result {
        Ok(doc) => {
            if feed.failing.take().is_some() {
                info!("twin feed `{name}`: back");
            }
            feed.doc = Some(doc);
            feed.last_good = Some(Instant::now());
        }
        Err(e) => {
            if feed.failing.as_deref() != Some(e.as_str()) {
                warn!("twin feed `{name}`: {e}; keeping its last good values, marked stale");
            }
            feed.failing = Some(e);
        }
    }
}

enum Poll {
    Http {
        url: String,
        every: Duration,
    },
    /// A file, read at start and again each time it settles after a change.
    File {
        path: PathBuf,
        watch: Option<FileWatch>,
        read: bool,
    },
}

impl Poll {
    fn file(path: PathBuf) -> Self {
        let watch = FileWatch::or_warn(path.clone(), "the feed is read once");
        Poll::File {
            path,
            watch,
            read: false,
        }
    }
}

/// Polls `polled` into `feeds` until the show is over or another set of feeds is taken
/// (the generation counted in `.0` is no longer `.1`).
fn poll_forever(
    mut polled: Vec<(String, Poll)>,
    feeds: std::sync::Weak<Mutex<HashMap<String, Feed>>>,
    (current, mine): (Arc<AtomicU64>, u64),
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(3)))
        .build()
        .into();
    let mut due: Vec<Instant> = vec![Instant::now(); polled.len()];
    loop {
        for (i, (name, poll)) in polled.iter_mut().enumerate() {
            if Instant::now() < due[i] {
                continue;
            }
            let result = match poll {
                Poll::Http { url, every } => {
                    due[i] = Instant::now() + *every;
                    fetch(&agent, url)
                }
                Poll::File { path, watch, read } => {
                    let changed = watch.as_mut().is_some_and(|w| w.changed());
                    if *read && !changed {
                        continue;
                    }
                    *read = true;
                    read_feed_file(path).and_then(|text| parse(&text))
                }
            };
            let Some(feeds) = feeds.upgrade() else {
                return; // the show is over
            };
            let mut feeds = feeds.lock().unwrap_or_else(|e| e.into_inner());
            if current.load(Ordering::SeqCst) != mine {
                return; // another set of feeds was taken
            }
            if let Some(f) = feeds.get_mut(name.as_str()) {
                record(name, f, result);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
        if feeds.strong_count() == 0 || current.load(Ordering::SeqCst) != mine {
            return;
        }
    }
}

/// The most a feed's document may be, from a server or a file: a sensor feed is a few
/// kilobytes, and a file that grows without bound (a log named as a feed by mistake) must
/// not be read whole into memory each time it changes.
const MAX_FEED_BYTES: u64 = 1 << 20;

/// A feed file's text, refused past [`MAX_FEED_BYTES`] (read no further than that).
fn read_feed_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| at(&e))?;
    let mut bytes = Vec::new();
    (file.take(MAX_FEED_BYTES + 1).read_to_end(&mut bytes)).map_err(|e| at(&e))?;
    if bytes.len() as u64 > MAX_FEED_BYTES {
        return Err(at(&"over the 1 MiB a feed may be"));
    }
    String::from_utf8(bytes).map_err(|_| at(&"not UTF-8 text"))
}

fn fetch(agent: &ureq::Agent, url: &str) -> Result<Value, String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_FEED_BYTES)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    parse(&text)
}

fn parse(text: &str) -> Result<Value, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if doc.is_object() {
        Ok(doc)
    } else {
        Err("not a JSON object".into())
    }
}

/// The value at `feed.a.b.0.c` in a snapshot.
pub fn lookup<'a>(feeds: &'a HashMap<String, FeedNow>, path: &str) -> Option<(&'a Value, bool)> {
    let mut parts = path.split('.');
    let feed = feeds.get(parts.next()?)?;
    let mut value = feed.doc.as_ref()?;
    for part in parts {
        value = match value {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some((value, feed.stale))
}

/// Longest text a screen shows (a feed is untrusted: a megabyte string would be laid out
/// every time it changes).
pub const MAX_SCREEN_CHARS: usize = 64;

/// Largest magnitude a number from a feed drives anything with: a feed's `1e300` would be
/// infinity as `f32`, and a spin by infinity turns a prop's rotation to NaN for good.
pub const MAX_FEED_NUMBER: f64 = 1e6;

/// A feed value as a number for motion: finite and within ±[`MAX_FEED_NUMBER`].
pub fn number(value: &Value) -> Option<f32> {
    value
        .as_f64()
        .filter(|f| f.is_finite())
        .map(|f| f.clamp(-MAX_FEED_NUMBER, MAX_FEED_NUMBER) as f32)
}

/// A value as text on a screen: strings bare, whole numbers without `.0`, at most
/// [`MAX_SCREEN_CHARS`] characters.
pub fn display(value: &Value) -> String {
    let text = plain(value);
    if text.chars().count() <= MAX_SCREEN_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_SCREEN_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            Some(f) => format!("{:.2}", f),
            None => n.to_string(),
        },
        Value::Bool(b) => b.to_string(),
        Value::Null => "–".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scene_of_feeds(feeds: &str) -> LoadedScene {
        let text = format!(
            "(name: \"t\", cameras: [(name: \"c\", position: (0.0, 0.0, 1.0), \
             look_at: (0.0, 0.0, 0.0))], feeds: [{feeds}])"
        );
        LoadedScene::parse(Path::new("/tmp/t.ron"), &text).unwrap()
    }

    #[test]
    fn an_edited_list_of_feeds_keeps_the_values_of_those_it_keeps() {
        let twin = TwinFeeds::start(&scene_of_feeds("(name: \"a\", source: Api)"));
        twin.push("a", json!({"n": 1})).unwrap();
        let edited = "(name: \"a\", source: Api), (name: \"b\", source: Api)";
        twin.follow(&scene_of_feeds(edited));
        let now = twin.snapshot();
        assert_eq!(now["a"].doc, Some(json!({"n": 1})));
        assert_eq!(now["b"].doc, None);
        assert_eq!(twin.api_feeds(), ["a", "b"]);
        // `a` now stale after a second: another feed under the same name starts empty.
        let changed = "(name: \"a\", source: Api, stale_after: 1.0)";
        twin.follow(&scene_of_feeds(changed));
        assert_eq!(twin.snapshot()["a"].doc, None);
        assert!(twin.push("b", json!({})).is_err());
    }

    #[test]
    fn feed_values_are_bounded_before_they_drive_anything() {
        assert_eq!(number(&json!(1e300)), Some(1e6));
        assert_eq!(number(&json!(-2.5)), Some(-2.5));
        assert_eq!(number(&json!("fast")), None);
        let long = display(&json!("x".repeat(10_000)));
        assert_eq!(long.chars().count(), MAX_SCREEN_CHARS);
        assert!(long.ends_with('…'));
        assert_eq!(display(&json!(21.5)), "21.50");
    }

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let mut feeds = HashMap::new();
        feeds.insert(
            "f".to_string(),
            FeedNow {
                doc: Some(json!({"a": {"b": [1, {"c": "run"}]}, "n": 12.0, "x": 1.5})),
                stale: true,
                ..Default::default()
            },
        );
        assert_eq!(lookup(&feeds, "f.a.b.1.c"), Some((&json!("run"), true)));
        assert_eq!(lookup(&feeds, "f.a.b.7"), None);
        assert_eq!(lookup(&feeds, "g.a"), None);
        assert_eq!(display(&json!(12.0)), "12");
        assert_eq!(display(&json!(1.5)), "1.50");
        assert_eq!(display(&json!("x")), "x");
    }

    #[test]
    fn a_feed_file_past_a_mebibyte_is_refused_unread() {
        let dir = std::env::temp_dir().join(format!("twincast-feed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("plc.json");
        std::fs::write(&file, r#"{"rpm": 1200}"#).unwrap();
        assert_eq!(
            read_feed_file(&file).and_then(|t| parse(&t)),
            Ok(json!({"rpm": 1200}))
        );
        std::fs::write(&file, vec![b' '; (MAX_FEED_BYTES + 1) as usize]).unwrap();
        let err = read_feed_file(&file).unwrap_err();
        assert!(err.contains("plc.json") && err.contains("1 MiB"), "{err}");
        std::fs::write(&file, [0xff, 0xfe]).unwrap();
        assert!(read_feed_file(&file).unwrap_err().contains("UTF-8"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_keeps_the_last_good_values_and_marks_them_stale() {
        let mut feed = Feed {
            stale_after: Duration::from_secs(60),
            ..Default::default()
        };
        record("f", &mut feed, Ok(json!({"n": 1})));
        assert!(feed.failing.is_none());
        record("f", &mut feed, parse("{nope"));
        assert_eq!(feed.doc, Some(json!({"n": 1})));
        assert!(feed.failing.is_some());
        record("f", &mut feed, parse("[1, 2]"));
        assert!(feed.failing.as_deref().unwrap().contains("object"));
        record("f", &mut feed, parse(r#"{"n": 2}"#));
        assert_eq!(feed.doc, Some(json!({"n": 2})));
        assert!(feed.failing.is_none());
    }
}
