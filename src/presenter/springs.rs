//! Secondary motion: hair, skirts and ribbons hung on spring bones, as VRM files describe
//! them (`VRMC_springBone` 1.0, and 0.x's `secondaryAnimation`), so they sway after the
//! body instead of moving like a helmet.
//!
//! Each joint's tail is a point mass pulled back to the joint's rest direction
//! (`stiffness`), by gravity, kept on the bone's length and out of the avatar's colliders,
//! with `drag` damping what it carries over from the last step, as the VRM specification
//! describes. The simulation steps at a fixed 60 Hz on the media clock, whatever the
//! program's frame rate, and the chain's anchor is interpolated between frames, so a 25 fps
//! and a 60 fps render sway alike and no frame rate makes it explode.

use bevy::math::Affine3A;
use bevy::prelude::*;
use serde_json::Value;

/// Simulation step, in seconds.
pub const STEP: f32 = 1.0 / 60.0;
/// At most this many steps per frame: a stalled frame does not make the hair fly off.
const MAX_STEPS: u32 = 15;
/// How long a chain is left to hang still when it is built, before her first frame: hair
/// exported in its modelled shape settles under gravity where nobody sees it, rather
/// than swinging into place on air (the first seconds of every clip).
const SETTLE_S: f32 = 2.0;
/// A chain's last joint without a child swings a virtual tail this long (as UniVRM does).
const VIRTUAL_TAIL: f32 = 0.07;

/// One joint of a spring chain, by glTF node, with its physics.
#[derive(Debug, Clone, PartialEq)]
pub struct JointSpec {
    pub node: usize,
    pub hit_radius: f32,
    pub stiffness: f32,
    pub gravity_power: f32,
    pub gravity_dir: Vec3,
    pub drag: f32,
}

/// A chain of joints, parent first, and the colliders (indices into `Springs::colliders`)
/// that keep it out of the body.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainSpec {
    pub joints: Vec<JointSpec>,
    pub colliders: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Sphere {
        offset: Vec3,
        radius: f32,
    },
    Capsule {
        offset: Vec3,
        radius: f32,
        tail: Vec3,
    },
}

/// A collider on glTF node `node`, in that node's space.
#[derive(Debug, Clone, PartialEq)]
pub struct ColliderSpec {
    pub node: usize,
    pub shape: Shape,
}

/// The spring bones of a VRM document (empty for other files).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Springs {
    pub chains: Vec<ChainSpec>,
    pub colliders: Vec<ColliderSpec>,
}

fn vec3(v: &Value) -> Option<Vec3> {
    if let Some(a) = v.as_array() {
        let f = |i: usize| a.get(i).and_then(Value::as_f64).map(|x| x as f32);
        return Some(Vec3::new(f(0)?, f(1)?, f(2)?));
    }
    let f = |k: &str| v[k].as_f64().map(|x| x as f32);
    Some(Vec3::new(f("x")?, f("y")?, f("z")?))
}

fn finite(x: f32, lo: f32, hi: f32) -> f32 {
    if x.is_finite() { x.clamp(lo, hi) } else { lo }
}

/// Reads the spring bones of `doc`, whichever VRM version it is. Values out of range are
/// clamped (a file is untrusted), and references to missing nodes dropped.
pub fn springs_of(doc: &Value) -> Springs {
    let node_count = doc["nodes"].as_array().map_or(0, Vec::len);
    let mut springs = if doc["extensions"]["VRMC_springBone"].is_object() {
        springs_1(&doc["extensions"]["VRMC_springBone"])
    } else {
        springs_0(doc)
    };
    springs.colliders.retain(|c| c.node < node_count);
    let colliders = springs.colliders.len();
    for chain in &mut springs.chains {
        chain.joints.retain(|j| j.node < node_count);
        chain.colliders.retain(|c| *c < colliders);
    }
    springs.chains.retain(|c| !c.joints.is_empty());
    springs
}

fn joint(node: usize, j: &Value, stiffness_key: &str) -> JointSpec {
    let num = |k: &str, default: f64| j[k].as_f64().unwrap_or(default) as f32;
    JointSpec {
        node,
        hit_radius: finite(num("hitRadius", 0.0), 0.0, 1.0),
        stiffness: finite(num(stiffness_key, 1.0), 0.0, 10.0),
        gravity_power: finite(num("gravityPower", 0.0), 0.0, 10.0),
        gravity_dir: vec3(&j["gravityDir"])
            .and_then(|v| v.try_normalize())
            .unwrap_or(Vec3::NEG_Y),
        drag: finite(num("dragForce", 0.5), 0.0, 1.0),
    }
}

fn shape(v: &Value) -> Option<Shape> {
    let radius = |s: &Value| finite(s["radius"].as_f64().unwrap_or(0.0) as f32, 0.0, 10.0);
    if let Some(s) = v.get("sphere") {
        return Some(Shape::Sphere {
            offset: vec3(&s["offset"]).unwrap_or_default(),
            radius: radius(s),
        });
    }
    let s = v.get("capsule")?;
    Some(Shape::Capsule {
        offset: vec3(&s["offset"]).unwrap_or_default(),
        radius: radius(s),
        tail: vec3(&s["tail"]).unwrap_or_default(),
    })
}

/// VRM 1.0: `springs[].joints[]` with their own physics, colliders by group.
fn springs_1(ext: &Value) -> Springs {
    let colliders: Vec<ColliderSpec> = (ext["colliders"].as_array().into_iter().flatten())
        .filter_map(|c| {
            Some(ColliderSpec {
                node: c["node"].as_u64()? as usize,
                shape: shape(&c["shape"])?,
            })
        })
        .collect();
    let groups: Vec<Vec<usize>> = (ext["colliderGroups"].as_array().into_iter().flatten())
        .map(|g| {
            (g["colliders"].as_array().into_iter().flatten())
                .filter_map(|c| c.as_u64().map(|c| c as usize))
                .collect()
        })
        .collect();
    let chains = (ext["springs"].as_array().into_iter().flatten())
        .map(|s| ChainSpec {
            joints: (s["joints"].as_array().into_iter().flatten())
                .filter_map(|j| Some(joint(j["node"].as_u64()? as usize, j, "stiffness")))
                .collect(),
            colliders: (s["colliderGroups"].as_array().into_iter().flatten())
                .filter_map(|g| groups.get(g.as_u64()? as usize))
                .flatten()
                .copied()
                .collect(),
        })
        .collect();
    Springs { chains, colliders }
}

/// VRM 0.x: `boneGroups[]` share physics, and each of their `bones` is the root of
/// chains down all its descendants. 0.x stores collider offsets with Z mirrored (UniVRM's
/// axis conversion), so Z is turned back here.
fn springs_0(doc: &Value) -> Springs {
    let ext = &doc["extensions"]["VRM"]["secondaryAnimation"];
    let mut colliders = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for g in ext["colliderGroups"].as_array().into_iter().flatten() {
        let mut group = Vec::new();
        if let Some(node) = g["node"].as_u64() {
            for c in g["colliders"].as_array().into_iter().flatten() {
                let offset = vec3(&c["offset"]).unwrap_or_default() * Vec3::new(1.0, 1.0, -1.0);
                let radius = finite(c["radius"].as_f64().unwrap_or(0.0) as f32, 0.0, 10.0);
                group.push(colliders.len());
                colliders.push(ColliderSpec {
                    node: node as usize,
                    shape: Shape::Sphere { offset, radius },
                });
            }
        }
        groups.push(group);
    }
    let mut chains = Vec::new();
    for g in ext["boneGroups"].as_array().into_iter().flatten() {
        let group_colliders: Vec<usize> = (g["colliderGroups"].as_array().into_iter().flatten())
            .filter_map(|i| groups.get(i.as_u64()? as usize))
            .flatten()
            .copied()
            .collect();
        for root in g["bones"].as_array().into_iter().flatten() {
            let Some(root) = root.as_u64() else { continue };
            for path in descending_chains(doc, root as usize) {
                chains.push(ChainSpec {
                    joints: path
                        .into_iter()
                        .map(|n| joint(n, g, "stiffiness"))
                        .collect(),
                    colliders: group_colliders.clone(),
                });
            }
        }
    }
    Springs { chains, colliders }
}

/// The chains under `root`: root down its first children, then each other child's chain
/// (whose first joint hangs from one already simulated). Bounded by the node count, so a
/// cyclic file cannot loop.
fn descending_chains(doc: &Value, root: usize) -> Vec<Vec<usize>> {
    let nodes = doc["nodes"].as_array().map_or(&[][..], Vec::as_slice);
    let children = |n: usize| -> Vec<usize> {
        (nodes
            .get(n)
            .and_then(|n| n["children"].as_array())
            .into_iter()
            .flatten())
        .filter_map(|c| c.as_u64().map(|c| c as usize))
        .filter(|c| *c < nodes.len())
        .collect()
    };
    let mut chains = Vec::new();
    let mut starts = vec![root];
    let mut seen = vec![false; nodes.len()];
    while let Some(start) = starts.pop() {
        let mut chain = Vec::new();
        let mut at = Some(start);
        while let Some(n) = at {
            if n >= seen.len() || seen[n] || chains.len() > nodes.len() {
                break;
            }
            seen[n] = true;
            chain.push(n);
            let kids = children(n);
            starts.extend(kids.iter().skip(1).rev());
            at = kids.first().copied();
        }
        if !chain.is_empty() {
            chains.push(chain);
        }
    }
    chains
}

/// A collider placed in the world this frame.
#[derive(Debug, Clone, Copy)]
pub struct WorldCollider {
    pub from: Vec3,
    pub to: Vec3,
    pub radius: f32,
}

impl WorldCollider {
    pub fn place(shape: &Shape, node: &Affine3A) -> Self {
        let scale = node.matrix3.x_axis.length();
        match *shape {
            Shape::Sphere { offset, radius } => {
                let at = node.transform_point3(offset);
                Self {
                    from: at,
                    to: at,
                    radius: radius * scale,
                }
            }
            Shape::Capsule {
                offset,
                radius,
                tail,
            } => Self {
                from: node.transform_point3(offset),
                to: node.transform_point3(tail),
                radius: radius * scale,
            },
        }
    }

    /// `point` moved out of the collider by `margin` more than its radius.
    fn push_out(&self, point: Vec3, margin: f32) -> Vec3 {
        let axis = self.to - self.from;
        let t = if axis.length_squared() > 1e-12 {
            ((point - self.from).dot(axis) / axis.length_squared()).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let nearest = self.from + axis * t;
        let away = point - nearest;
        let reach = self.radius + margin;
        match away.try_normalize() {
            Some(dir) if away.length() < reach => nearest + dir * reach,
            _ => point,
        }
    }
}

/// One simulated joint: its rest, its tail's state, and the local rotation it swings to.
#[derive(Debug, Clone)]
pub struct Joint {
    pub spec: JointSpec,
    /// Rest translation and scale in its parent, rest rotation.
    pub translation: Vec3,
    pub scale: Vec3,
    pub rest: Quat,
    /// The tail's direction in the joint's rest frame, and its length in the world.
    axis: Vec3,
    length: f32,
    tail: Vec3,
    prev_tail: Vec3,
    /// The rotation to write this frame.
    pub rotation: Quat,
}

/// A chain being simulated: its joints parent first, the colliders it avoids, and its
/// anchor (the first joint's parent) as it was at the last frame.
#[derive(Debug, Clone)]
pub struct Chain {
    pub joints: Vec<Joint>,
    pub colliders: Vec<usize>,
    anchor: Affine3A,
}

/// A joint's rest, for building a chain: its local transform, and its head and tail in
/// the world at the start.
pub struct JointRest {
    pub spec: JointSpec,
    pub local: Transform,
    pub head: Vec3,
    pub tail: Vec3,
}

impl Chain {
    /// A chain at rest under `anchor` (its first joint's parent, in the world).
    pub fn new(anchor: Affine3A, joints: Vec<JointRest>, colliders: Vec<usize>) -> Self {
        let mut parent = anchor;
        let joints = joints
            .into_iter()
            .map(|j| {
                let world = parent * j.local.compute_affine();
                let (_, rotation, _) = world.to_scale_rotation_translation();
                let along = j.tail - j.head;
                parent = world;
                Joint {
                    translation: j.local.translation,
                    scale: j.local.scale,
                    rest: j.local.rotation,
                    axis: (rotation.inverse() * along)
                        .try_normalize()
                        .unwrap_or(Vec3::Y),
                    length: along.length().max(1e-4),
                    tail: j.tail,
                    prev_tail: j.tail,
                    rotation: j.local.rotation,
                    spec: j.spec,
                }
            })
            .collect();
        Self {
            joints,
            colliders,
            anchor,
        }
    }

    /// Moves the chain on by `steps` fixed steps while its anchor moves from where it was
    /// at the last frame to `anchor`, with `wind` (a pull like gravity's) on every joint.
    pub fn advance(
        &mut self,
        anchor: Affine3A,
        steps: u32,
        colliders: &[WorldCollider],
        wind: Vec3,
    ) {
        let before = self.anchor;
        for k in 1..=steps {
            let t = k as f32 / steps as f32;
            self.step(&blend(&before, &anchor, t), colliders, wind);
        }
        self.anchor = anchor;
    }

    /// Lets the chain hang under `anchor`, with no wind, for [`SETTLE_S`], and leaves it
    /// still there.
    pub fn settle(&mut self, anchor: Affine3A, colliders: &[WorldCollider]) {
        self.anchor = anchor;
        for _ in 0..(SETTLE_S / STEP).round() as u32 {
            self.step(&anchor, colliders, Vec3::ZERO);
        }
        for joint in &mut self.joints {
            joint.prev_tail = joint.tail;
        }
    }

    /// Moves the chain with its avatar when she is put elsewhere (a scene edit moved her):
    /// its state goes along rigidly, so the next step sees no motion to swing from.
    pub fn carry(&mut self, by: &Affine3A) {
        let (scale, _, _) = by.to_scale_rotation_translation();
        let stretch = (scale.x + scale.y + scale.z) / 3.0;
        self.anchor = *by * self.anchor;
        for joint in &mut self.joints {
            joint.tail = by.transform_point3(joint.tail);
            joint.prev_tail = by.transform_point3(joint.prev_tail);
            joint.length *= stretch;
        }
    }

    /// The world transforms of the joints under `anchor`, with their current rotations.
    pub fn world(&self, anchor: Affine3A) -> Vec<Affine3A> {
        let mut parent = anchor;
        self.joints
            .iter()
            .map(|j| {
                parent *=
                    Affine3A::from_scale_rotation_translation(j.scale, j.rotation, j.translation);
                parent
            })
            .collect()
    }

    /// Where the last joint's tail is (telemetry and tests).
    pub fn tip(&self) -> Vec3 {
        self.joints.last().map_or(Vec3::ZERO, |j| j.tail)
    }

    fn step(&mut self, anchor: &Affine3A, colliders: &[WorldCollider], wind: Vec3) {
        let mut parent = *anchor;
        for joint in &mut self.joints {
            let rest_world = parent
                * Affine3A::from_scale_rotation_translation(
                    joint.scale,
                    joint.rest,
                    joint.translation,
                );
            let (_, rest_rotation, head) = rest_world.to_scale_rotation_translation();
            let s = &joint.spec;
            let rest_dir = rest_rotation * joint.axis;
            let inertia = (joint.tail - joint.prev_tail) * (1.0 - s.drag);
            let mut next = joint.tail
                + inertia
                + rest_dir * (s.stiffness * STEP)
                + (s.gravity_dir * s.gravity_power + wind) * STEP;
            next = head + (next - head).try_normalize().unwrap_or(rest_dir) * joint.length;
            for c in self.colliders.iter().filter_map(|i| colliders.get(*i)) {
                next = c.push_out(next, s.hit_radius);
                next = head + (next - head).try_normalize().unwrap_or(rest_dir) * joint.length;
            }
            if !next.is_finite() {
                next = head + rest_dir * joint.length;
            }
            joint.prev_tail = joint.tail;
            joint.tail = next;
            let to = (rest_rotation.inverse() * (next - head))
                .try_normalize()
                .unwrap_or(joint.axis);
            joint.rotation = joint.rest * Quat::from_rotation_arc(joint.axis, to);
            parent *= Affine3A::from_scale_rotation_translation(
                joint.scale,
                joint.rotation,
                joint.translation,
            );
        }
    }
}

/// The wind's pull at media time `t` (seconds): along its direction in gusts between a
/// fifth and all of its strength, with a little flutter across it; never still, never
/// quite periodic (incommensurate waves), and the same at the same media time.
pub fn breeze(wind: &crate::scene::WindSpec, t: f64) -> Vec3 {
    let toward = Vec3::from_array(wind.toward).normalize_or_zero();
    let across = Vec3::Y.cross(toward).normalize_or_zero();
    let wave = |per_second: f64, phase: f64| (t * per_second + phase).sin() as f32;
    let gust = 0.6 + 0.25 * wave(1.1, 0.0) + 0.15 * wave(2.7, 0.6);
    wind.strength * (toward * gust + across * 0.15 * wave(1.9, 1.3))
}

/// A transform between two others: positions blended, rotations slerped.
fn blend(a: &Affine3A, b: &Affine3A, t: f32) -> Affine3A {
    let (sa, ra, ta) = a.to_scale_rotation_translation();
    let (sb, rb, tb) = b.to_scale_rotation_translation();
    Affine3A::from_scale_rotation_translation(sa.lerp(sb, t), ra.slerp(rb, t), ta.lerp(tb, t))
}

/// Fixed steps on the media clock: how many to take for a frame `dt` seconds after the
/// last, carrying the remainder.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stepper {
    carry: f32,
}

impl Stepper {
    pub fn steps(&mut self, dt: f32) -> u32 {
        let dt = if dt.is_finite() {
            dt.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.carry += dt;
        let steps = (self.carry / STEP).floor() as u32;
        self.carry -= steps as f32 * STEP;
        steps.min(MAX_STEPS)
    }
}

/// The world point a chain's last joint swings when it has no child: the bone carried on
/// past the joint by [`VIRTUAL_TAIL`] (scaled like the avatar).
pub fn virtual_tail(parent_head: Vec3, head: Vec3, scale: f32) -> Vec3 {
    head + (head - parent_head).try_normalize().unwrap_or(Vec3::NEG_Y) * VIRTUAL_TAIL * scale
}

/// The avatar's spring chains in the world. Filled from the file when the avatar spawns
/// (`pending`), built on the first frame its transforms are known.
#[derive(Resource, Default)]
pub struct SpringBones {
    pending: Option<(Springs, Vec<String>, Entity)>,
    chains: Vec<(Entity, Vec<Entity>, Chain)>,
    colliders: Vec<(Entity, Shape)>,
    stepper: Stepper,
    last: Option<f64>,
    /// Chains built at the last frame, to settle under the pose of this one.
    unsettled: bool,
}

impl SpringBones {
    /// The avatar was put elsewhere, `by` this change of its root: the chains go with
    /// her ([`Chain::carry`]). (Colliders are placed from her bones each frame.)
    pub fn carry(&mut self, by: &Affine3A) {
        self.chains
            .iter_mut()
            .for_each(|(_, _, chain)| chain.carry(by));
    }

    /// Springs of the avatar spawned at `avatar`, its nodes named as in `doc`.
    pub fn of(doc: &Value, avatar: Entity) -> Self {
        let springs = springs_of(doc);
        let count = doc["nodes"].as_array().map_or(0, Vec::len);
        let names = (0..count)
            .map(|i| crate::mocap::skeleton::node_name(doc, i))
            .collect();
        Self {
            pending: (!springs.chains.is_empty()).then_some((springs, names, avatar)),
            ..Self::default()
        }
    }
}

type Bones<'w, 's> = Query<'w, 's, (&'static mut Transform, &'static mut GlobalTransform)>;

/// Swings the spring chains after the pose is final (animation, procedural motion and
/// transforms propagated), writing each joint's rotation and the world transforms under
/// it, so the skin drawn this frame already has them. Chains are built on the first frame
/// her scene is in the world, and settle on the next ([`Chain::settle`]), under her first
/// full pose (her gaze and procedural motion on): under the one before, a head turned
/// on the next frame swung them.
#[allow(clippy::too_many_arguments)]
pub fn swing_spring_bones(
    now: Res<crate::stage::MediaTime>,
    settings: Res<crate::scene::ShowroomSettings>,
    mut springs: ResMut<SpringBones>,
    names: Query<&Name>,
    children: Query<&Children>,
    parents: Query<&ChildOf>,
    mut bones: Bones,
    mut performance: ResMut<super::Performance>,
) {
    if let Some((specs, node_names, avatar)) = springs.pending.take() {
        if children.iter_descendants(avatar).next().is_none() {
            // The avatar's scene is not in the world yet.
            springs.pending = Some((specs, node_names, avatar));
            return;
        }
        build_chains(
            &mut springs,
            &specs,
            &node_names,
            avatar,
            &names,
            &children,
            &parents,
            &bones,
        );
        springs.last = Some(now.0);
        springs.unsettled = true;
        return;
    }
    let settle = std::mem::take(&mut springs.unsettled);
    let dt = springs.last.map_or(0.0, |l| (now.0 - l) as f32);
    springs.last = Some(now.0);
    let steps = springs.stepper.steps(dt);
    let world: Vec<WorldCollider> = (springs.colliders.iter())
        .map(|(e, shape)| {
            let node = bones
                .get(*e)
                .map_or(Affine3A::IDENTITY, |(_, g)| g.affine());
            WorldCollider::place(shape, &node)
        })
        .collect();
    let presenter = settings.scene.description.presenter.as_ref();
    let wind = presenter
        .and_then(|p| p.wind)
        .map_or(Vec3::ZERO, |w| breeze(&w, now.0));
    performance.springs.clear();
    for (anchor, joints, chain) in &mut springs.chains {
        let Ok((_, anchor_global)) = bones.get(*anchor) else {
            continue;
        };
        let anchor = anchor_global.affine();
        if settle {
            chain.settle(anchor, &world);
        }
        chain.advance(anchor, steps, &world, wind);
        for ((entity, joint), global) in joints.iter().zip(&chain.joints).zip(chain.world(anchor)) {
            if let Ok((mut t, mut g)) = bones.get_mut(*entity) {
                t.rotation = joint.rotation;
                *g = GlobalTransform::from(global);
            }
        }
        for entity in joints.iter() {
            carry_down(*entity, joints, &children, &mut bones);
        }
        performance.springs.push(chain.tip());
    }
}

/// Joint entities by the file's nodes, chains at rest from the transforms now.
#[allow(clippy::too_many_arguments)]
fn build_chains(
    springs: &mut SpringBones,
    specs: &Springs,
    node_names: &[String],
    avatar: Entity,
    names: &Query<&Name>,
    children: &Query<&Children>,
    parents: &Query<&ChildOf>,
    bones: &Bones,
) {
    let mut by_name = std::collections::HashMap::new();
    for e in children.iter_descendants(avatar) {
        if let Ok(name) = names.get(e) {
            by_name.entry(name.as_str().to_string()).or_insert(e);
        }
    }
    let entity = |node: usize| node_names.get(node).and_then(|n| by_name.get(n)).copied();
    let position = |e: Entity| bones.get(e).ok().map(|(_, g)| g.translation());
    for chain in &specs.chains {
        let Some(entities) = chain
            .joints
            .iter()
            .map(|j| entity(j.node))
            .collect::<Option<Vec<_>>>()
        else {
            warn!("a spring chain names a node the avatar does not have; it hangs still");
            continue;
        };
        let Some(anchor) = parents.get(entities[0]).ok().map(ChildOf::parent) else {
            continue;
        };
        let Some(anchor_global) = bones.get(anchor).ok().map(|(_, g)| g.affine()) else {
            continue;
        };
        let mut rests = Vec::new();
        let mut parent_head = anchor_global.translation.into();
        for (i, (spec, e)) in chain.joints.iter().zip(&entities).enumerate() {
            let (Ok((local, global)), head) = (bones.get(*e), position(*e)) else {
                break;
            };
            let head = head.unwrap_or_default();
            let child = entities.get(i + 1).copied().or_else(|| {
                children
                    .get(*e)
                    .ok()
                    .and_then(|c| c.iter().find(|c| bones.contains(*c)))
            });
            let tail = child
                .and_then(position)
                .filter(|t| t.distance(head) > 1e-4)
                .unwrap_or_else(|| virtual_tail(parent_head, head, global.scale().x));
            rests.push(JointRest {
                spec: spec.clone(),
                local: *local,
                head,
                tail,
            });
            parent_head = head;
        }
        if rests.len() == entities.len() {
            let built = Chain::new(anchor_global, rests, chain.colliders.clone());
            springs.chains.push((anchor, entities, built));
        }
    }
    for c in &specs.colliders {
        if let Some(e) = entity(c.node) {
            springs.colliders.push((e, c.shape));
        }
    }
    info!(
        "presenter: {} spring chains, {} colliders",
        springs.chains.len(),
        springs.colliders.len()
    );
}

/// Recomputes the world transforms under `entity` (but not the chain's own joints, which
/// the chain placed) from their local transforms.
fn carry_down(entity: Entity, chain: &[Entity], children: &Query<&Children>, bones: &mut Bones) {
    let Ok((_, parent)) = bones.get(entity).map(|(t, g)| (*t, *g)) else {
        return;
    };
    let mut stack: Vec<(Entity, GlobalTransform)> = (children.get(entity).into_iter().flatten())
        .filter(|c| !chain.contains(c))
        .map(|c| (*c, parent))
        .collect();
    while let Some((e, parent)) = stack.pop() {
        let Ok((t, mut g)) = bones.get_mut(e) else {
            continue;
        };
        *g = parent.mul_transform(*t);
        let global = *g;
        stack.extend(children.get(e).into_iter().flatten().map(|c| (*c, global)));
    }
}

#[cfg(test)]
mod tests;
