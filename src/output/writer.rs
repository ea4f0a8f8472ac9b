use super::{Muxer, OutputError, OutputKind, OutputTarget};
use crate::encode::{MediaPacket, StreamLayout};
use crossbeam_channel::{Sender, TrySendError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::thread::JoinHandle;
use tracing::{error, info};

/// Packets an output may fall behind by before it starts losing them: about this many
/// seconds of video and audio at typical rates.
const QUEUE_SECONDS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OutputState {
    Live = 0,
    Failed = 1,
    Closed = 2,
}

/// What an output has done, readable from any thread (status lines, the API).
#[derive(Debug, Default)]
pub struct OutputStats {
    pub bytes: AtomicU64,
    pub packets: AtomicU64,
    pub dropped: AtomicU64,
    state: AtomicU8,
}

impl OutputStats {
    pub fn state(&self) -> OutputState {
        match self.state.load(Ordering::Relaxed) {
            0 => OutputState::Live,
            1 => OutputState::Failed,
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
    /// Opens the output now (so a bad URL or an unreachable server fails at start, with its
    /// reason) and starts its writer thread.
    pub fn start(target: OutputTarget, layout: &StreamLayout) -> Result<Self, OutputError> {
        let abort = Arc::new(AtomicBool::new(false));
        let muxer = match target.kind {
            OutputKind::Null => None,
            _ => Some(Muxer::open(&target, layout, abort.clone())?),
        };
        let capacity = QUEUE_SECONDS * (layout.fps as usize + 50);
        let (queue, packets) = crossbeam_channel::bounded::<MediaPacket>(capacity);
        let stats = Arc::new(OutputStats::default());
        let thread_stats = stats.clone();
        let url = target.url.clone();
        let thread = std::thread::Builder::new()
            .name(format!("output {}", short(&url)))
            .spawn(move || {
                let Some(mut muxer) = muxer else {
                    for packet in packets.iter() {
                        count(&thread_stats, &packet);
                    }
                    thread_stats.set_state(OutputState::Closed);
                    return Ok(());
                };
                for packet in packets.iter() {
                    count(&thread_stats, &packet);
                    if let Err(e) = muxer.write(packet) {
                        error!("{e}");
                        thread_stats.set_state(OutputState::Failed);
                        // Keep draining so nothing waits on this queue; the packets are lost.
                        for _ in packets.iter() {}
                        return Err(e);
                    }
                }
                let result = muxer.finish();
                thread_stats.set_state(if result.is_ok() {
                    OutputState::Closed
                } else {
                    OutputState::Failed
                });
                result
            })
            .map_err(|e| OutputError::Open {
                url: target.url.clone(),
                reason: format!("cannot start writer thread: {e}"),
            })?;
        info!("output {} open ({})", target.url, target.format);
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

    /// Ends the queue and waits for the writer to write its trailer.
    pub fn close(self) -> Result<(), OutputError> {
        drop(self.queue);
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
