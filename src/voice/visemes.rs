//! Viseme tracks: which mouth shape, when, how strongly.
//!
//! The internal vocabulary is the Oculus set of 15; avatars map it onto what they have
//! (VRM's aa/ih/ou/ee/oh, ARKit blendshapes, or a jaw bone).

use super::PhonemeEvent;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Viseme {
    #[serde(rename = "sil")]
    Sil,
    PP,
    FF,
    TH,
    DD,
    #[serde(rename = "kk")]
    Kk,
    CH,
    SS,
    #[serde(rename = "nn")]
    Nn,
    RR,
    #[serde(rename = "aa")]
    Aa,
    E,
    #[serde(rename = "ih")]
    Ih,
    #[serde(rename = "oh")]
    Oh,
    #[serde(rename = "ou")]
    Ou,
}

impl Viseme {
    /// How far this shape opens the jaw (0–1): what a jaw-bone or single-morph avatar uses.
    pub fn openness(self) -> f32 {
        match self {
            Self::Sil | Self::PP => 0.0,
            Self::FF | Self::TH | Self::DD | Self::Nn | Self::SS => 0.2,
            Self::Kk | Self::CH | Self::RR => 0.3,
            Self::Ih | Self::Ou => 0.4,
            Self::E | Self::Oh => 0.6,
            Self::Aa => 1.0,
        }
    }

    /// The viseme for an eSpeak phoneme name (its ASCII phoneme alphabet, many languages).
    pub fn from_espeak(name: &str) -> Self {
        let n = name.trim_matches(|c: char| matches!(c, '\'' | ',' | ':' | '%' | '=' | ';'));
        if n.is_empty() || n.starts_with('_') {
            return Self::Sil;
        }
        for (prefix, viseme) in [
            ("tS", Self::CH),
            ("dZ", Self::CH),
            ("ts.", Self::CH),
            ("s.", Self::CH),
            ("ts", Self::SS),
            ("dz", Self::SS),
        ] {
            if n.starts_with(prefix) {
                return viseme;
            }
        }
        match n.chars().next().unwrap_or('_') {
            'p' | 'b' | 'm' => Self::PP,
            'f' | 'v' => Self::FF,
            'T' | 'D' => Self::TH,
            't' | 'd' => Self::DD,
            'k' | 'g' | 'N' | 'x' | 'q' | 'G' | 'c' => Self::Kk,
            'S' | 'Z' | 'C' => Self::CH,
            's' | 'z' => Self::SS,
            'n' | 'l' | 'L' => Self::Nn,
            'r' | 'R' => Self::RR,
            'j' => Self::Ih,
            'w' => Self::Ou,
            'h' => Self::Sil,
            'a' | 'A' | 'V' | '&' => Self::Aa,
            'e' | 'E' | '3' | '@' => Self::E,
            'i' | 'I' | 'y' | 'Y' => Self::Ih,
            'o' | 'O' | '0' => Self::Oh,
            'u' | 'U' => Self::Ou,
            _ => Self::E,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VisemeKey {
    /// Seconds from the start of the utterance.
    pub time: f32,
    pub viseme: Viseme,
    pub weight: f32,
}

/// Mouth shapes over an utterance, each holding until the next key.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VisemeTrack {
    pub keys: Vec<VisemeKey>,
}

impl VisemeTrack {
    /// From phoneme events: each phoneme's shape until the next; silence at the end.
    pub fn from_phonemes(phonemes: &[PhonemeEvent], duration: f32) -> Self {
        let mut keys: Vec<VisemeKey> = Vec::with_capacity(phonemes.len() + 2);
        for p in phonemes {
            let viseme = Viseme::from_espeak(&p.name);
            let weight = if viseme == Viseme::Sil { 0.0 } else { 1.0 };
            if keys
                .last()
                .is_some_and(|k| k.viseme == viseme && (k.time - p.time).abs() < 1e-4)
            {
                continue;
            }
            keys.push(VisemeKey {
                time: p.time.clamp(0.0, duration),
                viseme,
                weight,
            });
        }
        keys.sort_by(|a, b| a.time.total_cmp(&b.time));
        keys.push(VisemeKey {
            time: duration,
            viseme: Viseme::Sil,
            weight: 0.0,
        });
        Self { keys }
    }

    /// From the audio alone (engines without phoneme timings), in the spirit of Rhubarb Lip
    /// Sync's fallback: 20 ms windows classified by loudness and zero crossings into closed,
    /// fricative, mid and open shapes.
    pub fn from_audio(samples: &[f32], sample_rate: u32) -> Self {
        let window = (sample_rate as usize / 50).max(1);
        let rms: Vec<f32> = samples
            .chunks(window)
            .map(|w| (w.iter().map(|s| s * s).sum::<f32>() / w.len() as f32).sqrt())
            .collect();
        let peak = rms.iter().copied().fold(0.0f32, f32::max).max(1e-6);
        let mut keys: Vec<VisemeKey> = Vec::new();
        for (i, w) in samples.chunks(window).enumerate() {
            let level = rms[i] / peak;
            let crossings = w
                .windows(2)
                .filter(|p| (p[0] < 0.0) != (p[1] < 0.0))
                .count() as f32
                / w.len() as f32;
            let viseme = if level < 0.08 {
                Viseme::Sil
            } else if crossings > 0.25 {
                Viseme::SS
            } else if level > 0.6 {
                Viseme::Aa
            } else if level > 0.3 {
                Viseme::E
            } else {
                Viseme::Ou
            };
            let weight = if viseme == Viseme::Sil {
                0.0
            } else {
                level.min(1.0)
            };
            let time = (i * window) as f32 / sample_rate as f32;
            if keys.last().is_none_or(|k| k.viseme != viseme) {
                keys.push(VisemeKey {
                    time,
                    viseme,
                    weight,
                });
            }
        }
        keys.push(VisemeKey {
            time: samples.len() as f32 / sample_rate.max(1) as f32,
            viseme: Viseme::Sil,
            weight: 0.0,
        });
        Self { keys }
    }

    /// The key in force at `time`.
    pub fn at(&self, time: f32) -> Option<&VisemeKey> {
        let i = self.keys.partition_point(|k| k.time <= time);
        i.checked_sub(1).map(|i| &self.keys[i])
    }

    /// Jaw openness at `time`, 0–1.
    pub fn openness(&self, time: f32) -> f32 {
        self.at(time)
            .map_or(0.0, |k| k.viseme.openness() * k.weight)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.keys).unwrap_or_else(|_| "[]".into())
    }
}
