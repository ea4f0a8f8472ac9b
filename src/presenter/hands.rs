//! Relaxed hands. Avatars are exported with straight fingers (a T-pose's flat hands), and
//! an idle or mocap clip that moves only the body leaves them so: stiff, splayed hands at
//! her sides. Each finger joint a clip leaves at rest is curled a little toward the palm,
//! more toward the little finger and the fingertips, as a hand at ease hangs.

use crate::mocap::humanoid::HumanBone;
use crate::mocap::retarget::Rig;
use bevy::math::{Quat, Vec3};

/// The curl of a finger's first, second and third joint, in degrees, from the index
/// finger to the little finger (the thumb bends least).
const CURL_DEGREES: [[f32; 3]; 4] = [
    [10.0, 20.0, 12.0],
    [14.0, 25.0, 15.0],
    [16.0, 28.0, 16.0],
    [18.0, 30.0, 18.0],
];
const THUMB_DEGREES: [f32; 3] = [4.0, 8.0, 8.0];

/// A finger joint of a rig: its node, the turn in its own frame that curls it, and
/// whether it is of her left hand.
#[derive(Debug, Clone, Copy)]
pub struct FingerCurl {
    pub node: usize,
    pub curl: Quat,
    pub left: bool,
}

/// Each finger joint of `rig` and its curl: the fingers are the chains of bones below each
/// humanoid hand (whatever they are called), the thumb the chain whose first bone's name
/// says so (else the first chain), the others in the order they leave the hand across it.
/// A joint turns its bone toward the palm, whichever way the rest pose has it face (down in
/// a T-pose, in toward her thighs or forward in others): see [`palm_normal`].
pub fn finger_curls(rig: &Rig) -> Vec<FingerCurl> {
    let mut children = vec![Vec::new(); rig.nodes.len()];
    for (i, node) in rig.nodes.iter().enumerate() {
        if let Some(parent) = node.parent {
            children[parent].push(i);
        }
    }
    let mut curls = Vec::new();
    for (hand, left) in [(HumanBone::LeftHand, true), (HumanBone::RightHand, false)] {
        let Some(&hand) = rig.humanoid.get(&hand) else {
            continue;
        };
        let mut fingers: Vec<usize> = children[hand].clone();
        let thumb = fingers
            .iter()
            .position(|&f| rig.nodes[f].name.to_lowercase().contains("thumb"))
            .unwrap_or(0);
        let thumb = (!fingers.is_empty()).then(|| fingers.remove(thumb));
        // Across the hand from the thumb: index first, little finger last.
        let from = thumb.map_or(Vec3::ZERO, |t| rig.rest_place(t));
        fingers.sort_by(|a, b| {
            (rig.rest_place(*a).distance(from)).total_cmp(&rig.rest_place(*b).distance(from))
        });
        let palm = palm_normal(rig, &children, hand, thumb, &fingers, left);
        let mut curl =
            |first, degrees| curl_chain(rig, &children, first, degrees, palm, left, &mut curls);
        if let Some(thumb) = thumb {
            curl(thumb, THUMB_DEGREES);
        }
        for (i, finger) in fingers.into_iter().enumerate() {
            curl(finger, CURL_DEGREES[i.min(CURL_DEGREES.len() - 1)]);
        }
    }
    curls
}

/// The way the palm of `hand` faces at rest, from the hand's own shape: the fingers point
/// away from the wrist and spread across it from the index to the little finger (or, with
/// one finger or none, the thumb sits on the index's side), and the palm faces across that
/// plane, on the side a left or right hand has it. Exporters rest hands palms down (a
/// T-pose), in (an A-pose), forward or in between; a hand too sparse to say is taken as
/// palms down.
fn palm_normal(
    rig: &Rig,
    children: &[Vec<usize>],
    hand: usize,
    thumb: Option<usize>,
    fingers: &[usize],
    left: bool,
) -> Vec3 {
    let wrist = rig.rest_place(hand);
    // Where a finger leaves the hand: past a bone that starts at the wrist (a metacarpal
    // rooted there, as some rigs have) to the next joint.
    let root = |finger: usize| {
        let place = rig.rest_place(finger);
        match children[finger].first() {
            Some(&next) if place.distance(wrist) < 1e-3 => rig.rest_place(next),
            _ => place,
        }
    };
    let roots: Vec<Vec3> = fingers.iter().map(|&f| root(f)).collect();
    if roots.is_empty() {
        return Vec3::NEG_Y;
    }
    let along = (roots.iter().sum::<Vec3>() / roots.len() as f32 - wrist).normalize_or_zero();
    // Across the hand toward the thumb's side: from the little finger to the index.
    let across = match (roots.first(), roots.last(), thumb) {
        (Some(index), Some(little), _) if roots.len() > 1 => *index - *little,
        (_, _, Some(thumb)) => root(thumb) - wrist,
        _ => return Vec3::NEG_Y,
    };
    let side = across - along * across.dot(along);
    let palm = match left {
        true => along.cross(side),
        false => side.cross(along),
    };
    // Fingers bunched along the hand's line say nothing of its faces; a palm up or facing
    // back is no rest pose's, but fingers taken in the wrong order (a thumb not named so).
    let said = palm.length() > 0.3 * across.length() && across.length() > 1e-4;
    let palm = palm.normalize_or_zero();
    if !said || palm.y > 0.5 || palm.dot(rig.forward()) < -0.5 {
        return Vec3::NEG_Y;
    }
    palm
}

/// Curls the chain of joints from `first` down (each joint's first child next) toward
/// `palm`, three joints at most, of her left hand or not; a joint without a child points on
/// as the one before it.
fn curl_chain(
    rig: &Rig,
    children: &[Vec<usize>],
    first: usize,
    degrees: [f32; 3],
    palm: Vec3,
    left: bool,
    curls: &mut Vec<FingerCurl>,
) {
    let mut joint = first;
    let mut along = Vec3::ZERO;
    for angle in degrees {
        let next = children[joint].first().copied();
        if let Some(next) = next {
            along = (rig.rest_place(next) - rig.rest_place(joint)).normalize_or_zero();
        }
        let toward = (palm - along * along.dot(palm)).normalize_or_zero();
        let axis = along.cross(toward).normalize_or_zero();
        if axis == Vec3::ZERO {
            return;
        }
        let local_axis = rig.rest_rotation(joint).inverse() * axis;
        curls.push(FingerCurl {
            node: joint,
            curl: Quat::from_axis_angle(local_axis, angle.to_radians()),
            left,
        });
        let Some(next) = next else {
            return;
        };
        joint = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    /// A T-posed left arm with a thumb, an index and a little finger (palm down), each
    /// joint's frame turned by `odd` (its children placed so the world is the same), as
    /// exporters leave bone axes however they like; the hand turned by `hand` about the
    /// arm's line, and the arm made her right one (mirrored) where `right`.
    fn rig(odd: Quat, hand: Quat, right: bool) -> Rig {
        let bones: [(&str, Option<usize>, [f32; 3]); 23] = [
            ("Hips", None, [0.0, 1.0, 0.0]),
            ("Spine", Some(0), [0.0, 1.1, 0.0]),
            ("Chest", Some(1), [0.0, 1.25, 0.0]),
            ("Neck", Some(2), [0.0, 1.45, 0.0]),
            ("Head", Some(3), [0.0, 1.55, 0.0]),
            ("LeftUpperArm", Some(2), [0.2, 1.4, 0.0]),
            ("LeftLowerArm", Some(5), [0.45, 1.4, 0.0]),
            ("LeftHand", Some(6), [0.7, 1.4, 0.0]),
            ("LeftThumb1", Some(7), [0.72, 1.39, 0.04]),
            ("LeftThumb2", Some(8), [0.74, 1.38, 0.07]),
            ("LeftIndex1", Some(7), [0.76, 1.4, 0.02]),
            ("LeftIndex2", Some(10), [0.8, 1.4, 0.02]),
            ("LeftIndex3", Some(11), [0.83, 1.4, 0.02]),
            ("LeftIndex3_end", Some(12), [0.855, 1.4, 0.02]),
            ("LeftLittle1", Some(7), [0.75, 1.4, -0.03]),
            ("LeftLittle2", Some(14), [0.78, 1.4, -0.03]),
            ("LeftLittle3", Some(15), [0.8, 1.4, -0.03]),
            ("LeftUpperLeg", Some(0), [0.1, 0.95, 0.0]),
            ("LeftLowerLeg", Some(17), [0.1, 0.5, 0.0]),
            ("LeftFoot", Some(18), [0.1, 0.1, 0.0]),
            ("RightUpperLeg", Some(0), [-0.1, 0.95, 0.0]),
            ("RightLowerLeg", Some(20), [-0.1, 0.5, 0.0]),
            ("RightFoot", Some(21), [-0.1, 0.1, 0.0]),
        ];
        let wrist = Vec3::from(bones[7].2);
        let place = |i: usize| {
            let at = Vec3::from(bones[i].2);
            let at = if (8..17).contains(&i) {
                wrist + hand * (at - wrist)
            } else {
                at
            };
            let arm = (5..17).contains(&i);
            if right && arm {
                at * Vec3::new(-1.0, 1.0, 1.0)
            } else {
                at
            }
        };
        let name = |i: usize| match right && (5..17).contains(&i) {
            true => bones[i].0.replace("Left", "Right"),
            false => bones[i].0.to_string(),
        };
        let turned = |i: usize| {
            if (7..17).contains(&i) {
                odd
            } else {
                Quat::IDENTITY
            }
        };
        let nodes: Vec<_> = (bones.iter().enumerate())
            .map(|(i, (_, parent, _))| {
                let at = place(i);
                let (rotation, translation) = match parent {
                    Some(p) => {
                        let back = turned(*p).inverse();
                        (back * turned(i), back * (at - place(*p)))
                    }
                    None => (turned(i), at),
                };
                let children: Vec<usize> = (0..bones.len())
                    .filter(|c| bones[*c].1 == Some(i))
                    .collect();
                json!({"name": name(i), "translation": translation.to_array(),
                       "rotation": rotation.to_array(), "children": children})
            })
            .collect();
        let doc = json!({
            "scenes": [{"nodes": [0]}],
            "nodes": nodes,
            "skins": [{"joints": (0..bones.len()).collect::<Vec<_>>()}],
        });
        Rig::from_document(&doc, 0, &BTreeMap::new()).unwrap()
    }

    /// Where each node is with `curls` on its rest pose.
    fn curled(rig: &Rig, curls: &[FingerCurl]) -> Vec<Vec3> {
        let mut locals = rig.rest_locals();
        for c in curls {
            locals[c.node].rotation *= c.curl;
        }
        let world = rig.world(&locals);
        world.iter().map(|w| w.translation.into()).collect()
    }

    #[test]
    fn fingers_curl_toward_the_palm_whatever_their_bone_axes() {
        let odd = Quat::from_euler(bevy::math::EulerRot::XYZ, 0.7, -1.9, 2.4);
        // Palms down (a T-pose's), forward, and halfway; either hand; bone axes plain or odd.
        let hands = [0.0_f32, -90.0, -45.0].map(|d| Quat::from_rotation_x(d.to_radians()));
        for (odd, hand, right) in [Quat::IDENTITY, odd]
            .into_iter()
            .flat_map(|o| hands.map(|h| (o, h)))
            .flat_map(|(o, h)| [(o, h, false), (o, h, true)])
        {
            let case = format!("bones {odd:?}, hand {hand:?}, right {right}");
            let rig = rig(odd, hand, right);
            let curls = finger_curls(&rig);
            let side = if right { "Right" } else { "Left" };
            let node = |n: &str| {
                let n = format!("{side}{n}");
                rig.nodes.iter().position(|x| x.name == n).unwrap()
            };
            let joints: Vec<&str> = (curls.iter())
                .map(|c| rig.nodes[c.node].name.as_str())
                .collect();
            assert_eq!(joints.len(), 8, "{case}: {joints:?}");
            assert!(
                curls.iter().all(|c| c.left != right),
                "{case}: one hand only"
            );
            assert!(
                !joints.iter().any(|j| j.ends_with("_end")),
                "{case}: {joints:?}"
            );
            let rest = curled(&rig, &[]);
            let after = curled(&rig, &curls);
            let (palm, across) = (hand * Vec3::NEG_Y, hand * Vec3::Z);
            let moved = |i: usize| after[i] - rest[i];
            let (index, little) = (node("Index3_end"), node("Little3"));
            // Toward the palm, not sideways or away, and the little finger most.
            let toward = moved(index).dot(palm);
            assert!(
                toward > 0.02,
                "{case}: the index tip went {toward} toward the palm"
            );
            let sideways = moved(index).dot(across).abs();
            assert!(
                sideways < 0.005,
                "{case}: the index tip went {sideways} sideways"
            );
            let (index_bend, little_bend) = (10.0 + 20.0 + 12.0, 16.0 + 28.0 + 16.0);
            assert!(
                little_bend > index_bend && moved(little).dot(palm) > 0.0,
                "{case}"
            );
            // Nothing above the hand moves.
            assert!(moved(node("Hand")).length() < 1e-5, "{case}");
        }
    }

    #[test]
    fn a_palm_the_hand_cannot_say_is_taken_as_down() {
        // Fingers in the wrong order (no thumb named: the little finger taken for it) would
        // put the palm up, a rest pose has none so; fingers on one spot show no palm. Such
        // hands are taken as palms down.
        let rig = rig(Quat::IDENTITY, Quat::IDENTITY, false);
        let children = |i: usize| -> Vec<usize> {
            (0..rig.nodes.len())
                .filter(|&c| rig.nodes[c].parent == Some(i))
                .collect()
        };
        let all: Vec<Vec<usize>> = (0..rig.nodes.len()).map(children).collect();
        let named = |n: &str| rig.nodes.iter().position(|x| x.name == n).unwrap();
        let (hand, thumb) = (named("LeftHand"), named("LeftThumb1"));
        let (index, little) = (named("LeftIndex1"), named("LeftLittle1"));
        let right_way = palm_normal(&rig, &all, hand, Some(thumb), &[index, little], true);
        assert!(right_way.distance(Vec3::NEG_Y) < 0.1, "{right_way}");
        let reversed = palm_normal(&rig, &all, hand, Some(thumb), &[little, index], true);
        assert_eq!(reversed, Vec3::NEG_Y);
        let bunched = palm_normal(&rig, &all, hand, Some(thumb), &[index, index], true);
        assert_eq!(bunched, Vec3::NEG_Y);
        assert_eq!(palm_normal(&rig, &all, hand, None, &[], true), Vec3::NEG_Y);
    }
}
