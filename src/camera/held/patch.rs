//! Twin screens drawn again into a held backdrop, in their rectangle only.
//!
//! A factory's screens change their numbers every few seconds, and each change used to
//! cost a new backdrop: the whole set drawn again, about 250 ms at 720p on two cores, seven
//! frames a stream repeats. What changed is the screens' own texture, a small part of the
//! picture. So on the next held frame the *patch camera* draws the set (without the host,
//! as a backdrop is drawn) in the rectangle of the screens that changed, as that rectangle
//! of the on-air camera's frustum (as the host camera draws hers), and the first
//! compositor copies that image into the backdrop at its place before the frame is made
//! from it ([`crate::scene::OnAirPicture::patch`]). A patch larger than [`MOST`] of the
//! picture is drawn as a new backdrop instead.
//!
//! A backdrop kept for a view the show cuts back to ([`super::kept`]) gets the screens
//! changed since it was kept the same way, on the first frame it is shown again.

use super::{Frame, HeldShotCount, drawing_camera, fit_image, follow_on_air};
use crate::scene::{ActiveCamera, corners};
use bevy::camera::Exposure;
use bevy::camera::primitives::Aabb;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::math::URect;
use bevy::prelude::*;
use bevy::render::view::Msaa;

/// Above this share of the picture a patch is drawn as a new backdrop: a set frame costs
/// about a third more than its pixels' share of the picture (shadow maps, post passes).
const MOST: f32 = 0.25;

/// The screens to draw again, and the image the patch camera draws into.
#[derive(Resource)]
pub(super) struct Patch {
    /// Made with [`super::host_image`]; the compositors copy it into the backdrop.
    pub(super) image: Handle<Image>,
    /// The screens changed since the backdrop was drawn, not drawn again yet.
    pub(super) pending: Vec<Entity>,
}

/// The camera drawing patches.
#[derive(Component)]
pub(super) struct PatchCamera;

pub(super) fn add(app: &mut App) {
    let image = (app.world_mut().resource_mut::<Assets<Image>>()).add(super::host_image());
    app.insert_resource(Patch {
        image,
        pending: Vec::new(),
    });
}

/// Decides whether a held frame draws a patch, where screens changed since its backdrop
/// was drawn: the rectangle around them; a set frame instead where that is more than
/// [`MOST`] of the picture. A new backdrop shows them as they are.
pub(super) fn plan_patch(
    mut frame: ResMut<Frame>,
    mut patch: ResMut<Patch>,
    mut count: ResMut<HeldShotCount>,
    pieces: Query<(&GlobalTransform, &Aabb)>,
    motion: Res<super::Motion>,
) {
    let (rect, size, scale) = match *frame {
        Frame::Held {
            rect, size, scale, ..
        } => (rect, size, scale),
        // Drawn whole after the glide, from where it ends.
        Frame::Glide { .. } => return,
        Frame::Full | Frame::Set { .. } => return patch.pending.clear(),
    };
    if patch.pending.is_empty() {
        return;
    }
    let Some(clip_from_world) = motion.clip_from_world else {
        return;
    };
    let screens = std::mem::take(&mut patch.pending);
    let boxes = (screens.iter())
        .filter_map(|e| pieces.get(*e).ok())
        .map(|(t, aabb)| super::boxes::world_box(t, aabb));
    let Some(place) = covering(boxes, clip_from_world, size) else {
        return; // None of them is in the picture.
    };
    if share(place, size) > MOST {
        // The backdrop of this view, drawn again whole.
        *frame = Frame::Set { rect, size, scale };
        (count.held, count.full) = (count.held.saturating_sub(1), count.full + 1);
        return;
    }
    *frame = Frame::Held {
        rect,
        size,
        scale,
        patch: Some(place),
    };
    count.patched += 1;
}

/// The rectangle of a picture of `size` covering the world boxes `screens` as seen through
/// `clip_from_world`; `None` when none of them is in the picture.
fn covering(
    screens: impl Iterator<Item = (Vec3, Vec3)>,
    clip_from_world: Mat4,
    size: UVec2,
) -> Option<URect> {
    screens
        .filter_map(|(lo, hi)| super::screen_rect(&corners(lo, hi), clip_from_world, size))
        .reduce(|a, b| a.union(b))
}

/// The share of a picture of `size` that `rect` covers.
fn share(rect: URect, size: UVec2) -> f32 {
    let area = |s: UVec2| s.x as f32 * s.y as f32;
    area(rect.size()) / area(size).max(1.0)
}

/// Turns the patch camera on for a frame that draws a patch, aimed like the on-air camera
/// and seeing the patch's rectangle, and sizes its image; spawns it the first time.
#[allow(clippy::type_complexity)]
pub(super) fn aim_patch_camera(
    mut commands: Commands,
    frame: Res<Frame>,
    patch: Res<Patch>,
    mut images: ResMut<Assets<Image>>,
    on_air: Query<
        (
            &Camera,
            &Transform,
            &Projection,
            &Exposure,
            Option<&Tonemapping>,
        ),
        With<ActiveCamera>,
    >,
    looks: Query<
        (
            &Msaa,
            &Tonemapping,
            Option<&bevy::light::ShadowFilteringMethod>,
        ),
        With<ActiveCamera>,
    >,
    mut cameras: Query<
        (
            &mut Camera,
            &mut Transform,
            &mut Projection,
            &mut Exposure,
            &mut Tonemapping,
        ),
        (With<PatchCamera>, Without<ActiveCamera>),
    >,
) {
    let Ok((on_air_camera, transform, projection, exposure, tonemapping)) = on_air.single() else {
        return;
    };
    let Ok(mut following) = cameras.single_mut() else {
        if let Ok(look) = looks.single() {
            commands.spawn((
                Name::new("patch camera (held shots)"),
                PatchCamera,
                drawing_camera(&patch.image, 40, look),
            ));
        }
        return;
    };
    let camera = &mut following.0;
    let Frame::Held {
        size,
        patch: Some(place),
        ..
    } = *frame
    else {
        if camera.is_active {
            camera.is_active = false;
        }
        return;
    };
    camera.is_active = true;
    camera.clear_color = on_air_camera.clear_color;
    let on_air = (transform, projection, exposure, tonemapping);
    follow_on_air(following, on_air, place, size, f32::INFINITY);
    // The image is the patch's size: the compositor copies it as it is.
    fit_image(&mut images, &patch.image, place.size());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16:9 picture of 1280×720 seen from 5 m before the origin, 50° high.
    fn camera() -> (Mat4, UVec2) {
        let size = UVec2::new(1280, 720);
        let clip = Mat4::perspective_infinite_reverse_rh(50f32.to_radians(), 16.0 / 9.0, 0.1);
        let view = Mat4::look_at_rh(Vec3::new(0.0, 0.0, 5.0), Vec3::ZERO, Vec3::Y);
        (clip * view, size)
    }

    #[test]
    fn a_patch_covers_the_changed_screens() {
        let (clip_from_world, size) = camera();
        let screen = |x: f32| (Vec3::new(x - 0.5, -0.3, 0.0), Vec3::new(x + 0.5, 0.3, 0.0));
        let left = covering([screen(-2.0)].into_iter(), clip_from_world, size).unwrap();
        // Left of the centre, padded around the screen, a small share of the picture.
        assert!(left.max.x < 640 && left.min.x > 0, "{left:?}");
        assert!(left.min.y < 360 && left.max.y > 360, "{left:?}");
        assert!(share(left, size) < MOST, "{}", share(left, size));
        // Both changed: one rectangle over both.
        let both = covering(
            [screen(-2.0), screen(2.0)].into_iter(),
            clip_from_world,
            size,
        );
        let both = both.unwrap();
        assert_eq!((both.min.x, both.min.y), (left.min.x, left.min.y));
        assert!(both.max.x > 640, "{both:?}");
        assert!(share(both, size) > share(left, size));
        // Out of the picture: nothing to draw.
        let behind = (Vec3::new(-0.5, -0.3, 9.0), Vec3::new(0.5, 0.3, 9.5));
        assert_eq!(covering([behind].into_iter(), clip_from_world, size), None);
    }

    #[test]
    fn a_patch_over_most_of_the_picture_is_a_new_backdrop_instead() {
        let (clip_from_world, size) = camera();
        let wall = (Vec3::new(-3.0, -1.5, 0.0), Vec3::new(3.0, 1.5, 0.0));
        let place = covering([wall].into_iter(), clip_from_world, size).unwrap();
        assert!(share(place, size) > MOST, "{}", share(place, size));
    }
}
