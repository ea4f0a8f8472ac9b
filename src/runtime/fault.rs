//! Faults on purpose, for tests and chaos runs, named in `$TWINCAST_FAULT`:
//!
//! - `freeze-after:<seconds>`: after that much media the render loop stops turning for
//!   good, which from outside is what a GPU hang or a deadlock looks like. The API, the
//!   alert thread and the outputs go on, so a test can watch `/health`, the alerts and the
//!   systemd watchdog notice it. The process then only ends when it is killed.
//!
//! Unset (always, in production) this does nothing. A value it cannot read is a warning,
//! not a fault.

use std::time::Duration;
use tracing::{error, warn};

pub const FAULT_ENV: &str = "TWINCAST_FAULT";

#[derive(Debug, Default, PartialEq)]
pub struct Fault {
    freeze_at: Option<f64>,
}

impl Fault {
    pub fn from_env() -> Self {
        match std::env::var(FAULT_ENV) {
            Ok(spec) => Self::parse(&spec).unwrap_or_else(|| {
                warn!("{FAULT_ENV}=`{spec}` not understood (want freeze-after:<seconds>)");
                Self::default()
            }),
            Err(_) => Self::default(),
        }
    }

    fn parse(spec: &str) -> Option<Self> {
        let seconds: f64 = spec.strip_prefix("freeze-after:")?.trim().parse().ok()?;
        seconds.is_finite().then_some(Self {
            freeze_at: Some(seconds.max(0.0)),
        })
    }

    /// Called by the loop with the media time it is at; never returns once the freeze is due.
    pub fn strike(&self, media_seconds: f64) {
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
    fn only_a_well_formed_freeze_is_a_fault() {
        assert_eq!(Fault::parse("freeze-after:4").unwrap().freeze_at, Some(4.0));
        assert_eq!(
            Fault::parse("freeze-after:-1").unwrap().freeze_at,
            Some(0.0)
        );
        assert_eq!(Fault::parse("freeze-after:nan"), None);
        assert_eq!(Fault::parse("freeze-after:"), None);
        assert_eq!(Fault::parse("crash"), None);
        // Not due yet: returns.
        Fault::parse("freeze-after:10").unwrap().strike(9.9);
        Fault::default().strike(1e9);
    }
}
