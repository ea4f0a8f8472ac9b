use super::*;
use bevy::math::EulerRot;
use std::path::{Path, PathBuf};

/// A file under the repository's `assets/`.
fn asset(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(rel)
}

fn rig(path: &Path) -> Rig {
    let doc = crate::mocap::skeleton::document(path).unwrap();
    Rig::from_document(&doc, 0, &BTreeMap::new()).unwrap()
}

fn robot() -> Rig {
    rig(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/avatars/RobotExpressive.glb"))
}

fn apose() -> Rig {
    rig(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apose_rig.gltf"))
}

fn height(rig: &Rig) -> f32 {
    let ys: Vec<f32> = HumanBone::ALL
        .iter()
        .filter_map(|b| rig.rest_position(*b))
        .map(|p| p.y)
        .collect();
    ys.iter().copied().fold(f32::MIN, f32::max) - ys.iter().copied().fold(f32::MAX, f32::min)
}

/// An avatar built from a clip's own skeleton, so proportions agree and positions must too,
/// but unlike the clip in everything else a real avatar differs in: upright in Y when the
/// file is Z-up, arms dropped into an A-pose, `mixamorig:` names, joints in centimetres
/// under an armature scaled by 0.01, and every joint with its own odd rest rotation.
fn rig_from_clip(clip: &BvhClip) -> Rig {
    let up = clip.up_axis();
    let upright = Quat::from_rotation_arc(up, Vec3::Y);
    let mut pos: Vec<Vec3> = clip.rest_positions().iter().map(|p| upright * *p).collect();
    let source = BvhSource::new(clip);
    let descendants = |root: usize| -> Vec<usize> {
        (0..clip.joints.len())
            .filter(|j| {
                std::iter::successors(Some(*j), |k| clip.joints[*k].parent).any(|k| k == root)
                    && *j != root
            })
            .collect()
    };
    for arm in [HumanBone::LeftUpperArm, HumanBone::RightUpperArm] {
        let j = source.joints[&arm];
        let hand = source.joints[&if arm == HumanBone::LeftUpperArm {
            HumanBone::LeftHand
        } else {
            HumanBone::RightHand
        }];
        let forward = (pos[hand] - pos[j]).cross(Vec3::Y).normalize();
        let mut turn = Quat::from_axis_angle(forward, 40f32.to_radians());
        if (turn * (pos[hand] - pos[j])).y > 0.0 {
            turn = turn.inverse();
        }
        let pivot = pos[j];
        for d in descendants(j) {
            pos[d] = pivot + turn * (pos[d] - pivot);
        }
    }
    let world_rot: Vec<Quat> = (0..pos.len())
        .map(|i| {
            Quat::from_euler(
                EulerRot::XYZ,
                i as f32 * 0.7,
                i as f32 * 0.3,
                i as f32 * 1.1,
            )
        })
        .collect();
    let mut nodes = vec![RigNode {
        name: "Armature".into(),
        parent: None,
        rest: Local {
            translation: Vec3::ZERO,
            rotation: Quat::IDENTITY,
            scale: Vec3::splat(0.01),
        },
        path: vec!["Armature".into()],
    }];
    for (i, joint) in clip.joints.iter().enumerate() {
        let (parent_pos, parent_rot, parent_node) = match joint.parent {
            Some(p) => (pos[p], world_rot[p], p + 1),
            None => (Vec3::ZERO, Quat::IDENTITY, 0),
        };
        let name = format!("mixamorig:{}", joint.name);
        let mut path = nodes[parent_node].path.clone();
        path.push(name.clone());
        nodes.push(RigNode {
            name,
            parent: Some(parent_node),
            rest: Local {
                translation: parent_rot.inverse() * (pos[i] - parent_pos) * 100.0,
                rotation: parent_rot.inverse() * world_rot[i],
                scale: Vec3::ONE,
            },
            path,
        });
    }
    let humanoid = source.joints.iter().map(|(b, j)| (*b, j + 1)).collect();
    Rig::new(nodes, humanoid)
}

fn turned_to_face(source: &BvhSource, rig: &Rig) -> Retargeter {
    let mut retargeter = Retargeter::new(&source.rest(), rig);
    let f = retargeter.facing(&source.pose(0)).unwrap();
    retargeter.turn(-f.x.atan2(f.z));
    retargeter
}

#[test]
fn hands_and_feet_follow_the_clips_forward_kinematics() {
    // Stated tolerance: every hand and foot, measured from the hips, within 5 % of the
    // avatar's height of where the clip's own FK puts it (turned and scaled), every 3rd
    // frame. Not zero because joints the humanoid map skips (CMU's LHipJoint, Neck1)
    // stay at rest on the avatar.
    let mut report = String::new();
    for clip in ["cmu_12_01_walk.bvh", "bvh_test1.bvh", "bvh_test3.bvh"] {
        let clip = BvhClip::load(&asset(&format!("mocap/{clip}"))).unwrap();
        let source = BvhSource::new(&clip);
        let rig = rig_from_clip(&clip);
        let retargeter = turned_to_face(&source, &rig);
        let h = height(&rig);
        let mut worst = 0.0f32;
        let mut locals = Vec::new();
        for frame in (0..clip.frame_count).step_by(3) {
            let pose = source.pose(frame);
            retargeter.pose(&rig, &pose, None, &mut locals);
            let world = rig.world(&locals);
            let src = source.positions(frame);
            let at = |b: HumanBone| Vec3::from(world[rig.humanoid[&b]].translation);
            let hips = src[HumanBone::Hips as usize].unwrap();
            for end in [
                HumanBone::LeftHand,
                HumanBone::RightHand,
                HumanBone::LeftFoot,
                HumanBone::RightFoot,
                HumanBone::Head,
            ] {
                let a = at(end) - at(HumanBone::Hips);
                let s = retargeter.to_avatar(src[end as usize].unwrap() - hips);
                worst = worst.max((a - s).length() / h);
            }
        }
        report += &format!("{}: worst {worst:.4} of height\n", clip.joints.len());
        assert!(worst < 0.05, "{report}");
    }
    println!("{report}");
}

#[test]
fn limbs_point_where_the_clips_limbs_point_on_avatars_of_other_proportions() {
    // The robot's arms are twice as long for its legs as a person's, so positions cannot
    // agree; directions must. Every thigh, shin, upper arm and forearm within 2°.
    use HumanBone::*;
    let limbs = [
        (LeftUpperArm, LeftLowerArm),
        (LeftLowerArm, LeftHand),
        (RightUpperArm, RightLowerArm),
        (RightLowerArm, RightHand),
        (LeftUpperLeg, LeftLowerLeg),
        (LeftLowerLeg, LeftFoot),
        (RightUpperLeg, RightLowerLeg),
        (RightLowerLeg, RightFoot),
    ];
    for clip in ["cmu_12_01_walk.bvh", "bvh_test1.bvh", "bvh_test3.bvh"] {
        let clip = BvhClip::load(&asset(&format!("mocap/{clip}"))).unwrap();
        let source = BvhSource::new(&clip);
        for rig in [robot(), apose()] {
            let retargeter = turned_to_face(&source, &rig);
            let mut locals = Vec::new();
            for frame in (0..clip.frame_count).step_by(3) {
                retargeter.pose(&rig, &source.pose(frame), None, &mut locals);
                let world = rig.world(&locals);
                let src = source.positions(frame);
                for (from, to) in limbs {
                    let at = |b: HumanBone| Vec3::from(world[rig.humanoid[&b]].translation);
                    let a = at(to) - at(from);
                    let s = retargeter
                        .to_avatar(src[to as usize].unwrap() - src[from as usize].unwrap());
                    let angle = a.angle_between(s).to_degrees();
                    assert!(angle < 2.0, "{from:?}→{to:?} frame {frame}: {angle:.1}°");
                }
            }
        }
    }
}

#[test]
fn a_t_pose_lands_on_an_a_pose_avatar_with_level_arms() {
    let rig = apose();
    let rest = SourceRest::t_pose();
    let retargeter = Retargeter::new(&rest, &rig);
    let pose = SourcePose {
        rotations: [Some(Quat::IDENTITY); BONES],
        hips: Vec3::ZERO,
    };
    let mut locals = Vec::new();
    retargeter.pose(&rig, &pose, None, &mut locals);
    let world = rig.world(&locals);
    let at = |b: HumanBone| Vec3::from(world[rig.humanoid[&b]].translation);
    // At rest the hand hangs 45° down; after correction it is level with the shoulder.
    let rest_drop = rig.rest_position(HumanBone::LeftUpperArm).unwrap().y
        - rig.rest_position(HumanBone::LeftHand).unwrap().y;
    assert!(rest_drop > 0.3, "{rest_drop}");
    let drop = at(HumanBone::LeftUpperArm).y - at(HumanBone::LeftHand).y;
    assert!(drop.abs() < 0.01, "{drop}");
    assert!(
        at(HumanBone::LeftHand).x > 0.6,
        "{}",
        at(HumanBone::LeftHand)
    );
    assert!(at(HumanBone::RightHand).x < -0.6);
    // Legs and spine were already straight: they stay where they were.
    let foot = at(HumanBone::LeftFoot) - rig.rest_position(HumanBone::LeftFoot).unwrap();
    assert!(foot.length() < 1e-3, "{foot}");
}

#[test]
fn robot_hips_are_where_legs_and_spine_branch_and_its_feet_follow_the_legs() {
    let rig = robot();
    assert_eq!(rig.nodes[rig.humanoid[&HumanBone::Hips]].name, "Body");
    assert_eq!(rig.nodes[rig.humanoid[&HumanBone::LeftFoot]].name, "FootL");
    let path = &rig.nodes[rig.humanoid[&HumanBone::Head]].path;
    assert_eq!(path.first().map(String::as_str), Some("Root_Scene"));
    assert_eq!(path.last().map(String::as_str), Some("Head"));

    // Kick the left thigh forward: the detached IK foot must move with the leg.
    let rest = SourceRest::t_pose();
    let retargeter = Retargeter::new(&rest, &rig);
    let mut rotations = [Some(Quat::IDENTITY); BONES];
    rotations[HumanBone::LeftUpperLeg as usize] = Some(Quat::from_rotation_x(-1.2));
    let pose = SourcePose {
        rotations,
        hips: Vec3::ZERO,
    };
    let mut locals = Vec::new();
    retargeter.pose(&rig, &pose, None, &mut locals);
    let world = rig.world(&locals);
    let foot = Vec3::from(world[rig.humanoid[&HumanBone::LeftFoot]].translation);
    let knee = Vec3::from(world[rig.humanoid[&HumanBone::LeftLowerLeg]].translation);
    let rest_foot = rig.rest_position(HumanBone::LeftFoot).unwrap();
    assert!(
        foot.z > rest_foot.z + 0.2 * height(&rig),
        "{foot} vs {rest_foot}"
    );
    assert!(knee.z > rig.rest_position(HumanBone::LeftLowerLeg).unwrap().z);
}

#[test]
fn baked_walk_in_place_stays_on_its_mark_and_keeps_feet_on_the_floor() {
    let clip = BvhClip::load(&asset("mocap/cmu_12_01_walk.bvh")).unwrap();
    let rig = apose();
    let baked = bake(&clip, &rig, BakeOptions { in_place: true });
    assert_eq!(baked.frames.len(), clip.frame_count);
    let hips = rig.humanoid[&HumanBone::Hips];
    let rest_hips = rig.rest_position(HumanBone::Hips).unwrap();
    let mut lowest = f32::MAX;
    for locals in &baked.frames {
        let world = rig.world(locals);
        let h = Vec3::from(world[hips].translation);
        let across = Vec3::new(h.x - rest_hips.x, 0.0, h.z - rest_hips.z).length();
        assert!(across < 0.25, "hips wandered {across} m");
        for foot in [HumanBone::LeftFoot, HumanBone::RightFoot] {
            lowest = lowest.min(world[rig.humanoid[&foot]].translation.y);
        }
    }
    // The rig's ankles stand 8 cm above its floor at rest.
    let ankle = rig.rest_position(HumanBone::LeftFoot).unwrap().y;
    assert!(
        (lowest - ankle).abs() < 0.03,
        "lowest ankle {lowest} vs rest {ankle}"
    );
    assert!(baked.animated.contains(&hips));

    // Without in_place the walk travels.
    let free = bake(&clip, &rig, BakeOptions { in_place: false });
    let end = Vec3::from(rig.world(free.frames.last().unwrap())[hips].translation);
    assert!(Vec3::new(end.x - rest_hips.x, 0.0, end.z - rest_hips.z).length() > 1.0);
}

#[test]
fn rig_without_legs_is_refused_with_a_reason() {
    let doc = serde_json::json!({"scenes": [{"nodes": [0]}], "nodes": [{"name": "Cube"}]});
    let err = Rig::from_document(&doc, 0, &BTreeMap::new()).unwrap_err();
    assert!(err.contains("leftUpperLeg"), "{err}");
}

#[test]
fn vrm_humanoid_maps_are_read_from_both_versions() {
    let v1 = serde_json::json!({"extensions": {"VRMC_vrm": {"humanoid": {"humanBones": {
        "hips": {"node": 3}, "leftUpperArm": {"node": 7}, "jaw": {"node": 9}
    }}}}});
    let mut got = vrm_humanoid(&v1);
    got.sort();
    assert_eq!(
        got,
        vec![(HumanBone::Hips, 3), (HumanBone::LeftUpperArm, 7)]
    );
    let v0 = serde_json::json!({"extensions": {"VRM": {"humanoid": {"humanBones": [
        {"bone": "hips", "node": 1}, {"bone": "rightFoot", "node": 12}, {"bone": "hips"}
    ]}}}});
    let mut got = vrm_humanoid(&v0);
    got.sort();
    assert_eq!(got, vec![(HumanBone::Hips, 1), (HumanBone::RightFoot, 12)]);
    // Bones retargeting does not use are found by their VRM names in either version.
    assert_eq!(vrm_bone_node(&v1, "jaw"), Some(9));
    assert_eq!(vrm_bone_node(&v0, "rightFoot"), Some(12));
    assert_eq!(vrm_bone_node(&v0, "jaw"), None);
}

#[test]
fn a_vrm_map_beats_name_guessing() {
    // Bones named nothing any convention knows, mapped only by the VRM extension.
    let names = [
        "root",
        "b_pelvis",
        "b_l_thigh",
        "b_l_shin",
        "b_l_ankle",
        "b_r_thigh",
        "b_r_shin",
        "b_r_ankle",
    ];
    let parents = [
        None,
        Some(0),
        Some(1),
        Some(2),
        Some(3),
        Some(1),
        Some(5),
        Some(6),
    ];
    let nodes: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let children: Vec<usize> = (0..names.len())
                .filter(|c| parents[*c] == Some(i))
                .collect();
            let x = if n.contains("_l_") {
                0.1
            } else if n.contains("_r_") {
                -0.1
            } else {
                0.0
            };
            serde_json::json!({"name": n, "children": children, "translation": [x, -0.3, 0.0]})
        })
        .collect();
    let bones = serde_json::json!({
        "hips": {"node": 1}, "leftUpperLeg": {"node": 2}, "leftLowerLeg": {"node": 3},
        "leftFoot": {"node": 4}, "rightUpperLeg": {"node": 5}, "rightLowerLeg": {"node": 6},
        "rightFoot": {"node": 7}
    });
    let doc = serde_json::json!({
        "scenes": [{"nodes": [0]}],
        "nodes": nodes,
        "extensions": {"VRMC_vrm": {"humanoid": {"humanBones": bones}}}
    });
    let rig = Rig::from_document(&doc, 0, &BTreeMap::new()).unwrap();
    assert_eq!(
        rig.nodes[rig.humanoid[&HumanBone::LeftFoot]].name,
        "b_l_ankle"
    );
    assert_eq!(rig.nodes[rig.humanoid[&HumanBone::Hips]].name, "b_pelvis");
    // And an override from the show wins over both.
    let overrides = BTreeMap::from([(HumanBone::LeftFoot, "b_l_shin".to_string())]);
    let rig = Rig::from_document(&doc, 0, &overrides).unwrap();
    assert_eq!(
        rig.nodes[rig.humanoid[&HumanBone::LeftFoot]].name,
        "b_l_shin"
    );
}

#[test]
fn with_no_idle_the_host_stands_relaxed_whatever_her_rest_pose() {
    // The robot rests in a T-pose, the test rig in an A-pose: both end with the arms down.
    for (name, rig) in [("robot", robot()), ("A-pose rig", apose())] {
        let relaxed = relaxed_pose(&rig).expect("a rig with arms");
        assert_eq!(relaxed.frames.len(), 1);
        let world = rig.world(&relaxed.frames[0]);
        let at = |b: HumanBone| Vec3::from(world[rig.humanoid[&b]].translation);
        let tall = height(&rig);
        for (shoulder, elbow, hand) in [
            (
                HumanBone::LeftUpperArm,
                HumanBone::LeftLowerArm,
                HumanBone::LeftHand,
            ),
            (
                HumanBone::RightUpperArm,
                HumanBone::RightLowerArm,
                HumanBone::RightHand,
            ),
        ] {
            let (s, e, h) = (at(shoulder), at(elbow), at(hand));
            let arm = (e - s).length() + (h - e).length();
            // The hand hangs well below the shoulder, close to the body's side...
            assert!(s.y - h.y > 0.8 * arm, "{name}: drop {} of {arm}", s.y - h.y);
            assert!((h.x - s.x).abs() < 0.35 * arm, "{name}: out {}", h.x - s.x);
            // ...the elbow bent a little, the forearm forward (+Z: the rigs face +Z).
            let bend = (e - s).angle_between(h - e).to_degrees();
            assert!((5.0..30.0).contains(&bend), "{name}: elbow {bend}°");
            assert!(h.z > e.z, "{name}: forearm back");
        }
        // Nothing else moves: the feet and the head stay where they rest.
        for bone in [HumanBone::LeftFoot, HumanBone::Head] {
            let moved = at(bone) - rig.rest_position(bone).unwrap();
            assert!(
                moved.length() < 1e-3 * tall,
                "{name}: {bone:?} moved {moved}"
            );
        }
    }
}
