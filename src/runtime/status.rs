//! Stop requests, the `render` progress bar and the `stream` status line.

use super::Pacing;
use crate::encode::EncodeStats;
use crate::output::{ProgramOutputs, every_output};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tracing::info;

/// Counts stop requests: the first asks for a clean stop (flush, trailer), a second one
/// for an immediate one (blocking network I/O is abandoned).
#[derive(Clone, Default)]
pub struct StopSignal(Arc<AtomicU32>);

impl StopSignal {
    pub fn request(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 0
    }
    pub fn forced(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 1
    }
}

/// Reports progress: a bar for `render` on a terminal, log lines otherwise.
pub(super) struct Progress {
    bar: Option<ProgressBar>,
    every: Duration,
    started: Instant,
    last_report: Instant,
    last_rendered: u64,
    last_bytes: u64,
}

impl Progress {
    pub fn new(pacing: Pacing, total: Option<u64>, every: Duration) -> Self {
        let bar = match (pacing, total) {
            (Pacing::AsFastAsPossible, Some(total)) => {
                let bar = ProgressBar::new(total);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{elapsed_precise} [{bar:30}] {pos}/{len} frames, {per_sec}, ETA {eta}",
                    )
                    .expect("static template")
                    .progress_chars("=> "),
                );
                // Hidden when stderr is not a terminal; the log lines below cover that case.
                (!bar.is_hidden()).then_some(bar)
            }
            _ => None,
        };
        let now = Instant::now();
        Self {
            bar,
            every,
            started: now,
            last_report: now,
            last_rendered: 0,
            last_bytes: 0,
        }
    }

    /// `frames`: position on the media clock; `rendered`: frames actually drawn.
    pub fn update(
        &mut self,
        frames: u64,
        rendered: u64,
        bank: super::meter::Bank,
        pace: crate::api::PaceStatus,
        stats: &EncodeStats,
        outputs: &[ProgramOutputs],
    ) {
        if let Some(bar) = &self.bar {
            bar.set_position(frames);
            return;
        }
        let since = self.last_report.elapsed();
        if since < self.every {
            return;
        }
        let encoded = stats.frames.load(Ordering::Relaxed);
        let bytes =
            stats.video_bytes.load(Ordering::Relaxed) + stats.audio_bytes.load(Ordering::Relaxed);
        let fps = (rendered - self.last_rendered) as f64 / since.as_secs_f64();
        let kbps = (bytes - self.last_bytes) as f64 * 8.0 / 1000.0 / since.as_secs_f64();
        let outs: Vec<String> = every_output(outputs)
            .map(|(program, o)| {
                format!(
                    "{}{} {:?} dropped {} reconnects {}",
                    program.map_or(String::new(), |p| format!("{p}: ")),
                    crate::output::redact(&o.target.url),
                    o.stats.state(),
                    o.stats.dropped.load(Ordering::Relaxed),
                    o.stats.reconnects.load(Ordering::Relaxed)
                )
            })
            .collect();
        // How early the last frame began (frames drawn ahead of their time), or how late,
        // and how early it was allowed to.
        let margin = match bank.ahead >= 0.0 {
            true => format!("ahead {:.2} s", bank.ahead),
            false => format!("behind {:.2} s", -bank.ahead),
        };
        let margin = format!("{margin} (lead {:.2} s)", bank.lead);
        // Drawn smaller to keep pace: a slow machine shows here before it repeats frames.
        let pace = match pace == crate::api::PaceStatus::default() {
            true => String::new(),
            false => format!(" | pace held {:.2} glide {:.2}", pace.held, pace.glide),
        };
        info!(
            "status: t={:.0}s frame {frames} | render {fps:.1} fps | encoded {encoded} (repeated {}){pace} | {kbps:.0} kb/s | {margin} | {}",
            self.started.elapsed().as_secs_f64(),
            stats.repeated.load(Ordering::Relaxed),
            outs.join("; ")
        );
        self.last_report = Instant::now();
        self.last_rendered = rendered;
        self.last_bytes = bytes;
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
