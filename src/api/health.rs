//! `/health` that tells the truth: 503 when the encoded stream has stopped advancing
//! (a stuck render loop, a blocked encoder, a GPU hang) or when no output has been live
//! for too long, with the reason in the JSON. A load balancer, a monitor or an operator's
//! phone sees dead air as dead.

use super::ShowStatus;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// When health turns bad (the show file's `[api]`).
#[derive(Debug, Clone, Copy)]
pub struct HealthLimits {
    /// Seconds without a new encoded frame.
    pub stalled_after: Duration,
    /// Seconds without any live output.
    pub offline_after: Duration,
}

/// What `/health` remembers between calls: when the frame count last moved and since
/// when no output has been live. Fed from the status the render loop publishes.
#[derive(Debug)]
pub struct Liveness {
    limits: HealthLimits,
    frames: u64,
    moved_at: Instant,
    offline_since: Option<Instant>,
}

impl Liveness {
    pub fn new(limits: HealthLimits) -> Self {
        Self {
            limits,
            frames: 0,
            moved_at: Instant::now(),
            offline_since: None,
        }
    }

    /// Looks at the latest status: `Ok` with the body of a healthy answer, or `Err` with
    /// the body of a 503.
    pub fn check(&mut self, status: &ShowStatus, now: Instant) -> Result<Value, Value> {
        if status.frames != self.frames {
            self.frames = status.frames;
            self.moved_at = now;
        }
        let live = status.outputs.iter().any(|o| o.state == "Live");
        if live || status.outputs.is_empty() {
            self.offline_since = None;
        } else {
            self.offline_since.get_or_insert(now);
        }
        if self.frames == 0 {
            return Err(json!({ "status": "starting", "reason": "no frame encoded yet" }));
        }
        let still = now.duration_since(self.moved_at);
        if still >= self.limits.stalled_after {
            return Err(json!({
                "status": "stalled",
                "reason": format!("no new frame encoded for {:.0} s", still.as_secs_f64()),
                "frames": self.frames,
            }));
        }
        if let Some(since) = self.offline_since {
            let down = now.duration_since(since);
            if down >= self.limits.offline_after {
                return Err(json!({
                    "status": "offline",
                    "reason": format!("no output live for {:.0} s", down.as_secs_f64()),
                }));
            }
        }
        Ok(json!({ "status": "ok" }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::OutputStatus;

    fn limits() -> HealthLimits {
        HealthLimits {
            stalled_after: Duration::from_secs(10),
            offline_after: Duration::from_secs(60),
        }
    }

    fn status(frames: u64, state: &str) -> ShowStatus {
        ShowStatus {
            frames,
            outputs: vec![OutputStatus {
                url: "rtmp://h/app/…".into(),
                state: state.into(),
                dropped_packets: 0,
                reconnects: 0,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_stream_that_stops_advancing_is_unhealthy_within_its_limit() {
        let t0 = Instant::now();
        let mut l = Liveness::new(limits());
        assert!(l.check(&status(1, "Live"), t0).is_ok());
        assert!(
            l.check(&status(30, "Live"), t0 + Duration::from_secs(1))
                .is_ok()
        );
        assert!(
            l.check(&status(30, "Live"), t0 + Duration::from_secs(9))
                .is_ok()
        );
        let bad = l
            .check(&status(30, "Live"), t0 + Duration::from_secs(11))
            .unwrap_err();
        assert_eq!(bad["status"], "stalled", "{bad}");
        assert!(
            l.check(&status(31, "Live"), t0 + Duration::from_secs(12))
                .is_ok()
        );
    }

    #[test]
    fn a_show_still_starting_is_not_healthy_yet() {
        let mut l = Liveness::new(limits());
        let starting = l
            .check(&status(0, "Connecting"), Instant::now())
            .unwrap_err();
        assert_eq!(starting["status"], "starting");
    }

    #[test]
    fn no_live_output_for_too_long_is_unhealthy() {
        let t0 = Instant::now();
        let mut l = Liveness::new(limits());
        let at = |s| t0 + Duration::from_secs(s);
        for s in 1..61 {
            assert!(l.check(&status(s, "Reconnecting"), at(s)).is_ok());
        }
        let bad = l.check(&status(62, "Reconnecting"), at(62)).unwrap_err();
        assert_eq!(bad["status"], "offline", "{bad}");
        assert!(l.check(&status(63, "Live"), at(63)).is_ok());
    }
}
