//! systemd's watchdog: under `Type=notify` with `WatchdogSec=`, the loop says READY once
//! the show is on air and then pings while encoded frames keep coming. A process that is
//! alive but stuck (a GPU hang, a blocked encoder) stops pinging, and systemd restarts it.
//! Without `$NOTIFY_SOCKET` (not under systemd) this does nothing.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};
use tracing::{info, warn};

pub struct Watchdog {
    socket: Option<(UnixDatagram, std::os::unix::net::SocketAddr)>,
    /// How often to ping: half of `WatchdogSec`, as systemd recommends.
    every: Option<Duration>,
    last_ping: Instant,
    frames: u64,
    moved_at: Instant,
}

/// Pings stop when no frame was encoded for this long, even if the loop still turns.
const STALLED: Duration = Duration::from_secs(10);

impl Watchdog {
    pub fn from_env() -> Self {
        let socket = std::env::var_os("NOTIFY_SOCKET").and_then(|path| connect(&path));
        let every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(|usec| Duration::from_micros(usec / 2));
        if socket.is_some() {
            info!(
                "systemd: notifying{}",
                every.map_or(String::new(), |e| format!(
                    ", watchdog ping every {:.1} s",
                    e.as_secs_f64()
                ))
            );
        }
        Self {
            socket,
            every,
            last_ping: Instant::now(),
            frames: 0,
            moved_at: Instant::now(),
        }
    }

    /// The show is on air.
    pub fn ready(&self) {
        self.send("READY=1");
    }

    /// After each frame, with the count of frames the encoder has made.
    pub fn tick(&mut self, encoded: u64) {
        let Some(every) = self.every else { return };
        if encoded != self.frames {
            self.frames = encoded;
            self.moved_at = Instant::now();
        }
        if self.last_ping.elapsed() >= every && self.moved_at.elapsed() < STALLED {
            self.send("WATCHDOG=1");
            self.last_ping = Instant::now();
        }
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    fn send(&self, message: &str) {
        if let Some((socket, addr)) = &self.socket
            && let Err(e) = socket.send_to_addr(message.as_bytes(), addr)
        {
            warn!("systemd notify: {e}");
        }
    }
}

/// `$NOTIFY_SOCKET`: a path, or an abstract name starting with `@`.
fn connect(path: &std::ffi::OsStr) -> Option<(UnixDatagram, std::os::unix::net::SocketAddr)> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => std::os::unix::net::SocketAddr::from_abstract_name(name).ok()?,
        None => std::os::unix::net::SocketAddr::from_pathname(path).ok()?,
    };
    Some((UnixDatagram::unbound().ok()?, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_while_frames_come_and_stops_when_they_do_not() {
        let dir = std::env::temp_dir().join(format!("twincast-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let listener = UnixDatagram::bind(&dir).unwrap();
        listener
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut dog = Watchdog {
            socket: connect(dir.as_os_str()),
            every: Some(Duration::ZERO),
            last_ping: Instant::now(),
            frames: 0,
            moved_at: Instant::now(),
        };
        let mut buf = [0u8; 64];
        dog.ready();
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        dog.tick(1);
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
        // Frames stopped long ago: no ping.
        dog.moved_at = Instant::now() - STALLED;
        dog.tick(1);
        assert!(listener.recv(&mut buf).is_err());
        let _ = std::fs::remove_file(&dir);
    }
}
