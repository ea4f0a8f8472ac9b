//! Waiting for something to happen, with a limit and a message that says what never did.

use std::time::{Duration, Instant};

/// Calls `check` every 50 ms until it gives a value; panics after `limit` with `what` and
/// the last thing `check` saw.
pub fn wait_until<T, E: std::fmt::Debug>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Result<T, E>,
) -> T {
    let started = Instant::now();
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) => assert!(
                started.elapsed() < limit,
                "{what}: not within {limit:?}; last: {last:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
