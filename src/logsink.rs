//! Logs that never stall the show. Every log line goes through a bounded queue to a
//! thread that writes stderr; when stderr blocks (a full pipe nobody reads, a stuck
//! journal) lines are dropped and counted instead of freezing the thread that logged them,
//! which may be the encoder.

use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const QUEUE_LINES: usize = 4096;

/// Lines dropped because stderr could not keep up.
static DROPPED: AtomicU64 = AtomicU64::new(0);
static QUEUE: OnceLock<(Sender<Vec<u8>>, Receiver<Vec<u8>>)> = OnceLock::new();

/// The `MakeWriter` for `tracing_subscriber`: one buffer per event, queued when done.
#[derive(Clone, Copy, Default)]
pub struct LogSink;

pub struct LineWriter {
    buffer: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let (tx, _) = queue();
        match tx.try_send(std::mem::take(&mut self.buffer)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            buffer: Vec::with_capacity(160),
        }
    }
}

fn queue() -> &'static (Sender<Vec<u8>>, Receiver<Vec<u8>>) {
    QUEUE.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(QUEUE_LINES);
        let lines = rx.clone();
        let _ = std::thread::Builder::new()
            .name("log".into())
            .spawn(move || {
                let mut reported = 0;
                for line in lines.iter() {
                    let mut err = std::io::stderr().lock();
                    let dropped = DROPPED.load(Ordering::Relaxed);
                    if dropped > reported {
                        let _ = writeln!(
                            err,
                            "({} log lines dropped: stderr was blocked)",
                            dropped - reported
                        );
                        reported = dropped;
                    }
                    let _ = err.write_all(&line);
                }
            });
        (tx, rx)
    })
}

/// Waits (up to 2 s) for queued lines to be written, before the process prints its last
/// words or exits.
pub fn flush() {
    let (_, rx) = queue();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !rx.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // The line being written when the queue emptied.
    std::thread::sleep(Duration::from_millis(20));
}
