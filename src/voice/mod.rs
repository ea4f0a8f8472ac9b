//! The host's voice: speech engines behind one trait, viseme tracks for lip sync, and
//! helpers to bring any engine's audio to the program's 48 kHz.
//!
//! Engines: eSpeak NG (built in, offline, with phoneme timings, run in a worker process so
//! a crash in the C library costs a line and not the show) and any external command that
//! writes a WAV file (piper and friends), and OpenAI-style HTTP speech endpoints.

pub mod cache;
mod command;
mod espeak;
mod http;
pub mod stress;
pub mod visemes;
pub mod wav;
pub mod worker;

pub use command::CommandEngine;
pub use espeak::EspeakEngine;
pub use http::HttpEngine;
pub use visemes::{Viseme, VisemeKey, VisemeTrack};

use crate::av::init_ffmpeg;
use crate::media::SAMPLE_RATE;
use ffmpeg_next as ffmpeg;
use thiserror::Error;

/// A phoneme starting at `time` seconds into the utterance (engine's own naming).
#[derive(Debug, Clone, PartialEq)]
pub struct PhonemeEvent {
    pub time: f32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WordEvent {
    pub time: f32,
    pub text: String,
}

/// One spoken line: mono samples and what the engine said about their timing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Utterance {
    pub sample_rate: u32,
    pub samples: Vec<f32>,
    pub phonemes: Vec<PhonemeEvent>,
    pub words: Vec<WordEvent>,
}

impl Utterance {
    pub fn duration(&self) -> f32 {
        self.samples.len() as f32 / self.sample_rate.max(1) as f32
    }

    /// The engine's audio as untrusted input: refused when it has non-finite samples, an
    /// impossible sample rate or more than [`MAX_LINE_SECONDS`] for one line; clipped
    /// samples are brought back into -1..=1.
    pub fn checked(mut self, engine: &str) -> Result<Self, VoiceError> {
        let bad = |reason: String| VoiceError::BadAudio {
            engine: engine.to_string(),
            reason,
        };
        if !(1000..=384_000).contains(&self.sample_rate) {
            return Err(bad(format!("a sample rate of {} Hz", self.sample_rate)));
        }
        if self.duration() > MAX_LINE_SECONDS {
            return Err(bad(format!(
                "{:.0} s of audio for one line (at most {MAX_LINE_SECONDS:.0} s)",
                self.duration()
            )));
        }
        if let Some(at) = self.samples.iter().position(|s| !s.is_finite()) {
            return Err(bad(format!("a non-finite sample at {at}")));
        }
        for s in &mut self.samples {
            *s = s.clamp(-1.0, 1.0);
        }
        Ok(self)
    }

    /// The same utterance at the program's 48 kHz (event times do not change).
    pub fn to_program_rate(&self) -> Result<Utterance, VoiceError> {
        if self.sample_rate == SAMPLE_RATE {
            return Ok(self.clone());
        }
        Ok(Utterance {
            sample_rate: SAMPLE_RATE,
            samples: resample_mono(&self.samples, self.sample_rate, SAMPLE_RATE)?,
            phonemes: self.phonemes.clone(),
            words: self.words.clone(),
        })
    }

    /// Viseme track: from phoneme timings when the engine gave them, else from the audio.
    pub fn visemes(&self) -> VisemeTrack {
        if self.phonemes.is_empty() {
            VisemeTrack::from_audio(&self.samples, self.sample_rate)
        } else {
            VisemeTrack::from_phonemes(&self.phonemes, self.duration())
        }
    }
}

#[derive(Debug, Error)]
pub enum VoiceError {
    #[error("{engine}: {reason}")]
    Engine { engine: String, reason: String },
    #[error("{engine}: no voice called `{voice}`")]
    UnknownVoice { engine: String, voice: String },
    #[error("{engine}: gave no usable audio: {reason}")]
    BadAudio { engine: String, reason: String },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

/// The longest audio accepted for one line: a sales line is seconds long, so minutes mean
/// an engine gone wrong (and would hold the rundown and memory).
pub const MAX_LINE_SECONDS: f32 = 120.0;

/// The largest audio file or response read from an engine for one line (two minutes of
/// 48 kHz stereo float is 46 MB); larger is refused unread.
pub const MAX_AUDIO_BYTES: u64 = 64 * 1024 * 1024;

/// Anything that turns text into an [`Utterance`].
pub trait SpeechEngine: Send {
    fn name(&self) -> &str;
    fn synthesize(&mut self, text: &str, voice: &str) -> Result<Utterance, VoiceError>;
}

/// Settings of the HTTP engine that the engine name does not carry.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    pub model: String,
    /// Name of the environment variable holding the API key (kept out of show files).
    pub api_key_env: String,
    pub timeout: std::time::Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            model: "tts-1".into(),
            api_key_env: "TWINCAST_TTS_API_KEY".into(),
            timeout: std::time::Duration::from_secs(20),
        }
    }
}

/// Makes the engine named in a show file: `espeak`, `command:<shell command>`, or
/// `http:<URL of an OpenAI-style /v1/audio/speech endpoint>`.
pub fn engine_from_name(
    name: &str,
    http: &HttpSettings,
) -> Result<Box<dyn SpeechEngine>, VoiceError> {
    match name.split_once(':') {
        // A C library: in a worker process when the binary serves them, so a crash in it
        // costs a line, not the show.
        None if name == "espeak" => match worker::program() {
            Some(program) => Ok(Box::new(worker::WorkerEngine::new(program, "espeak"))),
            None => Ok(Box::new(EspeakEngine::new()?)),
        },
        Some(("command", cmd)) => Ok(Box::new(CommandEngine::new(cmd))),
        Some(("http", url)) => {
            let key = std::env::var(&http.api_key_env)
                .ok()
                .filter(|k| !k.is_empty());
            Ok(Box::new(HttpEngine::new(
                url,
                &http.model,
                key,
                http.timeout,
            )))
        }
        _ => Err(VoiceError::Engine {
            engine: name.into(),
            reason: "unknown engine: use `espeak`, `command:<shell command>` or `http:<URL>`"
                .into(),
        }),
    }
}

/// FNV-1a, 64 bits: a hash that is stable across runs and platforms (unlike the std
/// hasher), for names of files that must be found again later.
pub(crate) fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A fresh path in the temp folder for audio an engine hands over as a file.
pub(crate) fn temp_audio_path(tag: &str, extension: &str) -> std::path::PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "twincast-{tag}-{}-{n}.{extension}",
        std::process::id()
    ))
}

/// Mono f32 resampling with FFmpeg's resampler.
pub fn resample_mono(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, VoiceError> {
    use ffmpeg::{
        ChannelLayout, format::Sample, format::sample::Type, frame, software::resampling,
    };
    init_ffmpeg();
    let bad = |e: ffmpeg::Error| VoiceError::BadAudio {
        engine: "resampler".into(),
        reason: e.to_string(),
    };
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let mut ctx = resampling::Context::get(
        Sample::F32(Type::Packed),
        ChannelLayout::MONO,
        from,
        Sample::F32(Type::Packed),
        ChannelLayout::MONO,
        to,
    )
    .map_err(bad)?;
    let mut input = frame::Audio::new(
        Sample::F32(Type::Packed),
        samples.len(),
        ChannelLayout::MONO,
    );
    input.set_rate(from);
    input.set_channels(1);
    input.plane_mut::<f32>(0)[..samples.len()].copy_from_slice(samples);
    let mut out = Vec::with_capacity(samples.len() * to as usize / from as usize + 64);
    let output = crate::av::resample_frame(&mut ctx, &input).map_err(bad)?;
    out.extend_from_slice(&output.plane::<f32>(0)[..output.samples()]);
    // Drain the resampler's delay so the end of the line is not cut.
    let mut tail = frame::Audio::new(Sample::F32(Type::Packed), 4096, ChannelLayout::MONO);
    tail.set_channels(1);
    if ctx.flush(&mut tail).is_ok() {
        out.extend_from_slice(&tail.plane::<f32>(0)[..tail.samples()]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
