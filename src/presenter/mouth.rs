//! Mouth shapes on avatars that have them: morph targets found by name and driven from the
//! viseme of the frame's media time.
//!
//! Supported names (any case, with rig prefixes like `vrc.v_`, `viseme_`, `Fcl_MTH_`):
//! VRM's vowels (`aa ih ou ee oh` or `A I U E O`), ARKit's `jawOpen`, `mouthFunnel`,
//! `mouthPucker`, `mouthClose`, and the Oculus visemes (`viseme_aa`, `viseme_PP`, …).

use super::face::{Channel, Vowel, channel_for, part_weight};
use super::vrm::Override;
use super::{Eyes, Mood, Mouth};
use crate::stage::MediaTime;
use crate::voice::Viseme;
use bevy::prelude::*;

/// The face targets of one morph-weights entity: (target index, channel, full weight),
/// and their smoothed weights.
#[derive(Component)]
pub(crate) struct MouthMorphs {
    channels: Vec<(usize, Channel, f32)>,
    smoothed: Vec<f32>,
}

/// Expression bindings read from the avatar's VRM extension, by node name.
#[derive(Resource, Default)]
pub(crate) struct VrmBinds(pub Vec<super::vrm::ExpressionBind>);

/// What each emotion's VRM expression does to the mouth and the blink while it is on.
#[derive(Resource, Default)]
pub(crate) struct VrmOverrides(pub Vec<(crate::speech::Emotion, Override, Override)>);

/// How closed the eyes are (0–1), on a natural, reproducible schedule of the media clock.
#[derive(Resource, Default)]
pub(crate) struct Blink {
    pub amount: f32,
    next_at: f64,
    count: u64,
}

/// How the avatar shows speech with its face: mouth shapes (morph targets), a jaw bone,
/// both or neither. With either the head nods only a little; with shapes the jaw bone is
/// left to them (the shapes of a face that has both open the mouth already).
#[derive(Resource, Default)]
pub(crate) struct FaceRig {
    pub shapes: bool,
    pub jaw: bool,
}

impl FaceRig {
    pub fn has_mouth(&self) -> bool {
        self.shapes || self.jaw
    }
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
        Channel::Blink | Channel::Expression(_) | Channel::Part(_) | Channel::Look(_) => 0.0,
    }
}

/// Finds the face targets of her morph-weights entities as their meshes load: from the
/// VRM extension's bindings when the avatar has them, else by morph-target name. A
/// prop's shapes are the prop's (a second face in the set does not speak with hers).
pub(crate) fn find_mouth_morphs(
    mut commands: Commands,
    candidates: Query<(Entity, &MorphWeights, Option<&Name>), Without<MouthMorphs>>,
    hers: Query<(), With<super::HostAvatar>>,
    parents: Query<&ChildOf>,
    meshes: Res<Assets<Mesh>>,
    binds: Res<VrmBinds>,
    mut rig: ResMut<FaceRig>,
) {
    for (entity, weights, node) in &candidates {
        if !super::is_hers(entity, &hers, &parents) {
            continue;
        }
        let Some(names) = weights
            .first_mesh()
            .and_then(|h| meshes.get(h))
            .and_then(|m| m.morph_target_names())
        else {
            continue; // the mesh is not loaded yet
        };
        let bound: Vec<(usize, Channel, f32)> = binds
            .0
            .iter()
            .filter(|b| node.is_some_and(|n| n.as_str() == b.node) && b.index < names.len())
            .map(|b| (b.index, b.channel, b.weight))
            .collect();
        let channels: Vec<(usize, Channel, f32)> = if bound.is_empty() {
            names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| channel_for(n).map(|c| (i, c, 1.0)))
                .collect()
        } else {
            bound
        };
        if channels.iter().any(|c| c.1.speaks()) {
            info!("presenter face: {} shapes of {:?}", channels.len(), names);
            rig.shapes = true;
        }
        let smoothed = vec![0.0; channels.len()];
        commands
            .entity(entity)
            .insert(MouthMorphs { channels, smoothed });
    }
}

/// Sets each face target from this frame's visemes (smoothed like the mouth), the blink
/// and the emotion, with the emotion's VRM overrides scaling the mouth and the blink.
pub(crate) fn drive_mouth_morphs(
    mouth: Res<Mouth>,
    blink: Res<Blink>,
    mood: Res<Mood>,
    overrides: Res<VrmOverrides>,
    gaze: Res<super::Gaze>,
    mut faces: Query<(&mut MouthMorphs, &mut MorphWeights)>,
) {
    let (mouth_scale, blink_scale) = overrides
        .0
        .iter()
        .find(|(e, _, _)| Some(*e) == mood.emotion)
        .map_or((1.0, 1.0), |(_, m, b)| {
            (m.scale(mood.weight), b.scale(mood.weight))
        });
    for (mut face, mut weights) in &mut faces {
        let MouthMorphs { channels, smoothed } = &mut *face;
        for ((index, channel, full), value) in channels.iter().zip(smoothed.iter_mut()) {
            match *channel {
                Channel::Blink => *value = blink.amount * blink_scale, // already shaped
                Channel::Expression(e) => {
                    *value = if mood.emotion == Some(e) {
                        mood.weight
                    } else {
                        0.0
                    };
                }
                Channel::Part(part) => {
                    *value = mood
                        .emotion
                        .map_or(0.0, |e| part_weight(part, e) * mood.weight);
                }
                Channel::Look(dir) => *value = gaze.looks[dir as usize],
                speech => {
                    let target: f32 = (mouth.visemes.iter())
                        .map(|(v, w)| channel_weight(speech, *v) * w)
                        .sum::<f32>()
                        .min(1.0)
                        * mouth_scale;
                    let k = if target > *value {
                        mouth.open_rate
                    } else {
                        mouth.close_rate
                    };
                    *value += (target - *value) * k;
                }
            }
            if let Some(w) = weights.weights_mut().get_mut(*index) {
                *w = *value * full;
            }
        }
    }
}

/// Reads back the strongest mouth, blink and emotion weights actually set on any face
/// (telemetry).
pub(crate) fn measure_mouth_morphs(
    mut mouth: ResMut<Mouth>,
    mut eyes: ResMut<Eyes>,
    mut mood: ResMut<Mood>,
    faces: Query<(&MouthMorphs, &MorphWeights)>,
) {
    let strongest = |which: &dyn Fn(Channel) -> bool| {
        faces
            .iter()
            .flat_map(|(face, weights)| {
                face.channels
                    .iter()
                    .filter(|c| which(c.1))
                    .filter_map(|(i, _, _)| weights.weights().get(*i).copied())
            })
            .fold(0.0, f32::max)
    };
    mouth.shapes = strongest(&|c| c.speaks());
    eyes.closed = strongest(&|c| c == Channel::Blink);
    mood.shown = strongest(&|c| matches!(c, Channel::Expression(_) | Channel::Part(_)));
}

/// Blinks every 2–6 s (a fixed pseudo-random sequence, so renders are reproducible):
/// 70 ms closing, 40 ms closed, 140 ms opening.
pub(crate) fn blink(now: Res<MediaTime>, mut blink: ResMut<Blink>) {
    fn spread(n: u64) -> f64 {
        // splitmix64
        let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }
    let t = now.0;
    if blink.next_at == 0.0 {
        blink.next_at = 2.0 + 4.0 * spread(0);
    }
    if t > blink.next_at + 0.25 {
        blink.count += 1;
        blink.next_at = t + 2.0 + 4.0 * spread(blink.count);
    }
    let x = t - blink.next_at;
    blink.amount = if x < 0.0 {
        0.0
    } else if x < 0.07 {
        (x / 0.07) as f32
    } else if x < 0.11 {
        1.0
    } else if x < 0.25 {
        (1.0 - (x - 0.11) / 0.14) as f32
    } else {
        0.0
    };
}

#[cfg(test)]
mod tests {
    use super::super::face::Part;
    use super::*;
    use crate::speech::Emotion;

    #[test]
    fn names_from_every_convention_map() {
        assert_eq!(channel_for("aa"), Some(Channel::Vowel(Vowel::A)));
        assert_eq!(channel_for("Fcl_MTH_A"), Some(Channel::Vowel(Vowel::A)));
        assert_eq!(channel_for("vrc.v_ou"), Some(Channel::Oculus(Viseme::Ou)));
        assert_eq!(channel_for("viseme_PP"), Some(Channel::Oculus(Viseme::PP)));
        assert_eq!(channel_for("jawOpen"), Some(Channel::JawOpen));
        assert_eq!(channel_for("mouthFunnel"), Some(Channel::Funnel));
        assert_eq!(channel_for("O"), Some(Channel::Vowel(Vowel::O)));
        assert_eq!(
            channel_for("Angry"),
            Some(Channel::Expression(Emotion::Angry))
        );
        assert_eq!(
            channel_for("Fcl_ALL_Joy"),
            Some(Channel::Expression(Emotion::Happy))
        );
        assert_eq!(
            channel_for("mouthSmileLeft"),
            Some(Channel::Part(Part::Smile))
        );
        assert_eq!(
            channel_for("browInnerUp"),
            Some(Channel::Part(Part::BrowUp))
        );
        assert_eq!(channel_for("Frown"), None);
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
