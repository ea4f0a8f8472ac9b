//! Catchers drawn only over the part of their tile her shadow may fall on.
//!
//! A catcher stands in for a whole tile (half a metre or more a side), and on lavapipe a
//! catcher costs its rasterised area: every pixel is looked up in the shadow map and
//! written at four samples, though most of them darken nothing. In the demo's close-up
//! the catchers covered about 56,000 of the picture's pixels around her shadow of 7,000,
//! about 3 ms of the opaque pass (docs/performance.md, "The lit tile's cost was the
//! catchers'").
//!
//! Where a tile is a level rectangle its triangles fill, its catcher is moved and scaled
//! within the tile's plane onto the part of the rectangle where her shadow may fall: the
//! box around where each of her bones' boxes, moved along each light down to that plane,
//! meets the rectangle. The
//! catcher's pixels there are the floor's own (the map sends the rectangle onto itself),
//! so the picture is the same; a catcher her shadow cannot reach is not drawn. Its bounds
//! stay the tile's, so what Bevy culls and what [`super::her`] decides is unchanged.

use super::catcher::{Catcher, Fills, in_plane};
use super::her::{Her, Needs};
use super::{Frame, HostCamera};
use bevy::camera::primitives::Aabb;
use bevy::camera::visibility::VisibleEntities;
use bevy::ecs::entity::EntityHashSet;
use bevy::math::Vec3A;
use bevy::prelude::*;
use std::any::TypeId;

/// Room around her shadow's box, in metres: the shadow lookup's filter and biases reach a
/// texel or two past a caster's edge.
const MARGIN: f32 = 0.05;

/// The floor-plan box (x and z, as `Vec2`s) of where the box `part`, moved along
/// `toward`, meets the level plane at height `y`: its corners above the plane cast down
/// to it, and the part's own plan for what stands in it. `None` for a light that does not
/// shine down ([`super::shadow_on_floor`], which finding her asks of every light already).
fn shadow_on_level(part: (Vec3, Vec3), toward: Dir3, y: f32) -> Option<(Vec2, Vec2)> {
    let above: Vec<Vec3> = (crate::scene::corners(part.0, part.1).into_iter())
        .filter(|corner| corner.y > y)
        .collect();
    let cast = super::shadow_on_floor(&above, toward, y)?;
    let plan = (part.0.xz(), part.1.xz());
    Some((cast.iter()).fold(plan, |(lo, hi), at| (lo.min(at.xz()), hi.max(at.xz()))))
}

/// Where each of her bones may cast its shadow on the level plane at height `y`, padded
/// by [`MARGIN`]; `None` when that cannot be bounded.
fn her_shadow_on_level(needs: &Needs, y: f32) -> Option<Vec<(Vec2, Vec2)>> {
    let bones = needs.shades.iter().flat_map(|s| s.bones.iter());
    let plans = bones.flat_map(|bone| {
        let cast = |toward: &Dir3| shadow_on_level(*bone, *toward, y);
        needs.lights.iter().map(cast)
    });
    plans
        .map(|plan| plan.map(|(lo, hi)| (lo - MARGIN, hi + MARGIN)))
        .collect()
}

/// How a catcher is drawn this frame.
#[derive(Debug, PartialEq)]
enum Fit {
    /// Over its whole tile.
    Whole,
    /// Over part of it: the catcher's transform within its tile.
    Part(Transform),
    /// Not at all: her shadow cannot reach it.
    Nowhere,
}

/// How the catcher of a tile with rectangle `fills`, placed in the world by `tile`, is
/// drawn to cover where her shadow may fall (`plans`: floor-plan boxes, given the plane's
/// height).
fn fit(
    fills: &Fills,
    tile: &GlobalTransform,
    plans: impl Fn(f32) -> Option<Vec<(Vec2, Vec2)>>,
) -> Fit {
    let normal = (tile.affine().matrix3 * Vec3A::AXES[fills.flat]).normalize_or_zero();
    if normal.y.abs() < 0.999 {
        return Fit::Whole;
    }
    let y = tile.transform_point((fills.lo + fills.hi) / 2.0).y;
    let Some(plans) = plans(y) else {
        return Fit::Whole;
    };
    let to_tile = tile.affine().inverse();
    let overlaps = plans
        .into_iter()
        .filter_map(|plan| overlap(fills, &to_tile, y, plan));
    let Some((from, to)) = overlaps.reduce(|(a, b), (c, d)| (a.min(c), b.max(d))) else {
        return Fit::Nowhere;
    };
    if from == fills.lo && to == fills.hi {
        return Fit::Whole;
    }
    // The map that sends the rectangle onto the overlap, along its plane.
    let (u, v) = in_plane(fills.flat);
    let mut scale = Vec3::ONE;
    let mut translation = Vec3::ZERO;
    for axis in [u, v] {
        scale[axis] = (to[axis] - from[axis]) / (fills.hi[axis] - fills.lo[axis]);
        translation[axis] = from[axis] - scale[axis] * fills.lo[axis];
    }
    Fit::Part(Transform::from_translation(translation).with_scale(scale))
}

/// The part of the rectangle `fills` (in the tile's space, `to_tile` from the world's)
/// within the floor-plan box `plan` on the plane at height `y`; `None` when they do not
/// meet.
fn overlap(
    fills: &Fills,
    to_tile: &bevy::math::Affine3A,
    y: f32,
    (lo, hi): (Vec2, Vec2),
) -> Option<(Vec3, Vec3)> {
    let corners = [lo, Vec2::new(lo.x, hi.y), Vec2::new(hi.x, lo.y), hi]
        .map(|p| to_tile.transform_point3(Vec3::new(p.x, y, p.y)));
    let (mut from, mut to) = (fills.lo, fills.hi);
    let (u, v) = in_plane(fills.flat);
    for axis in [u, v] {
        let least = corners.iter().map(|c| c[axis]).fold(f32::MAX, f32::min);
        let most = corners.iter().map(|c| c[axis]).fold(f32::MIN, f32::max);
        (from[axis], to[axis]) = (from[axis].max(least), to[axis].min(most));
    }
    (to[u] > from[u] && to[v] > from[v]).then_some((from, to))
}

/// The bounds that keep a catcher moved by `transform` where its tile is: the rectangle
/// mapped back.
fn bounds_within(fills: &Fills, transform: &Transform) -> Aabb {
    let back = |p: Vec3| (p - transform.translation) / transform.scale;
    Aabb::from_min_max(back(fills.lo), back(fills.hi))
}

/// Fits each catcher the host camera draws this frame to where her shadow may fall, and
/// leaves out those it cannot reach. Runs after [`super::her::draw_only_what_she_needs`]
/// has chosen them; sets the global transform too, as transforms have been propagated.
#[allow(clippy::type_complexity)]
pub(super) fn fit_catchers_to_her_shadow(
    frame: Res<Frame>,
    her: Res<Her>,
    mut host: Query<&mut VisibleEntities, With<HostCamera>>,
    mut catchers: Query<(
        &Catcher,
        &Fills,
        &mut Transform,
        &mut GlobalTransform,
        &mut Aabb,
    )>,
    tiles: Query<&GlobalTransform, Without<Catcher>>,
) {
    let (Frame::Held { .. } | Frame::Set { .. }, Some(needs)) = (*frame, &her.0) else {
        return;
    };
    let Ok(mut visible) = host.single_mut() else {
        return;
    };
    let list = visible.get_mut(TypeId::of::<Mesh3d>());
    let mut nowhere = EntityHashSet::default();
    for entity in list.iter() {
        let Ok((catcher, fills, mut transform, mut global, mut aabb)) = catchers.get_mut(*entity)
        else {
            continue;
        };
        let Ok(tile) = tiles.get(catcher.0) else {
            continue;
        };
        let wanted = match fit(fills, tile, |y| her_shadow_on_level(needs, y)) {
            Fit::Whole => Transform::IDENTITY,
            Fit::Part(part) => part,
            Fit::Nowhere => {
                nowhere.insert(*entity);
                continue;
            }
        };
        transform.set_if_neq(wanted);
        global.set_if_neq(tile.mul_transform(wanted));
        aabb.set_if_neq(bounds_within(fills, &wanted));
    }
    if !nowhere.is_empty() {
        list.retain(|e| !nowhere.contains(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::asset::RenderAssetUsages;
    use bevy::mesh::{Indices, PrimitiveTopology};

    fn mesh(positions: Vec<[f32; 3]>, indices: Vec<u32>) -> Mesh {
        Mesh::new(
            PrimitiveTopology::TriangleList,
            RenderAssetUsages::default(),
        )
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
        .with_inserted_indices(Indices::U32(indices))
    }

    /// A level square of side 2 at height 0, in two triangles.
    fn square() -> Mesh {
        let corners = vec![[-1., 0., -1.], [1., 0., -1.], [1., 0., 1.], [-1., 0., 1.]];
        mesh(corners, vec![0, 2, 1, 0, 3, 2])
    }

    #[test]
    fn only_a_filled_flat_rectangle_fills() {
        let fills = Fills::of(&square()).expect("a square fills its rectangle");
        assert_eq!(fills.flat, 1);
        assert_eq!(
            (fills.lo, fills.hi),
            (Vec3::new(-1., 0., -1.), Vec3::new(1., 0., 1.))
        );
        let half = mesh(
            vec![[-1., 0., -1.], [1., 0., -1.], [1., 0., 1.]],
            vec![0, 2, 1],
        );
        assert_eq!(Fills::of(&half), None, "a triangle leaves half its box");
        let doubled = mesh(
            vec![[-1., 0., -1.], [1., 0., -1.], [1., 0., 1.], [-1., 0., 1.]],
            vec![0, 2, 1, 0, 3, 2, 0, 2, 1],
        );
        assert_eq!(Fills::of(&doubled), None, "a triangle drawn twice");
        let tilted = mesh(
            vec![[0., 0., 0.], [1., 1., 0.], [0., 0., 1.]],
            vec![0, 1, 2],
        );
        assert_eq!(Fills::of(&tilted), None, "not flat");
        let bad = mesh(vec![[0., 0., 0.]], vec![0, 1, 2]);
        assert_eq!(Fills::of(&bad), None, "an index out of range");
    }

    #[test]
    fn a_shadow_falls_within_its_plan() {
        let part = (Vec3::new(0.0, 1.0, 0.0), Vec3::new(0.2, 1.5, 0.2));
        let toward = Dir3::new(Vec3::new(1.0, -1.0, 0.0)).unwrap();
        let (lo, hi) = shadow_on_level(part, toward, 0.0).unwrap();
        // The top corners land 1.5 m along x, the bottom ones 1 m: the part's shadow.
        assert!(
            (lo - Vec2::new(0.0, 0.0)).abs().max_element() < 1e-5,
            "{lo}"
        );
        assert!(
            (hi - Vec2::new(1.7, 0.2)).abs().max_element() < 1e-5,
            "{hi}"
        );
        // Every point of the part, moved along the light to the floor, falls within it.
        for i in 0..=4 {
            for j in 0..=4 {
                let point = part.0 + (part.1 - part.0) * Vec3::new(i as f32, j as f32, 2.0) / 4.0;
                let floor = (point + *toward * (point.y / -toward.y)).xz();
                assert!(floor.cmpge(lo - 1e-5).all() && floor.cmple(hi + 1e-5).all());
            }
        }
        assert_eq!(shadow_on_level(part, Dir3::X, 0.0), None, "a level light");
    }

    #[test]
    fn a_catcher_is_fitted_onto_the_part_of_its_tile_the_shadow_may_reach() {
        let fills = Fills::of(&square()).unwrap();
        // The tile's piece is turned a quarter about the vertical and moved.
        let place = Transform::from_xyz(5.0, 0.5, 0.0).with_rotation(Quat::from_rotation_y(1.0));
        let tile = GlobalTransform::from(place);
        let plan = (Vec2::new(4.5, -0.25), Vec2::new(7.0, 0.25));
        let Fit::Part(part) = fit(&fills, &tile, |y| {
            assert!((y - 0.5).abs() < 1e-5);
            Some(vec![plan])
        }) else {
            panic!("part of the tile");
        };
        // The fitted rectangle lies within the tile and covers the plan where they meet.
        let world = tile.mul_transform(part);
        let covered = |p: Vec2| {
            let local = world
                .affine()
                .inverse()
                .transform_point3(Vec3::new(p.x, 0.5, p.y));
            local.x >= -1.0 - 1e-4 && local.x <= 1.0 + 1e-4 && local.z.abs() <= 1.0 + 1e-4
        };
        let in_tile = |p: Vec2| {
            let local = tile
                .affine()
                .inverse()
                .transform_point3(Vec3::new(p.x, 0.5, p.y));
            local.x.abs() <= 1.0 && local.z.abs() <= 1.0
        };
        for i in 0..=20 {
            for j in 0..=20 {
                let p = plan.0 + (plan.1 - plan.0) * Vec2::new(i as f32, j as f32) / 20.0;
                assert!(!in_tile(p) || covered(p), "{p} is on the tile, in the plan");
            }
        }
        let scale = part.scale;
        assert!(scale.x < 1.0 && scale.z < 1.0 && scale.y == 1.0, "{scale}");
        // Its bounds stay the tile's.
        let aabb = bounds_within(&fills, &part);
        let corners = [aabb.min(), aabb.max()].map(|c| part.transform_point(c.into()));
        assert!((corners[0] - fills.lo).abs().max_element() < 1e-5);
        assert!((corners[1] - fills.hi).abs().max_element() < 1e-5);
    }

    #[test]
    fn a_catcher_out_of_reach_or_under_a_level_light_is_not_cut() {
        let fills = Fills::of(&square()).unwrap();
        let tile = GlobalTransform::IDENTITY;
        let far = (Vec2::splat(3.0), Vec2::splat(4.0));
        assert_eq!(fit(&fills, &tile, |_| Some(vec![far])), Fit::Nowhere);
        assert_eq!(fit(&fills, &tile, |_| None), Fit::Whole);
        let all = (Vec2::splat(-2.0), Vec2::splat(2.0));
        assert_eq!(fit(&fills, &tile, |_| Some(vec![all])), Fit::Whole);
        let wall = GlobalTransform::from(Transform::from_rotation(Quat::from_rotation_x(1.2)));
        assert_eq!(
            fit(&fills, &wall, |_| Some(vec![far])),
            Fit::Whole,
            "not level"
        );
    }
}
