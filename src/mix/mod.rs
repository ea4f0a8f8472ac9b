//! The program mix: music bed, the host's speech, loudness.
//!
//! [`ProgramMixer`] is itself an [`AudioSource`]: the encoder pulls finished program audio
//! from it on the media clock. Speech lines arrive ready to play (48 kHz mono) from a
//! [`Speaker`] thread, which synthesises ahead so the encoder never waits on a speech engine.

mod loudness;
mod speaker;

pub use loudness::{Normalizer, integrated_lufs, level_mono_line};
pub use speaker::{Line, Speaker};

use crate::encode::AudioSource;
use crate::media::{CHANNELS, SAMPLE_RATE};
use crossbeam_channel::Receiver;
use tracing::info;

#[derive(Debug, Clone, PartialEq)]
pub struct MixSettings {
    /// Music gain while the host speaks (negative dB).
    pub duck_db: f32,
    pub duck_attack_ms: f32,
    pub duck_release_ms: f32,
    pub speech_gain_db: f32,
    /// Silence between lines.
    pub pause_seconds: f32,
    /// Program loudness target; `None` leaves levels alone.
    pub loudness_lufs: Option<f32>,
    pub true_peak_dbtp: f32,
}

impl Default for MixSettings {
    fn default() -> Self {
        Self {
            duck_db: -12.0,
            duck_attack_ms: 40.0,
            duck_release_ms: 400.0,
            speech_gain_db: 0.0,
            pause_seconds: 4.0,
            loudness_lufs: Some(-16.0),
            true_peak_dbtp: -1.0,
        }
    }
}

/// Music + speech + loudness, pulled by the encoder.
pub struct ProgramMixer {
    music: Box<dyn AudioSource>,
    lines: Option<Receiver<Line>>,
    playing: Option<(Line, usize)>,
    settings: MixSettings,
    /// Samples (per channel) since the last line ended.
    quiet_for: u64,
    /// Media position in samples (per channel).
    position: u64,
    duck_gain: f32,
    duck_low: f32,
    attack: f32,
    release: f32,
    speech_gain: f32,
    normalizer: Option<Normalizer>,
}

fn db(v: f32) -> f32 {
    10f32.powf(v / 20.0)
}

/// Per-sample smoothing coefficient for a time constant.
fn coefficient(ms: f32) -> f32 {
    1.0 - (-1.0 / (ms.max(0.1) / 1000.0 * SAMPLE_RATE as f32)).exp()
}

impl ProgramMixer {
    pub fn new(
        music: Box<dyn AudioSource>,
        lines: Option<Receiver<Line>>,
        settings: MixSettings,
    ) -> Self {
        let normalizer = settings
            .loudness_lufs
            .map(|target| Normalizer::new(target, settings.true_peak_dbtp));
        Self {
            music,
            lines,
            playing: None,
            quiet_for: 0,
            position: 0,
            duck_gain: 1.0,
            duck_low: db(settings.duck_db),
            attack: coefficient(settings.duck_attack_ms),
            release: coefficient(settings.duck_release_ms),
            speech_gain: db(settings.speech_gain_db),
            normalizer,
            settings,
        }
    }

    /// Starts the next line when the pause after the last one is over and a line is ready.
    fn maybe_start_line(&mut self) {
        if self.playing.is_some() {
            return;
        }
        let pause = (self.settings.pause_seconds.max(0.0) * SAMPLE_RATE as f32) as u64;
        if self.quiet_for < pause {
            return;
        }
        if let Some(line) = self.lines.as_ref().and_then(|l| l.try_recv().ok()) {
            info!(
                "speaking at {:.2} s: {}",
                self.position as f64 / SAMPLE_RATE as f64,
                line.text
            );
            self.playing = Some((line, 0));
        }
    }
}

impl AudioSource for ProgramMixer {
    fn fill(&mut self, out: &mut [f32]) {
        self.music.fill(out);
        for frame in out.chunks_exact_mut(CHANNELS) {
            self.maybe_start_line();
            let speech = match self.playing.as_mut() {
                Some((line, pos)) => {
                    let s = line.samples.get(*pos).copied().unwrap_or(0.0);
                    *pos += 1;
                    if *pos >= line.samples.len() {
                        self.playing = None;
                        self.quiet_for = 0;
                    }
                    Some(s)
                }
                None => {
                    self.quiet_for += 1;
                    None
                }
            };
            let (target, rate) = if speech.is_some() {
                (self.duck_low, self.attack)
            } else {
                (1.0, self.release)
            };
            self.duck_gain += (target - self.duck_gain) * rate;
            let voice = speech.unwrap_or(0.0) * self.speech_gain;
            for sample in frame.iter_mut() {
                *sample = *sample * self.duck_gain + voice;
            }
            self.position += 1;
        }
        if let Some(n) = self.normalizer.as_mut() {
            n.process(out);
        }
    }
}

#[cfg(test)]
mod tests;
