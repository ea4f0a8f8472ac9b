use super::{
    Muxer, OutputError, OutputKind, OutputTarget, fresh_path, local_stamp, redact, stamped_path,
};
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

/// How recordings (file outputs) are kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordingOptions {
    /// Start a new file at the first keyframe after this much media (`None`: one file).
    pub segment: Option<Duration>,
    /// Delete the oldest files of the recording while its files take more than this.
    pub keep_bytes: Option<u64>,
}

/// The longest a network connection is kept before it is renewed at a keyframe: FLV
/// carries timestamps as signed 32-bit milliseconds, which wrap after 24.8 days. Each
/// connection's timestamps start near 0, so renewing it a day early keeps them in range.
pub const MAX_CONNECTION: Duration = Duration::from_secs(((1u64 << 31) / 1000) - 24 * 3600);

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
    pub fn start(
        target: OutputTarget,
        layout: &StreamLayout,
        recording: RecordingOptions,
    ) -> Result<Self, OutputError> {
        let abort = Arc::new(AtomicBool::new(false));
        let base = target.clone();
        let target = first_file(target, &recording);
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
            base,
            layout: layout.clone(),
            abort: abort.clone(),
            packets,
            stats: stats.clone(),
            recording,
            trouble: None,
            backoff: Backoff::default(),
            opened: Instant::now(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("output {}", target.format))
            .spawn(move || writer.run(muxer))
            .map_err(|e| OutputError::Open {
                url: target.url.clone(),
                reason: format!("cannot start writer thread: {e}"),
            })?;
        if !target.is_network() {
            info!("output {} open ({})", redact(&target.url), target.format);
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
    /// Where packets go now (for a recording: its current file).
    target: OutputTarget,
    /// The output as named (a recording's files are named after it).
    base: OutputTarget,
    layout: StreamLayout,
    abort: Arc<AtomicBool>,
    packets: Receiver<MediaPacket>,
    stats: Arc<OutputStats>,
    recording: RecordingOptions,
    /// The first error a recording recovered from: reported when it closes, because a file
    /// with a gap is not a complete recording even though the show went on.
    trouble: Option<OutputError>,
    /// The pauses between attempts, kept across a recording's files that did not last
    /// ([`Backoff::after`]).
    backoff: Backoff,
    /// When the current container (file or connection) was opened.
    opened: Instant,
}

impl Writer {
    fn run(mut self, muxer: Option<Muxer>) -> Result<(), OutputError> {
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
        while let Ok(packet) = self.packets.recv() {
            let keyframe = packet.kind == StreamKind::Video && packet.packet.is_key();
            // A fresh connection or file must start on a keyframe, with audio from there on.
            if need_keyframe && !keyframe {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            need_keyframe = false;
            if keyframe && self.time_for_a_new_container(&muxer, &packet) {
                match self.renew(muxer) {
                    Some(fresh) => muxer = fresh,
                    None => return self.closed(Ok(())),
                }
            }
            count(&self.stats, &packet);
            let Err(error) = muxer.write(packet) else {
                continue;
            };
            if self.abort.load(Ordering::Relaxed) {
                error!("{error}");
                self.stats.set_state(OutputState::Failed);
                for _ in self.packets.iter() {}
                return Err(error);
            }
            match self.recover(muxer, error) {
                Some(fresh) => {
                    muxer = fresh;
                    need_keyframe = true;
                }
                None => return self.closed(Ok(())), // the show ended while we were away
            }
        }
        let result = muxer.finish();
        self.closed(result)
    }

    /// The state and result of a writer that stops: a recording that had to recover from
    /// an error reports it now.
    fn closed(&mut self, result: Result<(), OutputError>) -> Result<(), OutputError> {
        let result = match (result, self.trouble.take()) {
            (Ok(()), Some(trouble)) => Err(trouble),
            (result, _) => result,
        };
        self.stats.set_state(if result.is_ok() {
            OutputState::Closed
        } else {
            OutputState::Failed
        });
        result
    }

    /// A recording's segment is full, or a connection nears FLV's timestamp limit.
    fn time_for_a_new_container(&self, muxer: &Muxer, packet: &MediaPacket) -> bool {
        let limit = match self.target.kind {
            OutputKind::File(_) => self.recording.segment,
            OutputKind::Rtmp => Some(MAX_CONNECTION),
            OutputKind::Null => None,
        };
        limit.is_some_and(|limit| muxer.seconds_in(packet) >= limit.as_secs_f64())
    }

    /// Closes the container cleanly and opens the next (a new file, or a new connection).
    fn renew(&mut self, muxer: Muxer) -> Option<Muxer> {
        if let Err(e) = muxer.finish() {
            warn!("{e}");
        }
        info!(
            "output {}: starting a new {}",
            redact(&self.base.url),
            self.what()
        );
        self.target = self.next_target();
        match Muxer::open(&self.target, &self.layout, self.abort.clone()) {
            Ok(fresh) => {
                self.prune();
                self.opened = Instant::now();
                Some(fresh)
            }
            Err(e) => self.recover_from_open(e),
        }
    }

    /// After a write error: a network output reconnects; a recording (disk full, disk
    /// gone) closes what it can and resumes in a new file once it can write again.
    fn recover(&mut self, muxer: Muxer, error: OutputError) -> Option<Muxer> {
        warn!(
            "{error}; {}",
            if self.target.is_network() {
                "reconnecting"
            } else {
                "the recording resumes in a new file when it can write again"
            }
        );
        drop(muxer.finish()); // a recording's trailer, if the disk takes it
        self.keep_and_retry(error)
    }

    fn recover_from_open(&mut self, error: OutputError) -> Option<Muxer> {
        warn!("{error}; retrying");
        self.keep_and_retry(error)
    }

    /// A recording keeps its first error for the run's report (a gap in a recording is
    /// news; a network output just reconnects), then tries again.
    fn keep_and_retry(&mut self, error: OutputError) -> Option<Muxer> {
        if !self.target.is_network() {
            self.trouble.get_or_insert(error);
        }
        self.retry()
    }

    fn what(&self) -> &'static str {
        if self.target.is_network() {
            "connection"
        } else {
            "file"
        }
    }

    /// Where the next container goes: the same server, or a new file named for now.
    fn next_target(&self) -> OutputTarget {
        match &self.base.kind {
            OutputKind::File(path) => {
                let path = stamped_path(path, &local_stamp());
                OutputTarget {
                    url: path.to_string_lossy().into_owned(),
                    kind: OutputKind::File(path),
                    format: self.base.format,
                    faststart: self.base.faststart,
                }
            }
            _ => self.base.clone(),
        }
    }

    /// With `keep_bytes`, deletes the recording's oldest files (never the current one)
    /// until its files fit.
    fn prune(&self) {
        let (Some(limit), OutputKind::File(base), OutputKind::File(current)) = (
            self.recording.keep_bytes,
            &self.base.kind,
            &self.target.kind,
        ) else {
            return;
        };
        for removed in prune_recordings(base, current, limit) {
            info!("recording: deleted {} (keep_gb)", removed.display());
        }
    }

    /// The first connection of a network output: at once, then as a reconnection. `Err`
    /// holds what the writer returns when the show ended before the server ever answered.
    fn connect_first(&mut self) -> Result<Muxer, Result<(), OutputError>> {
        match Muxer::open(&self.target, &self.layout, self.abort.clone()) {
            Ok(muxer) => {
                self.opened = Instant::now();
                self.stats.set_state(OutputState::Live);
                info!(
                    "output {} connected ({})",
                    redact(&self.target.url),
                    self.target.format
                );
                Ok(muxer)
            }
            Err(e) => {
                warn!("{e}; the show goes on and this output keeps retrying");
                match self.retry() {
                    Some(muxer) => Ok(muxer),
                    None => {
                        self.stats.set_state(OutputState::Failed);
                        Err(Err(e))
                    }
                }
            }
        }
    }

    /// Tries again and again, with growing pauses, until the server takes the stream (or
    /// a new file can be written) or the show ends (`None`). Packets that arrive meanwhile
    /// are stale by the time we are back, so they are counted as lost and dropped.
    fn retry(&mut self) -> Option<Muxer> {
        let first = self.stats.state() == OutputState::Connecting;
        if !first {
            self.stats.set_state(OutputState::Reconnecting);
        }
        // A connection is retried quickly after every drop: air time is what matters there.
        // A recording whose new files keep failing backs off ([`Backoff::after`]).
        match self.target.is_network() {
            true => self.backoff = Backoff::default(),
            false => self.backoff.after(self.opened.elapsed()),
        }
        let (down_since, tried_before) = (Instant::now(), self.backoff.attempts);
        loop {
            let wait = self.backoff.next_delay();
            let attempts = self.backoff.attempts - tried_before;
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
            self.target = self.next_target();
            match Muxer::open(&self.target, &self.layout, self.abort.clone()) {
                Ok(muxer) => {
                    self.prune();
                    self.opened = Instant::now();
                    if !first {
                        self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    self.stats.set_state(OutputState::Live);
                    info!(
                        "output {} {} after {:.1} s ({} attempts)",
                        redact(&self.target.url),
                        if first { "connected" } else { "reconnected" },
                        down_since.elapsed().as_secs_f64(),
                        attempts
                    );
                    return Some(muxer);
                }
                Err(e) => {
                    if attempts == 1 || attempts.is_multiple_of(10) {
                        warn!("{e} (attempt {attempts}; retrying, never giving up)");
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
    /// How long a recording's file must have lasted for its next failure to be retried
    /// quickly again.
    pub const STABLE: Duration = Duration::from_secs(10);

    /// Before retrying a file that lasted `lasted`: one that held starts the pauses over;
    /// one that failed soon after it opened goes on where they were. A full disk takes a
    /// new file's header and fails its first writes: retried from half a second each
    /// time, a night of it left a new file every two seconds (about 1 800 an hour; 115
    /// with the pauses growing to [`Backoff::CAP`]).
    pub fn after(&mut self, lasted: Duration) {
        if lasted >= Self::STABLE {
            self.attempts = 0;
        }
    }

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

/// The first file of a recording: the name as given unless that file exists (then named
/// for the start time); with segments, every file is named for its start time.
fn first_file(target: OutputTarget, recording: &RecordingOptions) -> OutputTarget {
    let OutputKind::File(path) = &target.kind else {
        return target;
    };
    let stamp = local_stamp();
    let path = match recording.segment {
        Some(_) => stamped_path(path, &stamp),
        None => fresh_path(path, &stamp),
    };
    if path.as_path() != std::path::Path::new(&target.url) {
        info!(
            "recording to {} ({} is taken or the recording is segmented)",
            path.display(),
            target.url
        );
    }
    OutputTarget {
        url: path.to_string_lossy().into_owned(),
        kind: OutputKind::File(path),
        format: target.format,
        faststart: target.faststart,
    }
}

/// Deletes the oldest files of the recording named `base` (its stamped siblings, same
/// extension) until they total at most `limit` bytes; `current` is never deleted.
pub fn prune_recordings(
    base: &std::path::Path,
    current: &std::path::Path,
    limit: u64,
) -> Vec<std::path::PathBuf> {
    let dir = match base.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let stem = base
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let ext = base
        .extension()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, u64, std::path::PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_stem().unwrap_or_default().to_string_lossy();
            p.extension().is_some_and(|e| e.to_string_lossy() == ext)
                && (name == stem || name.starts_with(&format!("{stem}-")))
        })
        .filter_map(|p| {
            let meta = std::fs::metadata(&p).ok()?;
            Some((meta.modified().ok()?, meta.len(), p))
        })
        .collect();
    files.sort();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    let mut removed = Vec::new();
    for (_, len, path) in files {
        if total <= limit {
            break;
        }
        if path == current || std::fs::remove_file(&path).is_err() {
            continue;
        }
        total -= len;
        removed.push(path);
    }
    removed
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

    #[test]
    fn pauses_go_on_growing_while_what_reopens_fails_at_once() {
        let mut b = Backoff::default();
        let quick = Duration::from_secs(2);
        // A file that fails two seconds after each reopening, 30 times.
        let delays: Vec<Duration> = (0..30)
            .map(|_| {
                b.after(quick);
                b.next_delay()
            })
            .collect();
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*delays.last().unwrap(), Backoff::CAP);
        // One that held: the next outage is retried within half a second again.
        b.after(Backoff::STABLE);
        assert_eq!(b.next_delay(), Backoff::FIRST);
    }

    #[test]
    fn keep_gb_deletes_the_oldest_files_of_that_recording_only() {
        let dir = std::env::temp_dir().join(format!("twincast-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let names = [
            "demo.flv",
            "demo-20261130-010000.flv",
            "demo-20261130-020000.flv",
            "demo-20261130-030000.flv",
        ];
        for (i, name) in names.iter().enumerate() {
            std::fs::write(dir.join(name), vec![0u8; 1000]).unwrap();
            // Distinct modification times, oldest first.
            let t = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + i as u64);
            std::fs::File::options()
                .write(true)
                .open(dir.join(name))
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        std::fs::write(dir.join("other.flv"), vec![0u8; 5000]).unwrap();
        std::fs::write(dir.join("demo.mp4"), vec![0u8; 5000]).unwrap();
        let current = dir.join(names[3]);
        let removed = prune_recordings(&dir.join("demo.flv"), &current, 2500);
        assert_eq!(removed, [dir.join(names[0]), dir.join(names[1])]);
        assert!(current.exists() && dir.join(names[2]).exists());
        assert!(dir.join("other.flv").exists() && dir.join("demo.mp4").exists());
        // Never the file being written, even over the limit.
        assert!(prune_recordings(&dir.join("demo.flv"), &current, 0).len() == 1);
        assert!(current.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn connections_are_renewed_well_before_flv_timestamps_wrap() {
        let wrap = Duration::from_millis(1 << 31);
        assert!(MAX_CONNECTION < wrap && MAX_CONNECTION > wrap - Duration::from_secs(2 * 86_400));
    }
}
