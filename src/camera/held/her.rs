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
//! farthest point of her and her shadow ([`Clipped`]). Every other piece nearer than that
//! may hide something it draws (a plinth, the floor behind it), and is drawn as its
//! holdout ([`super::holdout`]): depth, and a transparent colour.

use super::holdout::{Holdout, Twinned};
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
    /// Across each light that casts shadows.
    pub(super) lights: Vec<Across>,
    /// Where each of her parts may cast its shadow.
    pub(super) shades: Vec<Shade>,
    /// Where the camera is and where it looks.
    pub(super) eye: Vec3,
    pub(super) forward: Vec3,
    /// How far along `forward` the host camera draws: past her and her shadow.
    pub(super) far: f32,
}

/// How many directions across a light a shadow is measured along.
const ACROSS: usize = 4;

/// Four directions across a light (square to it, 45° apart). A box's shadow can fall on
/// another box only where their extents along all four overlap: the light sees them
/// overlap. Two would do; four cut the corners of a box seen aslant.
#[derive(Debug, Clone, Copy)]
pub(super) struct Across {
    /// Where the light shines.
    pub(super) toward: Dir3,
    axes: [Vec3; ACROSS],
}

/// A box's extent along each of [`Across`]'s directions.
type Extent = [(f32, f32); ACROSS];

impl Across {
    /// Across a light shining `toward`.
    pub(super) fn light(toward: Dir3) -> Self {
        let along = Vec3::from(toward);
        let u = along.any_orthonormal_vector();
        let v = along.cross(u);
        let diagonal = std::f32::consts::FRAC_1_SQRT_2;
        let axes = [u, v, (u + v) * diagonal, (u - v) * diagonal];
        Across { toward, axes }
    }

    /// The box `lo`..`hi` as the light sees it.
    pub(super) fn extent(&self, (lo, hi): (Vec3, Vec3)) -> Extent {
        let points = corners(lo, hi);
        self.axes.map(|axis| {
            let along = points.iter().map(|p| p.dot(axis));
            along.fold((f32::MAX, f32::MIN), |(a, b), x| (a.min(x), b.max(x)))
        })
    }
}

/// Where one of her parts may cast its shadow.
#[derive(Debug, Clone)]
pub(super) struct Shade {
    /// The part (padded) and where it is cast on the floor, as one box.
    pub(super) bounds: (Vec3, Vec3),
    /// The part's [`Extent`] across each light, in [`Needs::lights`]' order.
    pub(super) across: Vec<Extent>,
}

impl Needs {
    /// Whether a set piece with world box `piece` must be drawn as itself with her: her
    /// shadow may fall on it, or it may stand between the camera and her or a box her
    /// shadow falls in.
    pub(super) fn piece(&self, piece: (Vec3, Vec3)) -> bool {
        self.shaded(piece) || self.hides(piece)
    }

    /// Whether her shadow may fall on the box `piece`: for one of her parts, it meets the
    /// box the part's shadow falls in, and one light sees the two overlap. (Without
    /// shadow-casting lights, whether it meets the part.)
    pub(super) fn shaded(&self, (lo, hi): (Vec3, Vec3)) -> bool {
        let seen: Vec<Extent> = self.lights.iter().map(|l| l.extent((lo, hi))).collect();
        let overlap =
            |a: &Extent, b: &Extent| a.iter().zip(b).all(|(a, b)| a.0 <= b.1 && b.0 <= a.1);
        let falls_on = |shade: &Shade| {
            let (shade_lo, shade_hi) = shade.bounds;
            let meets = lo.cmple(shade_hi).all() && hi.cmpge(shade_lo).all();
            let lit = seen.is_empty() || seen.iter().zip(&shade.across).any(|(a, b)| overlap(a, b));
            meets && lit
        };
        self.shades.iter().any(falls_on)
    }

    fn hides(&self, piece: (Vec3, Vec3)) -> bool {
        let may_hide = |shade: &Shade| self.may_hide(piece, shade.bounds);
        self.within(piece) && self.shades.iter().any(may_hide)
    }

    /// Whether any of the box `piece` may stand between the camera and any of the box
    /// `seen`.
    pub(super) fn may_hide(&self, piece: (Vec3, Vec3), seen: (Vec3, Vec3)) -> bool {
        !behind_a_wall(piece, seen, self.eye)
    }

    /// Whether the box `piece` may hide anything the host camera draws for her: any of it is
    /// nearer than [`Self::far`], unless it lies wholly below all she needs with the camera
    /// above it (a floor under the floor), or wholly above with the camera below (the
    /// ceiling). Such a piece is drawn at least as a holdout ([`super::holdout`]).
    pub(super) fn within(&self, (lo, hi): (Vec3, Vec3)) -> bool {
        let (near, _) = depths((lo, hi), self.eye, self.forward);
        let heights = self.shades.iter().map(|s| (s.bounds.0.y, s.bounds.1.y));
        let (low, high) = heights.fold((f32::MAX, f32::MIN), |(l, h), (a, b)| (l.min(a), h.max(b)));
        let below = hi.y <= low && self.eye.y >= hi.y;
        let above = lo.y >= high && self.eye.y <= lo.y;
        near < self.far && !below && !above
    }
}

/// Whether an axis-aligned plane has the box `piece` on one side and both `eye` and the
/// box `seen` on the other: then no line from the eye to what it sees crosses the piece.
fn behind_a_wall((lo, hi): (Vec3, Vec3), (seen_lo, seen_hi): (Vec3, Vec3), eye: Vec3) -> bool {
    let before = hi.cmple(seen_lo) & eye.cmpge(hi);
    let beyond = lo.cmpge(seen_hi) & eye.cmple(lo);
    (before | beyond).any()
}

/// How far the host camera must draw to take in her and the boxes her shadow falls in,
/// seen from `eye` along `forward`, with a margin for the anti-aliased edge.
pub(super) fn reach(shades: &[Shade], eye: Vec3, forward: Vec3) -> f32 {
    let farthest = shades.iter().map(|s| depths(s.bounds, eye, forward).1);
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
/// frames, and of the set in the host camera's view keeps each piece as itself where she
/// needs it ([`Needs::piece`]), as its holdout where it may only hide what is drawn for
/// her ([`Needs::within`]), and not at all elsewhere. On a glide the host camera draws the
/// whole view, and no holdouts. Runs after Bevy's visibility checks, on their lists
/// (which stay sorted).
#[allow(clippy::type_complexity)]
pub(super) fn draw_only_what_she_needs(
    frame: Res<Frame>,
    her: Res<Her>,
    mut on_air: Query<&mut VisibleEntities, (With<ActiveCamera>, Without<HostCamera>)>,
    mut host: Query<&mut VisibleEntities, (With<HostCamera>, Without<ActiveCamera>)>,
    bounds: Query<(&GlobalTransform, &Aabb)>,
    holdouts: Query<&Holdout>,
    twinned: Query<(), With<Twinned>>,
) {
    let meshes = TypeId::of::<Mesh3d>();
    let (backdrop, needs) = match (*frame, &her.0) {
        (Frame::Glide { .. }, _) => {
            if let Ok(mut visible) = host.single_mut() {
                visible.get_mut(meshes).retain(|e| !holdouts.contains(*e));
            }
            return;
        }
        (Frame::Set { .. }, Some(needs)) => (true, needs),
        (Frame::Held { .. }, Some(needs)) => (false, needs),
        _ => return,
    };
    if backdrop && let Ok(mut visible) = on_air.single_mut() {
        visible
            .get_mut(meshes)
            .retain(|e| !needs.meshes.contains(e));
    }
    if let Ok(mut visible) = host.single_mut() {
        keep_what_she_needs(visible.get_mut(meshes), needs, &bounds, &holdouts, &twinned);
    }
}

/// Of the host camera's meshes `list`, keeps her, each set piece she needs as itself, and
/// the holdout of each piece that may only hide what is drawn for her.
pub(super) fn keep_what_she_needs(
    list: &mut Vec<Entity>,
    needs: &Needs,
    bounds: &Query<(&GlobalTransform, &Aabb)>,
    holdouts: &Query<&Holdout>,
    twinned: &Query<(), With<Twinned>>,
) {
    let piece_box = |e: &Entity| bounds.get(*e).ok().map(|(t, aabb)| world_box(t, aabb));
    // Pieces without a twin (a blended material: light passes through) are drawn as
    // themselves; so is what they may hide, or they would be blended over nothing here
    // and then over their own copy in the backdrop.
    let untwinned = |e: &&Entity| {
        !needs.meshes.contains(*e) && !holdouts.contains(**e) && !twinned.contains(**e)
    };
    let see_through: Vec<_> = (list.iter().filter(untwinned))
        .filter_map(piece_box)
        .filter(|piece| needs.within(*piece))
        .collect();
    let itself = |piece| {
        let behind_glass = |glass: &(Vec3, Vec3)| needs.may_hide(*glass, piece);
        needs.piece(piece) || see_through.iter().any(behind_glass)
    };
    list.retain(|e| {
        if needs.meshes.contains(e) {
            return true;
        }
        // A mesh without bounds is drawn: nothing says where it is.
        let Some(piece) = piece_box(e) else {
            return true;
        };
        match holdouts.get(*e) {
            // The twin's box is its piece's; none stands in for her.
            Ok(Holdout(of)) => !needs.meshes.contains(of) && !itself(piece) && needs.within(piece),
            Err(_) if twinned.contains(*e) => itself(piece),
            Err(_) => needs.within(piece) || needs.piece(piece),
        }
    });
}
