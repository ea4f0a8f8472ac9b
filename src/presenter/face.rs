//! The vocabulary of a face: what each morph target does, read from its name. Shared by
//! the mouth (which drives the targets) and the VRM reader (which names them by preset).

use crate::voice::Viseme;

/// What one morph target of a face does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Vowel(Vowel),
    JawOpen,
    Funnel,
    Pucker,
    Close,
    Oculus(Viseme),
    Blink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vowel {
    A,
    I,
    U,
    E,
    O,
}

pub(crate) fn channel_for(name: &str) -> Option<Channel> {
    let lower = name.to_ascii_lowercase();
    let n: String = lower
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let n = [
        "vrcv",
        "viseme",
        "fclmth",
        "mth",
        "blendshape1",
        "blendshape",
        "vrm",
    ]
    .iter()
    .find_map(|p| n.strip_prefix(p).filter(|rest| !rest.is_empty()))
    .map_or(n.as_str(), |rest| rest)
    .to_string();
    if lower.contains("viseme") || lower.starts_with("vrc.v_") {
        let v = match n.as_str() {
            "sil" => Viseme::Sil,
            "pp" => Viseme::PP,
            "ff" => Viseme::FF,
            "th" => Viseme::TH,
            "dd" => Viseme::DD,
            "kk" => Viseme::Kk,
            "ch" => Viseme::CH,
            "ss" => Viseme::SS,
            "nn" => Viseme::Nn,
            "rr" => Viseme::RR,
            "aa" => Viseme::Aa,
            "e" => Viseme::E,
            "ih" | "i" => Viseme::Ih,
            "oh" | "o" => Viseme::Oh,
            "ou" | "u" => Viseme::Ou,
            _ => return None,
        };
        return Some(Channel::Oculus(v));
    }
    Some(match n.as_str() {
        "aa" | "a" => Channel::Vowel(Vowel::A),
        "ih" | "i" => Channel::Vowel(Vowel::I),
        "ou" | "u" => Channel::Vowel(Vowel::U),
        "ee" | "e" => Channel::Vowel(Vowel::E),
        "oh" | "o" => Channel::Vowel(Vowel::O),
        "jawopen" => Channel::JawOpen,
        "mouthfunnel" => Channel::Funnel,
        "mouthpucker" => Channel::Pucker,
        "mouthclose" => Channel::Close,
        "blink" | "eyeclose" | "fcleyeclose" | "eyesclosed" => Channel::Blink,
        _ => return None,
    })
}
