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

    /// The shapes around `time` blended as speech blends them (coarticulation): each key
    /// counts by its share of the window `time ± half_window` (times its weight), so a
    /// short sound between two vowels pulls the mouth only part of the way, while a held
    /// vowel reaches its full shape. Before the first key and after the last is silence.
    /// Shares of one viseme are added; silence is left out.
    pub fn blend_at(&self, time: f32, half_window: f32) -> Vec<(Viseme, f32)> {
        let (from, to) = (time - half_window, time + half_window);
        let width = (to - from).max(1e-6);
        let first = self
            .keys
            .partition_point(|k| k.time <= from)
            .saturating_sub(1);
        let mut blend: Vec<(Viseme, f32)> = Vec::new();
        for (i, key) in self.keys.iter().enumerate().skip(first) {
            if key.time >= to {
                break;
            }
            let end = self.keys.get(i + 1).map_or(f32::INFINITY, |k| k.time);
            let share = (end.min(to) - key.time.max(from)).max(0.0) / width;
            if key.viseme == Viseme::Sil || share <= 0.0 {
                continue;
            }
            match blend.iter_mut().find(|(v, _)| *v == key.viseme) {
                Some((_, w)) => *w += share * key.weight,
                None => blend.push((key.viseme, share * key.weight)),
            }
        }
        blend
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

#[cfg(test)]
mod tests {
    use super::*;

    fn track(keys: &[(f32, Viseme)]) -> VisemeTrack {
        VisemeTrack {
            keys: keys
                .iter()
                .map(|&(time, viseme)| VisemeKey {
                    time,
                    viseme,
                    weight: (viseme != Viseme::Sil) as u8 as f32,
                })
                .collect(),
        }
    }

    #[test]
    fn neighbouring_shapes_blend_and_held_vowels_reach_their_shape() {
        use Viseme::*;
        let t = track(&[(0.0, Aa), (0.5, DD), (0.54, Aa), (1.0, Sil)]);
        // Mid-vowel: all "a".
        assert_eq!(t.blend_at(0.25, 0.06), vec![(Aa, 1.0)]);
        // On a 40 ms "t" between two "a"s: a third "t", the rest "a".
        let blend = t.blend_at(0.52, 0.06);
        let share = |v| blend.iter().find(|(x, _)| *x == v).map_or(0.0, |p| p.1);
        assert!((share(DD) - 1.0 / 3.0).abs() < 1e-4, "{blend:?}");
        assert!((share(Aa) - 2.0 / 3.0).abs() < 1e-4, "{blend:?}");
        // Before the first sound the mouth starts towards it; after the last it closes.
        let before = t.blend_at(-0.03, 0.06);
        assert!((before[0].1 - 0.25).abs() < 1e-4, "{before:?}");
        assert!(t.blend_at(1.2, 0.06).is_empty());
    }
}
