//! Webhook alerts: someone is told when an output drops, comes back, keeps failing, when
//! the stream stalls or its picture stutters (rendering falls behind and frames repeat),
//! when the show starts again after a crash, and how a run ended. The
//! outputs and the encoder are watched from a thread of their own (a stuck render loop must
//! not silence the alerts about it), and calls go out on another with a timeout, so a dead
//! webhook never touches the show.

use crate::encode::EncodeStats;
use crate::output::{OutputState, OutputStats, ProgramOutputs, every_output, redact};
use crossbeam_channel::{RecvTimeoutError, Sender};
use serde_json::json;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Sends events to the webhook (and the log).
#[derive(Clone)]
struct Notifier {
    webhook: Option<Webhook>,
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

/// The webhook's queue and the thread that posts it. `pending` counts the events queued or
/// in flight, so the end of a run waits for its last events as long as they take, and no
/// longer (a run without a webhook does not wait at all).
#[derive(Clone)]
struct Webhook {
    tx: Sender<serde_json::Value>,
    pending: Arc<AtomicUsize>,
}

/// How long the end of a run waits for its last events to reach the webhook.
const LAST_EVENTS_WITHIN: Duration = Duration::from_secs(2);

/// How often the watcher looks.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// The alerts of a running show; [`Alerts::ended`] says how it ended.
pub struct Alerts {
    notifier: Notifier,
    /// Dropped to stop the watcher: it wakes at once, not at its next look.
    stop: Option<Sender<()>>,
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
    /// Repeated frames over the last window; `None` when that alert is off.
    choppy: Option<Choppiness>,
}

/// When the watcher speaks up.
#[derive(Debug, Clone, Copy)]
pub struct AlertLimits {
    /// An output down this long is `failing` (and said again this often).
    pub failing_after: Duration,
    /// No new encoded frame for this long is `stream_stalled`: the same figure as
    /// `/health`'s, so the alert and the 503 tell one story.
    pub stalled_after: Duration,
    /// When repeated frames make the picture choppy; `None`: never said.
    pub choppy: Option<ChoppyLimit>,
}

/// The picture is choppy when, over `window`, at least `share` of the frames encoded
/// repeated the picture before them: the renderer did not keep up (a CPU renderer, a
/// picture too large for the machine). Viewers see a stutter, or at worst a slideshow
/// with smooth sound, which platforms may take for a recorded loop; the stream itself is
/// healthy, so no other alert or `/health` says so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChoppyLimit {
    pub window: Duration,
    pub share: f64,
}

impl Alerts {
    pub fn start(
        show: &str,
        show_file: &std::path::Path,
        webhook: Option<&str>,
        limits: AlertLimits,
        outputs: &[ProgramOutputs],
        encoded: Arc<EncodeStats>,
        feed: Option<crate::api::Feed>,
    ) -> Self {
        let marker = marker_path(show, show_file);
        let crashed = marker.exists();
        let _ = std::fs::write(&marker, std::process::id().to_string());
        let notifier = Notifier {
            webhook: webhook.map(Webhook::start),
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
            // Every program's: a vertical program's platform going down is as much news.
            outputs: every_output(outputs)
                .map(|(_, o)| (redact(&o.target.url), o.stats.clone()))
                .collect(),
            seen: Vec::new(),
            encoded,
            frames: (0, Instant::now(), false),
            choppy: limits.choppy.map(Choppiness::new),
        };
        let (stop, stopping) = crossbeam_channel::bounded::<()>(0);
        let watcher = std::thread::Builder::new()
            .name("alerts watch".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopping.recv_timeout(WATCH_EVERY) {
                    watch.outputs();
                    watch.stream();
                    watch.picture();
                }
            })
            .ok();
        Self {
            notifier,
            stop: Some(stop),
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
        drop(self.stop.take());
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
        match failure {
            Some(reason) => self.notifier.send("failed", None, &reason),
            None => self.notifier.send("stopped", None, "the show stopped"),
        }
        let _ = std::fs::remove_file(&self.marker);
        if let Some(webhook) = &self.notifier.webhook {
            webhook.drain(LAST_EVENTS_WITHIN);
        }
    }
}

impl Webhook {
    /// Starts the thread that posts events to `url`, each with a 5 s timeout.
    fn start(url: &str) -> Self {
        let (tx, rx) = crossbeam_channel::bounded::<serde_json::Value>(64);
        let pending = Arc::new(AtomicUsize::new(0));
        let url = url.to_string();
        let posted = pending.clone();
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
                    posted.fetch_sub(1, Ordering::AcqRel);
                }
            });
        Self { tx, pending }
    }

    /// Queues an event; dropped when 64 are already waiting (a dead webhook).
    fn post(&self, event: serde_json::Value) {
        self.pending.fetch_add(1, Ordering::AcqRel);
        if self.tx.try_send(event).is_err() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Waits until every queued event has been posted (or failed), at most `within`.
    fn drain(&self, within: Duration) {
        let until = Instant::now() + within;
        while self.pending.load(Ordering::Acquire) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
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
        let Some(webhook) = &self.webhook else {
            return;
        };
        let at = crate::api::unix_now();
        webhook.post(json!({
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

    /// Says when the picture turns choppy, and when it is smooth again.
    fn picture(&mut self) {
        let Some(choppy) = self.choppy.as_mut() else {
            return;
        };
        let frames = self.encoded.frames.load(Ordering::Relaxed);
        let repeated = self.encoded.repeated.load(Ordering::Relaxed);
        if let Some((event, detail)) = choppy.observe(Instant::now(), frames, repeated) {
            self.notifier.send(event, None, &detail);
        }
    }
}

/// Frames and repeats counted over a sliding window, and whether the picture was said to be
/// choppy: it is smooth again only once a window has under a quarter of the limit's
/// share, so a picture near the limit does not raise an alert a minute.
struct Choppiness {
    limit: ChoppyLimit,
    /// (when, frames, repeated), oldest first; the first is the window's start.
    looks: VecDeque<(Instant, u64, u64)>,
    said: bool,
}

impl Choppiness {
    fn new(limit: ChoppyLimit) -> Self {
        Self {
            limit,
            looks: VecDeque::new(),
            said: false,
        }
    }

    /// Takes a look at the counters; the event to send, if the picture changed its state.
    fn observe(
        &mut self,
        now: Instant,
        frames: u64,
        repeated: u64,
    ) -> Option<(&'static str, String)> {
        if frames == 0 {
            return None; // The stream has not started: its warm-up is no stutter.
        }
        self.looks.push_back((now, frames, repeated));
        // The window starts at the newest look that is still a whole window old.
        while self
            .looks
            .get(1)
            .is_some_and(|(at, ..)| now.duration_since(*at) >= self.limit.window)
        {
            self.looks.pop_front();
        }
        let (start, first_frames, first_repeated) = *self.looks.front()?;
        let span = now.duration_since(start);
        let frames = frames.saturating_sub(first_frames);
        if span < self.limit.window || span.is_zero() || frames == 0 {
            return None; // Too early to judge, or stalled (an alert of its own).
        }
        let repeated = repeated.saturating_sub(first_repeated).min(frames);
        let share = repeated as f64 / frames as f64;
        let event = match self.said {
            false if share >= self.limit.share => "picture_choppy",
            true if share < self.limit.share / 4.0 => "picture_smooth",
            _ => return None,
        };
        self.said = !self.said;
        let seconds = span.as_secs_f64();
        let detail = format!(
            "{:.1} new pictures a second of {:.0} over the last {seconds:.0} s, {:.0} % of frames repeated{}",
            (frames - repeated) as f64 / seconds,
            frames as f64 / seconds,
            share * 100.0,
            if self.said {
                ": the renderer cannot keep up"
            } else {
                ""
            },
        );
        Some((event, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Looks four times a second for `seconds`, 8 new frames a look (32 a second) of which
    /// `repeated_share` repeat; the events said.
    fn run(
        choppy: &mut Choppiness,
        start: Instant,
        (from, seconds): (f64, f64),
        repeated_share: f64,
        counts: &mut (u64, f64),
    ) -> Vec<(&'static str, String)> {
        let mut said = Vec::new();
        let looks = (seconds * 4.0) as u32;
        for i in 1..=looks {
            let now = start + Duration::from_secs_f64(from + f64::from(i) / 4.0);
            counts.0 += 30 / 4 + 1;
            counts.1 += (30 / 4 + 1) as f64 * repeated_share;
            said.extend(choppy.observe(now, counts.0, counts.1 as u64));
        }
        said
    }

    #[test]
    fn a_picture_repeating_frames_is_choppy_until_a_window_is_smooth() {
        let limit = ChoppyLimit {
            window: Duration::from_secs(10),
            share: 0.2,
        };
        let mut choppy = Choppiness::new(limit);
        let start = Instant::now();
        let mut counts = (0, 0.0);
        // Smooth, then near the limit: nothing said.
        assert!(run(&mut choppy, start, (0.0, 20.0), 0.0, &mut counts).is_empty());
        assert!(run(&mut choppy, start, (20.0, 20.0), 0.15, &mut counts).is_empty());
        // Four frames in five repeated: said once, within a window.
        let said = run(&mut choppy, start, (40.0, 30.0), 0.8, &mut counts);
        assert_eq!(said.len(), 1, "{said:?}");
        assert_eq!(said[0].0, "picture_choppy");
        let detail = &said[0].1;
        assert!(
            detail.contains("new pictures a second of 32 over the last 10 s"),
            "{detail}"
        );
        assert!(
            detail.ends_with("repeated: the renderer cannot keep up"),
            "{detail}"
        );
        // Back under the limit but not under a quarter of it: still choppy, nothing said.
        assert!(run(&mut choppy, start, (70.0, 30.0), 0.1, &mut counts).is_empty());
        let said = run(&mut choppy, start, (100.0, 30.0), 0.01, &mut counts);
        assert_eq!(said.len(), 1, "{said:?}");
        assert_eq!(said[0].0, "picture_smooth");
    }

    #[test]
    fn a_stalled_or_young_stream_is_not_judged() {
        let limit = ChoppyLimit {
            window: Duration::from_secs(10),
            share: 0.2,
        };
        let start = Instant::now();
        // All repeated, but for less than a window.
        let mut choppy = Choppiness::new(limit);
        assert!(run(&mut choppy, start, (0.0, 9.0), 1.0, &mut (0, 0.0)).is_empty());
        // Nothing encoded for windows on end (`stream_stalled`'s business).
        let mut choppy = Choppiness::new(limit);
        for i in 0..160 {
            let now = start + Duration::from_secs_f64(f64::from(i) / 4.0);
            assert_eq!(choppy.observe(now, 300, 240), None);
        }
        assert!(
            choppy.looks.len() <= 42,
            "the window keeps {} looks",
            choppy.looks.len()
        );
    }

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

    /// A local webhook that answers each request after `delay`; the bodies it got.
    fn slow_webhook(delay: Duration) -> (String, std::sync::mpsc::Receiver<String>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                std::thread::sleep(delay);
                let _ = (reader.get_mut()).write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
                let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
            }
        });
        (url, rx)
    }

    #[test]
    fn the_end_of_a_run_waits_for_its_last_events_and_no_longer() {
        let (url, bodies) = slow_webhook(Duration::from_millis(300));
        let webhook = Webhook::start(&url);
        let began = Instant::now();
        webhook.drain(Duration::from_secs(5));
        assert!(
            began.elapsed() < Duration::from_millis(100),
            "nothing to wait for"
        );
        webhook.post(json!({ "event": "stopped" }));
        webhook.drain(Duration::from_secs(5));
        let waited = began.elapsed();
        assert!(
            (Duration::from_millis(300)..Duration::from_secs(5)).contains(&waited),
            "{waited:?}"
        );
        let body = bodies.recv_timeout(Duration::from_secs(1)).unwrap();
        assert!(body.contains("stopped"), "{body}");
        // A webhook slower than the wait: the run ends anyway.
        webhook.post(json!({ "event": "stopped" }));
        let began = Instant::now();
        webhook.drain(Duration::from_millis(100));
        assert!(began.elapsed() < Duration::from_millis(250));
    }
}
