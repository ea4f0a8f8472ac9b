//! `twincast preview`: the showroom in a window, for a marketer walking a client through
//! it on a laptop. The host idles and gestures, the twin's screens show live data, and the
//! viewer moves freely: orbit (drag to turn, wheel to zoom), fly (Tab; WASD + mouse), and
//! the number keys jump to the scene's cameras.
//!
//! `--commands FILE` plays a script of input (keys, waits, screenshots) through the same
//! input paths as a person's, so the window can be driven and checked under Xvfb.

use crate::config::ShowConfig;
use crate::presenter::{MediaTime, PreparedMotion, PresenterPlugin};
use crate::runtime::RunError;
use crate::scene::{ActiveCamera, LoadedScene, ShowroomPlugin, ShowroomSettings};
use bevy::asset::AssetPlugin;
use bevy::camera_controller::free_camera::{FreeCamera, FreeCameraPlugin};
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::{ExitCondition, WindowResolution};
use std::collections::VecDeque;
use std::path::PathBuf;
use tracing::{info, warn};

mod live;

pub struct PreviewOptions {
    pub show: ShowConfig,
    /// Run the show itself (rundown, voice, graphics, camera work, sound), not just the room.
    pub live: bool,
    /// A script of input to play (see [`Command`]).
    pub commands: Option<PathBuf>,
}

/// Opens the window and runs until it is closed (or the script says `quit`).
pub fn run(options: PreviewOptions) -> Result<(), RunError> {
    let scene = LoadedScene::load(&options.show.scene)?;
    let title = format!("twincast preview — {}", options.show.name);
    let mut app = window_app(&options.show, scene, options.commands.as_deref(), &title)?;
    if options.live {
        live::add_show(&mut app, &options.show)?;
    }
    info!("preview: 1–9 scene cameras, Tab fly/orbit, drag to turn, wheel to zoom, Esc quits");
    app.run();
    Ok(())
}

/// The showroom in a window with the viewer's controls and an optional input script:
/// what `preview` runs, and what `edit` adds its tools to.
pub(crate) fn window_app(
    show: &ShowConfig,
    scene: LoadedScene,
    commands: Option<&std::path::Path>,
    title: &str,
) -> Result<App, RunError> {
    let motion = PreparedMotion::prepare(&scene)?;
    let script = match commands {
        Some(path) => Script::load(path).map_err(RunError::Scene)?,
        None => Script::default(),
    };
    let twin = (!scene.description.feeds.is_empty()).then(|| crate::twin::TwinFeeds::start(&scene));
    let twin_plugin = crate::twin::TwinPlugin::new(&scene);
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
            .disable::<LogPlugin>(),
    );
    app.add_plugins(ShowroomPlugin {
        settings: ShowroomSettings {
            scene,
            camera: show.camera.clone(),
            msaa: show.render.msaa,
            shadows: show.render.shadows,
            target: None,
        },
    });
    app.add_plugins((
        PresenterPlugin,
        FreeCameraPlugin,
        twin_plugin,
        crate::show::OverlayPlugin {
            settings: crate::show::OverlaySettings {
                config: show.plan.overlay.clone(),
                shop: show.plan.shop.clone(),
            },
        },
    ));
    app.insert_resource(motion)
        .insert_resource(MediaTime(0.0))
        .insert_resource(script)
        .insert_resource(Viewer::default())
        .init_resource::<EditQueue>()
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
fn follow_the_clock(time: Res<Time>, mut media: ResMut<MediaTime>) {
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

/// One step of a preview script.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Do nothing for this many frames.
    Wait(u32),
    /// Press and release a key (`Digit2`, `Tab`, `KeyW`, `Escape` …).
    Key(KeyCode),
    /// Drag with the left button by this many pixels.
    Drag(f32, f32),
    /// Keep a key down (`hold ShiftLeft`) until `release`.
    Hold(KeyCode),
    Release(KeyCode),
    /// Save the window's picture as a binary PPM.
    Screenshot(PathBuf),
    /// An editor command (`select`, `move`, `rotate`, `scale`, `color`, `light`, `add`,
    /// `remove`, `undo`, `redo`, `save`), handed to the editor as written.
    Edit(String),
    Quit,
}

/// Editor commands a script may hold, queued for the editor (ignored by `preview`).
#[derive(Resource, Debug, Default)]
pub struct EditQueue(pub VecDeque<String>);

const EDIT_WORDS: [&str; 11] = [
    "select", "move", "rotate", "scale", "color", "light", "add", "remove", "undo", "redo", "save",
];

/// The script being played.
#[derive(Resource, Debug, Default)]
pub struct Script {
    steps: VecDeque<Command>,
    waiting: u32,
    release: Option<KeyCode>,
    release_mouse: bool,
    /// Screenshots asked for and not yet written.
    pending: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Script {
    /// Reads a script: one command a line (`wait 10`, `key Digit2`, `drag 40 0`,
    /// `screenshot out.ppm`, `quit`, editor commands); a line starting with `#` is a
    /// comment. Errors name the line.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Self::parse(&text).map_err(|(line, e)| format!("{}:{line}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut steps = VecDeque::new();
        for (i, line) in text.lines().enumerate() {
            // A line starting with `#` is a comment (`#rrggbb` colours are arguments).
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
            let rest = rest.trim();
            let bad = |e: &str| (i + 1, format!("{e}: `{line}`"));
            steps.push_back(match word {
                "wait" => Command::Wait(rest.parse().map_err(|_| bad("frames expected"))?),
                "key" => Command::Key(key_code(rest).ok_or_else(|| bad("unknown key"))?),
                "hold" => Command::Hold(key_code(rest).ok_or_else(|| bad("unknown key"))?),
                "release" => Command::Release(key_code(rest).ok_or_else(|| bad("unknown key"))?),
                "drag" => {
                    let mut it = rest.split_whitespace().map(str::parse::<f32>);
                    match (it.next(), it.next()) {
                        (Some(Ok(x)), Some(Ok(y))) => Command::Drag(x, y),
                        _ => return Err(bad("two numbers expected")),
                    }
                }
                "screenshot" if !rest.is_empty() => Command::Screenshot(rest.into()),
                "quit" => Command::Quit,
                w if EDIT_WORDS.contains(&w) => Command::Edit(line.to_string()),
                _ => {
                    return Err(bad(
                        "unknown command (wait, key, drag, screenshot, quit, or an editor command)",
                    ));
                }
            });
        }
        Ok(Self {
            steps,
            ..Self::default()
        })
    }
}

fn key_code(name: &str) -> Option<KeyCode> {
    Some(match name {
        "Tab" => KeyCode::Tab,
        "Escape" => KeyCode::Escape,
        "Space" => KeyCode::Space,
        "KeyW" => KeyCode::KeyW,
        "KeyA" => KeyCode::KeyA,
        "KeyS" => KeyCode::KeyS,
        "KeyD" => KeyCode::KeyD,
        "KeyQ" => KeyCode::KeyQ,
        "KeyE" => KeyCode::KeyE,
        "KeyC" => KeyCode::KeyC,
        "KeyP" => KeyCode::KeyP,
        "ArrowLeft" => KeyCode::ArrowLeft,
        "ArrowRight" => KeyCode::ArrowRight,
        "ArrowUp" => KeyCode::ArrowUp,
        "ArrowDown" => KeyCode::ArrowDown,
        "PageUp" => KeyCode::PageUp,
        "PageDown" => KeyCode::PageDown,
        "Delete" => KeyCode::Delete,
        "ShiftLeft" => KeyCode::ShiftLeft,
        "ControlLeft" => KeyCode::ControlLeft,
        "KeyZ" => KeyCode::KeyZ,
        "KeyY" => KeyCode::KeyY,
        d if d.starts_with("Digit") => {
            let n: usize = d[5..].parse().ok()?;
            *CAMERA_KEYS.get(n.checked_sub(1)?)?
        }
        _ => return None,
    })
}

/// Feeds the script into Bevy's input state, after the real input of this frame.
fn play_script(
    mut script: ResMut<Script>,
    mut keys: ResMut<ButtonInput<KeyCode>>,
    mut buttons: ResMut<ButtonInput<MouseButton>>,
    mut motion: ResMut<AccumulatedMouseMotion>,
    mut commands: Commands,
    mut exit: MessageWriter<AppExit>,
    mut edits: ResMut<EditQueue>,
) {
    if let Some(key) = script.release.take() {
        keys.release(key);
    }
    if std::mem::take(&mut script.release_mouse) {
        buttons.release(MouseButton::Left);
    }
    if script.waiting > 0 {
        script.waiting -= 1;
        return;
    }
    let Some(step) = script.steps.pop_front() else {
        return;
    };
    match step {
        Command::Wait(frames) => script.waiting = frames,
        Command::Key(key) => {
            keys.press(key);
            script.release = Some(key);
        }
        Command::Hold(key) => keys.press(key),
        Command::Release(key) => keys.release(key),
        Command::Drag(x, y) => {
            buttons.press(MouseButton::Left);
            motion.delta = Vec2::new(x, y);
            script.release_mouse = true;
        }
        Command::Screenshot(path) => {
            let pending = script.pending.clone();
            pending.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            commands.spawn(Screenshot::primary_window()).observe(
                move |shot: On<ScreenshotCaptured>| {
                    match write_ppm(&path, &shot.image) {
                        Ok(()) => info!("preview: screenshot {}", path.display()),
                        Err(e) => warn!("preview: screenshot {}: {e}", path.display()),
                    }
                    pending.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                },
            );
        }
        Command::Edit(line) => edits.0.push_back(line),
        Command::Quit => {
            if script.pending.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                // Screenshots still on their way: ask again next frame.
                script.steps.push_front(Command::Quit);
            } else {
                exit.write(AppExit::Success);
            }
        }
    }
}

/// Writes RGB from an 8-bit RGBA or BGRA image.
fn write_ppm(path: &std::path::Path, image: &Image) -> std::io::Result<()> {
    use bevy::render::render_resource::TextureFormat;
    let (w, h) = (image.width(), image.height());
    let bgra = matches!(
        image.texture_descriptor.format,
        TextureFormat::Bgra8Unorm | TextureFormat::Bgra8UnormSrgb
    );
    let data = image.data.as_deref().unwrap_or(&[]);
    let mut out = format!("P6\n{w} {h}\n255\n").into_bytes();
    for px in data.chunks_exact(4).take((w * h) as usize) {
        if bgra {
            out.extend_from_slice(&[px[2], px[1], px[0]]);
        } else {
            out.extend_from_slice(&px[..3]);
        }
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_and_errors_name_the_line() {
        let s = Script::parse(
            "# look around\nwait 5\nkey Digit2\ndrag 40 -3\nscreenshot a.ppm\nquit\n",
        )
        .unwrap();
        assert_eq!(
            s.steps,
            [
                Command::Wait(5),
                Command::Key(KeyCode::Digit2),
                Command::Drag(40.0, -3.0),
                Command::Screenshot("a.ppm".into()),
                Command::Quit
            ]
        );
        assert_eq!(Script::parse("wait 1\nkey Digit0").unwrap_err().0, 2);
        assert_eq!(Script::parse("jump").unwrap_err().0, 1);
    }
}
