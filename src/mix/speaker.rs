//! Synthesises the host's lines ahead of time, on its own thread, so a slow or failing
//! speech engine never holds up the encoder: the mixer takes a line when one is ready.

use crate::config::VoiceConfig;
use crate::voice::{VisemeTrack, cache, engine_from_name};
use crossbeam_channel::{Receiver, SendTimeoutError, Sender, bounded, unbounded};
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
    pub gesture: Option<Gesture>,
    /// Sound effects that start with the line (`[+chime] …`), 48 kHz mono.
    pub effects: Vec<std::sync::Arc<[f32]>>,
}

/// What a line's leading `[…]` cue asks for: a gesture clip, and effects marked `+name`.
#[derive(Debug, Default, PartialEq)]
pub struct Cue {
    pub gesture: Option<Gesture>,
    pub effects: Vec<String>,
}

/// A clip to play, and how fast (`[Wave x1.5]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Gesture {
    pub clip: String,
    pub speed: f32,
}

impl Gesture {
    pub fn new(clip: impl Into<String>) -> Self {
        Self {
            clip: clip.into(),
            speed: 1.0,
        }
    }
}

/// Splits a leading cue from a line: `[Wave +chime] Flash sale!`.
pub fn parse_cue(line: &str) -> (Cue, &str) {
    let (inside, text) = match split_cue(line) {
        (Some(inside), text) => (inside, text),
        (None, text) => return (Cue::default(), text),
    };
    let mut cue = Cue::default();
    let mut speed = None;
    for token in inside.split_whitespace() {
        if let Some(effect) = token.strip_prefix('+').filter(|e| !e.is_empty()) {
            cue.effects.push(effect.to_string());
        } else if let Some(s) = token
            .strip_prefix('x')
            .and_then(|s| s.parse::<f32>().ok())
            .filter(|s| *s > 0.0 && *s <= 10.0)
        {
            speed = Some(s);
        } else {
            cue.gesture = Some(Gesture::new(token));
        }
    }
    if let (Some(g), Some(s)) = (cue.gesture.as_mut(), speed) {
        g.speed = s;
    }
    (cue, text)
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
    /// `effects` are the show's sound effects by name, ready to play (48 kHz mono).
    pub fn spawn(
        config: VoiceConfig,
        loudness: Option<f32>,
        effects: std::collections::HashMap<String, std::sync::Arc<[f32]>>,
    ) -> (Self, Receiver<Line>) {
        let (speaker, ready, _, _) = Self::spawn_with_requests(config, loudness, effects);
        (speaker, ready)
    }

    /// As [`Self::spawn`], plus lines asked for now (the control API's `/say`): text sent
    /// on the returned sender is synthesised ahead of the script and comes out on the
    /// second receiver, for the scheduler to play next.
    pub fn spawn_with_requests(
        config: VoiceConfig,
        loudness: Option<f32>,
        effects: std::collections::HashMap<String, std::sync::Arc<[f32]>>,
    ) -> (Self, Receiver<Line>, Sender<String>, Receiver<Line>) {
        let (tx, rx) = bounded::<Line>(1);
        let (request_tx, requests) = unbounded::<String>();
        let (urgent_tx, urgent_rx) = unbounded::<Line>();
        let thread = std::thread::Builder::new()
            .name("speaker".into())
            .spawn(move || {
                let engine = match engine_from_name(&config.engine, &config.http_settings()) {
                    Ok(e) => e,
                    Err(e) => {
                        warn!("{e}; the host stays silent");
                        return;
                    }
                };
                let mut voice = Voice {
                    engine: if config.cache_mb > 0 {
                        let dir = config.cache_dir.clone().unwrap_or_else(cache::default_dir);
                        let identity = format!("{} {}", config.engine, config.model);
                        Box::new(cache::CachedEngine::new(
                            engine,
                            &identity,
                            &dir,
                            config.cache_mb as u64 * 1024 * 1024,
                        ))
                    } else {
                        engine
                    },
                    voice: config.voice.clone(),
                    loudness,
                    effects,
                };
                let lines = &config.lines;
                let mut failures_in_a_row = 0usize;
                let mut script = lines.iter().cycle();
                loop {
                    // Requests first; with no script, wait for them.
                    let urgent_ok = |v: &mut Voice| {
                        for text in requests.try_iter() {
                            match v.line(&text) {
                                Ok(line) => {
                                    let _ = urgent_tx.send(line);
                                }
                                Err(e) => warn!("requested line skipped: {e}"),
                            }
                        }
                    };
                    let Some(written) = script.next() else {
                        match requests.recv() {
                            Ok(text) => match voice.line(&text) {
                                Ok(line) => {
                                    if urgent_tx.send(line).is_err() {
                                        return;
                                    }
                                }
                                Err(e) => warn!("requested line skipped: {e}"),
                            },
                            Err(_) => return, // the show is over
                        }
                        continue;
                    };
                    urgent_ok(&mut voice);
                    match voice.line(written) {
                        Ok(mut line) => {
                            failures_in_a_row = 0;
                            // Hand it over when the scheduler wants it, serving requests
                            // while waiting.
                            loop {
                                match tx.send_timeout(line, Duration::from_millis(50)) {
                                    Ok(()) => break,
                                    Err(SendTimeoutError::Timeout(back)) => {
                                        line = back;
                                        urgent_ok(&mut voice);
                                    }
                                    Err(SendTimeoutError::Disconnected(_)) => return,
                                }
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
        (Self { _thread: thread }, rx, request_tx, urgent_rx)
    }
}

/// An engine with what turning written lines into ready ones needs.
struct Voice {
    engine: Box<dyn crate::voice::SpeechEngine>,
    voice: String,
    loudness: Option<f32>,
    effects: std::collections::HashMap<String, std::sync::Arc<[f32]>>,
}

impl Voice {
    fn line(&mut self, written: &str) -> Result<Line, crate::voice::VoiceError> {
        let (cue, text) = parse_cue(written);
        let effects: Vec<std::sync::Arc<[f32]>> = cue
            .effects
            .iter()
            .filter_map(|name| {
                let found = self.effects.get(name).cloned();
                if found.is_none() {
                    warn!("effect `{name}` is not in [audio] effects");
                }
                found
            })
            .collect();
        let utterance = self.engine.synthesize(text, &self.voice)?;
        let visemes = utterance.visemes();
        let mut samples = utterance.to_program_rate()?.samples;
        if let Some(target) = self.loudness {
            super::level_mono_line(&mut samples, target);
        }
        Ok(Line {
            text: text.to_string(),
            samples,
            visemes,
            gesture: cue.gesture,
            effects,
        })
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

    #[test]
    fn cues_name_a_gesture_and_effects() {
        use super::{Cue, parse_cue};
        let (cue, text) = parse_cue("[ThumbsUp +chime +whoosh] Flash sale!");
        assert_eq!(
            cue,
            Cue {
                gesture: Some(super::Gesture::new("ThumbsUp")),
                effects: vec!["chime".into(), "whoosh".into()]
            }
        );
        assert_eq!(text, "Flash sale!");
        let (cue, _) = parse_cue("[Wave x1.5] Hello");
        assert_eq!(
            cue.gesture,
            Some(super::Gesture {
                clip: "Wave".into(),
                speed: 1.5
            })
        );
        // Not a speed: a clip called `x0`, a speed of zero.
        assert_eq!(
            parse_cue("[x0] Hi").0.gesture,
            Some(super::Gesture::new("x0"))
        );
        assert_eq!(
            parse_cue("[+chime] Hi").0,
            Cue {
                gesture: None,
                effects: vec!["chime".into()]
            }
        );
        assert_eq!(parse_cue("Plain").0, Cue::default());
    }
}
