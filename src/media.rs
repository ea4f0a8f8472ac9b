//! Plain data passed between the pipeline's stages, and the media clock.

use std::time::Duration;

/// Sample rate of everything the audio side produces: the broadcast standard.
pub const SAMPLE_RATE: u32 = 48_000;
/// Channels of the program audio (interleaved stereo).
pub const CHANNELS: usize = 2;

/// One rendered picture, tightly packed RGBA8 (sRGB), top row first.
///
/// `index` is the frame's position on the media clock: the encoder derives the
/// presentation time from it, never from when the frame happened to arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrame {
    pub index: u64,
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl VideoFrame {
    /// A frame filled with one colour; useful for tests and benchmarks.
    pub fn solid(index: u64, width: u32, height: u32, rgba: [u8; 4]) -> Self {
        let pixels = (width * height) as usize;
        let mut data = Vec::with_capacity(pixels * 4);
        for _ in 0..pixels {
            data.extend_from_slice(&rgba);
        }
        Self {
            index,
            width,
            height,
            rgba: data,
        }
    }
}

/// A block of interleaved stereo `f32` samples at [`SAMPLE_RATE`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AudioBlock {
    pub samples: Vec<f32>,
}

impl AudioBlock {
    pub fn frames(&self) -> usize {
        self.samples.len() / CHANNELS
    }
}

/// The show's frame rate and the arithmetic that keeps audio and video on one clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaClock {
    pub fps: u32,
}

impl MediaClock {
    pub fn new(fps: u32) -> Self {
        assert!(fps > 0, "fps must be positive");
        Self { fps }
    }

    /// Presentation time of a frame, rounded up to the nanosecond so that
    /// [`MediaClock::frame_at`] of it gives the same frame back.
    pub fn frame_time(&self, index: u64) -> Duration {
        let nanos = (index as u128 * 1_000_000_000).div_ceil(self.fps as u128);
        Duration::from_nanos(nanos as u64)
    }

    /// Audio samples (per channel) that must exist once `frames` video frames have been shown.
    ///
    /// Computed from the frame count each time rather than accumulated, so rounding never
    /// adds up: after any number of frames audio and video differ by less than one sample.
    pub fn samples_for_frames(&self, frames: u64) -> u64 {
        frames * SAMPLE_RATE as u64 / self.fps as u64
    }

    /// The frame due at a given point of the timeline (rounded down).
    pub fn frame_at(&self, elapsed: Duration) -> u64 {
        (elapsed.as_nanos() * self.fps as u128 / 1_000_000_000) as u64
    }

    pub fn frames_in(&self, seconds: f64) -> u64 {
        (seconds * self.fps as f64).round().max(0.0) as u64
    }
}

/// Anything that produces program audio: interleaved stereo f32 at 48 kHz.
pub trait AudioSource: Send {
    /// Fills all of `out`. Sources never fail here: a source in trouble plays silence and
    /// reports it, because the stream must go on.
    fn fill(&mut self, out: &mut [f32]);
}

/// No music: the audio track is still there, because platforms reject streams without one.
pub struct Silence;

impl AudioSource for Silence {
    fn fill(&mut self, out: &mut [f32]) {
        out.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_follows_video_without_accumulated_rounding() {
        // 29 fps does not divide 48 kHz: per-frame sample counts vary, the total must not drift.
        let clock = MediaClock::new(29);
        let frames = 29 * 3600 * 24; // one day
        let samples = clock.samples_for_frames(frames);
        assert_eq!(samples, 48_000 * 3600 * 24);
        let mut sum = 0;
        for f in 0..1000 {
            sum += clock.samples_for_frames(f + 1) - clock.samples_for_frames(f);
        }
        assert_eq!(sum, clock.samples_for_frames(1000));
    }

    #[test]
    fn frame_at_inverts_frame_time() {
        let clock = MediaClock::new(30);
        for i in [0u64, 1, 29, 30, 12345, 30 * 86_400] {
            assert_eq!(clock.frame_at(clock.frame_time(i)), i);
        }
    }

    #[test]
    fn solid_frame_has_packed_rgba() {
        let f = VideoFrame::solid(3, 4, 2, [1, 2, 3, 4]);
        assert_eq!(f.rgba.len(), 4 * 2 * 4);
        assert_eq!(&f.rgba[4..8], &[1, 2, 3, 4]);
    }
}
