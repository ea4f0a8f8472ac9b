//! When the host speaks, decided on the media clock ahead of both the renderer and the
//! encoder, so the mouth (rendered now) and the voice (mixed later, when the encoder gets
//! there) use the same start sample and stay in sync by construction.

use super::Line;
use crate::media::SAMPLE_RATE;
use crossbeam_channel::{Receiver, Sender};
use std::collections::VecDeque;
use std::sync::Arc;
use tracing::debug;

/// A line with its start on the media clock, in samples from the start of the stream.
#[derive(Debug, Clone)]
pub struct ScheduledLine {
    pub start: u64,
    pub line: Arc<Line>,
}

impl ScheduledLine {
    pub fn end(&self) -> u64 {
        self.start + self.line.samples.len() as u64
    }

    /// Seconds into the line at media time `t` (seconds), if it is playing then.
    pub fn offset_at(&self, t: f64) -> Option<f32> {
        let s = (t * SAMPLE_RATE as f64) as i64 - self.start as i64;
        (s >= 0 && (s as u64) < self.line.samples.len() as u64)
            .then(|| s as f32 / SAMPLE_RATE as f32)
    }
}

/// Drops the lines at the front of a timeline that ended more than a second before `t`
/// (media seconds): said, so neither mouthed nor captioned any more.
pub fn forget_said(timeline: &mut VecDeque<ScheduledLine>, t: f64) {
    while (timeline.front()).is_some_and(|l| l.end() as f64 / SAMPLE_RATE as f64 + 1.0 < t) {
        timeline.pop_front();
    }
}

/// Takes lines as the speaker finishes them and puts them on the timeline.
pub struct Scheduler {
    ready: Receiver<Line>,
    mixer: Sender<ScheduledLine>,
    pause: u64,
    lead: u64,
    busy_until: Option<u64>,
    /// Lines asked for now (`/say`): played next, as soon as the current line ends.
    urgent: Option<Receiver<Line>>,
    /// A ready line taken early by [`Scheduler::wait_for_ready`] or [`Scheduler::has_ready`].
    held: Option<Line>,
    /// Scripted lines wait (requests still play): another program's line is not ready.
    pub hold: bool,
    /// No scripted line starts before this sample: programs in step wait for the longest.
    pub floor: u64,
    /// Programs beside the main one that play the same lines (same language).
    also: Vec<Sender<ScheduledLine>>,
}

impl Scheduler {
    /// `lead`: how far ahead of the frame being rendered a line may start — more than the
    /// encoder lags behind the renderer, so the mixer always hears of a line before it is due.
    pub fn new(
        ready: Receiver<Line>,
        mixer: Sender<ScheduledLine>,
        pause_seconds: f32,
        lead_seconds: f32,
    ) -> Self {
        Self {
            ready,
            mixer,
            pause: (pause_seconds.max(0.0) * SAMPLE_RATE as f32) as u64,
            lead: (lead_seconds.max(0.0) * SAMPLE_RATE as f32) as u64,
            busy_until: None,
            urgent: None,
            held: None,
            hold: false,
            floor: 0,
            also: Vec::new(),
        }
    }

    pub fn with_requests(mut self, urgent: Receiver<Line>) -> Self {
        self.urgent = Some(urgent);
        self
    }

    /// Every line is also sent here (a program that says the same lines).
    pub fn also_to(&mut self, mixer: Sender<ScheduledLine>) {
        self.also.push(mixer);
    }

    /// Whether the next scripted line is ready (kept for the next tick).
    pub fn has_ready(&mut self) -> bool {
        if self.held.is_none() {
            self.held = self.ready.try_recv().ok();
        }
        self.held.is_some()
    }

    /// Called once per rendered frame with the frame's media time in samples. Returns the
    /// line it scheduled, if any.
    pub fn tick(&mut self, now: u64) -> Option<ScheduledLine> {
        let earliest = now + self.lead;
        if self.busy_until.is_none_or(|b| b <= earliest)
            && let Some(line) = self.urgent.as_ref().and_then(|u| u.try_recv().ok())
        {
            return Some(self.schedule(line, earliest));
        }
        if self.hold
            || self.floor > earliest
            || self.busy_until.is_some_and(|b| b + self.pause > earliest)
        {
            return None;
        }
        let line = self.held.take().or_else(|| self.ready.try_recv().ok())?;
        let start = self
            .busy_until
            .map_or(earliest, |b| (b + self.pause).max(earliest));
        Some(self.schedule(line, start))
    }

    /// Whether a ready line would start at `now` (nothing playing, the pause over).
    pub fn is_free(&self, now: u64) -> bool {
        let earliest = now + self.lead;
        self.floor <= earliest && self.busy_until.is_none_or(|b| b + self.pause <= earliest)
    }

    /// Whether a line asked for at `now` (samples) would start within `within` samples of
    /// the earliest it can: what is on the timeline ends by then (such lines skip the
    /// pause and the programs' floor).
    pub fn free_within(&self, now: u64, within: u64) -> bool {
        self.busy_until
            .is_none_or(|b| b <= now + self.lead + within)
    }

    /// Waits up to `timeout` for the next scripted line to be ready. Offline renders use
    /// this so that lines land where the script puts them however slow the speech engine.
    pub fn wait_for_ready(&mut self, timeout: std::time::Duration) -> bool {
        if self.held.is_none() {
            self.held = self.ready.recv_timeout(timeout).ok();
        }
        self.held.is_some()
    }

    fn schedule(&mut self, line: Line, start: u64) -> ScheduledLine {
        let scheduled = ScheduledLine {
            start,
            line: Arc::new(line),
        };
        self.busy_until = Some(scheduled.end());
        debug!(
            "line scheduled at {:.2} s: {}",
            start as f64 / SAMPLE_RATE as f64,
            scheduled.line.text
        );
        let _ = self.mixer.send(scheduled.clone());
        for also in &self.also {
            let _ = also.send(scheduled.clone());
        }
        scheduled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seconds: f32) -> Line {
        Line {
            text: "x".into(),
            samples: vec![0.0; (seconds * SAMPLE_RATE as f32) as usize],
            visemes: Default::default(),
            stresses: Vec::new(),
            gesture: None,
            effects: Vec::new(),
            emotion: None,
            origin: Default::default(),
        }
    }

    #[test]
    fn lines_start_after_the_lead_and_keep_their_pause() {
        let (ready_tx, ready) = crossbeam_channel::unbounded();
        let (mixer, heard) = crossbeam_channel::unbounded();
        let mut scheduler = Scheduler::new(ready, mixer, 2.0, 0.1);
        assert!(scheduler.tick(0).is_none(), "nothing ready yet");
        ready_tx.send(line(1.0)).unwrap();
        ready_tx.send(line(1.0)).unwrap();
        let first = scheduler.tick(48_000).unwrap();
        assert_eq!(first.start, 48_000 + 4_800);
        // Busy: the second line waits for the first one plus the pause.
        assert!(scheduler.tick(60_000).is_none());
        let second = (60_000..400_000)
            .step_by(1600)
            .find_map(|now| scheduler.tick(now))
            .unwrap();
        assert!(second.start >= first.end() + 2 * 48_000);
        assert!(second.start < first.end() + 2 * 48_000 + 1600 + 4_800);
        assert_eq!(heard.try_iter().count(), 2, "the mixer heard of both");
        let offset = second
            .offset_at(second.start as f64 / 48_000.0 + 0.5)
            .unwrap();
        assert!((offset - 0.5).abs() < 1e-3, "{offset}");
        assert_eq!(second.offset_at(0.0), None);
    }

    #[test]
    fn requested_lines_go_next_without_the_pause() {
        let (ready_tx, ready) = crossbeam_channel::unbounded();
        let (urgent_tx, urgent) = crossbeam_channel::unbounded();
        let (mixer, _heard) = crossbeam_channel::unbounded();
        let mut scheduler = Scheduler::new(ready, mixer, 3.0, 0.0).with_requests(urgent);
        ready_tx.send(line(1.0)).unwrap();
        ready_tx.send(line(1.0)).unwrap();
        let first = scheduler.tick(0).unwrap();
        urgent_tx
            .send(Line {
                text: "now".into(),
                ..line(0.5)
            })
            .unwrap();
        // Not over the current line...
        assert!(scheduler.free_within(first.end() - 1, 1));
        assert!(!scheduler.free_within(first.end() - 1, 0));
        assert!(scheduler.tick(first.end() - 1).is_none());
        // ...but straight after it, ahead of the scripted one and its pause.
        let asked = scheduler.tick(first.end()).unwrap();
        assert_eq!(asked.line.text, "now");
        assert_eq!(asked.start, first.end());
        let next = (asked.end()..asked.end() + 10 * 48_000)
            .step_by(480)
            .find_map(|t| scheduler.tick(t))
            .unwrap();
        assert!(next.start >= asked.end() + 3 * 48_000);
    }

    #[test]
    fn held_and_floored_lines_wait_while_requests_still_play() {
        let (ready_tx, ready) = crossbeam_channel::unbounded();
        let (urgent_tx, urgent) = crossbeam_channel::unbounded();
        let (mixer, _heard) = crossbeam_channel::unbounded();
        let (also, heard_too) = crossbeam_channel::unbounded();
        let mut scheduler = Scheduler::new(ready, mixer, 0.0, 0.0).with_requests(urgent);
        scheduler.also_to(also);
        ready_tx.send(line(1.0)).unwrap();
        scheduler.hold = true;
        assert!(scheduler.has_ready());
        assert!(scheduler.tick(0).is_none(), "held");
        urgent_tx.send(line(0.5)).unwrap();
        assert!(
            scheduler.tick(0).is_some(),
            "a request plays while the script is held"
        );
        scheduler.hold = false;
        scheduler.floor = 96_000;
        assert!(scheduler.tick(48_000).is_none(), "not before the floor");
        assert!(!scheduler.is_free(48_000));
        let started = scheduler.tick(96_000).unwrap();
        assert_eq!(started.start, 96_000);
        assert_eq!(
            heard_too.try_iter().count(),
            2,
            "the program beside heard both"
        );
    }
}
