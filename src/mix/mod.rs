//! The program mix: music bed, the host's speech, sound effects, a live voice, loudness.
//!
//! [`ProgramMixer`] is itself an [`AudioSource`]: the encoder pulls finished program audio
//! from it on the media clock. Lines come ready to play from the speech pipeline
//! ([`crate::speech`]) as [`ScheduledLine`]s and are played exactly at their start sample.

mod live;
mod monitor;
mod music;

pub use live::LiveAudio;
pub use monitor::Monitor;
pub use music::{MusicError, MusicLoop};

use crate::loudness::Normalizer;
use crate::media::AudioSource;
use crate::media::{CHANNELS, SAMPLE_RATE};
use crate::speech::ScheduledLine;
use crossbeam_channel::Receiver;
use std::collections::VecDeque;
use tracing::{info, warn};

#[derive(Debug, Clone, PartialEq)]
pub struct MixSettings {
    /// Music gain while the host speaks (negative dB).
    pub duck_db: f32,
    pub duck_attack_ms: f32,
    pub duck_release_ms: f32,
    pub speech_gain_db: f32,
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
            loudness_lufs: Some(-16.0),
            true_peak_dbtp: -1.0,
        }
    }
}

/// Music + speech + loudness, pulled by the encoder.
pub struct ProgramMixer {
    music: Box<dyn AudioSource>,
    schedule: Option<Receiver<ScheduledLine>>,
    pending: VecDeque<ScheduledLine>,
    playing: Option<ScheduledLine>,
    /// Sound effects sounding now, and how far into each.
    effects: Vec<(std::sync::Arc<[f32]>, usize)>,
    /// Media position in samples (per channel).
    position: u64,
    duck_gain: f32,
    duck_low: f32,
    attack: f32,
    release: f32,
    speech_gain: f32,
    normalizer: Option<Normalizer>,
    /// A person's voice during a takeover.
    live: Option<std::sync::Arc<LiveAudio>>,
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
        schedule: Option<Receiver<ScheduledLine>>,
        settings: MixSettings,
    ) -> Self {
        Self {
            music,
            schedule,
            pending: VecDeque::new(),
            playing: None,
            effects: Vec::new(),
            position: 0,
            duck_gain: 1.0,
            duck_low: db(settings.duck_db),
            attack: coefficient(settings.duck_attack_ms),
            release: coefficient(settings.duck_release_ms),
            speech_gain: db(settings.speech_gain_db),
            normalizer: settings
                .loudness_lufs
                .map(|target| Normalizer::new(target, settings.true_peak_dbtp)),
            live: None,
        }
    }

    /// Mixes in a live input (ducking the music under it) while it is active.
    pub fn with_live(mut self, live: std::sync::Arc<LiveAudio>) -> Self {
        self.live = Some(live);
        self
    }

    /// Starts the next scheduled line when the media clock reaches its start sample.
    fn maybe_start_line(&mut self) {
        if self.playing.is_some() {
            return;
        }
        while let Some(late) = self.pending.pop_front_if(|l| l.end() <= self.position) {
            // Should not happen with a sufficient lead; playing it late would put the voice
            // out of step with the mouth, so it is dropped.
            warn!(
                "line arrived after its time and was dropped: {}",
                late.line.text
            );
        }
        if let Some(line) = self.pending.pop_front_if(|l| l.start <= self.position) {
            info!(
                "speaking at {:.2} s: {}",
                line.start as f64 / SAMPLE_RATE as f64,
                line.line.text
            );
            self.effects
                .extend(line.line.effects.iter().map(|e| (e.clone(), 0)));
            self.playing = Some(line);
        }
    }
}

impl AudioSource for ProgramMixer {
    fn fill(&mut self, out: &mut [f32]) {
        if let Some(schedule) = &self.schedule {
            self.pending.extend(schedule.try_iter());
        }
        self.music.fill(out);
        // A damaged music file can decode to NaN, which would poison the loudness rider
        // for good: such samples are silence.
        for s in out.iter_mut().filter(|s| !s.is_finite()) {
            *s = 0.0;
        }
        let live = self
            .live
            .as_ref()
            .and_then(|l| l.take(out.len() / CHANNELS));
        for (i, frame) in out.chunks_exact_mut(CHANNELS).enumerate() {
            self.maybe_start_line();
            let line = self.playing.as_ref().map(|l| {
                let at = (self.position - l.start) as usize;
                l.line.samples.get(at).copied().unwrap_or(0.0)
            });
            let person = live.as_ref().map(|l| l[i]);
            let speech = match (line, person) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
            };
            if self
                .playing
                .as_ref()
                .is_some_and(|l| self.position + 1 >= l.end())
            {
                self.playing = None;
            }
            let (target, rate) = if speech.is_some() {
                (self.duck_low, self.attack)
            } else {
                (1.0, self.release)
            };
            self.duck_gain += (target - self.duck_gain) * rate;
            // Effects sound over the (ducked) bed, as they are: a chime is not music.
            let mut effect = 0.0;
            for (samples, at) in &mut self.effects {
                effect += samples.get(*at).copied().unwrap_or(0.0);
                *at += 1;
            }
            self.effects.retain(|(samples, at)| *at < samples.len());
            let voice = speech.unwrap_or(0.0) * self.speech_gain + effect;
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
