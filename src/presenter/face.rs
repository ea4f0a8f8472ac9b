//! The vocabulary of a face: what each morph target does, read from its name. Shared by
//! the mouth (which drives the targets) and the VRM reader (which names them by preset).

use crate::speech::Emotion;
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
    /// A whole-face emotion (VRM presets, VRoid's `Fcl_ALL_Joy` …).
    Expression(Emotion),
    /// Part of a face that emotions use (ARKit's shapes).
    Part(Part),
    /// Eyes drawn looking one way (VRM `lookLeft`, … for `lookAt` of type expression).
    Look(LookDir),
}

/// Which way a look expression turns the eyes: her left, her right, up, down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookDir {
    Left = 0,
    Right = 1,
    Up = 2,
    Down = 3,
}

impl Channel {
    /// Whether the channel shapes speech (what the mouth drives and telemetry's `shapes`).
    pub(crate) fn speaks(self) -> bool {
        !matches!(
            self,
            Channel::Blink | Channel::Expression(_) | Channel::Part(_) | Channel::Look(_)
        )
    }
}

/// ARKit's shapes that make faces, left and right together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Smile,
    Frown,
    BrowUp,
    BrowDown,
    EyeWide,
}

/// How much of `part` an emotion puts on (on faces with parts, not whole-face presets).
pub(crate) fn part_weight(part: Part, emotion: Emotion) -> f32 {
    use Emotion::*;
    use Part::*;
    match (emotion, part) {
        (Happy, Smile) => 0.8,
        (Happy, BrowUp) => 0.1,
        (Angry, BrowDown) => 0.9,
        (Angry, Frown) => 0.4,
        (Sad, Frown) => 0.7,
        (Sad, BrowUp) => 0.6,
        (Relaxed, Smile) => 0.4,
        (Surprised, BrowUp) => 0.9,
        (Surprised, EyeWide) => 0.8,
        _ => 0.0,
    }
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
        "fclall",
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
        "mouthsmileleft" | "mouthsmileright" | "mouthsmilel" | "mouthsmiler" | "mouthsmile" => {
            Channel::Part(Part::Smile)
        }
        "mouthfrownleft" | "mouthfrownright" | "mouthfrownl" | "mouthfrownr" => {
            Channel::Part(Part::Frown)
        }
        "browinnerup" => Channel::Part(Part::BrowUp),
        "browdownleft" | "browdownright" | "browdownl" | "browdownr" => {
            Channel::Part(Part::BrowDown)
        }
        "eyewideleft" | "eyewideright" | "eyewidel" | "eyewider" => Channel::Part(Part::EyeWide),
        "lookleft" => Channel::Look(LookDir::Left),
        "lookright" => Channel::Look(LookDir::Right),
        "lookup" => Channel::Look(LookDir::Up),
        "lookdown" => Channel::Look(LookDir::Down),
        other => return Emotion::from_name(other).map(Channel::Expression),
    })
}
