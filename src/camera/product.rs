//! The product close-up: a shot on camera `product` frames the segment's product by its
//! `prop`, so a rundown need not place a camera for every article it sells (the live-
//! selling clouds cut to the product as the host pitches it; a catalog of hundreds has no
//! camera per product). A scene camera named `product` is used as any other.
//!
//! The camera looks at the centre of the prop's bounds from the side the show's default
//! camera sees it from, at the distance where the bounds fill most of the picture (their
//! width across at any turn, their height up). When the presenter would stand between it
//! and the prop, or fill its picture, or another piece of the set stands between them, it
//! turns around the prop until none does. The pose is found once per segment: a held shot
//! stays held while a prop's own animation moves its bounds.

use super::{Pose, sight};
use crate::scene::{SceneDescription, SetPiece};
use bevy::camera::primitives::Aabb;
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;

pub use crate::config::plan::PRODUCT_CAMERA;

/// The close-up's vertical field of view, degrees.
const FOV_DEGREES: f32 = 30.0;
/// How much of the picture's width or height the prop's bounds fill, at most.
const FILL: f32 = 0.75;
/// The camera's elevation over the prop's centre, as a fraction of its distance, at most.
const RISE: f32 = 0.35;
/// Turns around the prop tried in order when the presenter spoils the view (degrees).
const TURNS: [f32; 7] = [0.0, 25.0, -25.0, 50.0, -50.0, 75.0, -75.0];

/// A prop's bounds: the centre and half-size of its box in the world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub centre: Vec3,
    pub half: Vec3,
}

impl Bounds {
    /// Half its width seen from any side (the box's half-diagonal across the floor).
    fn across(&self) -> f32 {
        Vec2::new(self.half.x, self.half.z).length().max(0.02)
    }

    /// Half its height.
    fn up(&self) -> f32 {
        self.half.y.max(0.02)
    }
}

/// The set pieces and their meshes' bounds, to find a prop's [`Bounds`].
#[derive(SystemParam)]
pub struct PropBounds<'w, 's> {
    pieces: Query<'w, 's, (Entity, &'static Name), With<SetPiece>>,
    children: Query<'w, 's, &'static Children>,
    boxes: Query<'w, 's, (&'static GlobalTransform, &'static Aabb)>,
}

impl PropBounds<'_, '_> {
    /// Whether the set has a piece named `name`.
    pub fn has(&self, name: &str) -> bool {
        self.pieces.iter().any(|(_, n)| n.as_str() == name)
    }

    /// The boxes of the set's other pieces that could stand between a camera and the
    /// piece named `name`, centred at `centre`: all but those around that centre (a
    /// room's shell, the table it stands in).
    pub fn around(&self, name: &str, centre: Vec3) -> Vec<(Vec3, Vec3)> {
        (self.pieces.iter())
            .filter(|(_, n)| n.as_str() != name)
            .filter_map(|(piece, _)| self.box_of(piece))
            .filter(|(lo, hi)| !(lo.cmple(centre).all() && hi.cmpge(centre).all()))
            .collect()
    }

    /// The bounds of the set piece named `name` and all its meshes; `None` while it has
    /// none yet (its model still loading) or when the scene has no such piece.
    pub fn of(&self, name: &str) -> Option<Bounds> {
        let (piece, _) = self.pieces.iter().find(|(_, n)| n.as_str() == name)?;
        let (lo, hi) = self.box_of(piece)?;
        Some(Bounds {
            centre: (lo + hi) / 2.0,
            half: (hi - lo) / 2.0,
        })
    }

    /// The world box of `piece` and all its meshes.
    fn box_of(&self, piece: Entity) -> Option<(Vec3, Vec3)> {
        let meshes = std::iter::once(piece).chain(self.children.iter_descendants(piece));
        meshes
            .filter_map(|e| self.boxes.get(e).ok())
            .map(|(t, aabb)| super::held::boxes::world_box(t, aabb))
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    }
}

/// What a close-up must keep clear of: the presenter where `scene` puts her, and the boxes
/// of the set's other pieces ([`PropBounds::around`]).
pub struct InTheWay<'a> {
    pub scene: &'a SceneDescription,
    pub pieces: &'a [(Vec3, Vec3)],
}

impl InTheWay<'_> {
    fn spoils(&self, pose: &Pose, prop: Vec3) -> bool {
        sight::presenter_spoils(self.scene, pose, prop)
            || (self.pieces.iter()).any(|&(lo, hi)| crosses(pose.position, prop, lo, hi))
    }
}

/// Whether the segment from `a` to `b` meets the box from `lo` to `hi` (the slab test).
fn crosses(a: Vec3, b: Vec3, lo: Vec3, hi: Vec3) -> bool {
    let along = b - a;
    let (mut first, mut last) = (0.0f32, 1.0f32);
    for axis in 0..3 {
        if along[axis].abs() < 1e-6 {
            if a[axis] < lo[axis] || a[axis] > hi[axis] {
                return false;
            }
            continue;
        }
        let (t0, t1) = (
            (lo[axis] - a[axis]) / along[axis],
            (hi[axis] - a[axis]) / along[axis],
        );
        (first, last) = (first.max(t0.min(t1)), last.min(t0.max(t1)));
    }
    first <= last
}

/// The close-up of `prop` for a picture of `aspect` (width / height): seen from where
/// `wide` sees it, turned around it as far as needed for nothing `in_the_way` to spoil
/// it. Exposure and tone mapping are the wide camera's, so the cut matches.
pub fn close_up(prop: Bounds, wide: &Pose, aspect: f32, in_the_way: &InTheWay) -> Pose {
    let tall = (FOV_DEGREES.to_radians() / 2.0).tan();
    let wide_half = tall * aspect;
    // Fitted at its centre, then stepped back by half its depth: its nearest face is that
    // much closer, and larger.
    let fitted = (prop.across() / (wide_half * FILL)).max(prop.up() / (tall * FILL));
    let distance = fitted + prop.across() / 2.0;
    let away = wide.position - prop.centre;
    let flat = Vec3::new(away.x, 0.0, away.z);
    let flat = if flat.length() > 1e-3 {
        flat.normalize()
    } else {
        Vec3::Z
    };
    let rise = (away.y / away.length().max(1e-3)).clamp(0.0, RISE);
    let pose_from = |degrees: f32| {
        let side = Quat::from_rotation_y(degrees.to_radians()) * flat;
        let direction = (side * (1.0 - rise * rise).sqrt() + Vec3::Y * rise).normalize();
        Pose {
            position: prop.centre + direction * distance,
            look_at: prop.centre,
            fov_degrees: FOV_DEGREES,
            ..*wide
        }
    };
    TURNS
        .iter()
        .map(|&d| pose_from(d))
        .find(|pose| !in_the_way.spoils(pose, prop.centre))
        .unwrap_or_else(|| pose_from(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::core_pipeline::tonemapping::Tonemapping;

    fn wide() -> Pose {
        Pose {
            position: Vec3::new(0.0, 2.0, 8.0),
            look_at: Vec3::ZERO,
            fov_degrees: 50.0,
            ev100: 9.0,
            tonemapping: Tonemapping::AgX,
        }
    }

    fn scene() -> SceneDescription {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        crate::scene::LoadedScene::load(&root.join("assets/scenes/showroom.ron"))
            .unwrap()
            .description
    }

    /// How much of the picture's width or height (whichever is more) the prop's bounds
    /// fill, seen at its centre's distance.
    fn filled(pose: &Pose, prop: Bounds, aspect: f32) -> f32 {
        let d = pose.position.distance(prop.centre) - prop.across() / 2.0;
        let tall = (pose.fov_degrees.to_radians() / 2.0).tan();
        (prop.across() / d / (tall * aspect)).max(prop.up() / d / tall)
    }

    #[test]
    fn the_prop_fills_the_picture_from_the_wide_cameras_side() {
        let mut scene = scene();
        scene.presenter = None;
        let prop = Bounds {
            centre: Vec3::new(1.0, 0.5, 0.0),
            half: Vec3::new(0.3, 0.4, 0.3),
        };
        let clear = InTheWay {
            scene: &scene,
            pieces: &[],
        };
        let pose = close_up(prop, &wide(), 16.0 / 9.0, &clear);
        assert_eq!(pose.look_at, prop.centre);
        assert!((filled(&pose, prop, 16.0 / 9.0) - FILL).abs() < 0.01);
        // Same side as the wide camera, a little above, exposure kept.
        assert!(pose.position.z > prop.centre.z && pose.position.y > prop.centre.y);
        assert_eq!((pose.ev100, pose.tonemapping), (9.0, Tonemapping::AgX));
        // A flat, wide prop is fitted across; a portrait picture fits it across its
        // narrow width: the camera steps back.
        let flat = Bounds {
            half: Vec3::new(0.6, 0.1, 0.6),
            ..prop
        };
        let low = close_up(flat, &wide(), 16.0 / 9.0, &clear);
        assert!((filled(&low, flat, 16.0 / 9.0) - FILL).abs() < 0.01);
        let tall = close_up(prop, &wide(), 9.0 / 16.0, &clear);
        assert!((filled(&tall, prop, 9.0 / 16.0) - FILL).abs() < 0.01);
        assert!(tall.position.distance(prop.centre) > pose.position.distance(prop.centre));
    }

    #[test]
    fn the_camera_turns_around_the_prop_away_from_the_presenter() {
        let mut scene = scene();
        let prop = Bounds {
            centre: Vec3::new(0.0, 0.5, 0.0),
            half: Vec3::splat(0.3),
        };
        // She stands between the prop and the wide camera's side.
        let presenter = scene.presenter.as_mut().unwrap();
        presenter.transform.translation = [0.0, 0.0, 0.8];
        let mut alone = scene.clone();
        alone.presenter = None;
        let nobody = InTheWay {
            scene: &alone,
            pieces: &[],
        };
        let straight = close_up(prop, &wide(), 16.0 / 9.0, &nobody);
        assert!(sight::presenter_spoils(&scene, &straight, prop.centre));
        let her = InTheWay {
            scene: &scene,
            pieces: &[],
        };
        let turned = close_up(prop, &wide(), 16.0 / 9.0, &her);
        assert!(!sight::presenter_spoils(&scene, &turned, prop.centre));
        assert!(turned.position.x.abs() > 0.1, "{turned:?}");
        assert_eq!(turned.look_at, prop.centre);
    }

    #[test]
    fn the_camera_turns_away_from_a_piece_in_front_of_the_prop() {
        let mut scene = scene();
        scene.presenter = None;
        let prop = Bounds {
            centre: Vec3::new(0.0, 0.5, 0.0),
            half: Vec3::splat(0.3),
        };
        // A pillar between the prop and the wide camera's side, and a wall behind it.
        let pillar = (Vec3::new(-0.2, 0.0, 0.8), Vec3::new(0.2, 3.0, 1.2));
        let wall = (Vec3::new(-5.0, 0.0, -2.0), Vec3::new(5.0, 3.0, -1.8));
        let clear = InTheWay {
            scene: &scene,
            pieces: &[wall],
        };
        let straight = close_up(prop, &wide(), 16.0 / 9.0, &clear);
        assert!(straight.position.x.abs() < 1e-4);
        let pieces = [pillar, wall];
        let blocked = InTheWay {
            scene: &scene,
            pieces: &pieces,
        };
        let turned = close_up(prop, &wide(), 16.0 / 9.0, &blocked);
        assert!(turned.position.x.abs() > 0.1, "{turned:?}");
        assert!(!crosses(turned.position, prop.centre, pillar.0, pillar.1));
    }

    #[test]
    fn a_segment_crosses_a_box_only_where_it_passes_through() {
        let (lo, hi) = (Vec3::splat(-1.0), Vec3::splat(1.0));
        assert!(crosses(
            Vec3::new(-3.0, 0.0, 0.0),
            Vec3::new(3.0, 0.0, 0.0),
            lo,
            hi
        ));
        assert!(crosses(
            Vec3::new(0.0, 0.0, 0.0),
            Vec3::new(0.0, 5.0, 0.0),
            lo,
            hi
        ));
        assert!(!crosses(
            Vec3::new(-3.0, 2.0, 0.0),
            Vec3::new(3.0, 2.0, 0.0),
            lo,
            hi
        ));
        // Stops short of the box.
        assert!(!crosses(
            Vec3::new(-3.0, 0.0, 0.0),
            Vec3::new(-1.5, 0.0, 0.0),
            lo,
            hi
        ));
        // Diagonal past a corner.
        assert!(!crosses(
            Vec3::new(0.0, 3.0, 0.0),
            Vec3::new(3.0, 0.0, 0.0),
            lo,
            hi
        ));
    }
}
