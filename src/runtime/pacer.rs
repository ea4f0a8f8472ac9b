//! Which frame to render next, and when.

use super::{Pacing, RunError, StopSignal};
use crate::capture::CaptureRequest;
use crate::media::MediaClock;
use crate::stage::{FrameCost, MediaTime};
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use std::time::{Duration, Instant};

/// Paces the render loop on the media clock. In `stream` it never renders a frame whose
/// time has not come, and when behind renders the one due now (the encoder repeats the
/// last picture for the skipped ones); in `render` it renders every frame as fast as it can.
pub struct FramePacer {
    pub clock: MediaClock,
    pacing: Pacing,
    /// Frames to render in all; until stopped when `None`.
    pub total: Option<u64>,
    epoch: Instant,
    /// Bevy's clock at the first frame: frame `n` is given this instant plus `n` frames, so
    /// animation starts where warm-up left it (stopped, [`super::app::warm_up`]) however
    /// long the first frame waited, and the same show renders the same frames every run.
    anchor: Option<Instant>,
    /// The next frame to render.
    pub next: u64,
    /// Frames actually rendered (the rest were repeated by the encoder).
    pub rendered: u64,
    /// When the last frame's update ended: a turn of the loop runs from there to the end
    /// of the next one's, less any wait for the wall clock.
    last_done: Option<Instant>,
}

impl FramePacer {
    pub fn new(clock: MediaClock, pacing: Pacing, seconds: Option<f64>) -> Self {
        Self {
            clock,
            pacing,
            total: seconds.map(|s| clock.frames_in(s)),
            epoch: Instant::now(),
            anchor: None,
            next: 0,
            rendered: 0,
            last_done: None,
        }
    }

    pub fn done(&self) -> bool {
        self.total.is_some_and(|t| self.next >= t)
    }

    /// Media time of the next frame, in seconds.
    pub fn now(&self) -> f64 {
        self.next as f64 / self.clock.fps as f64
    }

    /// Frames the renderer is behind the wall clock (always 0 when unpaced).
    pub fn behind(&self) -> u64 {
        match self.pacing {
            Pacing::RealTime => self
                .clock
                .frame_at(self.epoch.elapsed())
                .saturating_sub(self.next),
            Pacing::AsFastAsPossible => 0,
        }
    }

    /// Renders the next frame (after waiting for its time when paced); the renderer's error
    /// once it has stopped on one ([`super::app::renderer_failure`]).
    pub fn render_next(&mut self, app: &mut App, stop: &StopSignal) -> Result<(), RunError> {
        let waited = match self.pacing {
            Pacing::RealTime => self.wait_for_next(stop),
            Pacing::AsFastAsPossible => Duration::ZERO,
        };
        let anchor = *self.anchor.get_or_insert_with(|| {
            let time = app.world().resource::<Time<Real>>();
            time.last_update().unwrap_or_else(|| time.startup())
        });
        let time = anchor + self.clock.frame_time(self.next);
        app.insert_resource(TimeUpdateStrategy::ManualInstant(time));
        app.insert_resource(MediaTime(self.now()));
        app.world_mut().resource_mut::<CaptureRequest>().frame = Some(self.next);
        let started = Instant::now();
        app.update();
        let done = Instant::now();
        if self.pacing == Pacing::RealTime {
            // The whole turn, the loop's other work too: all of it must fit a frame's time.
            let turn = self.last_done.unwrap_or(started);
            app.insert_resource(FrameCost {
                ms: (done - turn).saturating_sub(waited).as_secs_f32() * 1000.0,
                budget_ms: 1000.0 / self.clock.fps as f32,
            });
        }
        self.last_done = Some(done);
        self.next += 1;
        self.rendered += 1;
        super::app::renderer_failure(app)
    }

    /// Waits for the next frame's time; returns how long it waited.
    fn wait_for_next(&mut self, stop: &StopSignal) -> Duration {
        let began = Instant::now();
        // Never ahead of the wall clock: wait for the frame's time to come.
        while let Some(wait) = self
            .clock
            .frame_time(self.next)
            .checked_sub(self.epoch.elapsed())
        {
            if wait.is_zero() || stop.requested() {
                break;
            }
            std::thread::sleep(wait.min(Duration::from_millis(50)));
        }
        // Behind: render the frame that is due now; the encoder repeats the last picture
        // for the skipped ones, so the stream stays real-time and in sync with its audio.
        let due = self.clock.frame_at(self.epoch.elapsed());
        let last = self.total.map_or(u64::MAX, |t| t.saturating_sub(1));
        self.next = self.next.max(due.min(last));
        began.elapsed()
    }
}
