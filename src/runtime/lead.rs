//! How far ahead of the wall clock `stream` may draw: as far as its recent frames needed.
//!
//! A frame drawn before its time banks what it saves for a slow one after it
//! ([`super::pacer::FramePacer::ahead`]). The bank has a price: what the live room and the
//! API change reaches the stream up to the lead later, and a scripted line goes on the
//! timeline that much before the wall clock reaches it, so an answer asked for just then
//! waits behind it. So, as adaptive jitter buffers keep the delay their recent packets
//! needed rather than the most they allow, the lead is what recent frames would have
//! needed to lose none: the running overrun Σ(cost − a frame's time) over a run of slow
//! frames (never below nothing), its peak lately (halving every [`HALF_LIFE_S`]), a
//! quarter more ([`MARGIN`]) and a frame besides, and never more than
//! `video.render_ahead_ms`. Where frames have headroom (a GPU, a small picture) that is a
//! frame or two; where they overrun most of the time (720p on two cores), all of it.
//!
//! For its first [`HALF_LIFE_S`] of media it has not yet seen the show's frames (the first
//! glide, the first cut to each camera), and keeps all of `video.render_ahead_ms`: learned
//! from nothing, the 720p demo's first glide repeated up to 8 frames more than with the
//! whole lead, replayed (docs/performance.md, "A lead as deep as the frames need").
//! `video.render_ahead_adapts = false` keeps all of it all the time.

use crate::stage::FrameCost;
use std::time::Duration;

/// Seconds over which the peak overrun falls to half: long enough to remember the slow
/// frames of the last shot change or two (a shot holds for tens of seconds), short enough
/// that a burst (a keyframe, the disk) does not cost the room's answers for minutes.
pub const HALF_LIFE_S: f32 = 30.0;
/// The lead over the peak overrun, for frames a little slower than the last slow run.
pub const MARGIN: f32 = 1.25;

/// The pacer's lead, as [`HALF_LIFE_S`] and [`MARGIN`] say, from the frames' costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    /// `video.render_ahead_ms`: the most it may be.
    cap_ms: f32,
    /// `video.render_ahead_adapts`; when false the lead is always the cap.
    adapts: bool,
    /// A frame's time, as the last frame's cost says.
    budget_ms: f32,
    /// What the frames since the last one within its time have overrun it by, in all: the
    /// bank they would have drawn on (capped, so it falls soon once frames are quick again).
    overrun_ms: f32,
    /// The largest `overrun_ms` lately, decayed.
    peak_ms: f32,
    /// Media seconds of frames it has learned from, up to [`HALF_LIFE_S`].
    seen_s: f32,
}

impl Lead {
    pub fn new(cap: Duration, adapts: bool) -> Self {
        Self {
            cap_ms: cap.as_secs_f32() * 1000.0,
            adapts,
            // Read before any frame only once it has seen [`HALF_LIFE_S`] of them.
            budget_ms: 0.0,
            overrun_ms: 0.0,
            peak_ms: 0.0,
            seen_s: 0.0,
        }
    }

    /// How far ahead of its time the next frame may be drawn.
    pub fn now(&self) -> Duration {
        let ms = match self.adapts && self.seen_s >= HALF_LIFE_S {
            true => (MARGIN * self.peak_ms + self.budget_ms).min(self.cap_ms),
            false => self.cap_ms,
        };
        Duration::from_secs_f32(ms.max(0.0) / 1000.0)
    }

    /// Takes in the last frame's cost; `frames`: how many frames' time the media clock
    /// advanced since the frame before it (more than one when the pacer skipped some to
    /// catch up).
    pub fn learn(&mut self, cost: &FrameCost, frames: u64) {
        self.budget_ms = cost.budget_ms;
        let seconds = frames as f32 * cost.budget_ms / 1000.0;
        self.seen_s = (self.seen_s + seconds).min(HALF_LIFE_S);
        let overrun = self.overrun_ms + cost.ms - cost.budget_ms;
        self.overrun_ms = overrun.clamp(0.0, self.cap_ms);
        let decay = 0.5f32.powf(seconds / HALF_LIFE_S);
        self.peak_ms = (self.peak_ms * decay).max(self.overrun_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FPS: u32 = 30;
    const BUDGET: f32 = 1000.0 / FPS as f32;

    /// `lead` after `frames` frames costing `ms` each.
    fn after(mut lead: Lead, frames: usize, ms: f32) -> Lead {
        let cost = FrameCost {
            ms,
            budget_ms: BUDGET,
            early_ms: 0.0,
            lead_ms: 0.0,
        };
        for _ in 0..frames {
            lead.learn(&cost, 1);
        }
        lead
    }

    fn ms(lead: &Lead) -> f32 {
        lead.now().as_secs_f32() * 1000.0
    }

    /// A lead that has seen its first half-life of frames, all within their time.
    fn adaptive() -> Lead {
        let fresh = Lead::new(Duration::from_millis(500), true);
        after(fresh, ((HALF_LIFE_S + 1.0) * FPS as f32) as usize, 20.0)
    }

    #[test]
    fn frames_within_their_time_bank_a_frame_once_it_has_seen_some() {
        let fresh = Lead::new(Duration::from_millis(500), true);
        assert_eq!(ms(&fresh), 500.0, "before any frame");
        let almost = after(fresh, ((HALF_LIFE_S - 1.0) * FPS as f32) as usize, 20.0);
        assert_eq!(ms(&almost), 500.0, "within its first half-life");
        let quick = after(almost, 2 * FPS as usize, 20.0);
        assert!((ms(&quick) - BUDGET).abs() < 0.01, "{quick:?}");
    }

    #[test]
    fn a_run_of_slow_frames_banks_what_it_overran_and_a_margin() {
        // Ten frames 20 ms over: 200 ms the bank would have given; a quarter more and a frame.
        let slow = after(adaptive(), 10, BUDGET + 20.0);
        assert!((ms(&slow) - (250.0 + BUDGET)).abs() < 1.0, "{slow:?}");
        // Quick frames after them pay the overrun back, and the peak is remembered.
        let after_quick = after(slow, 30, 20.0);
        assert!(ms(&after_quick) > 240.0, "{after_quick:?}");
    }

    #[test]
    fn the_lead_halves_every_half_life_and_never_passes_the_cap() {
        let slow = after(adaptive(), 10, BUDGET + 20.0);
        let later = after(slow, (HALF_LIFE_S * FPS as f32) as usize, 20.0);
        assert!((ms(&later) - (125.0 + BUDGET)).abs() < 2.0, "{later:?}");
        // Frames that always overrun: all of `video.render_ahead_ms`, no more.
        let overloaded = after(adaptive(), 1000, 2.0 * BUDGET);
        assert!((ms(&overloaded) - 500.0).abs() < 0.01, "{overloaded:?}");
        // And once they are quick again, it falls within a few half-lives.
        let recovered = after(overloaded, (4.0 * HALF_LIFE_S * FPS as f32) as usize, 20.0);
        assert!(ms(&recovered) < 100.0, "{recovered:?}");
    }

    #[test]
    fn a_fixed_lead_is_the_whole_of_it_always() {
        let fixed = Lead::new(Duration::from_millis(500), false);
        assert_eq!(ms(&fixed), 500.0);
        assert_eq!(ms(&after(fixed, 300, 10.0)), 500.0);
        let none = Lead::new(Duration::ZERO, true);
        assert_eq!(ms(&after(none, 100, 2.0 * BUDGET)), 0.0);
    }
}
