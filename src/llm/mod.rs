//! A language model behind the OpenAI-compatible `POST /v1/chat/completions` (llama.cpp's
//! server, Ollama, vLLM, hosted Qwen or DeepSeek), asked for streamed answers so the
//! host can start speaking on the first sentence.
//!
//! What comes back is untrusted like any input: the answer is cut at a length, reading
//! stops at a byte limit, and anything that is not the documented stream (or a plain JSON
//! answer) is an error, never a panic. The [`Worker`] runs requests on a thread of its own,
//! so nothing on the render loop ever waits for a model.

mod worker;

pub use worker::{Ask, Reply, Worker};

use crate::config::LlmConfig;
use std::io::{BufRead, BufReader, Read};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LlmError {
    #[error("language model {url}: {reason}")]
    Request { url: String, reason: String },
    #[error("language model {url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("language model {url}: the answer is not a chat completion ({reason})")]
    Garbage { url: String, reason: String },
    #[error("language model {url}: the answer is empty")]
    Empty { url: String },
}

/// One message of the conversation sent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Message {
    pub role: &'static str,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: "system",
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: "user",
            content: content.into(),
        }
    }
}

/// The most bytes read from one answer (a runaway or hostile server stops here).
const MAX_ANSWER_BYTES: u64 = 256 * 1024;

pub struct ChatClient {
    agent: ureq::Agent,
    url: String,
    model: String,
    key: Option<String>,
}

impl ChatClient {
    /// `None` when `[llm] url` is absent.
    pub fn new(config: &LlmConfig) -> Option<Self> {
        let url = config.url.clone()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs_f64(config.timeout_seconds)))
            .http_status_as_error(false)
            .build()
            .into();
        let key = config
            .key_env
            .as_deref()
            .and_then(|v| std::env::var(v).ok())
            .filter(|k| !k.is_empty());
        Some(Self {
            agent,
            url,
            model: config.model.clone(),
            key,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Asks for a streamed answer, handing each piece of text to `on_text` as it arrives;
    /// returns the whole answer, at most `max_chars` characters.
    pub fn chat(
        &self,
        messages: &[Message],
        max_chars: usize,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<String, LlmError> {
        let url = self.url.clone();
        let body = serde_json::json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "temperature": 0.7,
            // Tokens are at least a character of Chinese; three per character is plenty.
            "max_tokens": (max_chars * 3).min(4096),
        });
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "text/event-stream");
        if let Some(key) = &self.key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response =
            request
                .send(body.to_string().as_str())
                .map_err(|e| LlmError::Request {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
        let status = response.status();
        let event_stream = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let reader = response.body_mut().as_reader().take(MAX_ANSWER_BYTES);
        if !status.is_success() {
            let mut text = String::new();
            let _ = BufReader::new(reader).take(2048).read_to_string(&mut text);
            return Err(LlmError::Status {
                url,
                status: status.as_u16(),
                body: text
                    .chars()
                    .take(200)
                    .collect::<String>()
                    .trim()
                    .to_string(),
            });
        }
        let mut answer = Answer::new(max_chars, on_text);
        let read = if event_stream {
            read_stream(BufReader::new(reader), &mut answer)
        } else {
            read_whole(reader, &mut answer)
        };
        read.map_err(|reason| LlmError::Garbage {
            url: url.clone(),
            reason,
        })?;
        let text = answer.text.trim().to_string();
        if text.is_empty() {
            return Err(LlmError::Empty { url });
        }
        Ok(text)
    }
}

/// The answer as it grows, cut at `max_chars`.
struct Answer<'a> {
    text: String,
    chars: usize,
    max_chars: usize,
    on_text: &'a mut dyn FnMut(&str),
}

impl<'a> Answer<'a> {
    fn new(max_chars: usize, on_text: &'a mut dyn FnMut(&str)) -> Self {
        Self {
            text: String::new(),
            chars: 0,
            max_chars,
            on_text,
        }
    }

    /// Adds a piece; false once the answer is full.
    fn add(&mut self, piece: &str) -> bool {
        let room = self.max_chars.saturating_sub(self.chars);
        let piece: String = piece
            .chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .take(room)
            .collect();
        self.chars += piece.chars().count();
        self.text.push_str(&piece);
        (self.on_text)(&piece);
        self.chars < self.max_chars
    }
}

/// Server-sent events: `data: {"choices":[{"delta":{"content":"…"}}]}` lines, then
/// `data: [DONE]`. Comments and other fields are skipped; a data line that is not JSON is
/// garbage.
fn read_stream(reader: impl BufRead, answer: &mut Answer) -> Result<(), String> {
    for line in reader.lines() {
        let line = line.map_err(|e| format!("reading the stream: {e}"))?;
        let Some(data) = line.strip_prefix("data:").map(str::trim) else {
            continue;
        };
        if data == "[DONE]" {
            return Ok(());
        }
        let value: serde_json::Value =
            serde_json::from_str(data).map_err(|e| format!("a stream event is not JSON: {e}"))?;
        if let Some(error) = value.get("error") {
            return Err(format!(
                "the stream reports an error: {}",
                clip(&error.to_string())
            ));
        }
        let piece = value
            .pointer("/choices/0/delta/content")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if !answer.add(piece) {
            return Ok(());
        }
    }
    // A stream cut before [DONE] keeps what came; an empty one is an error above.
    Ok(())
}

/// A server that ignored `stream` answers with one JSON completion.
fn read_whole(mut reader: impl Read, answer: &mut Answer) -> Result<(), String> {
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .map_err(|e| format!("reading the answer: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| format!("not JSON: {}", clip(&text)))?;
    let content = value
        .pointer("/choices/0/message/content")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("no choices[0].message.content in {}", clip(&text)))?;
    answer.add(content);
    Ok(())
}

fn clip(text: &str) -> String {
    text.chars().take(120).collect()
}

/// Splits finished sentences off the front of `buffer` (the text so far), so each can be
/// said while the model is still writing the next. A sentence ends at `。！？!?` or at
/// `.` followed by a space; at least `min_chars` characters make a sentence worth a line.
pub fn take_sentences(buffer: &mut String, min_chars: usize) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let chars: Vec<(usize, char)> = buffer.char_indices().collect();
        let end = chars.iter().enumerate().find_map(|(i, &(at, c))| {
            let next = chars.get(i + 1).map(|&(_, n)| n);
            let ends = matches!(c, '。' | '！' | '？' | '!' | '?' | '\n')
                || (c == '.' && next.is_some_and(char::is_whitespace));
            (ends && i + 1 >= min_chars).then_some(at + c.len_utf8())
        });
        let Some(end) = end else {
            return out;
        };
        let sentence = buffer[..end].trim().to_string();
        buffer.replace_range(..end, "");
        if !sentence.is_empty() {
            out.push(sentence);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_come_off_the_stream_as_they_end() {
        let mut b = String::from("Yes, we ship to Canada. It takes a");
        assert_eq!(take_sentences(&mut b, 5), vec!["Yes, we ship to Canada."]);
        assert_eq!(b, " It takes a");
        b.push_str("bout 9.5 days! 好的。");
        assert_eq!(take_sentences(&mut b, 5), vec!["It takes about 9.5 days!"]);
        // Too short to be a line of its own yet.
        assert_eq!(b, " 好的。");
        assert!(take_sentences(&mut b, 5).is_empty());
    }

    #[test]
    fn streams_and_whole_answers_are_read_and_garbage_refused() {
        let mut seen = String::new();
        let mut on = |s: &str| seen.push_str(s);
        let mut a = Answer::new(10, &mut on);
        let stream = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n\
                      : keep-alive\n\
                      data: {\"choices\":[{\"delta\":{\"content\":\"Hello \"}}]}\n\
                      data: {\"choices\":[{\"delta\":{\"content\":\"there, friend\"}}]}\n\
                      data: [DONE]\n";
        read_stream(stream.as_bytes(), &mut a).unwrap();
        assert_eq!(a.text, "Hello ther", "cut at ten characters");
        drop(a);
        assert_eq!(seen, "Hello ther");
        let mut none = |_: &str| {};
        let mut a = Answer::new(100, &mut none);
        assert!(read_stream("data: <html>\n".as_bytes(), &mut a).is_err());
        let mut a = Answer::new(100, &mut none);
        let whole = r#"{"choices":[{"message":{"role":"assistant","content":"Hi"}}]}"#;
        read_whole(whole.as_bytes(), &mut a).unwrap();
        assert_eq!(a.text, "Hi");
        let mut a = Answer::new(100, &mut none);
        assert!(read_whole("Internal error".as_bytes(), &mut a).is_err());
    }
}
