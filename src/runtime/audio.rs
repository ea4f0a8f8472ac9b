//! The show's sound and speech, set up once for every app that plays the show: the
//! rundown (director, speaker, scheduler, audit log) and the program mixer (music bed,
//! speech, effects, a live voice), optionally tapped to this machine's speakers.
//! `stream`/`render` pull the mixer from the encoder; `preview --live` from a pump thread.

use super::RunError;
use super::rundown::{DayClock, Rundown};
use crate::config::ShowConfig;
use crate::encode::EncodeSettings;
use crate::media::{AudioSource, MediaClock, SAMPLE_RATE, Silence};
use crate::mix::{LiveAudio, MixSettings, Monitor, MusicLoop, ProgramMixer};
use crate::speech::Speaker;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

/// What [`ShowAudio::build`] needs besides the show file.
pub struct AudioOptions {
    pub clock: MediaClock,
    /// Whether the show has a voice at all (a rundown, or an API that can ask for lines).
    pub speaks: bool,
    /// Offline render: wait for each line rather than let the picture run ahead of it.
    pub offline: bool,
    /// The local time of day the show starts at.
    pub day: DayClock,
    /// A live voice mixed in during a takeover.
    pub live: Option<Arc<LiveAudio>>,
    /// Also play the program on this machine's default audio output.
    pub monitor: bool,
}

/// The rundown and the program audio it feeds.
pub struct ShowAudio {
    pub rundown: Option<Rundown>,
    /// The finished program audio, pulled on the media clock.
    pub source: Box<dyn AudioSource>,
}

impl ShowAudio {
    pub fn build(show: &ShowConfig, options: AudioOptions) -> Result<Self, RunError> {
        let a = &show.audio;
        let (rundown, schedule) = if options.speaks {
            let effects = load_effects(&a.effects)?;
            let (speaker, io) = Speaker::spawn(
                show.voice.clone(),
                a.normalize.then_some(a.loudness_lufs),
                effects,
            );
            let (to_mixer, schedule) = crossbeam_channel::unbounded();
            let mut rundown = Rundown::new(show, options.clock, speaker, io, to_mixer, options.day);
            rundown.offline = options.offline;
            (Some(rundown), Some(schedule))
        } else {
            (None, None)
        };
        let mut mixer = ProgramMixer::new(music_bed(show)?, schedule, mix_settings(show));
        if let Some(live) = options.live {
            mixer = mixer.with_live(live);
        }
        let mut source: Box<dyn AudioSource> = Box::new(mixer);
        if options.monitor
            && let Some(monitor) = Monitor::start()
        {
            source = monitor.tap(source);
        }
        Ok(Self { rundown, source })
    }
}

/// The show's music bed (levelled when the show normalises), or silence.
pub fn music_bed(show: &ShowConfig) -> Result<Box<dyn AudioSource>, RunError> {
    let a = &show.audio;
    Ok(match &a.music {
        Some(path) if a.normalize => Box::new(MusicLoop::open_levelled(
            path,
            a.loudness_lufs,
            a.music_gain_db,
        )?),
        Some(path) => Box::new(MusicLoop::open(path, a.music_gain_db)?),
        None => Box::new(Silence),
    })
}

/// The longest sound effect: a chime or a whoosh is seconds long, and every effect is
/// held in memory decoded (a minute is 11 MB).
const MAX_EFFECT_SECONDS: f32 = 60.0;

/// Decodes the show's sound effects to 48 kHz mono, refusing a bad file (or one over
/// [`MAX_EFFECT_SECONDS`]) at start.
pub fn load_effects(
    files: &BTreeMap<String, PathBuf>,
) -> Result<HashMap<String, Arc<[f32]>>, RunError> {
    files
        .iter()
        .map(|(name, path)| {
            let bad =
                |reason: String| RunError::Effect(format!("{name} ({}): {reason}", path.display()));
            let (samples, rate) =
                crate::voice::wav::read_mono(path, MAX_EFFECT_SECONDS).map_err(bad)?;
            let mut samples = crate::voice::resample_mono(&samples, rate, SAMPLE_RATE)
                .map_err(|e| bad(e.to_string()))?;
            if samples.iter().any(|s| !s.is_finite()) {
                return Err(bad("it has non-finite samples".into()));
            }
            samples.iter_mut().for_each(|s| *s = s.clamp(-1.0, 1.0));
            Ok((name.clone(), samples.into()))
        })
        .collect()
}

/// The mixer's settings from the show file's `[audio]` and `[voice]`.
pub fn mix_settings(show: &ShowConfig) -> MixSettings {
    let a = &show.audio;
    MixSettings {
        duck_db: a.duck_db,
        duck_attack_ms: a.duck_attack_ms,
        duck_release_ms: a.duck_release_ms,
        speech_gain_db: show.voice.speech_gain_db,
        loudness_lufs: a.normalize.then_some(a.loudness_lufs),
        true_peak_dbtp: a.true_peak_dbtp,
    }
}

/// The encoder's settings from the show file's `[video]`, `[render]` and `[audio]`.
pub fn encode_settings(show: &ShowConfig) -> EncodeSettings {
    let v = &show.video;
    let (source_width, source_height) = show.render_size();
    EncodeSettings {
        width: v.width,
        height: v.height,
        source_width,
        source_height,
        fps: v.fps,
        video_bitrate_kbps: v.bitrate_kbps,
        buffer_seconds: v.buffer_seconds,
        encoder: v.encoder.clone(),
        preset: v.preset.clone(),
        tune: v.tune.clone(),
        keyframe_seconds: v.keyframe_seconds,
        b_frames: v.b_frames,
        threads: v.threads,
        audio_bitrate_kbps: show.audio.bitrate_kbps,
    }
}
