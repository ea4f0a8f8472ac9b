//! Speech engines in their own process. eSpeak NG is a C library: a crash inside it (a bad
//! voice file, a bug on some input) would take the whole show down with it. Run through a
//! worker, the crash ends the worker; the line is skipped, the next line starts a fresh
//! worker, and the stream never notices beyond a missing sentence.
//!
//! The worker is this same executable started as `twincast speech-worker <engine>`. One
//! request is one JSON line on its stdin; one reply is a JSON header line on its stdout
//! followed, when it spoke, by the samples as little-endian f32. Everything the worker
//! sends is checked like any engine's output: sizes are bounded before anything is read.

use super::{PhonemeEvent, SpeechEngine, Utterance, VoiceError, WordEvent};
use crossbeam_channel::{Receiver, bounded};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use tracing::{info, warn};

/// The hidden command line that starts a worker.
pub const WORKER_COMMAND: &str = "speech-worker";

/// How long one line may take in the worker before it is killed and restarted.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The longest header line read from a worker (phoneme and word lists of a long line).
const MAX_HEADER_BYTES: usize = 1024 * 1024;

static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Says which executable serves workers (the binary's own path, set once by `main`).
/// Without it — in library tests, say — engines run in this process.
pub fn isolate_in(program: PathBuf) {
    let _ = PROGRAM.set(program);
}

/// The executable set by [`isolate_in`], if any.
pub fn program() -> Option<&'static Path> {
    PROGRAM.get().map(PathBuf::as_path)
}

/// The worker process's whole life: serves `engine` (built here, in this process) on
/// stdin and stdout until stdin ends.
pub fn serve_stdio(engine: &str) -> Result<(), VoiceError> {
    let mut engine: Box<dyn SpeechEngine> = match engine {
        "espeak" => Box::new(super::EspeakEngine::new()?),
        other => {
            return Err(VoiceError::Engine {
                engine: other.into(),
                reason: "no worker for this engine (only `espeak` runs in one)".into(),
            });
        }
    };
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    serve(engine.as_mut(), stdin, stdout).map_err(|e| VoiceError::Io {
        path: "worker stdio".into(),
        reason: e.to_string(),
    })
}

#[derive(Serialize, Deserialize)]
struct Request {
    text: String,
    voice: String,
}

#[derive(Serialize, Deserialize, Default)]
struct Header {
    /// The failure, when the engine did not speak.
    error: Option<String>,
    /// Set with `error` when the failure was an unknown voice.
    unknown_voice: Option<String>,
    sample_rate: u32,
    samples: usize,
    phonemes: Vec<(f32, String)>,
    words: Vec<(f32, String)>,
}

/// The worker's side: answers requests from `input` with `engine` until `input` ends.
pub fn serve(
    engine: &mut dyn SpeechEngine,
    input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<()> {
    for line in input.lines() {
        let spoken = serde_json::from_str::<Request>(&line?)
            .map_err(|e| Header::failed(format!("bad request: {e}"), None))
            .and_then(|request| {
                engine
                    .synthesize(&request.text, &request.voice)
                    .map_err(|e| match e {
                        VoiceError::UnknownVoice { voice, .. } => {
                            Header::failed("unknown voice".into(), Some(voice))
                        }
                        // The parent names the engine again when it reads the reply.
                        VoiceError::Engine { reason, .. } => Header::failed(reason, None),
                        e => Header::failed(e.to_string(), None),
                    })
            });
        match spoken {
            Ok(u) => {
                let header = Header {
                    sample_rate: u.sample_rate,
                    samples: u.samples.len(),
                    phonemes: u.phonemes.into_iter().map(|p| (p.time, p.name)).collect(),
                    words: u.words.into_iter().map(|w| (w.time, w.text)).collect(),
                    ..Header::default()
                };
                write_reply(&mut output, &header, &u.samples)?
            }
            Err(header) => write_reply(&mut output, &header, &[])?,
        }
    }
    Ok(())
}

impl Header {
    fn failed(reason: String, unknown_voice: Option<String>) -> Self {
        Self {
            error: Some(reason),
            unknown_voice,
            ..Self::default()
        }
    }
}

fn write_reply(out: &mut impl Write, header: &Header, samples: &[f32]) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, header)?;
    out.write_all(b"\n")?;
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    out.write_all(&bytes)?;
    out.flush()
}

/// What one reply said: the engine spoke or refused (`Ok`), or the worker broke the
/// protocol — ended, sent garbage or too much — and must be replaced (`Err`, why).
type Reply = Result<Result<Utterance, VoiceError>, String>;

/// Reads one reply, refusing anything out of bounds before reading it.
fn read_reply(input: &mut impl BufRead, engine: &str) -> Reply {
    let mut line = Vec::new();
    let n = input
        .take(MAX_HEADER_BYTES as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("its pipe failed: {e}"))?;
    if n == 0 {
        return Err("it ended".into());
    }
    if line.last() != Some(&b'\n') {
        return Err(format!("a reply header over {MAX_HEADER_BYTES} bytes"));
    }
    let header: Header =
        serde_json::from_slice(&line).map_err(|e| format!("an unreadable reply: {e}"))?;
    if let Some(voice) = header.unknown_voice {
        return Ok(Err(VoiceError::UnknownVoice {
            engine: engine.to_string(),
            voice,
        }));
    }
    if let Some(reason) = header.error {
        return Ok(Err(VoiceError::Engine {
            engine: engine.to_string(),
            reason,
        }));
    }
    let most = (super::MAX_LINE_SECONDS * header.sample_rate.min(384_000) as f32) as usize;
    if header.samples > most {
        return Err(format!("{} samples for one line", header.samples));
    }
    let mut bytes = vec![0u8; header.samples * 4];
    input
        .read_exact(&mut bytes)
        .map_err(|e| format!("its audio was cut: {e}"))?;
    Ok(Ok(Utterance {
        sample_rate: header.sample_rate,
        samples: bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        phonemes: (header.phonemes.into_iter())
            .map(|(time, name)| PhonemeEvent { time, name })
            .collect(),
        words: (header.words.into_iter())
            .map(|(time, text)| WordEvent { time, text })
            .collect(),
    }))
}

/// One running worker: its process, its stdin, and the replies its reader thread parsed.
struct Running {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<Reply>,
}

/// A [`SpeechEngine`] served by a worker process, started on first use and started again
/// after it crashed, hung or sent garbage.
pub struct WorkerEngine {
    program: PathBuf,
    engine: String,
    running: Option<Running>,
    timeout: Duration,
    /// Workers that ended badly (crash, timeout, garbage) and were replaced.
    pub restarts: u64,
}

impl WorkerEngine {
    pub fn new(program: &Path, engine: &str) -> Self {
        Self {
            program: program.to_path_buf(),
            engine: engine.to_string(),
            running: None,
            timeout: TIMEOUT,
            restarts: 0,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn start(&self) -> Result<Running, VoiceError> {
        let mut child = Command::new(&self.program)
            .args([WORKER_COMMAND, &self.engine])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| self.fail(format!("cannot start its worker: {e}")))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, replies) = bounded(1);
        let engine = self.engine.clone();
        std::thread::Builder::new()
            .name(format!("{engine} worker"))
            .spawn(move || {
                let mut reader = BufReader::new(stdout);
                loop {
                    let reply = read_reply(&mut reader, &engine);
                    let broken = reply.is_err();
                    if tx.send(reply).is_err() || broken {
                        break;
                    }
                }
            })
            .map_err(|e| self.fail(format!("cannot start its reader: {e}")))?;
        info!("{}: worker process {} started", self.engine, child.id());
        Ok(Running {
            child,
            stdin,
            replies,
        })
    }

    fn fail(&self, reason: String) -> VoiceError {
        VoiceError::Engine {
            engine: self.engine.clone(),
            reason,
        }
    }

    /// Ends a worker that failed and says how it ended; the next line starts a new one.
    fn replace(&mut self, mut running: Running, why: &str) {
        let _ = running.child.kill();
        let status = running
            .child
            .wait()
            .map_or("unknown".into(), |s| describe(&s));
        self.restarts += 1;
        warn!(
            "{}: worker process {} ended ({status}): {why}; the line is skipped and the next one starts a new worker (restart {})",
            self.engine,
            running.child.id(),
            self.restarts
        );
    }
}

/// `exit status 1`, or `signal 11 (SIGSEGV)` for a crash.
fn describe(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(signal) => format!("signal {signal} ({})", signal_name(signal)),
        None => status.to_string(),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

impl SpeechEngine for WorkerEngine {
    fn name(&self) -> &str {
        &self.engine
    }

    fn synthesize(&mut self, text: &str, voice: &str) -> Result<Utterance, VoiceError> {
        let mut running = match self.running.take() {
            Some(running) => running,
            None => self.start()?,
        };
        let request = serde_json::to_string(&Request {
            text: text.to_string(),
            voice: voice.to_string(),
        })
        .map_err(|e| self.fail(e.to_string()))?;
        let sent = writeln!(running.stdin, "{request}").and_then(|()| running.stdin.flush());
        let reply = match sent {
            Err(e) => Err(format!("it is gone: {e}")),
            Ok(()) => running
                .replies
                .recv_timeout(self.timeout)
                .unwrap_or_else(|_| {
                    Err(format!("no answer in {:.1} s", self.timeout.as_secs_f64()))
                }),
        };
        match reply {
            // Spoken, or an engine's own refusal: the worker is fine for the next line.
            Ok(spoken) => {
                self.running = Some(running);
                spoken
            }
            Err(why) => {
                self.replace(running, &why);
                Err(self.fail(format!("its worker failed: {why}")))
            }
        }
    }
}

impl Drop for WorkerEngine {
    fn drop(&mut self) {
        if let Some(mut running) = self.running.take() {
            drop(running.stdin); // EOF: the worker's loop ends
            if !matches!(running.child.try_wait(), Ok(Some(_))) {
                std::thread::sleep(Duration::from_millis(50));
                let _ = running.child.kill();
            }
            let _ = running.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl SpeechEngine for Fake {
        fn name(&self) -> &str {
            "fake"
        }
        fn synthesize(&mut self, text: &str, voice: &str) -> Result<Utterance, VoiceError> {
            if voice == "nobody" {
                return Err(VoiceError::UnknownVoice {
                    engine: "fake".into(),
                    voice: voice.into(),
                });
            }
            Ok(Utterance {
                sample_rate: 16_000,
                samples: vec![0.25; text.len()],
                phonemes: vec![PhonemeEvent {
                    time: 0.5,
                    name: "a".into(),
                }],
                words: vec![WordEvent {
                    time: 0.0,
                    text: text.into(),
                }],
            })
        }
    }

    fn served(requests: &str) -> std::io::Cursor<Vec<u8>> {
        let mut out = Vec::new();
        serve(&mut Fake, requests.as_bytes(), &mut out).unwrap();
        std::io::Cursor::new(out)
    }

    #[test]
    fn replies_round_trip_samples_and_timings() {
        let mut replies = served(
            "{\"text\":\"hello\\nthere\",\"voice\":\"en\"}\n{\"text\":\"x\",\"voice\":\"nobody\"}\nnot json\n",
        );
        let u = read_reply(&mut replies, "fake").unwrap().unwrap();
        assert_eq!((u.sample_rate, u.samples.len()), (16_000, 11));
        assert!(u.samples.iter().all(|s| *s == 0.25));
        assert_eq!(u.phonemes[0].name, "a");
        assert_eq!(u.words[0].text, "hello\nthere");
        // Refusals are answers: the worker stays.
        let unknown = read_reply(&mut replies, "fake").unwrap().unwrap_err();
        assert!(
            matches!(unknown, VoiceError::UnknownVoice { .. }),
            "{unknown}"
        );
        let bad = read_reply(&mut replies, "fake").unwrap().unwrap_err();
        assert!(bad.to_string().contains("bad request"), "{bad}");
        // The end of its output is a broken worker.
        assert_eq!(read_reply(&mut replies, "fake").unwrap_err(), "it ended");
    }

    #[test]
    fn replies_out_of_bounds_are_refused_unread() {
        let huge = format!(
            "{{\"sample_rate\":16000,\"samples\":{},\"phonemes\":[],\"words\":[]}}\n",
            16_000 * 3600
        );
        let e = read_reply(&mut huge.as_bytes(), "w").unwrap_err();
        assert!(e.contains("samples for one line"), "{e}");
        let long = vec![b'x'; MAX_HEADER_BYTES + 10];
        let e = read_reply(&mut long.as_slice(), "w").unwrap_err();
        assert!(e.contains("reply header over"), "{e}");
        let cut = "{\"sample_rate\":16000,\"samples\":100,\"phonemes\":[],\"words\":[]}\n\0\0";
        let e = read_reply(&mut cut.as_bytes(), "w").unwrap_err();
        assert!(e.contains("audio was cut"), "{e}");
        let e = read_reply(&mut "\u{1}\u{2}\n".as_bytes(), "w").unwrap_err();
        assert!(e.contains("unreadable"), "{e}");
    }

    #[test]
    fn a_worker_that_is_not_there_is_a_clear_error() {
        let mut engine = WorkerEngine::new(Path::new("/nonexistent/twincast"), "espeak");
        let e = engine.synthesize("hi", "en").unwrap_err();
        assert!(e.to_string().contains("cannot start its worker"), "{e}");
    }

    /// A stand-in worker program: a shell script that ignores its arguments.
    fn script(name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("twincast-{name}-{}", std::process::id()));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn a_hung_or_babbling_worker_is_replaced() {
        let hung = script("hung-worker", "exec sleep 60");
        let mut engine =
            WorkerEngine::new(&hung, "espeak").with_timeout(Duration::from_millis(300));
        let e = engine.synthesize("hi", "en").unwrap_err();
        assert!(e.to_string().contains("no answer in 0.3 s"), "{e}");
        assert_eq!(engine.restarts, 1);
        assert!(engine.running.is_none());

        let babbling = script("babbling-worker", "echo '{not json'; exec sleep 60");
        let mut engine = WorkerEngine::new(&babbling, "espeak");
        let e = engine.synthesize("hi", "en").unwrap_err();
        assert!(e.to_string().contains("unreadable reply"), "{e}");
        assert_eq!(engine.restarts, 1);
        let _ = std::fs::remove_file(hung);
        let _ = std::fs::remove_file(babbling);
    }
}
