//! Her parts as boxes in the world: one for each of her meshes, and within a skinned mesh
//! one for each bone, around the vertices it moves.
//!
//! A mesh's box is what Bevy culls with, and for a body mesh it is her whole body: cast
//! along the key light it covers a floor she does not shade (on two cores the floor's
//! tiles lit under those boxes were about 13 ms of a held 720p frame). Bevy keeps, for a
//! skinned mesh, the box of each joint's vertices in the mesh's space, and fits the mesh's
//! box to them as the joints move; cast one by one, they hug her shadow.
//!
//! Bevy fits the boxes after this frame's poses are propagated, and the frame is chosen
//! before: the boxes are last frame's. So each bone's box is swept on along the way it
//! moved over the last frame (a hand waving at 1.5 m/s moves 5 cm a frame at 30 fps), and
//! the padding is left only for what the boxes do not hold (morph targets, the shadow's
//! soft edge).

use super::boxes::world_box;
use bevy::camera::primitives::Aabb;
use bevy::ecs::entity::EntityHashMap;
use bevy::ecs::system::SystemParam;
use bevy::math::Affine3A;
use bevy::mesh::skinning::{JointAabb, JointIndex, SkinnedMesh, SkinnedMeshInverseBindposes};
use bevy::prelude::*;

/// One of her meshes: its box, and the boxes of its bones (its own box when it has none).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Part {
    /// The mesh's box, as Bevy culls with it.
    pub(super) whole: (Vec3, Vec3),
    /// What casts its shadow, within `whole` (or swept a little beyond it).
    pub(super) bones: Vec<(Vec3, Vec3)>,
}

impl Part {
    /// A part without bones of its own.
    pub(super) fn rigid(whole: (Vec3, Vec3)) -> Self {
        Part {
            whole,
            bones: vec![whole],
        }
    }
}

/// Where the boxes of each mesh's bones were centred last frame (a rigid mesh's one box
/// as its only bone), to sweep them along their motion. Only her meshes of the last frame.
pub(super) type LastCentres = EntityHashMap<Vec<Vec3>>;

/// What tells where her meshes are, and their bones.
#[derive(SystemParam)]
pub(super) struct Bounds<'w, 's> {
    pub(super) boxes: Query<'w, 's, (&'static GlobalTransform, &'static Aabb), With<Mesh3d>>,
    skins: Query<'w, 's, (&'static Mesh3d, &'static SkinnedMesh)>,
    meshes: Res<'w, Assets<Mesh>>,
    bindposes: Res<'w, Assets<SkinnedMeshInverseBindposes>>,
    joints: Query<'w, 's, &'static GlobalTransform>,
    last: Local<'s, LastCentres>,
}

impl Bounds<'_, '_> {
    /// The parts among `entities` (those with bounds), their bones swept along their
    /// motion over the last frame; boxes that are not finite are left out.
    pub(super) fn parts(&mut self, entities: impl Iterator<Item = Entity>) -> Vec<Part> {
        let mut centres = LastCentres::default();
        let mut parts = Vec::new();
        for e in entities {
            let Some(mut part) = self.part(e) else {
                continue;
            };
            let now: Vec<Vec3> = part
                .bones
                .iter()
                .map(|(lo, hi)| (*lo + *hi) / 2.0)
                .collect();
            if let Some(last) = self.last.get(&e).filter(|last| last.len() == now.len()) {
                for ((bone, was), is) in part.bones.iter_mut().zip(last).zip(&now) {
                    *bone = swept(*bone, *is - *was);
                }
            }
            centres.insert(e, now);
            parts.push(part);
        }
        *self.last = centres;
        parts
    }

    /// The mesh `e` as a part, where it was last frame; `None` without bounds, or with a
    /// box that is not finite.
    fn part(&self, e: Entity) -> Option<Part> {
        let finite = |(lo, hi): &(Vec3, Vec3)| (*hi - *lo).is_finite();
        let (transform, aabb) = self.boxes.get(e).ok()?;
        let whole = world_box(transform, aabb);
        if !finite(&whole) {
            return None;
        }
        let bones = self
            .bones(e)
            .filter(|b| !b.is_empty() && b.iter().all(finite));
        Some(bones.map_or(Part::rigid(whole), |bones| Part { whole, bones }))
    }

    /// The world boxes of a skinned mesh's bones, as Bevy fits the mesh's own box (see
    /// `bevy::mesh::skinning::entity_aabb_from_skinned_mesh_bounds`); `None` for a mesh
    /// without them, or with a joint missing.
    fn bones(&self, mesh: Entity) -> Option<Vec<(Vec3, Vec3)>> {
        let (handle, skin) = self.skins.get(mesh).ok()?;
        let bounds = self.meshes.get(&handle.0)?.skinned_mesh_bounds()?;
        let bindposes = self.bindposes.get(&skin.inverse_bindposes)?;
        let bone = |(joint, aabb): (&JointIndex, &JointAabb)| {
            let index = joint.0 as usize;
            let joint_from_model = Affine3A::from_mat4(*bindposes.get(index)?);
            let world_from_joint = self.joints.get(*skin.joints.get(index)?).ok()?;
            let to_world = GlobalTransform::from(world_from_joint.affine() * joint_from_model);
            let local =
                Aabb::from_min_max(aabb.center - aabb.half_size, aabb.center + aabb.half_size);
            Some(world_box(&to_world, &local))
        };
        bounds.iter().map(bone).collect()
    }
}

/// The box `(lo, hi)` and where it is once moved by `motion`, as one box.
pub(super) fn swept((lo, hi): (Vec3, Vec3), motion: Vec3) -> (Vec3, Vec3) {
    (lo.min(lo + motion), hi.max(hi + motion))
}
