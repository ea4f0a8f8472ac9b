//! eSpeak NG through its C library: offline, no downloads, PCM plus phoneme events.
//!
//! The library keeps global state and calls back on the thread that synthesises, so one
//! worker thread owns it and every request goes through a channel to that thread.

use super::{PhonemeEvent, SpeechEngine, Utterance, VoiceError, WordEvent};
use crossbeam_channel::{Sender, bounded};
use std::cell::RefCell;
use std::ffi::{CString, c_char, c_int, c_short, c_uint, c_void};
use std::sync::OnceLock;

#[repr(C)]
#[allow(dead_code)]
#[derive(Clone, Copy, PartialEq, Eq)]
enum EventType {
    ListTerminated = 0,
    Word = 1,
    Sentence = 2,
    Mark = 3,
    Play = 4,
    End = 5,
    MsgTerminated = 6,
    Phoneme = 7,
    SampleRate = 8,
}

#[repr(C)]
union EventId {
    number: c_int,
    name: *const c_char,
    string: [c_char; 8],
}

#[repr(C)]
struct Event {
    kind: EventType,
    unique_identifier: c_uint,
    text_position: c_int,
    length: c_int,
    audio_position: c_int,
    sample: c_int,
    user_data: *mut c_void,
    id: EventId,
}

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const INITIALIZE_PHONEME_EVENTS: c_int = 0x0001;
const INITIALIZE_DONT_EXIT: c_int = 0x8000;
const POS_CHARACTER: c_int = 1;
const CHARS_UTF8: c_uint = 1;

type SynthCallback = unsafe extern "C" fn(*mut c_short, c_int, *mut Event) -> c_int;

#[link(name = "espeak-ng")]
unsafe extern "C" {
    fn espeak_Initialize(
        output: c_int,
        buflength: c_int,
        path: *const c_char,
        options: c_int,
    ) -> c_int;
    fn espeak_SetSynthCallback(callback: SynthCallback);
    fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
    fn espeak_Synth(
        text: *const c_void,
        size: usize,
        position: c_uint,
        position_type: c_int,
        end_position: c_uint,
        flags: c_uint,
        unique_identifier: *mut c_uint,
        user_data: *mut c_void,
    ) -> c_int;
    fn espeak_Synchronize() -> c_int;
}

/// What the callback collects during one synthesis (on the worker thread).
#[derive(Default)]
struct Collected {
    samples: Vec<i16>,
    phonemes: Vec<(u32, String)>,
    words: Vec<(u32, usize, usize)>,
}

thread_local! {
    static COLLECTED: RefCell<Collected> = RefCell::new(Collected::default());
}

unsafe extern "C" fn collect(wav: *mut c_short, count: c_int, events: *mut Event) -> c_int {
    COLLECTED.with(|c| {
        let mut c = c.borrow_mut();
        if !wav.is_null() && count > 0 {
            // SAFETY: eSpeak hands `count` valid samples for the duration of the call.
            c.samples
                .extend_from_slice(unsafe { std::slice::from_raw_parts(wav, count as usize) });
        }
        let mut e = events;
        // SAFETY: the event list is terminated by a ListTerminated entry.
        unsafe {
            while !e.is_null() && (*e).kind != EventType::ListTerminated {
                let ms = (*e).audio_position.max(0) as u32;
                match (*e).kind {
                    EventType::Phoneme => {
                        // The name is 8 bytes, NUL-terminated unless it fills them all.
                        let raw: [u8; 8] = std::mem::transmute((*e).id.string);
                        let end = raw.iter().position(|b| *b == 0).unwrap_or(8);
                        let name = String::from_utf8_lossy(&raw[..end]).into_owned();
                        c.phonemes.push((ms, name));
                    }
                    EventType::Word => {
                        c.words.push((
                            ms,
                            (*e).text_position.max(1) as usize - 1,
                            (*e).length.max(0) as usize,
                        ));
                    }
                    _ => {}
                }
                e = e.add(1);
            }
        }
    });
    0
}

struct Request {
    text: String,
    voice: String,
    reply: Sender<Result<Utterance, VoiceError>>,
}

/// The one worker thread that owns the library.
fn worker() -> Result<&'static Sender<Request>, VoiceError> {
    static WORKER: OnceLock<Result<Sender<Request>, String>> = OnceLock::new();
    WORKER
        .get_or_init(|| {
            let (tx, rx) = bounded::<Request>(16);
            let (ready_tx, ready_rx) = bounded::<Result<i32, String>>(1);
            std::thread::Builder::new()
                .name("espeak".into())
                .spawn(move || {
                    // SAFETY: first and only initialisation, on this thread.
                    let rate = unsafe {
                        espeak_Initialize(
                            AUDIO_OUTPUT_SYNCHRONOUS,
                            0,
                            std::ptr::null(),
                            INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT,
                        )
                    };
                    if rate <= 0 {
                        let _ = ready_tx
                            .send(Err("espeak-ng data not found (install espeak-ng)".into()));
                        return;
                    }
                    // SAFETY: the callback only touches this thread's collector.
                    unsafe { espeak_SetSynthCallback(collect) };
                    let _ = ready_tx.send(Ok(rate));
                    for request in rx.iter() {
                        let result = synthesize_here(&request.text, &request.voice, rate as u32);
                        let _ = request.reply.send(result);
                    }
                })
                .map_err(|e| e.to_string())?;
            ready_rx.recv().map_err(|e| e.to_string())??;
            Ok(tx)
        })
        .as_ref()
        .map_err(|e| VoiceError::Engine {
            engine: "espeak".into(),
            reason: e.clone(),
        })
}

fn synthesize_here(text: &str, voice: &str, rate: u32) -> Result<Utterance, VoiceError> {
    let fail = |reason: String| VoiceError::Engine {
        engine: "espeak".into(),
        reason,
    };
    let voice_c = CString::new(voice).map_err(|_| fail("NUL in voice name".into()))?;
    // SAFETY: plain calls on the owning thread with valid C strings.
    if unsafe { espeak_SetVoiceByName(voice_c.as_ptr()) } != 0 {
        return Err(VoiceError::UnknownVoice {
            engine: "espeak".into(),
            voice: voice.into(),
        });
    }
    let text_c = CString::new(text).map_err(|_| fail("NUL in text".into()))?;
    COLLECTED.with(|c| *c.borrow_mut() = Collected::default());
    let status = unsafe {
        espeak_Synth(
            text_c.as_ptr() as *const c_void,
            text.len() + 1,
            0,
            POS_CHARACTER,
            0,
            CHARS_UTF8,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    unsafe { espeak_Synchronize() };
    if status != 0 {
        return Err(fail(format!("synthesis failed (status {status})")));
    }
    let collected = COLLECTED.with(|c| std::mem::take(&mut *c.borrow_mut()));
    let samples: Vec<f32> = collected
        .samples
        .iter()
        .map(|s| *s as f32 / 32768.0)
        .collect();
    let to_seconds = |ms: u32| ms as f32 / 1000.0;
    let utterance = Utterance {
        sample_rate: rate,
        samples,
        phonemes: collected
            .phonemes
            .into_iter()
            .filter(|(_, name)| !name.trim().is_empty())
            .map(|(ms, name)| PhonemeEvent {
                time: to_seconds(ms),
                name,
            })
            .collect(),
        words: collected
            .words
            .into_iter()
            .map(|(ms, start, len)| WordEvent {
                time: to_seconds(ms),
                text: text.chars().skip(start).take(len).collect(),
            })
            .collect(),
    };
    Ok(utterance)
}

/// eSpeak NG as a [`SpeechEngine`].
pub struct EspeakEngine;

impl EspeakEngine {
    /// Starts (once) the worker that owns the library.
    pub fn new() -> Result<Self, VoiceError> {
        worker()?;
        Ok(Self)
    }
}

impl SpeechEngine for EspeakEngine {
    fn name(&self) -> &str {
        "espeak"
    }

    fn synthesize(&mut self, text: &str, voice: &str) -> Result<Utterance, VoiceError> {
        let (reply, answer) = bounded(1);
        worker()?
            .send(Request {
                text: text.to_string(),
                voice: voice.to_string(),
                reply,
            })
            .map_err(|_| VoiceError::Engine {
                engine: "espeak".into(),
                reason: "the eSpeak worker has stopped".into(),
            })?;
        answer.recv().map_err(|_| VoiceError::Engine {
            engine: "espeak".into(),
            reason: "the eSpeak worker has stopped".into(),
        })?
    }
}
