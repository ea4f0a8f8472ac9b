//! A speech engine behind an HTTP API: the OpenAI-compatible `POST /v1/audio/speech`
//! (JSON `{model, input, voice, response_format}` in, audio bytes out), which many hosted
//! and self-hosted TTS servers speak. Whatever audio comes back is decoded with FFmpeg.

use super::{SpeechEngine, Utterance, VoiceError, wav::read_mono};
use std::time::Duration;

pub struct HttpEngine {
    url: String,
    model: String,
    api_key: Option<String>,
    agent: ureq::Agent,
}

impl HttpEngine {
    pub fn new(url: &str, model: &str, api_key: Option<String>, timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            url: url.to_string(),
            model: model.to_string(),
            api_key,
            agent,
        }
    }
}

impl SpeechEngine for HttpEngine {
    fn name(&self) -> &str {
        "http"
    }

    fn synthesize(&mut self, text: &str, voice: &str) -> Result<Utterance, VoiceError> {
        let fail = |reason: String| VoiceError::Engine {
            engine: format!("http {}", self.url),
            reason,
        };
        let body = serde_json::json!({
            "model": self.model,
            "input": text,
            "voice": voice,
            "response_format": "wav",
        })
        .to_string();
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        if let Some(key) = &self.api_key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request
            .send(body.as_str())
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| fail(format!("reading the answer: {e}")))?;
        if !status.is_success() {
            let snippet: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
            return Err(fail(format!("HTTP {status}: {}", snippet.trim())));
        }
        // FFmpeg probes the format (WAV, MP3, Opus, …) from the bytes.
        let path = super::temp_audio_path("http", "audio");
        std::fs::write(&path, &bytes).map_err(|e| fail(e.to_string()))?;
        let decoded = read_mono(&path, super::MAX_LINE_SECONDS);
        let _ = std::fs::remove_file(&path);
        let (samples, sample_rate) = decoded.map_err(|reason| VoiceError::BadAudio {
            engine: format!("http {}", self.url),
            reason,
        })?;
        if samples.len() < sample_rate as usize / 50 {
            return Err(VoiceError::BadAudio {
                engine: format!("http {}", self.url),
                reason: format!("only {} samples", samples.len()),
            });
        }
        Ok(Utterance {
            sample_rate,
            samples,
            phonemes: Vec::new(),
            words: Vec::new(),
        })
    }
}
