//! Boxes in the world and the shadows they cast: the geometry the held-shot filters share
//! ([`super::her`], [`super::parts`], [`super::catcher`]).

use crate::scene::corners;
use bevy::camera::primitives::Aabb;
use bevy::prelude::*;

/// The world-space box of a mesh's bounds.
pub(in crate::camera) fn world_box(transform: &GlobalTransform, aabb: &Aabb) -> (Vec3, Vec3) {
    let (c, h) = (Vec3::from(aabb.center), Vec3::from(aabb.half_extents));
    let points = corners(c - h, c + h).map(|p| transform.transform_point(p));
    let lo = points.iter().copied().fold(Vec3::MAX, Vec3::min);
    let hi = points.iter().copied().fold(Vec3::MIN, Vec3::max);
    (lo, hi)
}

/// Whether the box `part`, moved any distance along `toward`, meets the box `piece`: the
/// slab test of a moving box, exact for boxes (Bevy's shadow of the part falls within it).
pub(super) fn in_its_shadow(part: (Vec3, Vec3), piece: (Vec3, Vec3), toward: Vec3) -> bool {
    let (mut first, mut last) = (0.0f32, f32::INFINITY);
    for axis in 0..3 {
        // How far the part moves along this axis to start and stop meeting the piece.
        let (start, stop) = (piece.0[axis] - part.1[axis], piece.1[axis] - part.0[axis]);
        let speed = toward[axis];
        if speed.abs() < 1e-6 {
            if start > 0.0 || stop < 0.0 {
                return false;
            }
            continue;
        }
        let (a, b) = (start / speed, stop / speed);
        (first, last) = (first.max(a.min(b)), last.min(a.max(b)));
    }
    first <= last
}
