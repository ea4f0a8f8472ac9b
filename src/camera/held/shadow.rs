//! The key light's shadow map on held frames: only the part the host camera reads.
//!
//! Bevy fits a directional light's cascade to a camera's whole view out to the cascade's
//! reach, and clears and draws all of its map (2048² unless set otherwise) every frame. On
//! a held frame the host camera reads the map only inside her rectangle, no farther than
//! her shadow's far end; on two cores lavapipe's clear of the rest was about 4 % of a held
//! 720p frame's samples, and drawing the set's casters into it more.
//!
//! So on held frames the host camera's cascade is cut to the box the light sees of her
//! rectangle's frustum, and the map shrinks to fit it (a power of two). Its texels are the
//! full cascade's: the same size, on the same grid (Bevy snaps a cascade's centre to whole
//! texels), so every shadow in her rectangle, hers and the set's, falls on the texels it
//! falls on in the backdrop. Only single-cascade lights are cut (the CPU renderer's
//! default), and only while the host camera is the one 3D camera drawing (a program with
//! cameras of its own draws in full beside her); other frames get the full map back
//! before Bevy fits them.
//!
//! Inside that box, a set piece is drawn into her map only where its shadow may fall on
//! something she draws ([`keep_the_casters_she_needs`]).

use super::boxes::{in_its_shadow, world_box};
use super::{Frame, HostCamera};
use bevy::camera::SubCameraView;
use bevy::camera::primitives::Aabb;
use bevy::camera::visibility::{CascadesVisibleEntities, VisibleEntities};
use bevy::light::cascade::Cascade;
use bevy::light::{Cascades, DirectionalLightShadowMap, SimulationLightSystems};
use bevy::math::Vec3A;
use bevy::prelude::*;

pub(super) fn add(app: &mut App) {
    app.add_systems(
        PostUpdate,
        (
            // After the frame is final: a patch too large is drawn as a set frame.
            give_the_full_map_back
                .after(super::patch::plan_patch)
                .before(SimulationLightSystems::UpdateDirectionalLightCascades),
            cut_the_key_cascade_to_her
                .after(SimulationLightSystems::UpdateDirectionalLightCascades)
                .before(SimulationLightSystems::UpdateLightFrusta),
        ),
    );
}

/// The map's size as the show set it, while a held frame has it smaller.
#[derive(Resource)]
struct FullSize(usize);

/// The smallest map a held frame gets: below this the saving is nothing.
const SMALLEST: usize = 64;

/// The 3D cameras that draw this frame, the host camera marked.
type Drawing<'w, 's> = Query<'w, 's, (&'static Camera, Has<HostCamera>), With<Camera3d>>;

/// Whether this frame's only shadowed view is the host camera on a held frame: a program
/// with cameras of its own draws in full beside her, and needs the full map.
fn only_her_rectangle(frame: &Frame, cameras: &Drawing) -> bool {
    matches!(
        frame,
        Frame::Held {
            rect: Some(_),
            patch: None,
            ..
        }
    ) && cameras
        .iter()
        .all(|(camera, host)| host || !camera.is_active)
}

fn give_the_full_map_back(
    mut commands: Commands,
    frame: Res<Frame>,
    cameras: Drawing,
    full: Option<Res<FullSize>>,
    mut map: ResMut<DirectionalLightShadowMap>,
) {
    let Some(full) = full else {
        return;
    };
    if !only_her_rectangle(&frame, &cameras) {
        map.size = full.0;
        commands.remove_resource::<FullSize>();
    }
}

fn cut_the_key_cascade_to_her(
    mut commands: Commands,
    frame: Res<Frame>,
    cameras: Drawing,
    full: Option<Res<FullSize>>,
    mut map: ResMut<DirectionalLightShadowMap>,
    host: Query<(Entity, &Camera, &GlobalTransform, &Projection), With<HostCamera>>,
    mut lights: Query<(&DirectionalLight, &GlobalTransform, &mut Cascades)>,
) {
    if !only_her_rectangle(&frame, &cameras) {
        return;
    }
    let Ok((entity, camera, transform, projection)) = host.single() else {
        return;
    };
    let Some(sub) = camera.sub_camera_view.filter(|_| camera.is_active) else {
        return;
    };
    let full_size = full.map_or(map.size, |f| f.0);
    let corners = rectangle_corners(projection, &sub, transform);
    let mut wanted = None;
    for (light, light_transform, mut cascades) in &mut lights {
        let Some(cut) = (light.shadow_maps_enabled)
            .then(|| cascades.cascades.get(&entity))
            .flatten()
            .and_then(|c| cut(c, map.size, full_size, light_transform, &corners))
        else {
            continue;
        };
        // One map size for every light: the largest any of them needs.
        wanted = wanted.max(Some(cut.1));
        cascades.cascades.insert(entity, vec![cut.0]);
    }
    let Some(size) = wanted else {
        return;
    };
    if map.size != size {
        debug!("held frames: the key light's shadow map cut to {size}² (of {full_size}²)");
        map.size = size;
    }
    commands.insert_resource(FullSize(full_size));
}

/// The eight corners of the host camera's rectangle out to its far plane, in the world.
fn rectangle_corners(
    projection: &Projection,
    sub: &SubCameraView,
    transform: &GlobalTransform,
) -> [Vec3A; 8] {
    let world_from_clip = super::rectangle_clip_from_world(projection, sub, transform).inverse();
    // Reverse depth: 1 at the near plane, 0 at the far one (a finite far: `her::Clipped`).
    let mut corners = [Vec3A::ZERO; 8];
    for (i, corner) in corners.iter_mut().enumerate() {
        let x = if i & 1 == 0 { -1.0 } else { 1.0 };
        let y = if i & 2 == 0 { -1.0 } else { 1.0 };
        let z = if i & 4 == 0 { 1.0 } else { 0.0 };
        *corner = world_from_clip.project_point3(Vec3::new(x, y, z)).into();
    }
    corners
}

/// The cascade `fitted` (Bevy's, for a map of `size`) cut to the box the light sees of
/// `corners`, with the texel size and grid of the same cascade in a map of `full_size`,
/// and the map size that takes; `None` when it would not be smaller than `full_size`,
/// when the light has several cascades, or when the far plane is not finite.
fn cut(
    fitted: &[Cascade],
    size: usize,
    full_size: usize,
    light: &GlobalTransform,
    corners: &[Vec3A; 8],
) -> Option<(Cascade, usize)> {
    let [fitted] = fitted else {
        return None;
    };
    if corners.iter().any(|c| !c.is_finite()) {
        return None;
    }
    // Bevy: texel = ceil(diameter) / size, so the full map's texel is this one's scaled.
    let texel = fitted.texel_size * size as f32 / full_size as f32;
    let world_from_light = Mat4::from_quat(light.rotation());
    let light_from_world = world_from_light.transpose();
    let (mut min, mut max) = (Vec3A::splat(f32::MAX), Vec3A::splat(f32::MIN));
    for corner in corners {
        let seen = light_from_world.transform_point3a(*corner);
        (min, max) = (min.min(seen), max.max(seen));
    }
    // Centred on whole texels as Bevy centres the full cascade, with a texel to spare on
    // each side for the snap and the 2×2 filter.
    let centre = (0.5 * (min + max) / texel).floor() * texel;
    let reach = (max - centre).max(centre - min).truncate().max_element();
    let texels = (2.0 * reach / texel).ceil() as usize + 4;
    let size = texels.next_power_of_two().max(SMALLEST);
    (size < full_size).then(|| {
        let near_centre = Vec3A::new(centre.x, centre.y, max.z);
        (
            ortho_cascade(
                world_from_light,
                near_centre,
                min.z,
                size as f32 * texel,
                texel,
            ),
            size,
        )
    })
}

/// A cascade as Bevy builds one: an orthographic box `diameter` across, centred on
/// `near_centre` (light space, its near plane at the light's side), `far_z` deep.
fn ortho_cascade(
    world_from_light: Mat4,
    near_centre: Vec3A,
    far_z: f32,
    diameter: f32,
    texel: f32,
) -> Cascade {
    let light_from_world = world_from_light.transpose();
    let cascade_from_world = Mat4::from_cols(
        light_from_world.x_axis,
        light_from_world.y_axis,
        light_from_world.z_axis,
        (-near_centre).extend(1.0),
    );
    let world_from_cascade = Mat4::from_cols(
        world_from_light.x_axis,
        world_from_light.y_axis,
        world_from_light.z_axis,
        world_from_light * near_centre.extend(1.0),
    );
    // Reverse depth, as Bevy's: 1 at the near plane, 0 at `far_z`.
    let r = (near_centre.z - far_z).max(f32::EPSILON).recip();
    let clip_from_cascade = Mat4::from_cols(
        Vec4::new(2.0 / diameter, 0.0, 0.0, 0.0),
        Vec4::new(0.0, 2.0 / diameter, 0.0, 0.0),
        Vec4::new(0.0, 0.0, r, 0.0),
        Vec4::new(0.0, 0.0, 1.0, 1.0),
    );
    Cascade {
        world_from_cascade,
        clip_from_cascade,
        clip_from_world: clip_from_cascade * cascade_from_world,
        texel_size: texel,
    }
}

/// Of the host camera's view of each directional light's cascades, keeps her and the set
/// pieces whose shadow may fall on something she draws that looks its shadows up: herself,
/// and the pieces and tiles drawn with her (their holdouts look nothing up). The rest were
/// drawn into her map for nothing: in the demo's close-up the birthday cake behind her, 56
/// meshes of 348 vertices, was most of the pass. A piece's box moved along a light is
/// where its shadow may fall ([`in_its_shadow`]), as for the catchers, which stand in only
/// where no such box reaches, so nothing they read changes. Runs after
/// [`super::her::draw_only_what_she_needs`], on her camera's final list.
pub(super) fn keep_the_casters_she_needs(
    frame: Res<Frame>,
    her: Res<super::her::Her>,
    host: Query<(Entity, &VisibleEntities), With<HostCamera>>,
    holdouts: Query<(), With<super::holdout::Holdout>>,
    bounds: Query<(&GlobalTransform, &Aabb)>,
    mut lights: Query<&mut CascadesVisibleEntities>,
) {
    let (Frame::Held { .. } | Frame::Set { .. }, Some(needs)) = (*frame, &her.0) else {
        return;
    };
    let Ok((view, visible)) = host.single() else {
        return;
    };
    let Some(receivers) = receivers(needs, visible, &holdouts, &bounds) else {
        return;
    };
    let needed = |caster: &Entity| {
        let Ok((transform, aabb)) = bounds.get(*caster) else {
            return true;
        };
        let cast = world_box(transform, aabb);
        needs.meshes.contains(caster)
            || (needs.lights.iter()).any(|toward| {
                let toward = toward.as_vec3();
                receivers.iter().any(|r| in_its_shadow(cast, *r, toward))
            })
    };
    for mut cascades in &mut lights {
        let Some(cascades) = cascades.entities.get_mut(&view) else {
            continue;
        };
        for cascade in cascades {
            cascade.entities.retain(needed);
        }
    }
}

/// The boxes of what the host camera draws that looks shadows up: her parts, and every
/// mesh of her view that is not hers or a holdout. `None` when one has no bounds (it may
/// be anywhere: every caster stays) or no light casts shadows.
fn receivers(
    needs: &super::her::Needs,
    visible: &VisibleEntities,
    holdouts: &Query<(), With<super::holdout::Holdout>>,
    bounds: &Query<(&GlobalTransform, &Aabb)>,
) -> Option<Vec<(Vec3, Vec3)>> {
    if needs.lights.is_empty() {
        return None;
    }
    let mut boxes: Vec<_> = needs.shades.iter().map(|s| s.part).collect();
    let list = visible.get(std::any::TypeId::of::<Mesh3d>());
    for mesh in list.iter().filter(|e| !needs.meshes.contains(*e)) {
        if holdouts.contains(*mesh) {
            continue;
        }
        let (transform, aabb) = bounds.get(*mesh).ok()?;
        boxes.push(world_box(transform, aabb));
    }
    Some(boxes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::ecs::system::RunSystemOnce;
    use bevy::light::CascadeShadowConfigBuilder;
    use bevy::light::cascade::build_directional_light_cascades;

    /// Bevy's single cascade for a camera looking at the origin, with a map of `size`.
    fn fitted(world: &mut World, size: usize) -> (Entity, Vec<Cascade>, GlobalTransform) {
        world.insert_resource(DirectionalLightShadowMap { size });
        let camera = world
            .spawn((
                Camera::default(),
                Projection::Perspective(PerspectiveProjection::default()),
                GlobalTransform::from(
                    Transform::from_xyz(0.3, 1.6, 5.0)
                        .looking_at(Vec3::new(0.0, 1.0, 0.0), Vec3::Y),
                ),
            ))
            .id();
        let light = GlobalTransform::from(
            Transform::from_xyz(3.0, 8.0, 5.0).looking_at(Vec3::new(0.0, 0.0, -1.0), Vec3::Y),
        );
        let config = CascadeShadowConfigBuilder {
            num_cascades: 1,
            maximum_distance: 12.0,
            first_cascade_far_bound: 12.0,
            ..default()
        };
        let lamp = world
            .spawn((
                DirectionalLight {
                    shadow_maps_enabled: true,
                    ..default()
                },
                config.build(),
                Cascades::default(),
                light,
            ))
            .id();
        world
            .run_system_once(build_directional_light_cascades)
            .unwrap();
        let cascades = world.get::<Cascades>(lamp).unwrap().cascades[&camera].clone();
        world.despawn(camera);
        world.despawn(lamp);
        (camera, cascades, light)
    }

    #[test]
    fn the_map_is_cut_only_while_her_rectangle_is_the_one_3d_view() {
        let mut world = World::new();
        let held = Frame::Held {
            rect: Some(bevy::math::URect::new(0, 0, 64, 64)),
            size: UVec2::new(320, 180),
            scale: 1.0,
            patch: None,
        };
        let on = |active| Camera {
            is_active: active,
            ..default()
        };
        world.spawn((Camera3d::default(), on(true), HostCamera));
        let on_air = world.spawn((Camera3d::default(), on(false))).id();
        let cut_for = |world: &mut World, frame: Frame| {
            world
                .run_system_once(move |cameras: Drawing| only_her_rectangle(&frame, &cameras))
                .unwrap()
        };
        assert!(cut_for(&mut world, held));
        assert!(!cut_for(&mut world, Frame::Full));
        // A program with a camera of its own draws beside her, in full.
        world.entity_mut(on_air).insert(on(true));
        assert!(!cut_for(&mut world, held));
    }

    /// A point's place in a cascade's map, in texels.
    fn texel_of(cascade: &Cascade, size: usize, point: Vec3) -> Vec2 {
        let ndc = cascade.clip_from_world.project_point3(point);
        ndc.truncate() * size as f32 / 2.0
    }

    #[test]
    fn a_held_frames_cut_map_has_the_full_maps_texels_in_a_smaller_map() {
        let mut world = World::new();
        let (_, full, light) = fitted(&mut world, 2048);
        // Her rectangle's frustum: a box around her and the floor her shadow falls on.
        let (lo, hi) = (Vec3A::new(-1.2, 0.0, 0.2), Vec3A::new(-0.2, 1.9, 1.6));
        let corners = crate::scene::corners(lo.into(), hi.into()).map(Vec3A::from);
        for size in [2048, 512] {
            let (_, fitted, _) = fitted(&mut world, size);
            let (cut, cut_size) = cut(&fitted, size, 2048, &light, &corners).unwrap();
            assert!(cut_size.is_power_of_two() && cut_size < 2048, "{cut_size}");
            assert_eq!(cut.texel_size, full[0].texel_size);
            for corner in &corners {
                let ndc = cut.clip_from_world.project_point3(Vec3::from(*corner));
                assert!(ndc.x.abs() < 1.0 && ndc.y.abs() < 1.0, "{corner} at {ndc}");
                // The same texel grid: a point is a whole number of texels apart in both.
                let apart = texel_of(&full[0], 2048, (*corner).into())
                    - texel_of(&cut, cut_size, (*corner).into());
                assert!(
                    (apart - apart.round()).abs().max_element() < 0.01,
                    "{apart}"
                );
            }
        }
        // Reaching the whole view, the cut saves nothing and is not made.
        let far = corners.map(|c| c * 40.0);
        assert!(cut(&full, 2048, 2048, &light, &far).is_none());
    }
}
