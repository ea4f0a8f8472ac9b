//! Live capture on the presenter: the VMC pose, retargeted from VRM's normalised T-pose onto
//! the avatar, blended over whatever the clips are doing. While packets come the host
//! follows the performer; when they stop for `fallback_after` seconds she blends back into
//! her clips (and back again when they resume), so a dropped sender never freezes her.

use super::mouth::Blink;
use super::{HumanoidBones, Mouth, PreparedMotion};
use crate::mocap::humanoid::HumanBone;
use crate::mocap::retarget::{Local as BoneLocal, Retargeter, SourcePose, SourceRest};
use crate::stage::MediaTime;
use crate::vmc::{LivePose, LiveState};
use crate::voice::Viseme;
use bevy::prelude::*;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Seconds to blend between live capture and clips.
const BLEND_SECONDS: f32 = 0.5;
/// How far (metres) the performer's travel may move the host from her mark.
const MAX_TRAVEL: f32 = 1.0;

#[derive(Resource, Clone)]
pub struct LiveCapture {
    pub state: Arc<LiveState>,
    /// Seconds without packets before the host goes back to her clips.
    pub fallback_after: f32,
    /// A person has taken over: she stays with the live pose even while packets pause.
    pub hold: bool,
}

/// How much the live pose drives the host this frame (0 = clips only), and the counters.
#[derive(Resource, Default, Clone, Copy, Debug)]
pub struct LiveStatus {
    pub weight: f32,
    pub packets: u64,
    pub malformed: u64,
}

/// The humanoid hierarchy VMC senders' rotations are local to.
fn parent(bone: HumanBone) -> Option<HumanBone> {
    use HumanBone::*;
    Some(match bone {
        Hips => return None,
        Spine | LeftUpperLeg | RightUpperLeg => Hips,
        Chest => Spine,
        UpperChest => Chest,
        Neck | LeftShoulder | RightShoulder => UpperChest,
        Head => Neck,
        LeftUpperArm => LeftShoulder,
        LeftLowerArm => LeftUpperArm,
        LeftHand => LeftLowerArm,
        RightUpperArm => RightShoulder,
        RightLowerArm => RightUpperArm,
        RightHand => RightLowerArm,
        LeftLowerLeg => LeftUpperLeg,
        LeftFoot => LeftLowerLeg,
        LeftToes => LeftFoot,
        RightLowerLeg => RightUpperLeg,
        RightFoot => RightLowerLeg,
        RightToes => RightFoot,
    })
}

/// Where the sender's hips are: its root's position and turn (`Root/Pos`) carrying the
/// hips' own offset (`Bone/Pos` of `Hips`). `None` when the sender sends neither.
fn source_hips(live: &LivePose) -> Option<Vec3> {
    if live.root_position.is_none() && live.hips_position.is_none() {
        return None;
    }
    let root = live.root_position.unwrap_or(Vec3::ZERO);
    let turn = live.root_rotation.unwrap_or(Quat::IDENTITY);
    Some(root + turn * live.hips_position.unwrap_or(Vec3::ZERO))
}

/// World rotations of the normalised skeleton: the product of local rotations down the
/// hierarchy (bones the sender leaves out stay as in the T-pose).
pub fn source_pose(live: &LivePose) -> SourcePose {
    let mut rotations = [None; HumanBone::ALL.len()];
    // ALL lists parents before children.
    for bone in HumanBone::ALL {
        let local = live.bones.get(&bone).copied().unwrap_or(Quat::IDENTITY);
        let above = match parent(bone) {
            Some(p) => rotations[p as usize].unwrap_or(Quat::IDENTITY),
            None => live.root_rotation.unwrap_or(Quat::IDENTITY),
        };
        rotations[bone as usize] = Some(above * local);
    }
    SourcePose {
        rotations,
        hips: Vec3::ZERO,
    }
}

pub(super) fn apply_live_capture(
    live: Option<Res<LiveCapture>>,
    motion: Res<PreparedMotion>,
    bones: Option<Res<HumanoidBones>>,
    now: Res<MediaTime>,
    mut status: ResMut<LiveStatus>,
    mut last: Local<Option<f64>>,
    mut retargeter: Local<Option<Retargeter>>,
    mut locals: Local<Vec<BoneLocal>>,
    mut stood: Local<Option<Vec3>>,
    mut transforms: Query<&mut Transform>,
) {
    let (Some(live), Some(rig), Some(bones)) = (live, motion.rig.as_ref(), bones) else {
        return;
    };
    let dt = last.map_or(0.0, |l| (now.0 - l).clamp(0.0, 0.5)) as f32;
    *last = Some(now.0);
    let pose = live.state.snapshot();
    status.packets = live.state.packets.load(Ordering::Relaxed);
    status.malformed = live.state.malformed.load(Ordering::Relaxed);
    let fresh = pose.drives(live.fallback_after, live.hold);
    let step = dt / BLEND_SECONDS;
    status.weight = if fresh {
        (status.weight + step).min(1.0)
    } else {
        (status.weight - step).max(0.0)
    };
    // The first packet shows at once rather than a frame later.
    if fresh && dt == 0.0 {
        status.weight = status.weight.max(step);
    }
    let w = status.weight;
    if w <= 0.0 {
        // The next performance starts from wherever the performer stands then.
        *stood = None;
        return;
    }
    let retargeter = retargeter.get_or_insert_with(|| Retargeter::new(&SourceRest::t_pose(), rig));
    // The host starts on her mark; the performer's moves from where they first stood
    // (crouching, stepping, turning the root) move her hips from there.
    let hips = source_hips(&pose).map(|at| {
        let from = *stood.get_or_insert(at);
        retargeter.hips_moved(at - from, MAX_TRAVEL)
    });
    retargeter.pose(rig, &source_pose(&pose), hips, &mut locals);
    for (bone, entity) in &bones.0 {
        let (Some(node), Ok(mut transform)) = (rig.humanoid.get(bone), transforms.get_mut(*entity))
        else {
            continue;
        };
        let target = locals[*node];
        transform.rotation = transform.rotation.slerp(target.rotation, w);
        transform.translation = transform.translation.lerp(target.translation, w);
    }
}

/// VMC blend shapes on the face: the strongest vowel opens the mouth, `Blink` closes the
/// eyes, and the strongest emotion (`Joy`, `Angry`, `Sorrow`, `Fun`, `Surprised`, or VRM 1.0's
/// names) is the host's mood.
pub(super) fn live_face(
    live: Option<Res<LiveCapture>>,
    status: Res<LiveStatus>,
    mut mouth: ResMut<Mouth>,
    mut blink: ResMut<Blink>,
    mut mood: ResMut<super::Mood>,
) {
    let Some(live) = live else {
        return;
    };
    let w = status.weight;
    if w <= 0.0 {
        return;
    }
    let pose = live.state.snapshot();
    let mut strongest: Option<(Viseme, f32)> = None;
    let mut feeling: Option<(crate::speech::Emotion, f32)> = None;
    for (name, value) in &pose.blends {
        if let Some(emotion) = crate::speech::Emotion::from_name(name) {
            if feeling.is_none_or(|(_, v)| *value > v) {
                feeling = Some((emotion, *value));
            }
            continue;
        }
        let viseme = match name.to_ascii_lowercase().as_str() {
            "a" | "aa" => Viseme::Aa,
            "i" | "ih" => Viseme::Ih,
            "u" | "ou" => Viseme::Ou,
            "e" | "ee" => Viseme::E,
            "o" | "oh" => Viseme::Oh,
            "blink" => {
                blink.amount += (value - blink.amount) * w;
                continue;
            }
            _ => continue,
        };
        if strongest.is_none_or(|(_, s)| *value > s) {
            strongest = Some((viseme, *value));
        }
    }
    if let Some((viseme, value)) = strongest {
        mouth.visemes = vec![(viseme, value)];
        mouth.open += (viseme.openness() * value - mouth.open) * w;
    }
    if let Some((emotion, value)) = feeling.filter(|(_, v)| *v > 0.01) {
        mood.emotion = Some(emotion);
        mood.weight += (value - mood.weight) * w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_rotations_compose_down_the_hierarchy() {
        let mut live = LivePose::default();
        live.bones
            .insert(HumanBone::LeftUpperArm, Quat::from_rotation_z(0.5));
        live.bones
            .insert(HumanBone::LeftLowerArm, Quat::from_rotation_z(0.25));
        let pose = source_pose(&live);
        let hand = pose.rotations[HumanBone::LeftHand as usize].unwrap();
        assert!(hand.abs_diff_eq(Quat::from_rotation_z(0.75), 1e-6));
        assert_eq!(
            pose.rotations[HumanBone::Head as usize],
            Some(Quat::IDENTITY)
        );
    }
}
