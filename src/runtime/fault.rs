//! Faults on purpose, for tests and chaos runs, named in `$TWINCAST_FAULT`:
//!
//! - `freeze-after:<seconds>`: after that much media the render loop stops turning for
//!   good, which from outside is what a GPU hang or a deadlock looks like. The API, the
//!   alert thread and the outputs go on, so a test can watch `/health`, the alerts and the
//!   systemd watchdog notice it. The process then only ends when it is killed.
//! - `slow-render:<milliseconds>`: each turn of the render loop takes that much longer,
//!   as on a machine too slow for the picture: the encoder repeats frames to keep real
//!   time, and a test can watch the `picture_choppy` alert say so.
//!
//! Unset (always, in production) this does nothing. A value it cannot read is a warning,
//! not a fault.

use std::time::Duration;
use tracing::{error, warn};

pub const FAULT_ENV: &str = "TWINCAST_FAULT";

#[derive(Debug, Default, PartialEq)]
pub struct Fault {
    freeze_at: Option<f64>,
    slow_by: Option<Duration>,
}

impl Fault {
    pub fn from_env() -> Self {
        match std::env::var(FAULT_ENV) {
            Ok(spec) => Self::parse(&spec).unwrap_or_else(|| {
                warn!(
                    "{FAULT_ENV}=`{spec}` not understood \
                     (want freeze-after:<seconds> or slow-render:<milliseconds>)"
                );
                Self::default()
            }),
            Err(_) => Self::default(),
        }
    }

    fn parse(spec: &str) -> Option<Self> {
        let (name, value) = spec.split_once(':')?;
        let value: f64 = value.trim().parse().ok().filter(|v: &f64| v.is_finite())?;
        match name {
            "freeze-after" => Some(Self {
                freeze_at: Some(value.max(0.0)),
                ..Self::default()
            }),
            "slow-render" => Some(Self {
                slow_by: Some(Duration::from_secs_f64(value.clamp(0.0, 10_000.0) / 1000.0)),
                ..Self::default()
            }),
            _ => None,
        }
    }

    /// Called by the loop each turn with the media time it is at: waits out a slow render,
    /// and never returns once the freeze is due.
    pub fn strike(&self, media_seconds: f64) {
        if let Some(slow_by) = self.slow_by {
            std::thread::sleep(slow_by);
        }
        if self.freeze_at.is_some_and(|at| media_seconds >= at) {
            error!("{FAULT_ENV}: the render loop freezes now, on purpose, at {media_seconds:.1} s");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_well_formed_spec_is_a_fault() {
        assert_eq!(Fault::parse("freeze-after:4").unwrap().freeze_at, Some(4.0));
        assert_eq!(
            Fault::parse("freeze-after:-1").unwrap().freeze_at,
            Some(0.0)
        );
        assert_eq!(Fault::parse("freeze-after:nan"), None);
        assert_eq!(Fault::parse("freeze-after:"), None);
        assert_eq!(Fault::parse("crash"), None);
        assert_eq!(
            Fault::parse("slow-render:150").unwrap().slow_by,
            Some(Duration::from_millis(150))
        );
        assert_eq!(Fault::parse("slow-render:inf"), None);
        assert_eq!(Fault::parse("slow-down:150"), None);
        // Not due yet: returns.
        Fault::parse("freeze-after:10").unwrap().strike(9.9);
        Fault::default().strike(1e9);
    }
}
