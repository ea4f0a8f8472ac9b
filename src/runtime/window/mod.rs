//! The windowed base shared by `preview` and `edit`: the showroom in a winit window with
//! the viewer's controls (orbit, fly, the scene's cameras on the number keys) and an
//! optional input script, played through the same input paths as a person's so a window
//! can be driven and checked under Xvfb.

mod script;

pub use script::{AppCommands, Command, Script};

use super::RunError;
use crate::config::ShowConfig;
use crate::scene::{ActiveCamera, LoadedScene, ShowroomSettings};
use crate::stage::MediaTime;
use bevy::asset::AssetPlugin;
use bevy::camera_controller::free_camera::{FreeCamera, FreeCameraPlugin};
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy::window::{ExitCondition, WindowResolution};
use script::play_script;
use tracing::info;

/// Where a window app's scripted input comes from.
#[derive(Default, Clone, Copy)]
pub struct WindowInput<'a> {
    /// A script of input to play (see [`Command`]).
    pub script: Option<&'a std::path::Path>,
    /// Words the app itself understands in a script (the editor's commands); lines that
    /// start with one are queued in [`AppCommands`] for the app.
    pub app_verbs: &'a [&'a str],
}

/// The showroom in a window with the viewer's controls and an optional input script:
/// what `preview` runs, and what `edit` adds its tools to.
pub fn window_app(
    show: &ShowConfig,
    scene: LoadedScene,
    input: WindowInput,
    title: &str,
) -> Result<App, RunError> {
    let script = match input.script {
        Some(path) => Script::load(path, input.app_verbs).map_err(RunError::Script)?,
        None => Script::default(),
    };
    let twin = (!scene.description.feeds.is_empty()).then(|| crate::twin::TwinFeeds::start(&scene));
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(AssetPlugin {
                file_path: "/".into(),
                ..default()
            })
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: title.to_string(),
                    resolution: WindowResolution::new(show.video.width, show.video.height),
                    ..default()
                }),
                exit_condition: ExitCondition::OnPrimaryClosed,
                ..default()
            })
            .set(bevy::render::RenderPlugin {
                // No black first frames while pipelines compile.
                synchronous_pipeline_compilation: true,
                ..default()
            })
            .add_after::<bevy::render::RenderPlugin>(crate::scene::CpuBatchingPlugin)
            .add_before::<AssetPlugin>(crate::scene::VersionedFilesPlugin)
            .disable::<LogPlugin>(),
    );
    super::app::add_show_plugins(
        &mut app,
        show,
        scene,
        super::app::Targets::default(),
        show.plan.overlay.clone(),
    )?;
    app.add_plugins(FreeCameraPlugin);
    app.insert_resource(MediaTime(0.0))
        .insert_resource(script)
        .insert_resource(Viewer::default())
        .init_resource::<AppCommands>()
        .add_systems(First, follow_the_clock)
        .add_systems(PreUpdate, play_script.after(bevy::input::InputSystems))
        .add_systems(Update, (choose_camera, orbit).chain());
    if let Some(twin) = twin {
        app.insert_resource(Feeds(twin))
            .add_systems(First, read_feeds);
    }
    Ok(app)
}

#[derive(Resource)]
struct Feeds(crate::twin::TwinFeeds);

fn read_feeds(feeds: Res<Feeds>, mut commands: Commands) {
    commands.insert_resource(crate::twin::TwinNow(feeds.0.snapshot()));
}

/// The presenter's clock is the window's: it idles and blinks in real time.
pub fn follow_the_clock(time: Res<Time>, mut media: ResMut<MediaTime>) {
    media.0 = time.elapsed_secs_f64();
}

/// How the viewer moves: orbiting a point, or flying.
#[derive(Resource, Default)]
struct Viewer {
    flying: bool,
    /// The point orbited, and the distance to it.
    focus: Option<(Vec3, f32)>,
}

const CAMERA_KEYS: [KeyCode; 9] = [
    KeyCode::Digit1,
    KeyCode::Digit2,
    KeyCode::Digit3,
    KeyCode::Digit4,
    KeyCode::Digit5,
    KeyCode::Digit6,
    KeyCode::Digit7,
    KeyCode::Digit8,
    KeyCode::Digit9,
];

/// Number keys jump to the scene's cameras; Tab switches orbit and fly; Esc quits.
fn choose_camera(
    keys: Res<ButtonInput<KeyCode>>,
    settings: Res<ShowroomSettings>,
    mut viewer: ResMut<Viewer>,
    mut camera: Query<(Entity, &mut Transform, &mut Projection), With<ActiveCamera>>,
    mut commands: Commands,
    mut exit: MessageWriter<AppExit>,
) {
    if keys.just_pressed(KeyCode::Escape) {
        exit.write(AppExit::Success);
    }
    let Ok((entity, mut transform, mut projection)) = camera.single_mut() else {
        return;
    };
    let cameras = &settings.scene.description.cameras;
    for (i, key) in CAMERA_KEYS.iter().enumerate() {
        if keys.just_pressed(*key)
            && let Some(spec) = cameras.get(i)
        {
            let position = Vec3::from(spec.position);
            let look_at = Vec3::from(spec.look_at);
            *transform = Transform::from_translation(position).looking_at(look_at, Vec3::Y);
            if let Projection::Perspective(p) = &mut *projection {
                p.fov = spec.fov_degrees.to_radians();
            }
            viewer.focus = Some((look_at, position.distance(look_at)));
            info!("preview: camera {}: {}", i + 1, spec.name);
        }
    }
    if keys.just_pressed(KeyCode::Tab) {
        viewer.flying = !viewer.flying;
        if viewer.flying {
            commands.entity(entity).insert(FreeCamera::default());
        } else {
            commands.entity(entity).remove::<FreeCamera>();
            viewer.focus = None;
        }
        info!(
            "preview: {} camera",
            if viewer.flying { "fly" } else { "orbit" }
        );
    }
}

/// Left-drag turns the camera around the point it looks at; the wheel moves it closer.
fn orbit(
    mut viewer: ResMut<Viewer>,
    keys: Res<ButtonInput<KeyCode>>,
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    mut camera: Query<&mut Transform, With<ActiveCamera>>,
) {
    // Shift+drag belongs to the editor (moving the selection).
    if viewer.flying || keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]) {
        return;
    }
    let Ok(mut transform) = camera.single_mut() else {
        return;
    };
    let (focus, distance) = *viewer
        .focus
        .get_or_insert_with(|| (transform.translation + transform.forward() * 5.0, 5.0));
    let turn = if buttons.pressed(MouseButton::Left) {
        motion.delta * 0.005
    } else {
        Vec2::ZERO
    };
    let zoom = (1.0 - scroll.delta.y * 0.1).clamp(0.5, 2.0);
    if turn == Vec2::ZERO && zoom == 1.0 {
        return;
    }
    let offset = transform.translation - focus;
    let yaw = Quat::from_rotation_y(-turn.x);
    let right = transform.right();
    let pitch = Quat::from_axis_angle(*right, -turn.y);
    let mut offset = pitch * yaw * offset;
    // Never over the top: keep the camera off the vertical.
    if offset.normalize().y.abs() > 0.98 {
        offset = yaw * (transform.translation - focus);
    }
    let distance = (distance * zoom).clamp(0.3, 100.0);
    let offset = offset.normalize() * distance;
    transform.translation = focus + offset;
    transform.look_at(focus, Vec3::Y);
    viewer.focus = Some((focus, distance));
}
