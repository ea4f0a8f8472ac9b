//! Any program that writes a WAV file as a speech engine (piper, a cloud CLI, a script).
//!
//! The show file gives a shell command; `{output}` in it is replaced by a temporary WAV
//! path and `{voice}` by the voice name; the text arrives on the command's standard input.

use super::{SpeechEngine, Utterance, VoiceError, wav::read_mono};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one line may take before the command is killed.
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct CommandEngine {
    template: String,
    timeout: Duration,
}

impl CommandEngine {
    pub fn new(template: &str) -> Self {
        Self {
            template: template.to_string(),
            timeout: TIMEOUT,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl SpeechEngine for CommandEngine {
    fn name(&self) -> &str {
        "command"
    }

    fn synthesize(&mut self, text: &str, voice: &str) -> Result<Utterance, VoiceError> {
        let fail = |reason: String| VoiceError::Engine {
            engine: "command".into(),
            reason,
        };
        let output = super::temp_audio_path("tts", "wav");
        let command = self
            .template
            .replace("{output}", &shell_quote(&output.to_string_lossy()))
            .replace("{voice}", &shell_quote(voice));
        // Its own process group, so a timeout ends the shell and whatever it started.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot run `{command}`: {e}")))?;
        // Read as it comes: a chatty engine must not block on a full pipe until the timeout.
        let stderr = child.stderr.take().map(|err| {
            std::thread::spawn(move || {
                let mut last = Vec::new();
                let mut reader = std::io::BufReader::new(err);
                let mut line = Vec::new();
                while std::io::BufRead::read_until(&mut reader, b'\n', &mut line)
                    .is_ok_and(|n| n > 0)
                {
                    last = std::mem::take(&mut line);
                    last.truncate(MAX_ERROR_BYTES);
                }
                String::from_utf8_lossy(&last).trim().to_string()
            })
        });
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(text.as_bytes());
        }
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > self.timeout => {
                    kill_group(&mut child);
                    let _ = std::fs::remove_file(&output);
                    return Err(fail(format!(
                        "`{command}` took longer than {} s",
                        self.timeout.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(fail(e.to_string())),
            }
        };
        let last = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
        if !status.success() {
            let _ = std::fs::remove_file(&output);
            return Err(fail(format!("`{command}` failed ({status}): {last}")));
        }
        let size = std::fs::metadata(&output).map_or(0, |m| m.len());
        if size > super::MAX_AUDIO_BYTES {
            let _ = std::fs::remove_file(&output);
            return Err(VoiceError::BadAudio {
                engine: "command".into(),
                reason: format!("a {} MB file for one line", size / 1_000_000),
            });
        }
        let decoded = read_mono(&output, super::MAX_LINE_SECONDS);
        let _ = std::fs::remove_file(&output);
        let (samples, sample_rate) = decoded.map_err(|reason| VoiceError::BadAudio {
            engine: "command".into(),
            reason,
        })?;
        Ok(Utterance {
            sample_rate,
            samples,
            phonemes: Vec::new(),
            words: Vec::new(),
        })
    }
}

/// The last line of an engine's error output kept for the message, at most this long.
const MAX_ERROR_BYTES: usize = 500;

/// Ends the command's whole process group (the shell and what it started).
fn kill_group(child: &mut std::process::Child) {
    // SAFETY: kill(2) with the negated id of the group this child leads.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
