//! The per-frame resources the orchestrator hands to the Bevy world before each update:
//! where the frame sits on the media clock, the lines on the speech timeline, what is on
//! air, and gestures asked for from outside the script. The plugins (presenter, graphics,
//! camera, twin) only read them, so each can be built and tested without the others.

use crate::show::OnAir;
use crate::speech::{Gesture, ScheduledLine};
use bevy::prelude::*;
use std::collections::VecDeque;

/// Position on the media clock, in seconds, of the frame being rendered. Set by the loop.
#[derive(Resource, Default, Clone, Copy)]
pub struct MediaTime(pub f64);

/// What the last turn of the loop cost (wall time from the end of one frame's update to
/// the end of the next's, less any wait for the wall clock) against the time a frame has
/// in real time. Set only by a loop that keeps pace with the wall clock (`stream`); a
/// plugin that can draw cheaper frames reads it ([`crate::camera::held`]).
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct FrameCost {
    pub ms: f32,
    pub budget_ms: f32,
    /// How long before its time on the wall clock the frame began (negative: late), as
    /// `video.render_ahead_ms` allows.
    pub early_ms: f32,
    /// How far ahead of its time it was allowed to begin: up to `video.render_ahead_ms`,
    /// as far as the stream's recent frames needed; 0 while drawn in step.
    pub lead_ms: f32,
}

/// Lines on the timeline, as scheduled for the mixer.
#[derive(Resource, Default)]
pub struct SpeechTimeline(pub VecDeque<ScheduledLine>);

/// What is on air now, as the render loop's director last said.
#[derive(Resource, Debug, Clone, Default)]
pub struct OnAirNow(pub OnAir);

/// Gestures asked for outside the script (the control API), played at the next frame.
#[derive(Resource, Default)]
pub struct GestureRequests(pub Vec<Gesture>);

/// The set pieces whose twin screens show something new this frame: drawn into their
/// textures, which change detection does not see, so a held shot draws them again. The
/// twin writes it afresh every frame.
#[derive(Resource, Default)]
pub struct ScreensChanged(pub Vec<Entity>);

/// What the programs beside the main one show: one feed per program, in the order of
/// their cameras (`scene::ViewCamera::index` 1 is `0[0]`). The main program's are
/// [`OnAirNow`] and [`SpeechTimeline`].
#[derive(Resource, Default)]
pub struct ProgramFeeds(pub Vec<ProgramFeed>);

/// One program's view of the show: what is on air in its language and prices, the lines
/// it says, the currency sign of its prices.
#[derive(Default)]
pub struct ProgramFeed {
    pub on_air: OnAir,
    pub speech: VecDeque<ScheduledLine>,
    pub currency: String,
}

impl ProgramFeeds {
    /// The feed of program `index` (1 and up; the main one, 0, has none).
    pub fn get(&self, index: usize) -> Option<&ProgramFeed> {
        self.0.get(index.checked_sub(1)?)
    }
}
