//! Keeping pace in `stream`: the host's layer and glides drawn with fewer pixels while
//! their frames cost more than real time allows, and with more again once they cost less.
//!
//! A stream that falls behind the wall clock repeats pictures, and viewers see the host
//! stutter. On a CPU renderer a held frame costs its host's pixels and a glide its view's,
//! and both vary with the shot and with what else the machine does (the encoder shares
//! its cores). So, as games scale their resolution to hold their frame rate, each kind of
//! frame keeps a *level*: a fraction of the sides it would otherwise be drawn at, lowered
//! while its frames cost more than [`OVER`] of a frame's time and raised once they cost
//! under [`UNDER`] of it. Held frames and glides keep their own levels, since a glide costs
//! twice what a held frame does. A level judges by the median cost of its last [`WINDOW`]
//! frames. It falls as far as that median says at once (a frame's cost taken to go with its
//! pixels, to where it would cost [`AIM`] of a frame's time), since every frame over the
//! time is a repeat: a stream's first glide, at half again its time and more, reaches its
//! floor in two windows rather than in six single steps. It rises a step of [`STEP`] at a
//! time, only after [`RISE_FRAMES`] at a size, so the layer's size (a texture) changes
//! seldom and her sharpness does not pump;
//! the lowest is [`HELD_LOWEST`] for held frames (her layer: what viewers look at) and
//! [`GLIDE_LOWEST`] for glides (a move of two or three seconds, already soft).
//!
//! Only `stream` hands the world a frame's cost ([`FrameCost`]); `render` draws every
//! frame as planned, so the same show renders the same frames every run.

use super::Frame;
use crate::stage::FrameCost;
use bevy::prelude::*;

/// A step of a level, in fractions of the sides.
const STEP: f32 = 0.05;
/// Held frames' lowest level: 0.7 of the sides (half the pixels). Lower, a held frame
/// saves little (most of its cost is not her pixels: about 1 ms from 0.7 to 0.6 at 720p)
/// while she, what viewers look at, softens.
const HELD_LOWEST: f32 = 0.7;
/// Glides' lowest level: 0.6 of the sides (a third of the pixels), where a glide's frame is
/// the whole view's pixels and each step saves milliseconds (docs/performance.md, "Glides
/// down to 0.6").
const GLIDE_LOWEST: f32 = 0.6;
/// Frames a level judges by: the median of their costs, so one slow frame (the disk, the
/// encoder's keyframe) moves nothing. A level waits for as many at each new size.
const WINDOW: usize = 10;
/// Frames at a level before it may rise: a step up costs about a sixth more.
const RISE_FRAMES: u32 = 45;
/// A level falls while its frames cost more than this share of a frame's time.
const OVER: f32 = 0.95;
/// A level rises while its frames cost less than this share of a frame's time.
const UNDER: f32 = 0.75;
/// A falling level aims its frames at this share of a frame's time: below [`OVER`], so that
/// the next window's frames, which vary, are mostly within it.
const AIM: f32 = 0.85;

/// The levels held frames and glides are drawn at (1: as planned).
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub held: Level,
    pub glide: Level,
    /// Held frames and glides drawn below their planned size to keep pace, so far.
    pub smaller: u64,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            held: Level::FULL,
            glide: Level::FULL,
            smaller: 0,
        }
    }
}

/// One kind of frame's level, and the costs of its last frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// The fraction of the sides its frames are drawn at.
    pub scale: f32,
    /// The lowest level its frames have been drawn at, so far.
    pub lowest: f32,
    /// Its last frames' costs, in milliseconds (a ring).
    costs: [f32; WINDOW],
    /// Frames of its kind drawn at this level.
    at_level: u32,
}

impl Level {
    const FULL: Level = Level {
        scale: 1.0,
        lowest: 1.0,
        costs: [0.0; WINDOW],
        at_level: 0,
    };

    /// Takes in the cost of one frame of its kind against a frame's time, and steps, not
    /// below `lowest`.
    fn learn(&mut self, ms: f32, budget_ms: f32, lowest: f32) {
        self.costs[self.at_level as usize % WINDOW] = ms;
        self.at_level = self.at_level.saturating_add(1);
        if (self.at_level as usize) < WINDOW {
            return;
        }
        let mut costs = self.costs;
        costs.sort_by(f32::total_cmp);
        let median = costs[WINDOW / 2];
        let wanted = if median > OVER * budget_ms {
            // At least a step: the median said too slow.
            (self.scale * (AIM * budget_ms / median).sqrt()).min(self.scale - STEP)
        } else if median < UNDER * budget_ms && self.at_level >= RISE_FRAMES {
            self.scale + STEP
        } else {
            return;
        };
        let scale = ((wanted / STEP).round() * STEP).clamp(lowest, 1.0);
        if scale != self.scale {
            // What it learned was of the old size.
            *self = Level {
                scale,
                lowest: self.lowest,
                ..Level::FULL
            };
        }
    }
}

/// Learns the cost of the frame drawn last, from its kind: held frames and glides each
/// keep their level; full and set frames (a new backdrop, drawn seldom) and held frames
/// that drew a patch ([`super::patch`]) teach nothing.
/// Runs before the next frame is chosen, while [`Frame`] still says what the last one was.
pub(super) fn keep_pace(cost: Option<Res<FrameCost>>, frame: Res<Frame>, mut pace: ResMut<Pace>) {
    let Some(cost) = cost.filter(|c| c.is_changed()) else {
        return;
    };
    let pace = &mut *pace;
    let (level, lowest) = match *frame {
        Frame::Held { patch: None, .. } => (&mut pace.held, HELD_LOWEST),
        Frame::Glide { .. } => (&mut pace.glide, GLIDE_LOWEST),
        Frame::Full | Frame::Set { .. } | Frame::Held { .. } => return,
    };
    // The frame just drawn was drawn at the level as it stood.
    if level.scale < 1.0 {
        pace.smaller += 1;
        level.lowest = level.lowest.min(level.scale);
    }
    level.learn(cost.ms, cost.budget_ms, lowest);
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: f32 = 1000.0 / 30.0;

    /// `level` after `frames` held frames costing `ms` each.
    fn after(level: Level, frames: usize, ms: f32) -> Level {
        after_to(level, frames, ms, HELD_LOWEST)
    }

    /// `level` after `frames` frames costing `ms` each, not below `lowest`.
    fn after_to(level: Level, frames: usize, ms: f32, lowest: f32) -> Level {
        let mut level = level;
        for _ in 0..frames {
            level.learn(ms, BUDGET, lowest);
        }
        level
    }

    #[test]
    fn frames_that_cost_too_much_are_drawn_smaller_down_to_the_lowest_level() {
        // A little over the time: one step.
        let one_step = after(Level::FULL, WINDOW, 0.97 * BUDGET);
        assert!((one_step.scale - 0.95).abs() < 1e-6, "{one_step:?}");
        // 40 ms of 33.3: at once to where its pixels would cost 85 % of it, √(0.85 × 33.3 / 40).
        let at_once = after(Level::FULL, WINDOW, 40.0);
        assert!((at_once.scale - 0.85).abs() < 1e-6, "{at_once:?}");
        let lowest = after(Level::FULL, 1000, 40.0);
        assert!((lowest.scale - HELD_LOWEST).abs() < 1e-6, "{lowest:?}");
        let glide = after_to(Level::FULL, 1000, 40.0, GLIDE_LOWEST);
        assert!((glide.scale - GLIDE_LOWEST).abs() < 1e-6, "{glide:?}");
    }

    #[test]
    fn a_glide_at_twice_its_time_is_at_its_floor_within_two_windows() {
        let mut glide = Level::FULL;
        for _ in 0..2 * WINDOW {
            // Half of its cost does not shrink with the pixels.
            let ms = 32.0 + 32.0 * glide.scale * glide.scale;
            glide.learn(ms, BUDGET, GLIDE_LOWEST);
        }
        assert!((glide.scale - GLIDE_LOWEST).abs() < 1e-6, "{glide:?}");
    }

    #[test]
    fn frames_within_their_time_keep_their_level() {
        let level = Level {
            scale: 0.8,
            ..Level::FULL
        };
        // Between the two thresholds: no reason to move either way.
        let kept = after(level, 1000, 0.85 * BUDGET);
        assert_eq!(kept.scale, 0.8);
    }

    #[test]
    fn cheap_frames_rise_slowly_back_to_full_size() {
        let low = after(Level::FULL, 1000, 60.0);
        let risen = after(low, RISE_FRAMES as usize, 10.0);
        assert!(
            (risen.scale - (HELD_LOWEST + STEP)).abs() < 1e-6,
            "{risen:?}"
        );
        assert_eq!(after(low, 1000, 10.0).scale, 1.0);
    }

    #[test]
    fn one_slow_frame_among_quick_ones_moves_nothing() {
        let mut level = after(Level::FULL, 50, 25.0);
        level.learn(200.0, BUDGET, HELD_LOWEST);
        let level = after(level, 3, 25.0);
        assert_eq!(level.scale, 1.0);
    }
}
