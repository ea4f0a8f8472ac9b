//! Webhook alerts: someone is told when an output drops, comes back, keeps failing, or when
//! the show starts again after a crash. Calls go out on their own thread with a timeout, so
//! a dead webhook never touches the show.

use crate::output::{OutputSet, OutputState};
use crossbeam_channel::Sender;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::{info, warn};

pub struct Alerts {
    tx: Option<Sender<serde_json::Value>>,
    show: String,
    failing_after: Duration,
    /// Per output: last state seen, since when it has been down, when we last said so.
    seen: Vec<(OutputState, Option<Instant>, Option<Instant>)>,
    last_check: Instant,
    /// Present while running; left behind by a run that did not stop cleanly.
    marker: PathBuf,
}

impl Alerts {
    pub fn start(show: &str, webhook: Option<&str>, failing_after_seconds: f64) -> Self {
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
        let marker = std::env::temp_dir().join(format!(
            "twincast-{}.running",
            show.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        ));
        let crashed = marker.exists();
        let _ = std::fs::write(&marker, std::process::id().to_string());
        let alerts = Self {
            tx,
            show: show.to_string(),
            failing_after: Duration::from_secs_f64(failing_after_seconds.max(0.5)),
            seen: Vec::new(),
            last_check: Instant::now(),
            marker,
        };
        alerts.send(
            if crashed { "restarted" } else { "started" },
            None,
            if crashed {
                "the previous run did not stop cleanly"
            } else {
                "the show started"
            },
        );
        alerts
    }

    fn send(&self, event: &str, output: Option<&str>, detail: &str) {
        info!(
            "alert: {event}{} ({detail})",
            output.map(|o| format!(" {o}")).unwrap_or_default()
        );
        let Some(tx) = &self.tx else {
            return;
        };
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let _ = tx.try_send(json!({
            "event": event,
            "show": self.show,
            "output": output,
            "detail": detail,
            "at": at,
        }));
    }

    /// Compares output states with the last look (four times a second: only atomics).
    pub fn watch(&mut self, outputs: &OutputSet) {
        if self.last_check.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last_check = Instant::now();
        self.seen
            .resize(outputs.outputs.len(), (OutputState::Live, None, None));
        let mut events: Vec<(&str, String, String)> = Vec::new();
        for (o, seen) in outputs.outputs.iter().zip(self.seen.iter_mut()) {
            let state = o.stats.state();
            let url = crate::output::redact(&o.target.url);
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
                if since.elapsed() >= self.failing_after
                    && seen.2.is_none_or(|t| t.elapsed() >= self.failing_after)
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
            self.send(event, Some(&url), &detail);
        }
    }

    /// A clean stop: the next start is not a restart after a crash.
    pub fn stopped(&self) {
        self.send("stopped", None, "the show stopped");
        let _ = std::fs::remove_file(&self.marker);
        // Give the sender a moment to deliver the last events.
        std::thread::sleep(Duration::from_millis(200));
    }
}
