//! Synthesises the host's lines ahead of time, on its own thread, so a slow or failing
//! speech engine never holds up the encoder: the mixer takes a line when one is ready.

use crate::config::VoiceConfig;
use crate::voice::{VisemeTrack, cache, engine_from_name};
use crossbeam_channel::{Receiver, bounded};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::warn;

/// A line ready to play: 48 kHz mono, with its mouth shapes.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    pub samples: Vec<f32>,
    pub visemes: VisemeTrack,
    /// A clip the host plays as the line starts (`[Wave] Welcome…` in the show file).
    pub gesture: Option<String>,
}

/// Splits a leading `[Gesture]` cue from a line's text.
pub fn split_cue(line: &str) -> (Option<String>, &str) {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix('[')
        && let Some((cue, text)) = rest.split_once(']')
        && !cue.trim().is_empty()
    {
        return (Some(cue.trim().to_string()), text.trim_start());
    }
    (None, line)
}

pub struct Speaker {
    _thread: JoinHandle<()>,
}

impl Speaker {
    /// Speaks the show's lines in turn, forever, each levelled to `loudness` (LUFS) when
    /// given. The thread ends when the receiver is dropped.
    pub fn spawn(config: VoiceConfig, loudness: Option<f32>) -> (Self, Receiver<Line>) {
        let VoiceConfig { lines, voice, .. } = config.clone();
        let (tx, rx) = bounded::<Line>(1);
        let thread = std::thread::Builder::new()
            .name("speaker".into())
            .spawn(move || {
                let mut engine = match engine_from_name(&config.engine, &config.http_settings()) {
                    Ok(e) => e,
                    Err(e) => {
                        warn!("{e}; the host stays silent");
                        return;
                    }
                };
                if config.cache_mb > 0 {
                    let dir = config.cache_dir.clone().unwrap_or_else(cache::default_dir);
                    let identity = format!("{} {}", config.engine, config.model);
                    engine = Box::new(cache::CachedEngine::new(
                        engine,
                        &identity,
                        &dir,
                        config.cache_mb as u64 * 1024 * 1024,
                    ));
                }
                let mut failures_in_a_row = 0usize;
                for written in lines.iter().cycle() {
                    let (gesture, text) = split_cue(written);
                    let line = engine.synthesize(text, &voice).and_then(|u| {
                        let visemes = u.visemes();
                        u.to_program_rate().map(|p| {
                            let mut samples = p.samples;
                            if let Some(target) = loudness {
                                super::level_mono_line(&mut samples, target);
                            }
                            Line {
                                text: text.to_string(),
                                samples,
                                visemes,
                                gesture: gesture.clone(),
                            }
                        })
                    });
                    match line {
                        Ok(line) => {
                            failures_in_a_row = 0;
                            if tx.send(line).is_err() {
                                return; // the show is over
                            }
                        }
                        Err(e) => {
                            warn!("line skipped: {e}");
                            failures_in_a_row += 1;
                            if failures_in_a_row >= lines.len() {
                                // Every line failed: the engine is down. Try again later.
                                std::thread::sleep(Duration::from_secs(5));
                            }
                        }
                    }
                }
            })
            .expect("spawning the speaker thread");
        (Self { _thread: thread }, rx)
    }
}

#[cfg(test)]
mod tests {
    use super::split_cue;

    #[test]
    fn cues_are_split_from_lines() {
        assert_eq!(
            split_cue("[Wave] Welcome!"),
            (Some("Wave".into()), "Welcome!")
        );
        assert_eq!(
            split_cue("  [ ThumbsUp ]Only 99 yuan"),
            (Some("ThumbsUp".into()), "Only 99 yuan")
        );
        assert_eq!(split_cue("No cue here"), (None, "No cue here"));
        assert_eq!(split_cue("[] empty"), (None, "[] empty"));
        assert_eq!(split_cue("[unclosed cue"), (None, "[unclosed cue"));
    }
}
