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
/// The palm faces down in the rest pose (a T-pose's), or as near down as the finger allows
/// (an A-pose's): a joint turns its bone toward that.
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
        let mut curl =
            |first, degrees| curl_chain(rig, &children, first, degrees, left, &mut curls);
        if let Some(thumb) = thumb {
            curl(thumb, THUMB_DEGREES);
        }
        for (i, finger) in fingers.into_iter().enumerate() {
            curl(finger, CURL_DEGREES[i.min(CURL_DEGREES.len() - 1)]);
        }
    }
    curls
}

/// Curls the chain of joints from `first` down (each joint's first child next), three
/// joints at most, of her left hand or not; a joint without a child points on as the one
/// before it.
fn curl_chain(
    rig: &Rig,
    children: &[Vec<usize>],
    first: usize,
    degrees: [f32; 3],
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
        let palm = (Vec3::NEG_Y - along * along.dot(Vec3::NEG_Y)).normalize_or_zero();
        let axis = along.cross(palm).normalize_or_zero();
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
    /// exporters leave bone axes however they like.
    fn rig(odd: Quat) -> Rig {
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
        let turned = |i: usize| {
            if (7..17).contains(&i) {
                odd
            } else {
                Quat::IDENTITY
            }
        };
        let nodes: Vec<_> = (bones.iter().enumerate())
            .map(|(i, (name, parent, at))| {
                let at = Vec3::from(*at);
                let (rotation, translation) = match parent {
                    Some(p) => {
                        let back = turned(*p).inverse();
                        (back * turned(i), back * (at - Vec3::from(bones[*p].2)))
                    }
                    None => (turned(i), at),
                };
                let children: Vec<usize> = (0..bones.len())
                    .filter(|c| bones[*c].1 == Some(i))
                    .collect();
                json!({"name": name, "translation": translation.to_array(),
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
        for odd in [
            Quat::IDENTITY,
            Quat::from_euler(bevy::math::EulerRot::XYZ, 0.7, -1.9, 2.4),
        ] {
            let rig = rig(odd);
            let curls = finger_curls(&rig);
            let name = |i: usize| rig.nodes[i].name.as_str();
            let joints: Vec<&str> = curls.iter().map(|c| name(c.node)).collect();
            assert_eq!(joints.len(), 8, "{joints:?}");
            assert!(curls.iter().all(|c| c.left), "the rig has a left hand only");
            assert!(!joints.contains(&"LeftIndex3_end"), "{joints:?}");
            let rest = curled(&rig, &[]);
            let after = curled(&rig, &curls);
            let index = rig
                .nodes
                .iter()
                .position(|n| n.name == "LeftIndex3_end")
                .unwrap();
            let little = rig
                .nodes
                .iter()
                .position(|n| n.name == "LeftLittle3")
                .unwrap();
            let drop = |i: usize| rest[i].y - after[i].y;
            // Down (the palm's side), not sideways or up, and the little finger most.
            assert!(
                drop(index) > 0.02,
                "{odd:?}: the index tip dropped {}",
                drop(index)
            );
            assert!(
                (after[index].z - rest[index].z).abs() < 0.005,
                "{odd:?}: sideways"
            );
            let (index_bend, little_bend) = (10.0 + 20.0 + 12.0, 16.0 + 28.0 + 16.0);
            assert!(little_bend > index_bend && drop(little) > 0.0);
            // Nothing above the hand moves.
            let hand = rig.nodes.iter().position(|n| n.name == "LeftHand").unwrap();
            assert!(after[hand].distance(rest[hand]) < 1e-5);
        }
    }
}
