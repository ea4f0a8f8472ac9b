//! What the host camera must draw besides the host on held frames, and the backdrop without
//! her.
//!
//! The backdrop is the set alone: on the set frame that starts a held shot the on-air
//! camera leaves the host out, and the host camera draws her over it, as on every held
//! frame after. Each frame then needs, of the set, only what changes with her: what her
//! shadow may fall on (the floor under her, a plinth beside her) and what may stand in
//! front of her or of those. Everything else in her rectangle is already in the backdrop,
//! and the host camera's image is transparent there. On two cores the rest of the set in
//! her rectangle (the wall, the props behind her) was two thirds of a held 720p frame.
//!
//! What her shadow falls on may reach far behind her (a floor runs on under the back
//! wall), and the wall is not drawn: so the host camera draws nothing farther than the
//! farthest point of her and her shadow ([`Clipped`]), and every piece nearer than that.

use super::{Frame, HostCamera};
use crate::scene::{ActiveCamera, corners};
use bevy::camera::primitives::Aabb;
use bevy::camera::visibility::VisibleEntities;
use bevy::camera::{CameraProjection, SubCameraView};
use bevy::ecs::entity::EntityHashSet;
use bevy::math::Vec3A;
use bevy::prelude::*;
use std::any::TypeId;

/// The host as the filter needs her this frame; `None` on frames without her.
#[derive(Resource, Default)]
pub(super) struct Her(pub(super) Option<Needs>);

/// What decides which set pieces the host camera draws with her.
#[derive(Debug, Clone, Default)]
pub(super) struct Needs {
    /// Her meshes.
    pub(super) meshes: EntityHashSet,
    /// The boxes her shadow can fall in: each of her parts (padded) and where it is cast
    /// on the floor.
    pub(super) shades: Vec<(Vec3, Vec3)>,
    /// Where the camera is and where it looks.
    pub(super) eye: Vec3,
    pub(super) forward: Vec3,
    /// How far along `forward` the host camera draws: past her and her shadow.
    pub(super) far: f32,
}

impl Needs {
    /// Whether a set piece with world box `piece` must be drawn with her. What the host
    /// camera draws replaces the backdrop in her rectangle, so a piece is drawn if her
    /// shadow may fall on it, or if any of it is nearer than [`Self::far`]: then it may hide
    /// her, her shadow, or a piece drawn for them (a plinth hides the floor behind it; left
    /// out, the floor would be drawn over it). Only a piece wholly below all she needs with
    /// the camera above it (a floor under the floor), or wholly above with the camera below
    /// (the ceiling), hides nothing that is drawn.
    pub(super) fn piece(&self, piece: (Vec3, Vec3)) -> bool {
        self.shaded(piece) || self.in_front(piece)
    }

    /// Whether her shadow may fall on the box `piece`: it meets a box her shadow falls in.
    pub(super) fn shaded(&self, (lo, hi): (Vec3, Vec3)) -> bool {
        let meets = |(shade_lo, shade_hi): &(Vec3, Vec3)| {
            lo.cmple(*shade_hi).all() && hi.cmpge(*shade_lo).all()
        };
        self.shades.iter().any(meets)
    }

    fn in_front(&self, (lo, hi): (Vec3, Vec3)) -> bool {
        let (near, _) = depths((lo, hi), self.eye, self.forward);
        let low = self.shades.iter().map(|s| s.0.y).fold(f32::MAX, f32::min);
        let high = self.shades.iter().map(|s| s.1.y).fold(f32::MIN, f32::max);
        let below = hi.y <= low && self.eye.y >= hi.y;
        let above = lo.y >= high && self.eye.y <= lo.y;
        near < self.far && !below && !above
    }
}

/// How far the host camera must draw to take in her and the boxes her shadow falls in,
/// seen from `eye` along `forward`, with a margin for the anti-aliased edge.
pub(super) fn reach(shades: &[(Vec3, Vec3)], eye: Vec3, forward: Vec3) -> f32 {
    let farthest = shades.iter().map(|s| depths(*s, eye, forward).1);
    farthest.fold(0.0, f32::max) * 1.02 + 0.05
}

/// The nearest and farthest depths of the box `lo`..`hi` seen from `eye` along `forward`.
fn depths((lo, hi): (Vec3, Vec3), eye: Vec3, forward: Vec3) -> (f32, f32) {
    let depth = corners(lo, hi).map(|p| (p - eye).dot(forward));
    let near = depth.iter().copied().fold(f32::MAX, f32::min);
    let far = depth.iter().copied().fold(f32::MIN, f32::max);
    (near, far)
}

/// The host camera's lens: the on-air camera's, drawing nothing farther than `far`
/// (infinity: all of it). Bevy's perspective has no far plane (reverse depth to infinity);
/// this one maps `far` to depth 0, so what lies beyond is clipped away.
#[derive(Debug, Clone)]
pub(super) struct Clipped {
    pub(super) lens: PerspectiveProjection,
    pub(super) far: f32,
}

impl Clipped {
    /// Whether `other` draws the same.
    pub(super) fn same_as(&self, other: &Clipped) -> bool {
        let (a, b) = (&self.lens, &other.lens);
        (a.fov, a.near, a.aspect_ratio, a.far, self.far)
            == (b.fov, b.near, b.aspect_ratio, b.far, other.far)
    }

    /// `clip_from_view` (Bevy's reverse infinite perspective) with a far plane at `far`:
    /// depth `near / -z` becomes `near (far + z) / (-z (far - near))`, 1 at `near` and 0 at
    /// `far`.
    fn finite(&self, mut clip_from_view: Mat4) -> Mat4 {
        let (near, far) = (self.lens.near, self.far);
        if far.is_finite() && far > near {
            clip_from_view.z_axis.z = near / (far - near);
            clip_from_view.w_axis.z = near * far / (far - near);
        }
        clip_from_view
    }
}

impl CameraProjection for Clipped {
    fn get_clip_from_view(&self) -> Mat4 {
        self.finite(self.lens.get_clip_from_view())
    }

    fn get_clip_from_view_for_sub(&self, sub_view: &SubCameraView) -> Mat4 {
        self.finite(self.lens.get_clip_from_view_for_sub(sub_view))
    }

    /// Bevy passes the sub-view's size; the lens keeps the whole picture's aspect (the
    /// on-air camera's), which the shadow cascades are fitted to.
    fn update(&mut self, _width: f32, _height: f32) {}

    fn far(&self) -> f32 {
        self.far.min(self.lens.far)
    }

    /// The on-air camera's, so the key light's cascades are the backdrop's.
    fn get_frustum_corners(&self, z_near: f32, z_far: f32) -> [Vec3A; 8] {
        self.lens.get_frustum_corners(z_near, z_far)
    }
}

/// The world-space box of a mesh's bounds.
pub(super) fn world_box(transform: &GlobalTransform, aabb: &Aabb) -> (Vec3, Vec3) {
    let (c, h) = (Vec3::from(aabb.center), Vec3::from(aabb.half_extents));
    let points = corners(c - h, c + h).map(|p| transform.transform_point(p));
    let lo = points.iter().copied().fold(Vec3::MAX, Vec3::min);
    let hi = points.iter().copied().fold(Vec3::MIN, Vec3::max);
    (lo, hi)
}

/// Leaves the host out of the on-air camera's view when it draws a backdrop for held
/// frames, and leaves out of the host camera's view the set pieces she does not need.
/// Runs after Bevy's visibility checks, on their lists (which stay sorted).
#[allow(clippy::type_complexity)]
pub(super) fn draw_only_what_she_needs(
    frame: Res<Frame>,
    her: Res<Her>,
    mut on_air: Query<&mut VisibleEntities, (With<ActiveCamera>, Without<HostCamera>)>,
    mut host: Query<&mut VisibleEntities, (With<HostCamera>, Without<ActiveCamera>)>,
    bounds: Query<(&GlobalTransform, &Aabb)>,
) {
    let Some(needs) = &her.0 else {
        return;
    };
    let meshes = TypeId::of::<Mesh3d>();
    let backdrop = match *frame {
        Frame::Set { .. } => true,
        Frame::Held { .. } => false,
        Frame::Full | Frame::Glide { .. } => return,
    };
    if backdrop && let Ok(mut visible) = on_air.single_mut() {
        visible
            .get_mut(meshes)
            .retain(|e| !needs.meshes.contains(e));
    }
    if let Ok(mut visible) = host.single_mut() {
        // A mesh without bounds is drawn: nothing says where it is.
        visible.get_mut(meshes).retain(|e| {
            needs.meshes.contains(e)
                || (bounds.get(*e)).map_or(true, |(t, aabb)| needs.piece(world_box(t, aabb)))
        });
    }
}
