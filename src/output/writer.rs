use super::{Muxer, OutputError, OutputKind, OutputTarget};
use crate::av::{MediaPacket, StreamKind, StreamLayout};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

/// Packets an output may fall behind by before it starts losing them: about this many
/// seconds of video and audio at typical rates.
const QUEUE_SECONDS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OutputState {
    Live = 0,
    Failed = 1,
    Closed = 2,
    /// A network output whose connection broke; it is trying again.
    Reconnecting = 3,
    /// A network output that has not connected yet.
    Connecting = 4,
}

/// What an output has done, readable from any thread (status lines, the API).
#[derive(Debug, Default)]
pub struct OutputStats {
    pub bytes: AtomicU64,
    pub packets: AtomicU64,
    pub dropped: AtomicU64,
    pub reconnects: AtomicU64,
    state: AtomicU8,
}

impl OutputStats {
    pub fn state(&self) -> OutputState {
        match self.state.load(Ordering::Relaxed) {
            0 => OutputState::Live,
            1 => OutputState::Failed,
            3 => OutputState::Reconnecting,
            4 => OutputState::Connecting,
            _ => OutputState::Closed,
        }
    }

    fn set_state(&self, state: OutputState) {
        self.state.store(state as u8, Ordering::Relaxed);
    }
}

/// Queues packets for one output without ever waiting on it.
pub struct Feeder {
    queue: Sender<MediaPacket>,
    pub stats: Arc<OutputStats>,
}

impl Feeder {
    /// Queues a packet; false when the queue is full (the packet is lost).
    pub fn offer(&self, packet: MediaPacket) -> bool {
        match self.queue.try_send(packet) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => false,
            // A writer that failed has stopped reading; its packets go nowhere, and its
            // state already says so.
            Err(TrySendError::Disconnected(_)) => true,
        }
    }
}

/// A running output: its queue, its counters and its writer thread.
pub struct OutputHandle {
    pub target: OutputTarget,
    pub stats: Arc<OutputStats>,
    queue: Sender<MediaPacket>,
    abort: Arc<AtomicBool>,
    thread: JoinHandle<Result<(), OutputError>>,
}

impl OutputHandle {
    /// Opens a file now (so a bad path fails at start, with its reason) and starts the
    /// writer thread. A network output connects on its own thread instead: a server that is
    /// down at 8 pm must not keep the show (or the recording) off the air; it is retried
    /// like a dropped connection until it answers.
    pub fn start(target: OutputTarget, layout: &StreamLayout) -> Result<Self, OutputError> {
        let abort = Arc::new(AtomicBool::new(false));
        let muxer = match target.kind {
            OutputKind::Null | OutputKind::Rtmp => None,
            OutputKind::File(_) => Some(Muxer::open(&target, layout, abort.clone())?),
        };
        let capacity = QUEUE_SECONDS * (layout.fps as usize + 50);
        let (queue, packets) = crossbeam_channel::bounded::<MediaPacket>(capacity);
        let stats = Arc::new(OutputStats::default());
        if target.is_network() {
            stats.set_state(OutputState::Connecting);
        }
        let writer = Writer {
            target: target.clone(),
            layout: layout.clone(),
            abort: abort.clone(),
            packets,
            stats: stats.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("output {}", short(&target.url)))
            .spawn(move || writer.run(muxer))
            .map_err(|e| OutputError::Open {
                url: target.url.clone(),
                reason: format!("cannot start writer thread: {e}"),
            })?;
        if !target.is_network() {
            info!("output {} open ({})", target.url, target.format);
        }
        Ok(Self {
            target,
            stats,
            queue,
            abort,
            thread,
        })
    }

    /// A handle the encoder uses to queue packets for this output.
    pub fn feeder(&self) -> Feeder {
        Feeder {
            queue: self.queue.clone(),
            stats: self.stats.clone(),
        }
    }

    /// Makes blocking network I/O of this output give up at once (second Ctrl-C).
    pub fn abort(&self) {
        self.abort.store(true, Ordering::Relaxed);
    }

    pub fn abort_flag(&self) -> Arc<AtomicBool> {
        self.abort.clone()
    }

    /// Ends the queue and waits for the writer to write its trailer. An output that is not
    /// connected has nothing to finish: its connection attempt is abandoned at once.
    pub fn close(self) -> Result<(), OutputError> {
        drop(self.queue);
        if matches!(
            self.stats.state(),
            OutputState::Connecting | OutputState::Reconnecting
        ) {
            self.abort.store(true, Ordering::Relaxed);
        }
        match self.thread.join() {
            Ok(result) => result,
            Err(_) => Err(OutputError::Io {
                url: self.target.url,
                what: "writer thread",
                reason: "panicked".into(),
            }),
        }
    }
}

/// One output's thread: writes packets, and for network outputs reconnects when the
/// connection breaks, for as long as the show runs.
struct Writer {
    target: OutputTarget,
    layout: StreamLayout,
    abort: Arc<AtomicBool>,
    packets: Receiver<MediaPacket>,
    stats: Arc<OutputStats>,
}

impl Writer {
    fn run(self, muxer: Option<Muxer>) -> Result<(), OutputError> {
        let muxer = match muxer {
            Some(m) => Some(m),
            None if self.target.is_network() => match self.connect_first() {
                Ok(m) => Some(m),
                Err(never) => return never,
            },
            None => None,
        };
        let Some(mut muxer) = muxer else {
            for packet in self.packets.iter() {
                count(&self.stats, &packet);
            }
            self.stats.set_state(OutputState::Closed);
            return Ok(());
        };
        let mut need_keyframe = false;
        loop {
            let Ok(packet) = self.packets.recv() else {
                break; // the show ended: finish the file
            };
            // A fresh connection must start on a keyframe, with audio from there on.
            if need_keyframe {
                if !(packet.kind == StreamKind::Video && packet.packet.is_key()) {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                need_keyframe = false;
            }
            count(&self.stats, &packet);
            let Err(error) = muxer.write(packet) else {
                continue;
            };
            if !self.target.is_network() || self.abort.load(Ordering::Relaxed) {
                error!("{error}");
                self.stats.set_state(OutputState::Failed);
                // Keep draining so nothing waits on this queue; the packets are lost.
                for _ in self.packets.iter() {}
                return Err(error);
            }
            warn!("{error}; reconnecting");
            drop(muxer);
            match self.reconnect() {
                Some(fresh) => {
                    muxer = fresh;
                    need_keyframe = true;
                }
                None => {
                    self.stats.set_state(OutputState::Closed);
                    return Ok(()); // the show ended while we were away
                }
            }
        }
        let result = muxer.finish();
        self.stats.set_state(if result.is_ok() {
            OutputState::Closed
        } else {
            OutputState::Failed
        });
        result
    }

    /// The first connection of a network output: at once, then as a reconnection. `Err`
    /// holds what the writer returns when the show ended before the server ever answered.
    fn connect_first(&self) -> Result<Muxer, Result<(), OutputError>> {
        match Muxer::open(&self.target, &self.layout, self.abort.clone()) {
            Ok(muxer) => {
                self.stats.set_state(OutputState::Live);
                info!(
                    "output {} connected ({})",
                    self.target.url, self.target.format
                );
                Ok(muxer)
            }
            Err(e) => {
                warn!("{e}; the show goes on and this output keeps retrying");
                match self.reconnect() {
                    Some(muxer) => Ok(muxer),
                    None => {
                        self.stats.set_state(OutputState::Failed);
                        Err(Err(e))
                    }
                }
            }
        }
    }

    /// Tries again and again, with growing pauses, until the server takes the stream or
    /// the show ends (`None`). Packets that arrive meanwhile are stale by the time we are
    /// back, so they are counted as lost and dropped.
    fn reconnect(&self) -> Option<Muxer> {
        let first = self.stats.state() == OutputState::Connecting;
        if !first {
            self.stats.set_state(OutputState::Reconnecting);
        }
        let mut backoff = Backoff::default();
        let down_since = Instant::now();
        loop {
            let wait = backoff.next_delay();
            let until = Instant::now() + wait;
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                match self.packets.recv_timeout(left) {
                    Ok(_) => {
                        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return None,
                }
            }
            if self.abort.load(Ordering::Relaxed) {
                return None;
            }
            match Muxer::open(&self.target, &self.layout, self.abort.clone()) {
                Ok(muxer) => {
                    if !first {
                        self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    self.stats.set_state(OutputState::Live);
                    info!(
                        "output {} {} after {:.1} s ({} attempts)",
                        self.target.url,
                        if first { "connected" } else { "reconnected" },
                        down_since.elapsed().as_secs_f64(),
                        backoff.attempts
                    );
                    return Some(muxer);
                }
                Err(e) => {
                    if backoff.attempts == 1 || backoff.attempts.is_multiple_of(10) {
                        warn!(
                            "{e} (attempt {}; retrying, never giving up)",
                            backoff.attempts
                        );
                    }
                }
            }
        }
    }
}

/// Pauses between reconnection attempts: the first within half a second, then growing by
/// half each time up to 30 s. It never gives up: an overnight stream that stops retrying
/// after a fixed count (OBS's habit) is a stream that is off air in the morning.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    pub attempts: u32,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(500);
    pub const CAP: Duration = Duration::from_secs(30);

    pub fn next_delay(&mut self) -> Duration {
        let delay = Self::FIRST.mul_f64(1.5f64.powi(self.attempts.min(20) as i32));
        self.attempts += 1;
        delay.min(Self::CAP)
    }
}

fn count(stats: &OutputStats, packet: &MediaPacket) {
    stats.packets.fetch_add(1, Ordering::Relaxed);
    stats
        .bytes
        .fetch_add(packet.packet.size() as u64, Ordering::Relaxed);
}

/// A thread-name-sized form of a URL (thread names are limited to 15 bytes on Linux).
fn short(url: &str) -> String {
    url.rsplit('/')
        .next()
        .unwrap_or(url)
        .chars()
        .take(8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_fast_grows_and_caps_without_giving_up() {
        let mut b = Backoff::default();
        let delays: Vec<Duration> = (0..40).map(|_| b.next_delay()).collect();
        assert!(delays[0] <= Duration::from_secs(1));
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*delays.last().unwrap(), Backoff::CAP);
        // A short outage is retried often: five attempts within the first 10 s.
        let first_five: Duration = delays[..5].iter().sum();
        assert!(first_five < Duration::from_secs(10), "{first_five:?}");
        assert_eq!(b.attempts, 40);
    }
}
