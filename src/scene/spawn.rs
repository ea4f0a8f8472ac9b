//! Builds a [`SceneDescription`](super::SceneDescription) in the Bevy world.

use super::{LightSpec, LoadedScene, MaterialSpec, Rgb, Shape, ToneMapping, TransformSpec};
use bevy::{
    asset::UntypedAssetId,
    camera::{Exposure, RenderTarget, ShadowLodOrigin},
    core_pipeline::tonemapping::Tonemapping,
    light::GlobalAmbientLight,
    light::cluster::ClusterConfig,
    prelude::*,
    render::view::Msaa,
};
use std::path::Path;

/// Marks everything the showroom spawned, so a reload can clear it.
#[derive(Component)]
pub struct ShowroomEntity;

/// The camera whose picture goes on air.
#[derive(Component)]
pub struct ActiveCamera;

/// A camera making a program beside the main one (`[[outputs]] program`): which program
/// (1 and up), its picture's size, and the cameras its shots are swapped for (a vertical
/// program's own framings). It renders the same world into its own target.
#[derive(Component, Debug, Clone, Default)]
pub struct ViewCamera {
    pub index: usize,
    pub cameras: std::collections::BTreeMap<String, String>,
    pub width: u32,
    pub height: u32,
}

impl ViewCamera {
    /// Whether this program sees what the on-air camera sees at `width`×`height` (no
    /// framings of its own), so it can share that camera's picture.
    pub fn shares_picture(&self, width: u32, height: u32) -> bool {
        (self.width, self.height) == (width, height) && self.cameras.iter().all(|(a, b)| a == b)
    }
}

/// A light, shape or prop: what a scene edit (the editor, a reloaded file) rebuilds.
/// Cameras and the presenter stay, so the picture and the show carry on.
#[derive(Component)]
pub struct SetPiece;

/// How the showroom is built; set by whoever runs the app.
#[derive(Resource, Clone)]
pub struct ShowroomSettings {
    pub scene: LoadedScene,
    /// Camera to put on air, by name; the first one when `None`.
    pub camera: Option<String>,
    pub msaa: u32,
    pub shadows: bool,
    /// Shadow edges from one hardware 2×2 comparison or Bevy's Gaussian filter (`Auto`:
    /// the 2×2 one on a CPU renderer, where it makes the opaque pass cheaper).
    pub shadow_filter: crate::config::ShadowFilter,
    /// Bevy's full lighting or the lean one (`Auto`: lean on a CPU renderer).
    pub lighting: crate::config::Lighting,
    /// The key light's shadow cascades (0: one on a CPU renderer, four on a GPU).
    pub shadow_cascades: u32,
    /// Where the active camera draws; the primary window when `None`.
    pub target: Option<RenderTarget>,
    /// The cameras of the programs beside the main one, each with its target.
    pub views: Vec<(ViewCamera, RenderTarget)>,
    /// Programs composed over the on-air camera's picture (`target` is then that picture).
    pub compose: Option<super::Compose>,
}

/// Asset handles the showroom is waiting on (kept so they stay loaded).
#[derive(Resource, Default)]
pub struct ShowroomAssets(pub Vec<(String, UntypedHandle)>);

impl ShowroomAssets {
    pub fn ids(&self) -> impl Iterator<Item = (&str, UntypedAssetId)> {
        self.0
            .iter()
            .map(|(name, handle)| (name.as_str(), handle.id()))
    }
}

pub struct ShowroomPlugin {
    pub settings: ShowroomSettings,
}

impl Plugin for ShowroomPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.settings.clone())
            .init_resource::<ShowroomAssets>()
            .init_resource::<super::GltfFiles>()
            .init_resource::<super::MissingScenes>()
            .init_resource::<super::GltfLoads>()
            .add_plugins(super::compose::ComposePlugin)
            .add_systems(Startup, (spawn_cameras, choose_lighting))
            .register_required_components::<Camera3d, ClusterConfig>()
            .add_systems(
                PostUpdate,
                cluster_only_for_cameras_that_draw
                    .after(bevy::camera::CameraUpdateSystems)
                    .before(bevy::light::SimulationLightSystems::AssignLightsToClusters),
            )
            .add_systems(
                PreUpdate,
                (
                    super::lean_lighting::patch_lighting_library
                        .run_if(resource_exists::<super::lean_lighting::Unpatched>),
                    show_saved_versions,
                    // The set's pipelines are built once, with the lighting they keep.
                    build_set.run_if(super::lighting_settled),
                )
                    .chain(),
            )
            .add_systems(
                Update,
                (
                    super::gltf_files::place_gltf_scenes,
                    super::gltf_files::count_gltf_loads,
                ),
            );
    }
}

/// The scene's cameras: they stay for the whole run (the set around them may be rebuilt).
fn spawn_cameras(
    mut commands: Commands,
    settings: Res<ShowroomSettings>,
    adapter: Option<Res<bevy::render::renderer::RenderAdapterInfo>>,
    device: Option<Res<bevy::render::renderer::RenderAdapter>>,
) {
    let scene = &settings.scene.description;
    let samples = fitting_samples(settings.msaa, |n| {
        device.as_deref().is_none_or(|d| samples_supported(d, n))
    });
    if samples != settings.msaa {
        warn!(
            "render.msaa = {} is not supported by this renderer; drawing with {samples}",
            settings.msaa
        );
    }
    use crate::config::ShadowFilter;
    let fast_shadows = match settings.shadow_filter {
        ShadowFilter::Hardware2x2 => true,
        ShadowFilter::Gaussian => false,
        ShadowFilter::Auto => on_cpu(adapter.as_deref()),
    };
    let active = settings
        .camera
        .as_deref()
        .and_then(|name| scene.cameras.iter().position(|c| c.name == name))
        .unwrap_or(0);
    for (i, spec) in scene.cameras.iter().enumerate() {
        let on = Camera {
            is_active: i == active,
            ..default()
        };
        let mut camera = commands.spawn((
            Name::new(spec.name.clone()),
            ShowroomEntity,
            camera_bundle(spec, on, samples, fast_shadows),
        ));
        if let Some(target) = &settings.target {
            camera.insert(target.clone());
        }
        if i == active {
            // Shadow detail follows the on-air camera; Bevy only guesses this for windows.
            camera.insert((ActiveCamera, ShadowLodOrigin));
        }
    }
    // Each program's own camera starts where the on-air one does.
    let Some(spec) = scene.cameras.get(active) else {
        return;
    };
    for (view, target) in &settings.views {
        let camera = Camera {
            order: view.index as isize,
            ..default()
        };
        commands.spawn((
            Name::new(format!("program {} camera", view.index)),
            ShowroomEntity,
            view.clone(),
            target.clone(),
            camera_bundle(spec, camera, samples, fast_shadows),
        ));
    }
}

/// A camera of the scene, with the show's anti-aliasing and shadow filtering.
fn camera_bundle(
    spec: &super::CameraSpec,
    camera: Camera,
    msaa_samples: u32,
    fast_shadows: bool,
) -> impl Bundle + use<> {
    (
        Camera3d::default(),
        camera,
        Projection::Perspective(PerspectiveProjection {
            fov: spec.fov_degrees.to_radians(),
            ..default()
        }),
        tonemapping(spec.tonemapping),
        Exposure {
            ev100: spec.exposure_ev100,
        },
        msaa(msaa_samples),
        look(spec.position, spec.look_at),
        if fast_shadows {
            bevy::light::ShadowFilteringMethod::Hardware2x2
        } else {
            bevy::light::ShadowFilteringMethod::default()
        },
    )
}

/// A prop's file saved again is shown once its new version is in: the set is rebuilt
/// with it, in the frame before the first that draws it.
fn show_saved_versions(
    mut files: ResMut<super::GltfFiles>,
    server: Res<AssetServer>,
    mut settings: ResMut<ShowroomSettings>,
) {
    if files.show_loaded_versions(&server) {
        settings.set_changed();
    }
}

/// Builds the set (lights, shapes, props) from the scene, and again whenever the scene
/// changes (an edit, a reloaded file), replacing what was there.
fn build_set(
    mut commands: Commands,
    settings: Res<ShowroomSettings>,
    asset_server: Res<AssetServer>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut loaded: ResMut<ShowroomAssets>,
    mut files: ResMut<super::GltfFiles>,
    set: Query<Entity, With<SetPiece>>,
    adapter: Option<Res<bevy::render::renderer::RenderAdapterInfo>>,
) {
    if !settings.is_changed() {
        return;
    }
    let cascades = match settings.shadow_cascades {
        0 if on_cpu(adapter.as_deref()) => 1,
        0 => 4,
        n => n.clamp(1, 4) as usize,
    };
    for entity in &set {
        commands.entity(entity).despawn();
    }
    spawn_set(
        &mut commands,
        &settings,
        &mut meshes,
        &mut materials,
        cascades,
    );
    spawn_props(
        &mut commands,
        &settings,
        &asset_server,
        &mut files,
        &mut loaded,
    );
}

/// The scene's props, each waiting for its file ([`super::GltfScene`]): a file is loaded
/// once however many props show it ([`super::GltfFiles`]), and files no prop shows any
/// more are let go.
fn spawn_props(
    commands: &mut Commands,
    settings: &ShowroomSettings,
    asset_server: &AssetServer,
    files: &mut super::GltfFiles,
    loaded: &mut ShowroomAssets,
) {
    loaded.0.clear();
    let mut kept = Vec::new();
    for prop in &settings.scene.description.props {
        let file = settings.scene.asset_path(&prop.asset);
        let handle = files.load(asset_server, &bevy_asset_path(&loadable(&file)));
        kept.push(handle.id());
        loaded.0.push((prop.name.clone(), handle.clone().untyped()));
        commands.spawn((
            Name::new(prop.name.clone()),
            ShowroomEntity,
            SetPiece,
            super::GltfScene {
                file: handle,
                index: prop.scene,
                asset: prop.asset.clone(),
            },
            transform(&prop.transform),
        ));
    }
    files.keep_only(&kept);
}

/// Patches Bevy's lighting to the lean one where that is asked for or, by default, on a
/// CPU renderer; there, the lights are clustered on the CPU too.
fn choose_lighting(
    mut commands: Commands,
    settings: Res<ShowroomSettings>,
    adapter: Option<Res<bevy::render::renderer::RenderAdapterInfo>>,
) {
    use crate::config::Lighting;
    let lean = match settings.lighting {
        Lighting::Lean => true,
        Lighting::Full => false,
        Lighting::Auto => on_cpu(adapter.as_deref()),
    };
    if lean {
        commands.queue(super::lean_lighting::watch_lighting_library);
    }
    if on_cpu(adapter.as_deref()) {
        commands.queue(cluster_lights_on_the_cpu);
    }
}

/// Lights are assigned to the views' clusters on the CPU, as Bevy does where compute
/// shaders are missing. Its GPU clustering, on lavapipe, lit the spot-lit parts of some
/// frames about 2 % darker (a view's first ones among them; a held shot's backdrop drawn
/// in one kept it for the whole shot), and its raster and compute passes cost 5–9 ms a
/// frame there.
fn cluster_lights_on_the_cpu(world: &mut World) {
    use bevy::light::cluster::GlobalClusterSettings;
    if let Some(mut settings) = world.get_resource_mut::<GlobalClusterSettings>() {
        settings.gpu_clustering = None;
    }
}

/// Lights are assigned to the clusters of the cameras that draw this frame only. Bevy
/// assigns them for every 3D camera, drawing or not, and a show has one resting camera
/// per shot of its scene, and others that draw now and then (held shots' patch camera, the
/// on-air camera between backdrops): the demo's ten cameras spent about 2 ms of the main
/// thread on it every frame (docs/performance.md, "Lights clustered for the cameras
/// that draw"). Every 3D camera clusters with Bevy's default while it draws.
fn cluster_only_for_cameras_that_draw(mut cameras: Query<(&Camera, &mut ClusterConfig)>) {
    for (camera, mut config) in &mut cameras {
        let clustered = !matches!(*config, ClusterConfig::None);
        if clustered != camera.is_active {
            *config = match camera.is_active {
                true => ClusterConfig::default(),
                false => ClusterConfig::None,
            };
        }
    }
}

/// Whether Bevy renders on the CPU (Mesa's lavapipe), where every pixel and pass counts.
pub fn on_cpu(adapter: Option<&bevy::render::renderer::RenderAdapterInfo>) -> bool {
    // wgpu's DeviceType is not re-exported by Bevy; its name is stable.
    adapter.is_some_and(|a| format!("{:?}", a.device_type) == "Cpu")
}

fn spawn_set(
    commands: &mut Commands,
    settings: &ShowroomSettings,
    meshes: &mut Assets<Mesh>,
    materials: &mut Assets<StandardMaterial>,
    cascades: usize,
) {
    let scene = &settings.scene.description;
    let shadows = KeyShadows {
        allowed: settings.shadows,
        cascades,
        reach: shadow_reach(scene),
    };
    commands.insert_resource(ClearColor(srgb(scene.environment.clear_color)));
    commands.insert_resource(GlobalAmbientLight {
        color: srgb(scene.environment.ambient_color),
        brightness: scene.environment.ambient_brightness,
        ..default()
    });
    for light in &scene.lights {
        spawn_light(commands, light, &shadows);
    }

    for shape in &scene.shapes {
        let screen = scene.bindings.iter().any(|b| b.draws_text_on(&shape.name));
        let mut piece = commands.spawn((
            Name::new(shape.name.clone()),
            ShowroomEntity,
            SetPiece,
            Mesh3d(meshes.add(shape_mesh(&shape.shape, screen))),
            MeshMaterial3d(materials.add(material(&shape.material))),
            transform(&shape.transform),
        ));
        if !shape.cast_shadows {
            piece.insert(bevy::light::NotShadowCaster);
        }
    }
}

/// How lights cast shadows: whether the show allows them, and the directional light's
/// cascades and how far from the camera they reach.
struct KeyShadows {
    allowed: bool,
    cascades: usize,
    reach: f32,
}

/// How far from any of the scene's cameras its set reaches (the farthest corner of a
/// shape, props' origins with a margin), so the key light's shadow cascades cover the set
/// and no more: Bevy's default of 1 km spreads a single cascade's texels over the horizon.
pub fn shadow_reach(scene: &super::SceneDescription) -> f32 {
    let mut points: Vec<Vec3> = Vec::new();
    for shape in &scene.shapes {
        let t = transform(&shape.transform);
        if let Some(aabb) = bevy::camera::primitives::MeshAabb::compute_aabb(&mesh(&shape.shape)) {
            let (c, h) = (Vec3::from(aabb.center), Vec3::from(aabb.half_extents));
            points.extend(corners(c - h, c + h).map(|p| t.transform_point(p)));
        }
    }
    points.extend(
        scene
            .props
            .iter()
            .map(|p| transform(&p.transform).translation),
    );
    let reach = (scene.cameras.iter())
        .flat_map(|c| points.iter().map(|p| p.distance(Vec3::from(c.position))))
        .fold(0.0f32, f32::max);
    (reach + 2.0).clamp(10.0, 200.0)
}

/// The eight corners of the box from `min` to `max`.
pub fn corners(min: Vec3, max: Vec3) -> [Vec3; 8] {
    std::array::from_fn(|i| {
        Vec3::new(
            if i & 1 == 0 { min.x } else { max.x },
            if i & 2 == 0 { min.y } else { max.y },
            if i & 4 == 0 { min.z } else { max.z },
        )
    })
}

fn spawn_light(commands: &mut Commands, light: &LightSpec, key: &KeyShadows) {
    let shadows_allowed = key.allowed;
    match *light {
        LightSpec::Directional {
            color,
            illuminance,
            from,
            look_at,
            shadows,
        } => {
            commands.spawn((
                ShowroomEntity,
                SetPiece,
                DirectionalLight {
                    color: srgb(color),
                    illuminance,
                    shadow_maps_enabled: shadows && shadows_allowed,
                    ..default()
                },
                bevy::light::CascadeShadowConfigBuilder {
                    num_cascades: key.cascades,
                    maximum_distance: key.reach,
                    first_cascade_far_bound: match key.cascades {
                        1 => key.reach,
                        _ => (key.reach / 4.0).min(5.0),
                    },
                    ..default()
                }
                .build(),
                look(from, look_at),
            ));
        }
        LightSpec::Point {
            position,
            color,
            intensity,
            range,
            shadows,
        } => {
            commands.spawn((
                ShowroomEntity,
                SetPiece,
                PointLight {
                    color: srgb(color),
                    intensity,
                    range,
                    shadow_maps_enabled: shadows && shadows_allowed,
                    ..default()
                },
                Transform::from_translation(Vec3::from(position)),
            ));
        }
        LightSpec::Spot {
            position,
            look_at,
            color,
            intensity,
            range,
            inner_angle_degrees,
            outer_angle_degrees,
            shadows,
        } => {
            commands.spawn((
                ShowroomEntity,
                SetPiece,
                SpotLight {
                    color: srgb(color),
                    intensity,
                    range,
                    inner_angle: inner_angle_degrees.to_radians(),
                    outer_angle: outer_angle_degrees.to_radians(),
                    shadow_maps_enabled: shadows && shadows_allowed,
                    ..default()
                },
                look(position, look_at),
            ));
        }
    }
}

/// The file Bevy's glTF loader should read for a model: a plain copy of an optimised one
/// (see [`super::optimised`]), or a `.glb` link to a `.vrm` (a VRM file is a GLB, but the
/// loader only claims `.gltf` and `.glb`), or the file itself. Copies and links live in the
/// cache folder. A file that cannot be rewritten is logged and loaded as it is, so the
/// loader's own error (naming the extension it lacks) stops the start.
pub fn loadable(file: &Path) -> std::path::PathBuf {
    let cache = crate::voice::cache::default_dir();
    match super::optimised::plain_copy(file, &cache.with_file_name("models")) {
        Ok(Some(copy)) => return copy,
        Ok(None) => {}
        Err(e) => error!("{e}"),
    }
    let is_vrm = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("vrm"));
    if !is_vrm {
        return file.to_path_buf();
    }
    let dir = cache.with_file_name("vrm");
    let stem = file
        .file_stem()
        .map_or("avatar".into(), |s| s.to_string_lossy().into_owned());
    let hash = crate::voice::fnv1a(file.to_string_lossy().bytes());
    let link = dir.join(format!("{stem}-{hash:016x}.glb"));
    let linked = std::fs::create_dir_all(&dir).is_ok() && {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(file, &link).is_ok()
    };
    if linked {
        link
    } else {
        warn!("cannot link {} as .glb; loading it as is", file.display());
        file.to_path_buf()
    }
}

/// Bevy's asset server is rooted at `/` (see `runtime`), so an absolute path minus its
/// leading slash names any file on disk.
pub fn bevy_asset_path(file: &Path) -> String {
    let text = file.to_string_lossy().replace('\\', "/");
    text.trim_start_matches('/').to_string()
}

fn srgb(c: Rgb) -> Color {
    Color::srgb(c.0[0], c.0[1], c.0[2])
}

/// A shape's mesh. Only a twin screen's shape is textured (its text is drawn into a
/// texture once it is spawned); the others go without texture coordinates, so their
/// pipelines are built without Bevy's texture code: a standard material samples its
/// textures under a test of its flags that a CPU renderer cannot skip, Bevy's white
/// stand-ins for a flat colour included (docs/performance.md, "Textures no shape has").
fn shape_mesh(shape: &Shape, screen: bool) -> Mesh {
    let mesh = mesh(shape);
    if screen {
        mesh
    } else {
        mesh.with_removed_attribute(Mesh::ATTRIBUTE_UV_0)
    }
}

fn mesh(shape: &Shape) -> Mesh {
    match *shape {
        Shape::Plane { width, depth } => Plane3d::default().mesh().size(width, depth).build(),
        Shape::Box {
            width,
            height,
            depth,
        } => Cuboid::new(width, height, depth).into(),
        Shape::Cylinder { radius, height } => {
            Cylinder::new(radius, height).mesh().resolution(48).build()
        }
        Shape::Sphere { radius } => Sphere::new(radius).mesh().uv(48, 24),
    }
}

fn material(spec: &MaterialSpec) -> StandardMaterial {
    let emissive = spec
        .emissive
        .map(|c| LinearRgba::from(srgb(c)) * spec.emissive_strength)
        .unwrap_or(LinearRgba::BLACK);
    StandardMaterial {
        base_color: srgb(spec.color),
        perceptual_roughness: spec.roughness,
        metallic: spec.metallic,
        unlit: spec.unlit,
        emissive,
        ..default()
    }
}

pub fn transform(spec: &TransformSpec) -> Transform {
    let [x, y, z] = spec.rotation_degrees.map(f32::to_radians);
    Transform {
        translation: Vec3::from(spec.translation),
        rotation: Quat::from_euler(EulerRot::YXZ, y, x, z),
        scale: Vec3::from(spec.scale),
    }
}

/// A transform at `from` facing `to`, with a sane up vector even when looking straight down.
fn look(from: [f32; 3], to: [f32; 3]) -> Transform {
    let from = Vec3::from(from);
    let dir = (Vec3::from(to) - from).normalize_or_zero();
    let up = if dir.cross(Vec3::Y).length_squared() < 1e-6 {
        Vec3::Z
    } else {
        Vec3::Y
    };
    Transform::from_translation(from).looking_at(Vec3::from(to), up)
}

/// Bevy's tone mapping for a scene's name of it.
pub fn tonemapping(t: ToneMapping) -> Tonemapping {
    match t {
        ToneMapping::None => Tonemapping::None,
        ToneMapping::Reinhard => Tonemapping::Reinhard,
        ToneMapping::AcesFitted => Tonemapping::AcesFitted,
        ToneMapping::AgX => Tonemapping::AgX,
        ToneMapping::TonyMcMapface => Tonemapping::TonyMcMapface,
        ToneMapping::BlenderFilmic => Tonemapping::BlenderFilmic,
        ToneMapping::KhronosPbrNeutral => Tonemapping::KhronosPbrNeutral,
    }
}

/// The most samples up to `wanted` that the renderer draws with: a count the adapter does
/// not support for a camera's textures is a validation error that stops the app (lavapipe
/// supports 1 and 4 only, so `render.msaa = 2` or `8` stopped the show).
fn fitting_samples(wanted: u32, supported: impl Fn(u32) -> bool) -> u32 {
    [8, 4, 2]
        .into_iter()
        .filter(|&n| n <= wanted)
        .find(|&n| supported(n))
        .unwrap_or(1)
}

/// Whether the adapter multisamples a camera's colour and depth textures `samples` times.
fn samples_supported(adapter: &bevy::render::renderer::RenderAdapter, samples: u32) -> bool {
    use bevy::render::render_resource::TextureFormat;
    // A camera's main texture (no camera here is HDR) and its depth.
    let formats = [
        TextureFormat::Rgba8UnormSrgb,
        bevy::core_pipeline::core_3d::CORE_3D_DEPTH_FORMAT,
    ];
    formats.into_iter().all(|format| {
        let features = adapter.get_texture_format_features(format);
        features.flags.sample_count_supported(samples)
    })
}

fn msaa(samples: u32) -> Msaa {
    match samples {
        1 => Msaa::Off,
        2 => Msaa::Sample2,
        8 => Msaa::Sample8,
        _ => Msaa::Sample4,
    }
}

#[cfg(test)]
mod tests {
    use super::{cluster_only_for_cameras_that_draw, fitting_samples, shape_mesh};
    use crate::scene::{BindingShow, BindingSpec, Rgb, Shape};
    use bevy::ecs::system::RunSystemOnce;
    use bevy::light::cluster::ClusterConfig;
    use bevy::prelude::*;

    /// A resting camera's lights are not clustered; once it draws they are, with Bevy's
    /// default, and not again once it rests.
    #[test]
    fn lights_are_clustered_for_the_cameras_that_draw() {
        let mut world = World::new();
        let camera = |is_active| {
            let camera = Camera {
                is_active,
                ..default()
            };
            (camera, ClusterConfig::default())
        };
        let drawing = world.spawn(camera(true)).id();
        let resting = world.spawn(camera(false)).id();
        let clustered = |world: &mut World| {
            world
                .run_system_once(cluster_only_for_cameras_that_draw)
                .unwrap();
            [drawing, resting].map(|e| {
                let config = world.get::<ClusterConfig>(e).unwrap();
                !matches!(config, ClusterConfig::None)
            })
        };
        assert_eq!(clustered(&mut world), [true, false]);
        world.get_mut::<Camera>(resting).unwrap().is_active = true;
        world.get_mut::<Camera>(drawing).unwrap().is_active = false;
        assert_eq!(clustered(&mut world), [false, true]);
        let config = world.get::<ClusterConfig>(resting).unwrap();
        assert!(
            matches!(config, ClusterConfig::FixedZ { total: 4096, .. }),
            "{config:?}"
        );
    }

    #[test]
    fn msaa_falls_back_to_the_most_samples_the_renderer_has() {
        let lavapipe = |n| n == 4;
        assert_eq!(fitting_samples(4, lavapipe), 4);
        assert_eq!(fitting_samples(8, lavapipe), 4);
        assert_eq!(fitting_samples(2, lavapipe), 1);
        assert_eq!(fitting_samples(1, lavapipe), 1);
        assert_eq!(fitting_samples(8, |_| true), 8);
        assert_eq!(fitting_samples(2, |_| true), 2);
        assert_eq!(fitting_samples(8, |_| false), 1);
    }

    /// A twin screen's shape keeps its texture coordinates (its text is drawn into a
    /// texture); the others are built without, and only a text binding makes a screen.
    #[test]
    fn only_a_shape_text_is_drawn_on_has_texture_coordinates() {
        let binding = |show| BindingSpec {
            target: "screen".into(),
            value: "line.rate".into(),
            show,
        };
        let text = binding(BindingShow::Text {
            format: "{value}".into(),
            color: Rgb::from_bytes(255, 255, 255),
            background: Rgb::from_bytes(0, 0, 0),
            size: 30.0,
        });
        assert!(text.draws_text_on("screen"));
        assert!(!text.draws_text_on("wall"));
        assert!(!binding(BindingShow::Visible).draws_text_on("screen"));
        let panel = Shape::Box {
            width: 1.6,
            height: 0.9,
            depth: 0.05,
        };
        let uvs = |screen| {
            shape_mesh(&panel, screen)
                .attribute(Mesh::ATTRIBUTE_UV_0)
                .is_some()
        };
        assert!(uvs(true));
        assert!(!uvs(false));
    }
}
