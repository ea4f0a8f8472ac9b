//! A disk cache of synthesised lines. A 24-hour show repeats itself; an HTTP voice costs
//! money and latency per line. Entries are keyed by engine, voice and text, hold the audio
//! and its timings, and are evicted least-recently-used past a size budget.

use super::{PhonemeEvent, SpeechEngine, Utterance, VoiceError, WordEvent, wav};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tracing::{debug, warn};

pub struct CachedEngine {
    inner: Box<dyn SpeechEngine>,
    /// What makes one engine's audio differ from another's (name, URL, model…).
    identity: String,
    dir: PathBuf,
    max_bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    identity: String,
    voice: String,
    text: String,
    phonemes: Vec<(f32, String)>,
    words: Vec<(f32, String)>,
}

impl CachedEngine {
    pub fn new(inner: Box<dyn SpeechEngine>, identity: &str, dir: &Path, max_bytes: u64) -> Self {
        Self {
            inner,
            identity: identity.to_string(),
            dir: dir.to_path_buf(),
            max_bytes,
        }
    }

    fn key(&self, text: &str, voice: &str) -> String {
        let bytes = self
            .identity
            .bytes()
            .chain([0])
            .chain(voice.bytes())
            .chain([0]);
        format!("{:016x}", super::fnv1a(bytes.chain(text.bytes())))
    }

    fn load(&self, key: &str, text: &str, voice: &str) -> Option<Utterance> {
        let meta = std::fs::read_to_string(self.dir.join(format!("{key}.json"))).ok()?;
        let entry: Entry = serde_json::from_str(&meta).ok()?;
        if entry.text != text || entry.voice != voice || entry.identity != self.identity {
            return None; // a hash collision: treat as a miss
        }
        let audio = self.dir.join(format!("{key}.wav"));
        let (samples, sample_rate) = wav::read_mono(&audio, super::MAX_LINE_SECONDS).ok()?;
        // Touch it: eviction goes by last use.
        let _ = std::fs::File::options()
            .append(true)
            .open(&audio)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        Some(Utterance {
            sample_rate,
            samples,
            phonemes: entry
                .phonemes
                .into_iter()
                .map(|(time, name)| PhonemeEvent { time, name })
                .collect(),
            words: entry
                .words
                .into_iter()
                .map(|(time, text)| WordEvent { time, text })
                .collect(),
        })
    }

    fn store(&self, key: &str, text: &str, voice: &str, line: &Utterance) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
        let entry = Entry {
            identity: self.identity.clone(),
            voice: voice.into(),
            text: text.into(),
            phonemes: line
                .phonemes
                .iter()
                .map(|p| (p.time, p.name.clone()))
                .collect(),
            words: line
                .words
                .iter()
                .map(|w| (w.time, w.text.clone()))
                .collect(),
        };
        // Write beside, then rename: a crash never leaves a half-written entry behind.
        let tmp_wav = self.dir.join(format!("{key}.wav.tmp"));
        wav::write_wav(&tmp_wav, &line.samples, line.sample_rate).map_err(|e| e.to_string())?;
        let tmp_json = self.dir.join(format!("{key}.json.tmp"));
        std::fs::write(
            &tmp_json,
            serde_json::to_string(&entry).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        std::fs::rename(&tmp_wav, self.dir.join(format!("{key}.wav")))
            .map_err(|e| e.to_string())?;
        std::fs::rename(&tmp_json, self.dir.join(format!("{key}.json")))
            .map_err(|e| e.to_string())?;
        self.evict();
        Ok(())
    }

    /// Removes the least recently used entries until the cache fits its budget.
    fn evict(&self) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, u64, String)> = dir
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                (path.extension()? == "wav").then_some(())?;
                let key = path.file_stem()?.to_string_lossy().into_owned();
                let meta = e.metadata().ok()?;
                let json =
                    std::fs::metadata(self.dir.join(format!("{key}.json"))).map_or(0, |m| m.len());
                Some((meta.modified().ok()?, meta.len() + json, key))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort();
        for (_, size, key) in entries {
            if total <= self.max_bytes {
                break;
            }
            let _ = std::fs::remove_file(self.dir.join(format!("{key}.wav")));
            let _ = std::fs::remove_file(self.dir.join(format!("{key}.json")));
            total = total.saturating_sub(size);
            debug!("tts cache: evicted {key}");
        }
    }
}

impl SpeechEngine for CachedEngine {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn synthesize(&mut self, text: &str, voice: &str) -> Result<Utterance, VoiceError> {
        let key = self.key(text, voice);
        if let Some(hit) = self.load(&key, text, voice) {
            debug!("tts cache hit: {text}");
            return Ok(hit);
        }
        let line = self.inner.synthesize(text, voice)?;
        if let Err(e) = self.store(&key, text, voice, &line) {
            warn!("tts cache {}: {e}", self.dir.display());
        }
        Ok(line)
    }
}

/// Where the cache lives unless the show file says otherwise.
pub fn default_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("twincast/tts")
}
