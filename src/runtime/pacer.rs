//! Which frame to render next, and when.

use super::{Pacing, RunError, StopSignal};
use crate::capture::CaptureRequest;
use crate::media::MediaClock;
use crate::stage::{FrameCost, MediaTime};
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use std::time::{Duration, Instant};

/// Paces the render loop on the media clock. In `stream` it never renders a frame more
/// than [`FramePacer::ahead`] before its time, and when behind renders the one due now
/// (the encoder repeats the last picture for the skipped ones); in `render` it renders
/// every frame as fast as it can.
pub struct FramePacer {
    pub clock: MediaClock,
    pacing: Pacing,
    /// How far before its time a frame may be rendered ([`super::lead::Lead`], up to
    /// `video.render_ahead_ms`; none while drawn in step): time a quick frame saves is then
    /// kept for a slow one, instead of spent waiting.
    pub ahead: Duration,
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
            ahead: Duration::ZERO,
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

    /// The wall clock (Unix seconds) at which media time 0 is due.
    pub fn wall_origin(&self) -> f64 {
        crate::api::unix_now() - self.epoch.elapsed().as_secs_f64()
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
        let early_ms = self.early_ms(started - self.epoch);
        app.update();
        let done = Instant::now();
        trace!(
            frame = self.next,
            ms = (done - started).as_secs_f64() * 1e3,
            "frame drawn"
        );
        if self.pacing == Pacing::RealTime {
            // The whole turn, the loop's other work too: all of it must fit a frame's time.
            let turn = self.last_done.unwrap_or(started);
            app.insert_resource(FrameCost {
                ms: (done - turn).saturating_sub(waited).as_secs_f32() * 1000.0,
                budget_ms: 1000.0 / self.clock.fps as f32,
                early_ms,
                lead_ms: self.ahead.as_secs_f32() * 1000.0,
            });
        }
        self.last_done = Some(done);
        self.next += 1;
        self.rendered += 1;
        super::app::renderer_failure(app)
    }

    /// How long the next frame must still wait at `elapsed` since the start: until its
    /// time less [`FramePacer::ahead`]; `None` once it may be rendered.
    fn wait_at(&self, elapsed: Duration) -> Option<Duration> {
        let start = self.clock.frame_time(self.next).saturating_sub(self.ahead);
        start.checked_sub(elapsed).filter(|wait| !wait.is_zero())
    }

    /// How many milliseconds before its time the next frame begins at `elapsed` (negative:
    /// late).
    fn early_ms(&self, elapsed: Duration) -> f32 {
        let time = self.clock.frame_time(self.next).as_secs_f64();
        ((time - elapsed.as_secs_f64()) * 1000.0) as f32
    }

    /// Waits for the next frame's time; returns how long it waited.
    fn wait_for_next(&mut self, stop: &StopSignal) -> Duration {
        let began = Instant::now();
        // Never further ahead of the wall clock than allowed: wait for the frame's time
        // (less that) to come.
        while let Some(wait) = self.wait_at(self.epoch.elapsed()) {
            if stop.requested() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pacer(ahead_ms: u64) -> FramePacer {
        let mut pacer = FramePacer::new(MediaClock::new(30), Pacing::RealTime, None);
        pacer.ahead = Duration::from_millis(ahead_ms);
        pacer
    }

    #[test]
    fn a_frame_waits_for_its_time_less_what_it_may_be_ahead() {
        let ms = Duration::from_millis;
        let mut held = pacer(0);
        held.next = 30; // due at 1 s
        assert_eq!(held.wait_at(ms(400)), Some(ms(600)));
        assert_eq!(held.wait_at(ms(1000)), None);
        assert_eq!(held.early_ms(ms(400)), 600.0);
        assert_eq!(held.early_ms(ms(1100)), -100.0);
        let mut ahead = pacer(500);
        ahead.next = 30;
        assert_eq!(ahead.wait_at(ms(400)), Some(ms(100)));
        assert_eq!(ahead.wait_at(ms(500)), None, "half a second early at most");
        // The first frames: no earlier than the start.
        ahead.next = 3;
        assert_eq!(ahead.wait_at(Duration::ZERO), None);
    }
}
