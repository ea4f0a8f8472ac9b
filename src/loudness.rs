//! Broadcast loudness: ride the program towards a target (EBU R128 short-term loudness,
//! measured with a real R128 meter) and keep peaks under the true-peak ceiling.

use crate::media::{CHANNELS, SAMPLE_RATE};
use ebur128::{EbuR128, Mode};

/// How fast the rider may move (dB per second), and how far. It only corrects drift: the
/// elements are levelled before the mix (see [`integrated_lufs`]), so a fast rider would
/// only pump the music up in every pause.
const SLEW_DB_PER_S: f32 = 0.5;
const MAX_GAIN_DB: f32 = 6.0;
/// The limiter keeps sample peaks this far under the true-peak ceiling: inter-sample peaks
/// and the AAC encoder's overshoot live in that margin.
const PEAK_MARGIN_DB: f32 = 1.0;
const LIMITER_RELEASE_MS: f32 = 150.0;

pub struct Normalizer {
    meter: EbuR128,
    target: f32,
    gain_db: f32,
    limiter: Limiter,
}

/// Keeps sample peaks [`PEAK_MARGIN_DB`] under a true-peak ceiling: instant attack, a
/// smooth release.
struct Limiter {
    ceiling: f32,
    gain: f32,
    release: f32,
}

impl Limiter {
    fn new(true_peak_dbtp: f32) -> Self {
        Self {
            ceiling: 10f32.powf((true_peak_dbtp - PEAK_MARGIN_DB) / 20.0),
            gain: 1.0,
            release: 1.0 - (-1.0 / (LIMITER_RELEASE_MS / 1000.0 * SAMPLE_RATE as f32)).exp(),
        }
    }

    /// Limits one interleaved frame in place.
    fn frame(&mut self, frame: &mut [f32]) {
        let peak = frame.iter().fold(0.0f32, |p, s| p.max(s.abs()));
        // Release first, then clamp, so no frame ever leaves over the ceiling.
        let released = self.gain + (1.0 - self.gain) * self.release;
        self.gain = if peak * released > self.ceiling {
            self.ceiling / peak
        } else {
            released
        };
        frame.iter_mut().for_each(|s| *s *= self.gain);
    }
}

/// Turns interleaved stereo `samples` up or down by `gain_db` and limits them under
/// `true_peak_dbtp`: a finished recording brought to its loudness target in one pass.
pub fn apply_gain(samples: &mut [f32], gain_db: f32, true_peak_dbtp: f32) {
    let gain = 10f32.powf(gain_db / 20.0);
    let mut limiter = Limiter::new(true_peak_dbtp);
    for frame in samples.chunks_exact_mut(CHANNELS) {
        frame.iter_mut().for_each(|s| *s *= gain);
        limiter.frame(frame);
    }
}

impl Normalizer {
    pub fn new(target_lufs: f32, true_peak_dbtp: f32) -> Self {
        Self {
            meter: EbuR128::new(CHANNELS as u32, SAMPLE_RATE, Mode::S)
                .expect("valid meter settings"),
            target: target_lufs,
            gain_db: 0.0,
            limiter: Limiter::new(true_peak_dbtp),
        }
    }

    /// The gain currently applied before limiting, in dB.
    pub fn gain_db(&self) -> f32 {
        self.gain_db
    }

    /// Measures the block as it came, moves the gain towards the target, applies it, limits.
    pub fn process(&mut self, block: &mut [f32]) {
        let frames = block.len() / CHANNELS;
        if frames == 0 {
            return;
        }
        let _ = self.meter.add_frames_f32(block);
        let before = self.gain_db;
        if let Ok(short_term) = self.meter.loudness_shortterm() {
            // Below -60 LUFS is silence (a pause): hold the gain rather than pump it up.
            if short_term.is_finite() && short_term > -60.0 {
                let wanted = (self.target - short_term as f32).clamp(-MAX_GAIN_DB, MAX_GAIN_DB);
                let error = wanted - self.gain_db;
                let step = SLEW_DB_PER_S * frames as f32 / SAMPLE_RATE as f32;
                self.gain_db += error.clamp(-step, step);
            }
        }
        let (g0, g1) = (10f32.powf(before / 20.0), 10f32.powf(self.gain_db / 20.0));
        for (i, frame) in block.chunks_exact_mut(CHANNELS).enumerate() {
            let g = g0 + (g1 - g0) * (i as f32 / frames as f32);
            frame.iter_mut().for_each(|s| *s *= g);
            self.limiter.frame(frame);
        }
    }
}

/// Integrated loudness (EBU R128, LUFS) of interleaved samples; `None` for silence.
pub fn integrated_lufs(samples: &[f32], channels: u32) -> Option<f32> {
    let mut meter = EbuR128::new(channels, SAMPLE_RATE, Mode::I).ok()?;
    meter.add_frames_f32(samples).ok()?;
    meter
        .loudness_global()
        .ok()
        .map(|l| l as f32)
        .filter(|l| l.is_finite() && *l > -70.0)
}

/// Scales mono samples so that, played on both channels, they measure `target` LUFS.
pub fn level_mono_line(samples: &mut [f32], target: f32) {
    // Identical left and right add 3 dB in R128's power sum.
    if let Some(loudness) = integrated_lufs(samples, 1) {
        let gain = 10f32.powf((target - 3.01 - loudness) / 20.0);
        samples.iter_mut().for_each(|s| *s *= gain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two seconds of a 440 Hz tone at `amplitude`, stereo.
    fn tone(amplitude: f32) -> Vec<f32> {
        (0..SAMPLE_RATE as usize * 2)
            .flat_map(|i| {
                let s = amplitude
                    * (i as f32 * 440.0 * std::f32::consts::TAU / SAMPLE_RATE as f32).sin();
                [s, s]
            })
            .collect()
    }

    #[test]
    fn a_gain_moves_the_loudness_by_as_much_below_the_ceiling() {
        let mut quiet = tone(0.05);
        let before = integrated_lufs(&quiet, CHANNELS as u32).unwrap();
        apply_gain(&mut quiet, 6.0, -1.0);
        let after = integrated_lufs(&quiet, CHANNELS as u32).unwrap();
        assert!((after - before - 6.0).abs() < 0.05, "{before} → {after}");
    }

    #[test]
    fn a_gain_never_lifts_peaks_over_the_ceiling() {
        let mut loud = tone(0.7);
        apply_gain(&mut loud, 12.0, -1.0);
        let ceiling = 10f32.powf((-1.0 - PEAK_MARGIN_DB) / 20.0);
        let peak = loud.iter().fold(0.0f32, |p, s| p.max(s.abs()));
        assert!(peak <= ceiling + 1e-6, "peak {peak} over {ceiling}");
    }
}
