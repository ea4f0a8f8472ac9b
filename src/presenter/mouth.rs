//! Mouth shapes on avatars that have them: morph targets found by name and driven from the
//! viseme of the frame's media time.
//!
//! Supported names (any case, with rig prefixes like `vrc.v_`, `viseme_`, `Fcl_MTH_`):
//! VRM's vowels (`aa ih ou ee oh` or `A I U E O`), ARKit's `jawOpen`, `mouthFunnel`,
//! `mouthPucker`, `mouthClose`, and the Oculus visemes (`viseme_aa`, `viseme_PP`, …).

use super::Mouth;
use crate::voice::Viseme;
use bevy::prelude::*;

/// What one morph target of a face does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Vowel(Vowel),
    JawOpen,
    Funnel,
    Pucker,
    Close,
    Oculus(Viseme),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vowel {
    A,
    I,
    U,
    E,
    O,
}

/// The mouth targets of one morph-weights entity: (target index, channel), smoothed weights.
#[derive(Component)]
pub(crate) struct MouthMorphs {
    channels: Vec<(usize, Channel)>,
    smoothed: Vec<f32>,
}

/// Whether the avatar shows speech with its face (then the head nods only a little).
#[derive(Resource, Default)]
pub(crate) struct FaceRig {
    pub has_mouth: bool,
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
        _ => return None,
    })
}

/// How strongly a channel shows a viseme (before the viseme's own weight).
pub(crate) fn channel_weight(channel: Channel, viseme: Viseme) -> f32 {
    use Viseme::*;
    match channel {
        Channel::Vowel(v) => match (v, viseme) {
            (Vowel::A, Aa) => 1.0,
            (Vowel::E, E) => 1.0,
            (Vowel::I, Ih) => 1.0,
            (Vowel::O, Oh) => 1.0,
            (Vowel::U, Ou) => 1.0,
            // Consonants open the mouth a little, mostly like a short "a".
            (Vowel::A, _) => viseme.openness() * 0.4,
            _ => 0.0,
        },
        Channel::JawOpen => viseme.openness(),
        Channel::Funnel => matches!(viseme, Oh | Ou) as u8 as f32,
        Channel::Pucker => (viseme == Ou) as u8 as f32,
        Channel::Close => (viseme == PP) as u8 as f32,
        Channel::Oculus(v) => (v == viseme) as u8 as f32,
    }
}

/// Finds the mouth targets of morph-weights entities as their meshes load.
pub(crate) fn find_mouth_morphs(
    mut commands: Commands,
    candidates: Query<(Entity, &MorphWeights), Without<MouthMorphs>>,
    meshes: Res<Assets<Mesh>>,
    mut rig: ResMut<FaceRig>,
) {
    for (entity, weights) in &candidates {
        let Some(names) = weights
            .first_mesh()
            .and_then(|h| meshes.get(h))
            .and_then(|m| m.morph_target_names())
        else {
            continue; // the mesh is not loaded yet
        };
        let channels: Vec<(usize, Channel)> = names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| channel_for(n).map(|c| (i, c)))
            .collect();
        if !channels.is_empty() {
            info!("presenter mouth: {} shapes ({:?})", channels.len(), names);
            rig.has_mouth = true;
        }
        let smoothed = vec![0.0; channels.len()];
        commands
            .entity(entity)
            .insert(MouthMorphs { channels, smoothed });
    }
}

/// Sets each mouth target from this frame's viseme, smoothed like the mouth itself.
pub(crate) fn drive_mouth_morphs(
    mouth: Res<Mouth>,
    mut faces: Query<(&mut MouthMorphs, &mut MorphWeights)>,
) {
    for (mut face, mut weights) in &mut faces {
        let MouthMorphs { channels, smoothed } = &mut *face;
        for ((index, channel), value) in channels.iter().zip(smoothed.iter_mut()) {
            let target = mouth
                .viseme
                .map_or(0.0, |(v, w)| channel_weight(*channel, v) * w);
            let k = if target > *value {
                mouth.open_rate
            } else {
                mouth.close_rate
            };
            *value += (target - *value) * k;
            if let Some(w) = weights.weights_mut().get_mut(*index) {
                *w = *value;
            }
        }
    }
}

/// Reads back the strongest mouth weight actually set on any face (for telemetry).
pub(crate) fn measure_mouth_morphs(
    mut mouth: ResMut<Mouth>,
    faces: Query<(&MouthMorphs, &MorphWeights)>,
) {
    mouth.shapes = faces
        .iter()
        .flat_map(|(face, weights)| {
            face.channels
                .iter()
                .filter_map(|(i, _)| weights.weights().get(*i).copied())
        })
        .fold(0.0, f32::max);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_every_convention_map() {
        assert_eq!(channel_for("aa"), Some(Channel::Vowel(Vowel::A)));
        assert_eq!(channel_for("Fcl_MTH_A"), Some(Channel::Vowel(Vowel::A)));
        assert_eq!(channel_for("vrc.v_ou"), Some(Channel::Oculus(Viseme::Ou)));
        assert_eq!(channel_for("viseme_PP"), Some(Channel::Oculus(Viseme::PP)));
        assert_eq!(channel_for("jawOpen"), Some(Channel::JawOpen));
        assert_eq!(channel_for("mouthFunnel"), Some(Channel::Funnel));
        assert_eq!(channel_for("O"), Some(Channel::Vowel(Vowel::O)));
        assert_eq!(channel_for("Angry"), None);
        assert_eq!(channel_for("Key 1"), None);
    }

    #[test]
    fn visemes_light_their_shapes() {
        assert_eq!(channel_weight(Channel::Vowel(Vowel::A), Viseme::Aa), 1.0);
        assert_eq!(channel_weight(Channel::Vowel(Vowel::O), Viseme::Aa), 0.0);
        assert_eq!(channel_weight(Channel::Close, Viseme::PP), 1.0);
        assert_eq!(channel_weight(Channel::JawOpen, Viseme::Sil), 0.0);
        assert!(channel_weight(Channel::JawOpen, Viseme::Aa) > 0.9);
    }
}
