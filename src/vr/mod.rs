//! 360° video: the showroom seen all around from the on-air camera's position, as an
//! equirectangular picture that VR players and platforms wrap onto a sphere.
//!
//! Six cameras with a 90° field render the faces of a cube into their own images; a
//! full-screen UI node with the material in `shaders/equirect.wgsl` projects them into the
//! captured picture, so the rest of the pipeline (readback, encoder, outputs) is unchanged.
//! The rig follows the on-air camera's position and heading but stays level: a tilted
//! horizon in a headset is sickening.

use crate::capture::CaptureTarget;
use crate::scene::ActiveCamera;
use bevy::asset::{load_internal_asset, uuid_handle};
use bevy::camera::{Exposure, RenderTarget};
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, TextureFormat};
use bevy::shader::{Shader, ShaderRef};
use bevy::ui_render::prelude::{MaterialNode, UiMaterial, UiMaterialPlugin};

/// The projection shader, built in (its source lives in `shaders/`).
const EQUIRECT_SHADER: Handle<Shader> = uuid_handle!("4d1c0c73-5b8e-4c4a-9a55-2f1f6f0e7a61");

/// The six faces in the order the material binds them, each as (forward, up) in rig space.
/// Must match `shaders/equirect.wgsl`.
pub const FACES: [(Vec3, Vec3); 6] = [
    (Vec3::X, Vec3::Y),
    (Vec3::NEG_X, Vec3::Y),
    (Vec3::Y, Vec3::Z),
    (Vec3::NEG_Y, Vec3::NEG_Z),
    (Vec3::Z, Vec3::Y),
    (Vec3::NEG_Z, Vec3::Y),
];

pub struct VrPlugin {
    /// Pixels along a cube face's side: a quarter of the picture's width keeps detail at
    /// the horizon about the same as in the equirectangular frame.
    pub face_size: u32,
}

#[derive(Resource)]
struct FaceSize(u32);

/// The camera rig: six face cameras are its children.
#[derive(Component)]
struct VrRig;

#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct EquirectMaterial {
    #[texture(0)]
    #[sampler(1)]
    pos_x: Handle<Image>,
    #[texture(2)]
    #[sampler(3)]
    neg_x: Handle<Image>,
    #[texture(4)]
    #[sampler(5)]
    pos_y: Handle<Image>,
    #[texture(6)]
    #[sampler(7)]
    neg_y: Handle<Image>,
    #[texture(8)]
    #[sampler(9)]
    pos_z: Handle<Image>,
    #[texture(10)]
    #[sampler(11)]
    neg_z: Handle<Image>,
}

impl UiMaterial for EquirectMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(EQUIRECT_SHADER)
    }
}

impl Plugin for VrPlugin {
    fn build(&self, app: &mut App) {
        load_internal_asset!(
            app,
            EQUIRECT_SHADER,
            "../../shaders/equirect.wgsl",
            Shader::from_wgsl
        );
        app.add_plugins(UiMaterialPlugin::<EquirectMaterial>::default())
            .insert_resource(FaceSize(self.face_size))
            .add_systems(Update, (build_rig, follow_on_air_camera).chain());
    }
}

/// Once the on-air camera exists: six face cameras, and the projection onto the capture
/// target in its place.
fn build_rig(
    mut commands: Commands,
    size: Res<FaceSize>,
    target: Res<CaptureTarget>,
    mut on_air: Query<
        (
            &mut Camera,
            Option<&Exposure>,
            Option<&Tonemapping>,
            Option<&Msaa>,
        ),
        With<ActiveCamera>,
    >,
    rig: Query<(), With<VrRig>>,
    mut images: ResMut<Assets<Image>>,
    mut materials: ResMut<Assets<EquirectMaterial>>,
) {
    if !rig.is_empty() {
        return;
    }
    let Ok((mut camera, exposure, tonemapping, msaa)) = on_air.single_mut() else {
        return;
    };
    // The flat camera keeps its place (the director moves it) but draws nothing.
    camera.is_active = false;
    let faces: Vec<Handle<Image>> = (0..6)
        .map(|_| {
            images.add(Image::new_target_texture(
                size.0,
                size.0,
                TextureFormat::Rgba8UnormSrgb,
                None,
            ))
        })
        .collect();
    let look = (
        exposure.copied().unwrap_or_default(),
        tonemapping.copied().unwrap_or_default(),
        msaa.copied().unwrap_or_default(),
    );
    spawn_face_cameras(&mut commands, &faces, look);
    let faces = materials.add(EquirectMaterial {
        pos_x: faces[0].clone(),
        neg_x: faces[1].clone(),
        pos_y: faces[2].clone(),
        neg_y: faces[3].clone(),
        pos_z: faces[4].clone(),
        neg_z: faces[5].clone(),
    });
    spawn_projection(&mut commands, &target, faces);
}

/// The rig: a square camera of 90° for each face of the cube (`FACES`), each into its
/// image, seeing as the on-air camera does (its exposure, tone mapping and MSAA).
fn spawn_face_cameras(
    commands: &mut Commands,
    faces: &[Handle<Image>],
    (exposure, tonemapping, msaa): (Exposure, Tonemapping, Msaa),
) {
    commands
        .spawn((VrRig, Transform::default(), Visibility::default()))
        .with_children(|rig| {
            for (i, ((forward, up), image)) in FACES.iter().zip(faces).enumerate() {
                rig.spawn((
                    Camera3d::default(),
                    Camera {
                        order: i as isize,
                        ..default()
                    },
                    Projection::Perspective(PerspectiveProjection {
                        fov: std::f32::consts::FRAC_PI_2,
                        aspect_ratio: 1.0,
                        ..default()
                    }),
                    RenderTarget::Image(image.clone().into()),
                    Transform::default().looking_to(*forward, *up),
                    exposure,
                    tonemapping,
                    msaa,
                ));
            }
        });
}

/// After the faces, a 2D camera into the capture target whose one full-picture node
/// projects them equirectangularly (`EquirectMaterial`).
fn spawn_projection(
    commands: &mut Commands,
    target: &CaptureTarget,
    faces: Handle<EquirectMaterial>,
) {
    let projector = commands
        .spawn((
            Camera2d,
            Camera {
                order: 10,
                ..default()
            },
            Tonemapping::None,
            RenderTarget::Image(target.0.clone().into()),
        ))
        .id();
    commands.spawn((
        UiTargetCamera(projector),
        Node {
            width: Val::Percent(100.0),
            height: Val::Percent(100.0),
            ..default()
        },
        MaterialNode(faces),
    ));
}

/// The rig stands where the on-air camera stands, turned to its heading, level.
fn follow_on_air_camera(
    on_air: Query<&Transform, (With<ActiveCamera>, Without<VrRig>)>,
    mut rig: Query<&mut Transform, With<VrRig>>,
) {
    let (Ok(camera), Ok(mut rig)) = (on_air.single(), rig.single_mut()) else {
        return;
    };
    let forward = camera.forward();
    let heading = Vec3::new(forward.x, 0.0, forward.z);
    let rotation = if heading.length_squared() > 1e-6 {
        Transform::default().looking_to(heading, Vec3::Y).rotation
    } else {
        Quat::IDENTITY
    };
    let wanted = Transform::from_translation(camera.translation).with_rotation(rotation);
    if *rig != wanted {
        *rig = wanted;
    }
}
