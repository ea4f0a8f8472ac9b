//! The last hour of the show's vital figures, one sample every [`SAMPLE_EVERY`], so a
//! console opened in the morning draws the night's last hour at once.

use super::ShowStatus;
use super::feed::{Feed, unix_now};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// An hour of samples.
pub const SAMPLES: usize = 360;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// Wall clock, seconds since the Unix epoch.
    pub at: f64,
    pub render_fps: f64,
    pub bitrate_kbps: f64,
    pub repeated_frames: u64,
    pub events_per_minute: usize,
}

impl Sample {
    pub fn of(status: &ShowStatus, feed: &Feed) -> Self {
        Self {
            at: unix_now(),
            render_fps: status.render_fps,
            bitrate_kbps: status.bitrate_kbps,
            repeated_frames: status.repeated_frames,
            events_per_minute: feed.events_per_minute(),
        }
    }
}

#[derive(Clone, Default)]
pub struct History(Arc<Mutex<VecDeque<Sample>>>);

impl History {
    pub fn record(&self, sample: Sample) {
        let mut samples = self.0.lock().unwrap_or_else(|e| e.into_inner());
        samples.push_back(sample);
        while samples.len() > SAMPLES {
            samples.pop_front();
        }
    }

    pub fn samples(&self) -> Vec<Sample> {
        let samples = self.0.lock().unwrap_or_else(|e| e.into_inner());
        samples.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_an_hour() {
        let history = History::default();
        let feed = Feed::default();
        for fps in 0..SAMPLES + 5 {
            let status = ShowStatus {
                render_fps: fps as f64,
                ..Default::default()
            };
            history.record(Sample::of(&status, &feed));
        }
        let samples = history.samples();
        assert_eq!(samples.len(), SAMPLES);
        assert_eq!(samples[0].render_fps, 5.0);
    }
}
