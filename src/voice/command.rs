//! Any program that writes a WAV file as a speech engine (piper, a cloud CLI, a script).
//!
//! The show file gives a shell command; `{output}` in it is replaced by a temporary WAV
//! path and `{voice}` by the voice name; the text arrives on the command's standard input.

use super::{SpeechEngine, Utterance, VoiceError, wav::read_mono};
use std::io::Write;
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
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot run `{command}`: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(text.as_bytes());
        }
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
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
        if !status.success() {
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
            }
            let _ = std::fs::remove_file(&output);
            let last = stderr.lines().last().unwrap_or("").trim().to_string();
            return Err(fail(format!("`{command}` failed ({status}): {last}")));
        }
        let decoded = read_mono(&output);
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

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
