//! Retargeting: humanoid motion from one skeleton onto an avatar's.
//!
//! Rotations are transferred as deltas from each side's rest pose, in world-aligned frames:
//! a source bone that turned by `D` in the world from its rest turns the avatar's bone by the
//! same `D`. Before that, each avatar bone is swung so it points where the source's bone
//! points at rest (the rest-pose correction), so a T-pose clip lands right on an A-pose
//! avatar. Axes (Z-up files, other facings) are matched once from both rest poses, and the
//! hips' travel is scaled by the ratio of leg lengths (which takes care of cm versus m).
//!
//! Nothing here knows about Bevy's ECS: sources (a BVH clip, a live VMC feed) are reduced to
//! [`SourceRest`] and [`SourcePose`], the avatar to a [`Rig`], and the result is a local
//! transform per avatar node, which the presenter bakes into an `AnimationClip` or writes
//! directly.

use super::bvh::BvhClip;
use super::humanoid::{HumanBone, map_skeleton};
use bevy::math::{Affine3A, Mat3, Quat, Vec3};
use serde_json::Value;
use std::collections::BTreeMap;

const BONES: usize = HumanBone::ALL.len();

/// Per-bone storage indexed by [`HumanBone`].
pub type PerBone<T> = [Option<T>; BONES];

/// Chains from the root outwards; a bone's rest direction points at the next mapped bone.
const CHAINS: [&[HumanBone]; 5] = {
    use HumanBone::*;
    [
        &[Hips, Spine, Chest, UpperChest, Neck, Head],
        &[LeftShoulder, LeftUpperArm, LeftLowerArm, LeftHand],
        &[RightShoulder, RightUpperArm, RightLowerArm, RightHand],
        &[LeftUpperLeg, LeftLowerLeg, LeftFoot, LeftToes],
        &[RightUpperLeg, RightLowerLeg, RightFoot, RightToes],
    ]
};

/// The humanoid parent of each bone, for bones whose avatar node is not under it.
fn human_parent(bone: HumanBone) -> Option<HumanBone> {
    CHAINS.iter().find_map(|chain| {
        let i = chain.iter().position(|b| *b == bone)?;
        if i > 0 {
            Some(chain[i - 1])
        } else if bone == HumanBone::Hips {
            None
        } else if matches!(bone, HumanBone::LeftShoulder | HumanBone::RightShoulder) {
            Some(HumanBone::UpperChest)
        } else {
            Some(HumanBone::Hips)
        }
    })
}

/// A node's transform as glTF stores it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Local {
    pub translation: Vec3,
    pub rotation: Quat,
    pub scale: Vec3,
}

impl Local {
    fn affine(&self) -> Affine3A {
        Affine3A::from_scale_rotation_translation(self.scale, self.rotation, self.translation)
    }
}

/// One node of the avatar's scene.
#[derive(Debug, Clone)]
pub struct RigNode {
    pub name: String,
    pub parent: Option<usize>,
    pub rest: Local,
    /// Names from the scene's root node down to this one: what Bevy's glTF loader builds
    /// animation target ids from.
    pub path: Vec<String>,
}

/// An avatar's node tree in rest pose, with its humanoid bones.
#[derive(Debug, Clone)]
pub struct Rig {
    /// Parents before children.
    pub nodes: Vec<RigNode>,
    pub humanoid: BTreeMap<HumanBone, usize>,
    rest_world: Vec<Affine3A>,
}

/// The nodes of scene `scene` of a glTF document, parents before children (depth first
/// from its roots), each with its rest pose and path of names, and the glTF index of each.
/// A node that does not exist or is reached twice (a cycle) is refused.
fn scene_nodes(doc: &Value, scene: usize) -> Result<(Vec<RigNode>, Vec<usize>), String> {
    let gltf_nodes = doc["nodes"].as_array().ok_or("the file has no nodes")?;
    let roots: Vec<usize> = doc["scenes"][scene]["nodes"]
        .as_array()
        .ok_or_else(|| format!("the file has no scene {scene}"))?
        .iter()
        .filter_map(|n| n.as_u64().map(|n| n as usize))
        .collect();
    let mut nodes: Vec<RigNode> = Vec::new();
    let mut gltf_index: Vec<usize> = Vec::new();
    let mut stack: Vec<(usize, Option<usize>)> = roots.iter().rev().map(|r| (*r, None)).collect();
    while let Some((n, parent)) = stack.pop() {
        let node = gltf_nodes
            .get(n)
            .ok_or_else(|| format!("node {n} does not exist"))?;
        if gltf_index.contains(&n) || nodes.len() > gltf_nodes.len() {
            return Err(format!(
                "node {n} is reached twice (the hierarchy has a cycle)"
            ));
        }
        let name = crate::mocap::skeleton::node_name(doc, n);
        let mut path = parent.map_or_else(Vec::new, |p: usize| nodes[p].path.clone());
        path.push(name.clone());
        let index = nodes.len();
        nodes.push(RigNode {
            name,
            parent,
            rest: node_local(node),
            path,
        });
        gltf_index.push(n);
        for child in node["children"].as_array().into_iter().flatten().rev() {
            if let Some(c) = child.as_u64() {
                stack.push((c as usize, Some(index)));
            }
        }
    }
    Ok((nodes, gltf_index))
}

/// Which of `nodes` is which humanoid bone: guessed by name and structure over the first
/// skin's joints, parents first (mesh nodes named `LegL` are not joints); a VRM file's own
/// map beats any guess, and `overrides` (bone → node name) beat both.
fn humanoid_map(
    doc: &Value,
    nodes: &[RigNode],
    gltf_index: &[usize],
    overrides: &BTreeMap<HumanBone, String>,
) -> BTreeMap<HumanBone, usize> {
    let joints: Vec<usize> = match doc["skins"][0]["joints"].as_array() {
        Some(list) => {
            let set: Vec<usize> = list
                .iter()
                .filter_map(|j| j.as_u64())
                .map(|j| j as usize)
                .collect();
            (0..nodes.len())
                .filter(|i| set.contains(&gltf_index[*i]))
                .collect()
        }
        None => (0..nodes.len()).collect(),
    };
    let names: Vec<&str> = joints.iter().map(|j| nodes[*j].name.as_str()).collect();
    let parents: Vec<Option<usize>> = joints
        .iter()
        .map(|j| {
            let mut at = nodes[*j].parent;
            while let Some(p) = at {
                if let Some(k) = joints.iter().position(|o| *o == p) {
                    return Some(k);
                }
                at = nodes[p].parent;
            }
            None
        })
        .collect();
    let mut humanoid: BTreeMap<HumanBone, usize> = map_skeleton(&names, &parents, overrides)
        .into_iter()
        .map(|(b, k)| (b, joints[k]))
        .collect();
    for (bone, gltf_node) in vrm_humanoid(doc) {
        if let Some(i) = gltf_index.iter().position(|g| *g == gltf_node) {
            humanoid.insert(bone, i);
        }
    }
    for (bone, name) in overrides {
        if let Some(i) = nodes.iter().position(|n| &n.name == name) {
            humanoid.insert(*bone, i);
        }
    }
    humanoid
}

impl Rig {
    /// Reads scene `scene` of a glTF document. Humanoid bones are found among the first
    /// skin's joints (mesh nodes named `LegL` must not be taken for bones) by name, with
    /// `overrides` (bone → node name) winning, or from a VRM extension when it has a map.
    pub fn from_document(
        doc: &Value,
        scene: usize,
        overrides: &BTreeMap<HumanBone, String>,
    ) -> Result<Self, String> {
        let (nodes, gltf_index) = scene_nodes(doc, scene)?;
        let humanoid = humanoid_map(doc, &nodes, &gltf_index, overrides);
        let rig = Self::new(nodes, humanoid);
        let missing: Vec<&str> = [
            HumanBone::Hips,
            HumanBone::LeftUpperLeg,
            HumanBone::RightUpperLeg,
        ]
        .into_iter()
        .filter(|b| !rig.humanoid.contains_key(b))
        .map(HumanBone::vrm_name)
        .collect();
        if !missing.is_empty() {
            return Err(format!(
                "no humanoid bone found for {} (map them with `bones` in the presenter)",
                missing.join(", ")
            ));
        }
        Ok(rig)
    }

    /// A rig of `nodes` (parents before children) and its humanoid map; the rest pose's
    /// world transforms are reckoned once here.
    pub fn new(nodes: Vec<RigNode>, humanoid: BTreeMap<HumanBone, usize>) -> Self {
        let mut rest_world: Vec<Affine3A> = Vec::with_capacity(nodes.len());
        for node in &nodes {
            let parent = node.parent.map_or(Affine3A::IDENTITY, |p| rest_world[p]);
            rest_world.push(parent * node.rest.affine());
        }
        Self {
            nodes,
            humanoid,
            rest_world,
        }
    }

    /// World rest position of what a humanoid bone points at when no humanoid bone follows
    /// it (see [`SourceRest::tips`]).
    pub fn tip(&self, bone: HumanBone) -> Option<Vec3> {
        let node = *self.humanoid.get(&bone)?;
        let at = Vec3::from(self.rest_world[node].translation);
        let children = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.parent == Some(node))
            .map(|(i, n)| {
                (
                    n.name.as_str(),
                    Vec3::from(self.rest_world[i].translation) - at,
                )
            });
        pick_tip(children).map(|offset| at + offset)
    }

    /// World (scene-space) rest position of a humanoid bone.
    pub fn rest_position(&self, bone: HumanBone) -> Option<Vec3> {
        self.humanoid
            .get(&bone)
            .map(|n| self.rest_world[*n].translation.into())
    }

    /// World transforms of every node for the given locals (forward kinematics).
    pub fn world(&self, locals: &[Local]) -> Vec<Affine3A> {
        let mut world: Vec<Affine3A> = Vec::with_capacity(self.nodes.len());
        for (node, local) in self.nodes.iter().zip(locals) {
            let parent = node.parent.map_or(Affine3A::IDENTITY, |p| world[p]);
            world.push(parent * local.affine());
        }
        world
    }

    /// World (scene-space) rest position of node `node`.
    pub fn rest_place(&self, node: usize) -> Vec3 {
        self.rest_world
            .get(node)
            .map_or(Vec3::ZERO, |w| w.translation.into())
    }

    /// World (scene-space) rest rotation of node `node`.
    pub fn rest_rotation(&self, node: usize) -> Quat {
        self.rest_world
            .get(node)
            .map_or(Quat::IDENTITY, |w| w.to_scale_rotation_translation().1)
    }

    /// The way the avatar faces at rest, in scene space: its left (from the legs, else
    /// the arms) crossed with up. glTF avatars face +Z, VRM 0.x ones −Z; both are found.
    pub fn forward(&self) -> Vec3 {
        let pair =
            |l: HumanBone, r: HumanBone| Some(self.rest_position(l)? - self.rest_position(r)?);
        let left = pair(HumanBone::LeftUpperLeg, HumanBone::RightUpperLeg)
            .or_else(|| pair(HumanBone::LeftUpperArm, HumanBone::RightUpperArm))
            .unwrap_or(Vec3::X);
        basis(left, Vec3::Y) * Vec3::Z
    }

    pub fn rest_locals(&self) -> Vec<Local> {
        self.nodes.iter().map(|n| n.rest).collect()
    }
}

fn node_local(node: &Value) -> Local {
    let floats = |v: &Value| -> Option<Vec<f32>> {
        v.as_array()
            .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(0.0) as f32).collect())
    };
    if let Some(m) = floats(&node["matrix"]).filter(|m| m.len() == 16) {
        let m = bevy::math::Mat4::from_cols_slice(&m);
        let (scale, rotation, translation) = m.to_scale_rotation_translation();
        return Local {
            translation,
            rotation,
            scale,
        };
    }
    let v3 = |key: &str, default: Vec3| {
        floats(&node[key])
            .filter(|v| v.len() == 3)
            .map_or(default, |v| Vec3::new(v[0], v[1], v[2]))
    };
    let rotation = floats(&node["rotation"])
        .filter(|v| v.len() == 4)
        .map_or(Quat::IDENTITY, |v| {
            Quat::from_xyzw(v[0], v[1], v[2], v[3]).normalize()
        });
    Local {
        translation: v3("translation", Vec3::ZERO),
        rotation,
        scale: v3("scale", Vec3::ONE),
    }
}

/// The humanoid bone map of a VRM 1.0 (`VRMC_vrm`) or 0.x (`VRM`) file: bone → glTF node.
pub fn vrm_humanoid(doc: &Value) -> Vec<(HumanBone, usize)> {
    vrm_bone_nodes(doc)
        .filter_map(|(name, node)| Some((HumanBone::from_vrm_name(name)?, node)))
        .collect()
}

/// The glTF node a VRM file's humanoid map gives the bone VRM calls `name` (`jaw`,
/// `leftEye`: bones a face uses that retargeting does not).
pub fn vrm_bone_node(doc: &Value, name: &str) -> Option<usize> {
    vrm_bone_nodes(doc).find_map(|(bone, node)| (bone == name).then_some(node))
}

/// Every entry of a VRM 1.0 or 0.x humanoid map, as (VRM bone name, glTF node).
fn vrm_bone_nodes(doc: &Value) -> impl Iterator<Item = (&str, usize)> {
    let ext = &doc["extensions"];
    let node = |bone: &Value| bone["node"].as_u64().map(|n| n as usize);
    let one = ext["VRMC_vrm"]["humanoid"]["humanBones"].as_object();
    // A file with a 1.0 map is read as 1.0, whatever 0.x map it also carries.
    let zero = ext["VRM"]["humanoid"]["humanBones"]
        .as_array()
        .filter(|_| one.is_none());
    let one = one
        .into_iter()
        .flatten()
        .filter_map(move |(name, bone)| Some((name.as_str(), node(bone)?)));
    let zero = zero
        .into_iter()
        .flatten()
        .filter_map(move |bone| Some((bone["bone"].as_str()?, node(bone)?)));
    one.chain(zero)
}

/// A source skeleton at rest: world positions and rotations of the humanoid bones it has,
/// and its up axis.
#[derive(Debug, Clone)]
pub struct SourceRest {
    pub positions: PerBone<Vec3>,
    /// Where the last bone of each chain (head, hands, toes) points to at rest: a child
    /// joint or end site. Lets those bones be corrected too (a rig whose head is tilted
    /// in its bind pose must not present tilted).
    pub tips: PerBone<Vec3>,
    pub rotations: PerBone<Quat>,
    pub up: Vec3,
}

/// A source pose: world rotations of its humanoid bones and the hips' position.
#[derive(Debug, Clone)]
pub struct SourcePose {
    pub rotations: PerBone<Quat>,
    pub hips: Vec3,
}

impl SourceRest {
    /// The canonical humanoid VMC senders pose: a VRM-normalised T-pose, facing +Z with its
    /// left at +X once Unity's axes are mirrored, every rest rotation the identity.
    pub fn t_pose() -> Self {
        use HumanBone::*;
        let mut positions: PerBone<Vec3> = [None; BONES];
        let table = [
            (Hips, [0.0, 1.0, 0.0]),
            (Spine, [0.0, 1.1, 0.0]),
            (Chest, [0.0, 1.25, 0.0]),
            (UpperChest, [0.0, 1.35, 0.0]),
            (Neck, [0.0, 1.5, 0.0]),
            (Head, [0.0, 1.6, 0.0]),
            (LeftShoulder, [0.05, 1.45, 0.0]),
            (LeftUpperArm, [0.15, 1.45, 0.0]),
            (LeftLowerArm, [0.42, 1.45, 0.0]),
            (LeftHand, [0.68, 1.45, 0.0]),
            (LeftUpperLeg, [0.09, 0.95, 0.0]),
            (LeftLowerLeg, [0.09, 0.5, 0.0]),
            (LeftFoot, [0.09, 0.08, 0.0]),
            (LeftToes, [0.09, 0.0, 0.12]),
        ];
        for (bone, p) in table {
            positions[bone as usize] = Some(Vec3::from(p));
            if let Some(mirror) = mirror(bone) {
                positions[mirror as usize] = Some(Vec3::new(-p[0], p[1], p[2]));
            }
        }
        let mut tips: PerBone<Vec3> = [None; BONES];
        for (bone, tip) in [
            (Head, [0.0, 1.8, 0.0]),
            (LeftHand, [0.78, 1.45, 0.0]),
            (RightHand, [-0.78, 1.45, 0.0]),
            (LeftToes, [0.09, 0.0, 0.18]),
            (RightToes, [-0.09, 0.0, 0.18]),
        ] {
            tips[bone as usize] = Some(Vec3::from(tip));
        }
        Self {
            positions,
            tips,
            rotations: [Some(Quat::IDENTITY); BONES],
            up: Vec3::Y,
        }
    }
}

/// Of a joint's children, the one its bone points at: a middle finger for a hand, an end
/// joint, else the first.
fn pick_tip<'n>(children: impl Iterator<Item = (&'n str, Vec3)>) -> Option<Vec3> {
    let children: Vec<(String, Vec3)> = children
        .filter(|(_, p)| p.length_squared() > 1e-12)
        .map(|(n, p)| (crate::mocap::humanoid::normalise(n), p))
        .collect();
    children
        .iter()
        .find(|(n, _)| n.contains("middle"))
        .or_else(|| children.iter().find(|(n, _)| n.ends_with("end")))
        .or_else(|| children.first())
        .map(|(_, p)| *p)
}

fn mirror(bone: HumanBone) -> Option<HumanBone> {
    let name = bone.vrm_name();
    name.strip_prefix("left")
        .and_then(|rest| HumanBone::from_vrm_name(&format!("right{rest}")))
}

/// A BVH clip as a humanoid source.
pub struct BvhSource<'a> {
    pub clip: &'a BvhClip,
    pub joints: BTreeMap<HumanBone, usize>,
}

impl<'a> BvhSource<'a> {
    pub fn new(clip: &'a BvhClip) -> Self {
        let names: Vec<&str> = clip.joints.iter().map(|j| j.name.as_str()).collect();
        let parents: Vec<Option<usize>> = clip.joints.iter().map(|j| j.parent).collect();
        Self {
            clip,
            joints: map_skeleton(&names, &parents, &BTreeMap::new()),
        }
    }

    /// The clip's rest pose, stood upright the way the actor stands in the motion: files
    /// exist whose skeleton is drawn Y-up while the capture world is Z-up (the root's
    /// rotation tips the actor over by 90° in every frame), and deltas measured from a rest
    /// pose lying on its back would lay the avatar down.
    pub fn rest(&self) -> SourceRest {
        let rest_up = self.clip.up_axis();
        let up = self.motion_up().unwrap_or(rest_up);
        let stand = Quat::from_rotation_arc(rest_up, up);
        let rest: Vec<Vec3> = self
            .clip
            .rest_positions()
            .iter()
            .map(|p| stand * *p)
            .collect();
        let mut positions: PerBone<Vec3> = [None; BONES];
        let mut rotations: PerBone<Quat> = [None; BONES];
        let mut tips: PerBone<Vec3> = [None; BONES];
        for (bone, joint) in &self.joints {
            positions[*bone as usize] = Some(rest[*joint]);
            let children = self
                .clip
                .joints
                .iter()
                .enumerate()
                .filter(|(_, j)| j.parent == Some(*joint))
                .map(|(i, j)| (j.name.as_str(), rest[i] - rest[*joint]));
            tips[*bone as usize] = pick_tip(children)
                .or(self.clip.joints[*joint].end_site.map(|o| stand * o))
                .map(|offset| rest[*joint] + offset);
            // Every BVH joint's rest rotation is the identity (channels at zero), stood up.
            rotations[*bone as usize] = Some(stand);
        }
        SourceRest {
            positions,
            tips,
            rotations,
            up,
        }
    }

    /// Which world axis is up in the motion: the one the hips-to-head direction points
    /// along on average over the clip, when it is clearly one of the six.
    fn motion_up(&self) -> Option<Vec3> {
        let hips = *self.joints.get(&HumanBone::Hips)?;
        let head = *self.joints.get(&HumanBone::Head)?;
        let step = (self.clip.frame_count / 16).max(1);
        let mut sum = Vec3::ZERO;
        for frame in (0..self.clip.frame_count).step_by(step) {
            let world = self.clip.world_pose(frame);
            sum += (world[head].0 - world[hips].0).normalize_or_zero();
        }
        let mean = sum.normalize_or_zero();
        [Vec3::X, Vec3::Y, Vec3::Z, -Vec3::X, -Vec3::Y, -Vec3::Z]
            .into_iter()
            .find(|axis| mean.dot(*axis) > 0.8)
    }

    pub fn pose(&self, frame: usize) -> SourcePose {
        let world = self.clip.world_pose(frame);
        self.pose_from_world(&world)
    }

    pub fn pose_from_world(&self, world: &[(Vec3, Quat)]) -> SourcePose {
        let mut rotations: PerBone<Quat> = [None; BONES];
        for (bone, joint) in &self.joints {
            rotations[*bone as usize] = Some(world[*joint].1);
        }
        let hips = self
            .joints
            .get(&HumanBone::Hips)
            .map_or(Vec3::ZERO, |j| world[*j].0);
        SourcePose { rotations, hips }
    }

    /// World positions of the mapped joints at a frame (the FK the tests compare against).
    pub fn positions(&self, frame: usize) -> PerBone<Vec3> {
        let world = self.clip.world_pose(frame);
        let mut out: PerBone<Vec3> = [None; BONES];
        for (bone, joint) in &self.joints {
            out[*bone as usize] = Some(world[*joint].0);
        }
        out
    }
}

/// How one source is put onto one rig; built once, then evaluated per frame.
#[derive(Debug, Clone)]
pub struct Retargeter {
    /// Source axes → avatar axes.
    axes: Quat,
    /// A turn of the whole motion about the avatar's vertical (facing the camera).
    turn: Quat,
    /// Per bone: the swing that brings the avatar's rest pose onto the source's.
    correction: PerBone<Quat>,
    /// Per bone: the source's rest world rotation, inverted.
    source_rest_inv: PerBone<Quat>,
    /// Per node: the humanoid bone it plays, if driven.
    driven: Vec<Option<HumanBone>>,
    /// Per node: for bones not under their humanoid parent (an IK foot under the armature
    /// root), that parent's node and where this node sits in its frame at rest.
    detached: Vec<Option<(usize, Affine3A)>>,
    /// Nodes in an order where parents, and the humanoid parents of detached bones, come
    /// first.
    order: Vec<usize>,
    /// Source units → avatar units, from the leg lengths.
    pub scale: f32,
    source_up: Vec3,
    hips_rest: Vec3,
    /// How high the avatar's ankles stand above its floor at rest.
    ankle_height: f32,
    /// The avatar's leg length (hips drop, thigh and shin).
    avatar_leg: f32,
}

/// Per bone, the turn from the avatar's rest direction to the source's (in the avatar's
/// axes), so that the source's rest pose plays as the avatar's.
///
/// Where a bone points at rest, on each side: the next bone of its chain; for the last
/// bone of a chain (a hand, the head), its tip. Without either it turns with the bone
/// before it. Hips keep their own orientation.
fn rest_corrections(source: &SourceRest, rig: &Rig, axes: Quat) -> PerBone<Quat> {
    let mut correction: PerBone<Quat> = [None; BONES];
    let has =
        |b: HumanBone| source.positions[b as usize].is_some() && rig.humanoid.contains_key(&b);
    for chain in CHAINS {
        let mut previous = Quat::IDENTITY;
        for (i, bone) in chain.iter().enumerate().filter(|(_, b)| has(**b)) {
            let next = chain[i + 1..].iter().find(|b| has(**b));
            let targets = match next {
                _ if *bone == HumanBone::Hips => None,
                Some(next) => Some((
                    source.positions[*next as usize].unwrap(),
                    rig.rest_position(*next).unwrap(),
                )),
                None => source.tips[*bone as usize].zip(rig.tip(*bone)),
            };
            let c = targets
                .and_then(|(target_s, target_a)| {
                    let ds = axes * (target_s - source.positions[*bone as usize].unwrap());
                    let da = target_a - rig.rest_position(*bone).unwrap();
                    (ds.length_squared() > 1e-12 && da.length_squared() > 1e-12)
                        .then(|| Quat::from_rotation_arc(da.normalize(), ds.normalize()))
                })
                .unwrap_or(previous);
            correction[*bone as usize] = Some(c);
            previous = c;
        }
    }
    correction
}

/// Per node of `rig`: the humanoid bone it plays, where the source moves that bone.
fn driven_nodes(source: &SourceRest, rig: &Rig) -> Vec<Option<HumanBone>> {
    let mut driven = vec![None; rig.nodes.len()];
    for (bone, node) in &rig.humanoid {
        if source.rotations[*bone as usize].is_some() {
            driven[*node] = Some(*bone);
        }
    }
    driven
}

/// Per node of `rig`: for a humanoid bone not under its humanoid parent's node (an IK
/// foot under the armature root), that parent's node and where the bone sits in its
/// frame at rest.
fn detached_nodes(rig: &Rig) -> Vec<Option<(usize, Affine3A)>> {
    let mut detached = vec![None; rig.nodes.len()];
    for (bone, node) in &rig.humanoid {
        let parent_bone = std::iter::successors(human_parent(*bone), |b| human_parent(*b))
            .find(|b| rig.humanoid.contains_key(b));
        let Some(parent_node) = parent_bone.map(|b| rig.humanoid[&b]) else {
            continue;
        };
        let under = std::iter::successors(rig.nodes[*node].parent, |p| rig.nodes[*p].parent)
            .any(|p| p == parent_node);
        if !under {
            let offset = rig.rest_world[parent_node].inverse() * rig.rest_world[*node];
            detached[*node] = Some((parent_node, offset));
        }
    }
    detached
}

/// The longer leg's length along its bones, with bone positions from `at` and `up` the
/// vertical: the hips' drop to the thigh, then thigh and shin (a splayed rest pose must
/// not shorten it). `None` without a whole leg.
fn leg_length(at: &dyn Fn(HumanBone) -> Option<Vec3>, up: Vec3) -> Option<f32> {
    use HumanBone::*;
    let legs = [
        (LeftUpperLeg, LeftLowerLeg, LeftFoot),
        (RightUpperLeg, RightLowerLeg, RightFoot),
    ];
    let hips = at(Hips)?;
    legs.into_iter()
        .filter_map(|(hip, knee, ankle)| {
            let (h, k, a) = (at(hip)?, at(knee)?, at(ankle)?);
            Some((hips - h).dot(up).max(0.0) + (k - h).length() + (a - k).length())
        })
        .reduce(f32::max)
        .filter(|l| *l > 1e-6)
}

impl Retargeter {
    /// What it takes to play `source`'s motion on `rig`: the two rests' axes and per-bone
    /// corrections, which nodes are driven and in what order, and the legs' scale.
    pub fn new(source: &SourceRest, rig: &Rig) -> Self {
        let up_a = Vec3::Y;
        let source_basis = basis(legs_left(&source.positions).unwrap_or(Vec3::X), source.up);
        let avatar_left = match (
            rig.rest_position(HumanBone::LeftUpperLeg),
            rig.rest_position(HumanBone::RightUpperLeg),
        ) {
            (Some(l), Some(r)) => l - r,
            _ => Vec3::X,
        };
        let axes = basis(avatar_left, up_a) * source_basis.inverse();
        let detached = detached_nodes(rig);
        let source_up = source.up.normalize();
        let source_leg = leg_length(&|b| source.positions[b as usize], source_up).unwrap_or(1.0);
        let avatar_leg = leg_length(&|b| rig.rest_position(b), up_a).unwrap_or(1.0);
        let hips_rest = rig.rest_position(HumanBone::Hips).unwrap_or(Vec3::ZERO);
        let ankle_height = [HumanBone::LeftFoot, HumanBone::RightFoot]
            .iter()
            .filter_map(|b| rig.rest_position(*b))
            .map(|p| p.y)
            .reduce(f32::min)
            .unwrap_or(hips_rest.y - avatar_leg);
        Self {
            axes,
            turn: Quat::IDENTITY,
            correction: rest_corrections(source, rig, axes),
            source_rest_inv: source.rotations.map(|r| r.map(Quat::inverse)),
            driven: driven_nodes(source, rig),
            order: evaluation_order(rig, &detached),
            detached,
            scale: avatar_leg / source_leg,
            source_up,
            hips_rest,
            ankle_height,
            avatar_leg,
        }
    }

    /// A source-space offset (from the hips, say) as the avatar sees it: turned and scaled.
    pub fn to_avatar(&self, v: Vec3) -> Vec3 {
        self.turn * self.axes * v * self.scale
    }

    /// Where the avatar's hips go when the source's hips have moved by `delta` (source
    /// units) from where they stood: at rest plus that move, turned and scaled, and at
    /// most `max_travel` metres across the floor from the rest position (a performer who
    /// walks off does not take the host off her set).
    pub fn hips_moved(&self, delta: Vec3, max_travel: f32) -> Vec3 {
        let moved = self.to_avatar(delta);
        let across = Vec3::new(moved.x, 0.0, moved.z).clamp_length_max(max_travel);
        self.hips_rest + Vec3::new(across.x, moved.y, across.z)
    }

    /// Turns the whole motion about the vertical by `yaw` radians.
    pub fn turn(&mut self, yaw: f32) {
        self.turn = Quat::from_rotation_y(yaw) * self.turn;
    }

    /// The avatar's forward direction a source pose's hips face, flattened onto the floor.
    pub fn facing(&self, pose: &SourcePose) -> Option<Vec3> {
        let hips = HumanBone::Hips as usize;
        let delta = self.delta(pose, hips)?;
        let f = delta * Vec3::Z;
        let flat = Vec3::new(f.x, 0.0, f.z);
        (flat.length_squared() > 1e-6).then(|| flat.normalize())
    }

    fn delta(&self, pose: &SourcePose, bone: usize) -> Option<Quat> {
        let r = pose.rotations[bone]?;
        let rest_inv = self.source_rest_inv[bone]?;
        Some(self.turn * self.axes * r * rest_inv * self.axes.inverse())
    }

    /// Where the avatar's hips go for a source hips position: up and down as the source's
    /// hips rise above `ground` (the source's lowest ankle height), across the floor by
    /// `travel` (already in source units, relative to the clip's start).
    pub fn hips_position(&self, hips: Vec3, ground: f32, travel: Vec3) -> Vec3 {
        let height = (hips.dot(self.source_up) - ground) * self.scale;
        let across = self.turn * self.axes * (travel - self.source_up * travel.dot(self.source_up));
        let mut at = self.hips_rest + across * self.scale;
        at.y = self.ankle_height + height;
        at
    }

    /// The avatar's local transforms for a source pose, with the hips at `hips` (scene
    /// space; see [`Self::hips_position`]) or at rest when `None`.
    pub fn pose(&self, rig: &Rig, pose: &SourcePose, hips: Option<Vec3>, out: &mut Vec<Local>) {
        out.clear();
        out.extend(rig.nodes.iter().map(|n| n.rest));
        let mut world = vec![Affine3A::IDENTITY; rig.nodes.len()];
        for &i in &self.order {
            let node = &rig.nodes[i];
            let parent = node.parent.map_or(Affine3A::IDENTITY, |p| world[p]);
            let mut local = node.rest;
            let bone = self.driven[i];
            let target = bone.and_then(|b| {
                let delta = self.delta(pose, b as usize)?;
                let correction = self.correction[b as usize].unwrap_or(Quat::IDENTITY);
                let (_, rest_rotation, _) = rig.rest_world[i].to_scale_rotation_translation();
                Some(delta * correction * rest_rotation)
            });
            let position = match (bone, self.detached[i]) {
                (Some(HumanBone::Hips), _) => hips,
                (_, Some((parent_node, offset))) => {
                    Some((world[parent_node] * offset).translation.into())
                }
                _ => None,
            };
            if target.is_some() || position.is_some() {
                let (_, parent_rotation, _) = parent.to_scale_rotation_translation();
                if let Some(rotation) = target {
                    local.rotation = (parent_rotation.inverse() * rotation).normalize();
                }
                if let Some(p) = position {
                    local.translation = parent.inverse().transform_point3(p);
                }
            }
            world[i] = parent * local.affine();
            out[i] = local;
        }
    }
}

/// Parents before children, and a detached bone after the bone it hangs from (Kahn's
/// algorithm; the rig's own order already has parents first).
fn evaluation_order(rig: &Rig, detached: &[Option<(usize, Affine3A)>]) -> Vec<usize> {
    let n = rig.nodes.len();
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting = vec![0usize; n];
    for (i, node) in rig.nodes.iter().enumerate() {
        for before in node.parent.into_iter().chain(detached[i].map(|(p, _)| p)) {
            after[before].push(i);
            waiting[i] += 1;
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|i| waiting[*i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &j in &after[i] {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.push_back(j);
            }
        }
    }
    // A detached bone that is its own ancestor's parent cannot be ordered; keep it at rest.
    if order.len() < n {
        let missing: Vec<usize> = (0..n).filter(|i| !order.contains(i)).collect();
        order.extend(missing);
    }
    order
}

/// The rotation taking the standard frame (left = +X, up = +Y, forward = +Z) to a
/// skeleton's (its left, its up, left × up).
fn basis(left: Vec3, up: Vec3) -> Quat {
    let up = up.normalize();
    let left = (left - up * left.dot(up)).normalize_or(Vec3::X);
    let forward = left.cross(up);
    Quat::from_mat3(&Mat3::from_cols(left, up, forward))
}

fn legs_left(positions: &PerBone<Vec3>) -> Option<Vec3> {
    let pair = |l: HumanBone, r: HumanBone| Some(positions[l as usize]? - positions[r as usize]?);
    pair(HumanBone::LeftUpperLeg, HumanBone::RightUpperLeg)
        .or_else(|| pair(HumanBone::LeftUpperArm, HumanBone::RightUpperArm))
}

/// Options for baking a clip.
#[derive(Debug, Clone, Copy)]
pub struct BakeOptions {
    /// Keep the host on her mark: no travel across the floor (the clip's straight-line
    /// drift is removed, its sway kept), and its first frame faces forward.
    pub in_place: bool,
}

/// A retargeted clip: per frame, the local transform of every rig node.
pub struct BakedClip {
    pub frame_time: f32,
    pub frames: Vec<Vec<Local>>,
    /// Nodes whose transform changes over the clip (the rest need no curves).
    pub animated: Vec<usize>,
}

/// How far the relaxed pose's upper arms hang below level, and how far its elbows bend.
const RELAXED_ARM_DROP: f32 = 78.0;
const RELAXED_ELBOW_BEND: f32 = 15.0;

/// The avatar standing at ease, for a host with no idle clip: arms down by the sides
/// (78° below level, so the hands clear the hips), elbows a little bent forward, every
/// other bone at rest. Made like any clip — a pose of the canonical T-posed humanoid,
/// retargeted — so it works on any rest pose (T, A or other) and any naming. One frame;
/// the procedural breathing and head motion play on top. `None` when the rig has no arms.
pub fn relaxed_pose(rig: &Rig) -> Option<BakedClip> {
    use HumanBone::*;
    let rest = SourceRest::t_pose();
    let retargeter = Retargeter::new(&rest, rig);
    let mut rotations: PerBone<Quat> = [None; BONES];
    // In the canonical frame: left is +X, up +Y, forward +Z. A left arm along +X hangs down
    // by turning about +Z (negative angles go down); its forearm bends forward about -Y.
    for (side, upper, lower, hand) in [
        (1.0, LeftUpperArm, LeftLowerArm, LeftHand),
        (-1.0, RightUpperArm, RightLowerArm, RightHand),
    ] {
        let arm = Quat::from_rotation_z(-side * RELAXED_ARM_DROP.to_radians());
        let forearm = arm * Quat::from_rotation_y(-side * RELAXED_ELBOW_BEND.to_radians());
        rotations[upper as usize] = Some(arm);
        rotations[lower as usize] = Some(forearm);
        rotations[hand as usize] = Some(forearm);
    }
    let pose = SourcePose {
        rotations,
        hips: Vec3::ZERO,
    };
    let mut locals = Vec::new();
    retargeter.pose(rig, &pose, None, &mut locals);
    let animated: Vec<usize> = (0..rig.nodes.len())
        .filter(|n| locals[*n] != rig.nodes[*n].rest)
        .collect();
    (!animated.is_empty()).then(|| BakedClip {
        frame_time: 1.0,
        frames: vec![locals],
        animated,
    })
}

/// Retargets a whole BVH clip onto a rig.
pub fn bake(clip: &BvhClip, rig: &Rig, options: BakeOptions) -> BakedClip {
    let source = BvhSource::new(clip);
    let rest = source.rest();
    let mut retargeter = Retargeter::new(&rest, rig);
    let worlds: Vec<Vec<(Vec3, Quat)>> =
        (0..clip.frame_count).map(|f| clip.world_pose(f)).collect();
    let poses: Vec<SourcePose> = worlds.iter().map(|w| source.pose_from_world(w)).collect();
    if options.in_place
        && let Some(f) = poses.first().and_then(|p| retargeter.facing(p))
    {
        retargeter.turn(-f.x.atan2(f.z));
    }
    let up = rest.up.normalize();
    // The floor is where the lowest ankle goes over the clip.
    let ankles: Vec<usize> = [HumanBone::LeftFoot, HumanBone::RightFoot]
        .iter()
        .filter_map(|b| source.joints.get(b).copied())
        .collect();
    let ground = worlds
        .iter()
        .flat_map(|w| ankles.iter().map(|a| w[*a].0.dot(up)))
        .reduce(f32::min)
        .unwrap_or(0.0);
    let start = poses.first().map_or(Vec3::ZERO, |p| p.hips);
    let end = poses.last().map_or(Vec3::ZERO, |p| p.hips);
    let last = clip.frame_count.saturating_sub(1).max(1) as f32;
    let hips: Vec<Vec3> = poses
        .iter()
        .enumerate()
        .map(|(i, pose)| {
            let mut travel = pose.hips - start;
            if options.in_place {
                travel -= (end - start) * (i as f32 / last);
            }
            retargeter.hips_position(pose.hips, ground, travel)
        })
        .collect();
    let mut frames: Vec<Vec<Local>> = poses
        .iter()
        .zip(&hips)
        .map(|(pose, hips)| {
            let mut locals = Vec::new();
            retargeter.pose(rig, pose, Some(*hips), &mut locals);
            locals
        })
        .collect();
    // Leg proportions never agree exactly, so the feet drift above or below the floor as the
    // hips bob. Ground contact: in every frame where the lower foot is near the floor, the
    // whole body is moved so that foot stands where the avatar's feet stand at rest. Well off
    // the floor (a jump) the correction fades out, continuously, so nothing pops.
    let feet: Vec<usize> = [HumanBone::LeftFoot, HumanBone::RightFoot]
        .iter()
        .filter_map(|b| rig.humanoid.get(b).copied())
        .collect();
    if !feet.is_empty() {
        let leg = retargeter.avatar_leg;
        for ((locals, pose), hips) in frames.iter_mut().zip(&poses).zip(&hips) {
            let world = rig.world(locals);
            let lowest = feet
                .iter()
                .map(|f| world[*f].translation.y)
                .fold(f32::MAX, f32::min);
            let above = lowest - retargeter.ankle_height;
            let fade = (1.0 - (above - 0.1 * leg) / (0.1 * leg)).clamp(0.0, 1.0);
            let lift = -above * fade;
            if lift.abs() > 1e-5 {
                retargeter.pose(rig, pose, Some(*hips + Vec3::Y * lift), locals);
            }
        }
    }
    let animated = (0..rig.nodes.len())
        .filter(|n| frames.iter().any(|f| f[*n] != rig.nodes[*n].rest))
        .collect();
    BakedClip {
        frame_time: clip.frame_time as f32,
        frames,
        animated,
    }
}

#[cfg(test)]
mod tests;
