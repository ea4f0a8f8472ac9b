//! Synthesises the host's lines ahead of time, on its own thread, so a slow or failing
//! speech engine never holds up the encoder: the mixer takes a line when one is ready.

use crate::config::VoiceConfig;
use crate::voice::{HttpSettings, VisemeTrack, cache, engine_from_name};
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::warn;

/// A line for the speaker to synthesise.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptLine {
    pub text: String,
    /// Voice for this line (the schedule's), or the show's when `None`.
    pub voice: Option<String>,
    pub serial: u64,
}

/// A line ready to play: 48 kHz mono, with its mouth shapes.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    pub samples: Vec<f32>,
    pub visemes: VisemeTrack,
    /// When its stressed syllables are said (seconds into it): where the talking body's
    /// beats land.
    pub stresses: Vec<f32>,
    /// A clip the host plays as the line starts (`[Wave] Welcome…` in the show file).
    pub gesture: Option<Gesture>,
    /// Sound effects that start with the line (`[+chime] …`), 48 kHz mono.
    pub effects: Vec<std::sync::Arc<[f32]>>,
    /// The face the host makes while saying it (`[happy] …`).
    pub emotion: Option<Emotion>,
    pub origin: Origin,
}

impl Line {
    /// A line that could not be synthesised: it takes its turn without a sound.
    pub fn silent(text: String, origin: Origin) -> Self {
        let (_, text) = parse_cue(&text);
        Self {
            text: text.to_string(),
            samples: Vec::new(),
            visemes: Default::default(),
            stresses: Vec::new(),
            gesture: None,
            effects: Vec::new(),
            emotion: None,
            origin,
        }
    }
}

/// A face to make while speaking: VRM 1.0's emotion presets (0.x's `joy`, `sorrow`, `fun`
/// are the same faces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Emotion {
    Happy,
    Angry,
    Sad,
    Relaxed,
    Surprised,
}

impl Emotion {
    pub const ALL: [Emotion; 5] = [
        Emotion::Happy,
        Emotion::Angry,
        Emotion::Sad,
        Emotion::Relaxed,
        Emotion::Surprised,
    ];

    /// From a cue word or a VRM preset name, any case (`happy`, `Joy`, `sorrow`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "happy" | "joy" => Emotion::Happy,
            "angry" => Emotion::Angry,
            "sad" | "sorrow" => Emotion::Sad,
            "relaxed" | "fun" => Emotion::Relaxed,
            "surprised" => Emotion::Surprised,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Emotion::Happy => "happy",
            Emotion::Angry => "angry",
            Emotion::Sad => "sad",
            Emotion::Relaxed => "relaxed",
            Emotion::Surprised => "surprised",
        }
    }
}

/// What a line's leading `[…]` cue asks for: a gesture clip, effects marked `+name`, and
/// an emotion (`happy`, `angry`, `sad`, `relaxed`, `surprised`).
#[derive(Debug, Default, PartialEq)]
pub struct Cue {
    pub gesture: Option<Gesture>,
    pub effects: Vec<String>,
    pub emotion: Option<Emotion>,
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
        } else if let Some(emotion) = Emotion::from_name(token) {
            cue.emotion = Some(emotion);
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

/// Who wrote a line: the rundown (with the director's serial), the operator, a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    Script(u64),
    #[default]
    Say,
    /// An answer to a viewer (FAQ, holding line, fallback).
    Comment,
    /// An answer the language model wrote.
    Model,
    /// A holding line while the model writes an answer.
    Holding,
    /// A thank-you for the room's gifts, likes, follows.
    Reaction,
}

impl Origin {
    /// Whether someone waits for the line: a viewer for an answer (or its holding line),
    /// the operator for `/say`. Thank-yous are batched over seconds on purpose, and the
    /// script keeps its own time.
    pub fn is_awaited(self) -> bool {
        matches!(
            self,
            Origin::Say | Origin::Comment | Origin::Model | Origin::Holding
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Origin::Script(_) => "script",
            Origin::Say => "say",
            Origin::Comment => "comment",
            Origin::Model => "model",
            Origin::Holding => "holding",
            Origin::Reaction => "reaction",
        }
    }
}

/// Text to speak now, ahead of the script (`/say`, answers to comments).
#[derive(Debug, Clone)]
pub struct Request {
    pub text: String,
    pub origin: Origin,
    pub voice: Option<String>,
}

/// The speaker's channels: the director writes `script` one line at a time and takes the
/// result from `ready`; requests go in on `requests` and come out on `urgent`.
pub struct SpeakerIo {
    pub script: Sender<ScriptLine>,
    pub ready: Receiver<Line>,
    pub requests: Sender<Request>,
    pub urgent: Receiver<Line>,
}

impl Speaker {
    /// Synthesises what it is sent, each line levelled to `loudness` (LUFS) when given,
    /// requests before the script. `effects` are the show's sound effects by name (48 kHz
    /// mono). A scripted line the engine fails on comes out silent, so the rundown moves
    /// on. The thread ends when the channels are dropped.
    ///
    /// Long on purpose: the speaker thread's loop (requests first, then the script, then a cache look-up and synthesis) reads best in one place.
    pub fn spawn(
        config: VoiceConfig,
        loudness: Option<f32>,
        effects: std::collections::HashMap<String, std::sync::Arc<[f32]>>,
    ) -> (Self, SpeakerIo) {
        let (script_tx, script) = unbounded::<ScriptLine>();
        let (tx, ready) = bounded::<Line>(1);
        let (request_tx, requests) = unbounded::<Request>();
        let (urgent_tx, urgent) = unbounded::<Line>();
        let thread = std::thread::Builder::new()
            .name("speaker".into())
            .spawn(move || {
                let engine = match engine_from_name(&config.engine, &http_settings(&config)) {
                    Ok(e) => e,
                    Err(e) => {
                        warn!("{e}; the host stays silent");
                        stay_silent(&script, &requests, &tx, &urgent_tx);
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
                let mut failures_in_a_row = 0u32;
                loop {
                    crossbeam_channel::select! {
                        recv(requests) -> request => {
                            let Ok(request) = request else { return };
                            let line = match voice.line(&request.text, request.voice.as_deref(), request.origin) {
                                Ok(line) => line,
                                Err(e) => {
                                    warn!("requested line skipped: {e}");
                                    // Silent, so whoever waits for it (the comment queue)
                                    // learns it is over.
                                    Line::silent(request.text, request.origin)
                                }
                            };
                            if urgent_tx.send(line).is_err() {
                                return;
                            }
                        }
                        recv(script) -> written => {
                            let Ok(written) = written else { return };
                            let origin = Origin::Script(written.serial);
                            let line = match voice.line(&written.text, written.voice.as_deref(), origin) {
                                Ok(line) => {
                                    failures_in_a_row = 0;
                                    line
                                }
                                Err(e) => {
                                    warn!("line skipped: {e}");
                                    failures_in_a_row += 1;
                                    if failures_in_a_row >= 3 {
                                        // The engine looks down: do not spin on it.
                                        std::thread::sleep(Duration::from_secs(5));
                                    }
                                    Line::silent(written.text, origin)
                                }
                            };
                            if tx.send(line).is_err() {
                                return;
                            }
                        }
                    }
                }
            })
            .expect("spawning the speaker thread");
        (
            Self { _thread: thread },
            SpeakerIo {
                script: script_tx,
                ready,
                requests: request_tx,
                urgent,
            },
        )
    }
}

/// Without an engine: every line answered with a silent one, so the show runs and whoever
/// waits for a requested line (the comment queue, the stream's pacer) learns it is over.
fn stay_silent(
    script: &Receiver<ScriptLine>,
    requests: &Receiver<Request>,
    ready: &Sender<Line>,
    urgent: &Sender<Line>,
) {
    loop {
        let answered = crossbeam_channel::select! {
            recv(requests) -> r => r.is_ok_and(|r| urgent.send(Line::silent(r.text, r.origin)).is_ok()),
            recv(script) -> w => w.is_ok_and(|w| {
                ready.send(Line::silent(w.text, Origin::Script(w.serial))).is_ok()
            }),
        };
        if !answered {
            return;
        }
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
    fn line(
        &mut self,
        written: &str,
        voice: Option<&str>,
        origin: Origin,
    ) -> Result<Line, crate::voice::VoiceError> {
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
        let utterance = self
            .engine
            .synthesize(text, voice.unwrap_or(&self.voice))?
            .checked(self.engine.name())?;
        let visemes = utterance.visemes();
        let mut samples = utterance.to_program_rate()?.samples;
        if let Some(target) = self.loudness {
            crate::loudness::level_mono_line(&mut samples, target);
        }
        let stresses = crate::voice::stress::stresses(&samples, crate::media::SAMPLE_RATE);
        Ok(Line {
            text: text.to_string(),
            samples,
            visemes,
            stresses,
            gesture: cue.gesture,
            emotion: cue.emotion,
            effects,
            origin,
        })
    }
}

/// The HTTP engine's settings from the show's `[voice]`.
fn http_settings(config: &VoiceConfig) -> HttpSettings {
    HttpSettings {
        model: config.model.clone(),
        api_key_env: config.api_key_env.clone(),
        timeout: Duration::from_secs_f32(config.timeout_seconds),
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
                effects: vec!["chime".into(), "whoosh".into()],
                emotion: None,
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
                effects: vec!["chime".into()],
                emotion: None,
            }
        );
        assert_eq!(parse_cue("Plain").0, Cue::default());
        let (cue, _) = parse_cue("[Wave happy] Welcome");
        assert_eq!(cue.gesture, Some(super::Gesture::new("Wave")));
        assert_eq!(cue.emotion, Some(super::Emotion::Happy));
        assert_eq!(
            parse_cue("[Surprised] Oh!").0.emotion,
            Some(super::Emotion::Surprised)
        );
    }

    /// An engine that cannot start still answers every line, silently: the script moves
    /// on, and an answer someone waits for is known to be over.
    #[test]
    fn without_an_engine_every_line_comes_back_silent() {
        use super::{Origin, Request, ScriptLine, Speaker};
        use std::time::Duration;
        let config = crate::config::VoiceConfig {
            engine: "no-such-engine".into(),
            ..Default::default()
        };
        let (_speaker, io) = Speaker::spawn(config, None, Default::default());
        let request = |text: &str| Request {
            text: text.into(),
            origin: Origin::Comment,
            voice: None,
        };
        io.requests.send(request("an answer")).unwrap();
        let script = ScriptLine {
            text: "a line".into(),
            voice: None,
            serial: 7,
        };
        io.script.send(script).unwrap();
        io.requests.send(request("another")).unwrap();
        let wait = Duration::from_secs(5);
        for text in ["an answer", "another"] {
            let line = io.urgent.recv_timeout(wait).unwrap();
            assert_eq!((line.text.as_str(), line.origin), (text, Origin::Comment));
            assert!(line.samples.is_empty());
        }
        let line = io.ready.recv_timeout(wait).unwrap();
        assert_eq!(line.origin, Origin::Script(7));
        assert!(line.samples.is_empty());
    }
}
