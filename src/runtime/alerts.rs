//! Webhook alerts: someone is told when an output drops, comes back, keeps failing, when
//! the stream stalls, when the show starts again after a crash, and how a run ended. The
//! outputs and the encoder are watched from a thread of their own (a stuck render loop must
//! not silence the alerts about it), and calls go out on another with a timeout, so a dead
//! webhook never touches the show.

use crate::encode::EncodeStats;
use crate::output::{OutputSet, OutputState, OutputStats, redact};
use crossbeam_channel::Sender;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Sends events to the webhook (and the log).
#[derive(Clone)]
struct Notifier {
    tx: Option<Sender<serde_json::Value>>,
    show: String,
    /// The console's feed, where alerts wait to be acknowledged (with the API).
    feed: Option<crate::api::Feed>,
}

/// Raises alerts from other parts of the show (the language model failing), through the
/// same webhook and console feed.
#[derive(Clone)]
pub struct AlertSender(Notifier);

impl AlertSender {
    pub fn raise(&self, event: &str, detail: &str) {
        self.0.send(event, None, detail);
    }
}

/// The alerts of a running show; [`Alerts::ended`] says how it ended.
pub struct Alerts {
    notifier: Notifier,
    stop: Arc<AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
    /// Present while running; left behind by a run that did not stop cleanly.
    marker: PathBuf,
}

/// What the watcher thread compares, four times a second.
struct Watch {
    notifier: Notifier,
    limits: AlertLimits,
    outputs: Vec<(String, Arc<OutputStats>)>,
    /// Per output: last state seen, since when it has been down, when we last said so.
    seen: Vec<(OutputState, Option<Instant>, Option<Instant>)>,
    encoded: Arc<EncodeStats>,
    /// Frames encoded at the last look, when that count last moved, whether we said stalled.
    frames: (u64, Instant, bool),
}

/// When the watcher speaks up.
#[derive(Debug, Clone, Copy)]
pub struct AlertLimits {
    /// An output down this long is `failing` (and said again this often).
    pub failing_after: Duration,
    /// No new encoded frame for this long is `stream_stalled`: the same figure as
    /// `/health`'s, so the alert and the 503 tell one story.
    pub stalled_after: Duration,
}

impl Alerts {
    pub fn start(
        show: &str,
        show_file: &std::path::Path,
        webhook: Option<&str>,
        limits: AlertLimits,
        outputs: &OutputSet,
        encoded: Arc<EncodeStats>,
        feed: Option<crate::api::Feed>,
    ) -> Self {
        let tx = webhook.map(|url| {
            let (tx, rx) = crossbeam_channel::bounded::<serde_json::Value>(64);
            let url = url.to_string();
            let _ = std::thread::Builder::new()
                .name("alerts".into())
                .spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .timeout_global(Some(Duration::from_secs(5)))
                        .build()
                        .into();
                    for event in rx.iter() {
                        let sent = agent
                            .post(&url)
                            .header("content-type", "application/json")
                            .send(event.to_string());
                        if let Err(e) = sent {
                            warn!("alert webhook: {e}");
                        }
                    }
                });
            tx
        });
        let marker = marker_path(show, show_file);
        let crashed = marker.exists();
        let _ = std::fs::write(&marker, std::process::id().to_string());
        let notifier = Notifier {
            tx,
            show: show.to_string(),
            feed,
        };
        notifier.send(
            if crashed { "restarted" } else { "started" },
            None,
            if crashed {
                "the previous run did not stop cleanly"
            } else {
                "the show started"
            },
        );
        let mut watch = Watch {
            notifier: notifier.clone(),
            limits,
            outputs: outputs
                .outputs
                .iter()
                .map(|o| (redact(&o.target.url), o.stats.clone()))
                .collect(),
            seen: Vec::new(),
            encoded,
            frames: (0, Instant::now(), false),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let watcher = std::thread::Builder::new()
            .name("alerts watch".into())
            .spawn(move || {
                while !stopping.load(Ordering::Relaxed) {
                    watch.outputs();
                    watch.stream();
                    std::thread::sleep(Duration::from_millis(250));
                }
            })
            .ok();
        Self {
            notifier,
            stop,
            watcher,
            marker,
        }
    }

    pub fn sender(&self) -> AlertSender {
        AlertSender(self.notifier.clone())
    }

    /// The run is over: `stopped`, or `failed` with the reason. Either way the next start
    /// is not a restart after a crash.
    pub fn ended(mut self, failure: Option<String>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
        match failure {
            Some(reason) => self.notifier.send("failed", None, &reason),
            None => self.notifier.send("stopped", None, "the show stopped"),
        }
        let _ = std::fs::remove_file(&self.marker);
        // Give the sender a moment to deliver the last events.
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Notifier {
    fn send(&self, event: &str, output: Option<&str>, detail: &str) {
        info!(
            "alert: {event}{} ({detail})",
            output.map(|o| format!(" {o}")).unwrap_or_default()
        );
        if let Some(feed) = &self.feed
            && !matches!(event, "started" | "stopped")
        {
            feed.alert(event, output, detail);
        }
        let Some(tx) = &self.tx else {
            return;
        };
        let at = crate::api::unix_now();
        let _ = tx.try_send(json!({
            "event": event,
            "show": self.show,
            "output": output,
            "detail": detail,
            "at": at,
        }));
    }
}

/// The file that says a run of this show is under way: named by the show and its file, so
/// two shows that happen to share a name on one machine do not take each other's run for
/// their own crash. FNV-1a of the file's full path: stable across builds and restarts.
fn marker_path(show: &str, show_file: &std::path::Path) -> PathBuf {
    let full = std::fs::canonicalize(show_file).unwrap_or_else(|_| show_file.to_path_buf());
    let hash = crate::voice::fnv1a(full.to_string_lossy().bytes());
    let name: String = show
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    std::env::temp_dir().join(format!("twincast-{name}-{hash:016x}.running"))
}

impl Watch {
    /// Compares output states with the last look (only atomics).
    fn outputs(&mut self) {
        self.seen
            .resize(self.outputs.len(), (OutputState::Live, None, None));
        let mut events: Vec<(&str, String, String)> = Vec::new();
        for ((url, stats), seen) in self.outputs.iter().zip(self.seen.iter_mut()) {
            let state = stats.state();
            let url = url.clone();
            let down = matches!(state, OutputState::Reconnecting | OutputState::Connecting);
            match (seen.0, state) {
                (OutputState::Live, OutputState::Reconnecting) => events.push((
                    "output_down",
                    url.clone(),
                    "connection lost; reconnecting".into(),
                )),
                (OutputState::Reconnecting | OutputState::Connecting, OutputState::Live)
                    if seen.1.is_some() =>
                {
                    let after = seen.1.map_or(0.0, |t| t.elapsed().as_secs_f64());
                    events.push((
                        "output_reconnected",
                        url.clone(),
                        format!("back after {after:.1} s"),
                    ))
                }
                (_, OutputState::Failed) if seen.0 != OutputState::Failed => {
                    events.push(("output_failed", url.clone(), "the output stopped".into()))
                }
                _ => {}
            }
            if down {
                let since = *seen.1.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.limits.failing_after
                    && seen
                        .2
                        .is_none_or(|t| t.elapsed() >= self.limits.failing_after)
                {
                    seen.2 = Some(Instant::now());
                    events.push((
                        "output_failing",
                        url.clone(),
                        format!("down for {:.0} s", since.elapsed().as_secs_f64()),
                    ));
                }
            } else {
                seen.1 = None;
                seen.2 = None;
            }
            seen.0 = state;
        }
        for (event, url, detail) in events {
            self.notifier.send(event, Some(&url), &detail);
        }
    }

    /// Says when no new frame has been encoded for `stalled_after` (a stuck render loop, a
    /// blocked encoder), and when frames flow again.
    fn stream(&mut self) {
        let frames = self.encoded.frames.load(Ordering::Relaxed);
        let (seen, moved_at, said) = &mut self.frames;
        if frames != *seen {
            *seen = frames;
            *moved_at = Instant::now();
            if std::mem::take(said) {
                self.notifier
                    .send("stream_resumed", None, "frames are encoded again");
            }
        } else if *seen > 0 && !*said && moved_at.elapsed() >= self.limits.stalled_after {
            *said = true;
            let detail = format!(
                "no frame encoded for {:.0} s",
                moved_at.elapsed().as_secs_f64()
            );
            self.notifier.send("stream_stalled", None, &detail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn shows_of_one_name_in_different_files_have_their_own_marker() {
        let a = marker_path("shop", Path::new("/srv/a/shop.toml"));
        let b = marker_path("shop", Path::new("/srv/b/shop.toml"));
        assert_ne!(a, b);
        assert_eq!(a, marker_path("shop", Path::new("/srv/a/shop.toml")));
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("twincast-shop-") && name.ends_with(".running"),
            "{name}"
        );
    }
}
