//! Bindings in the Bevy world: text drawn into a screen's texture (Bevy UI rendered to an
//! image), colours by state, visibility, and spin, all from the latest feed snapshot.

use super::{FeedNow, display, lookup};
use crate::scene::{BindingShow, BindingSpec, GltfScene, ShowroomEntity, ShowroomSettings};
use crate::stage::MediaTime;
use bevy::camera::{ClearColorConfig, RenderTarget};
use bevy::gltf::Gltf;
use bevy::prelude::*;
use bevy::render::render_resource::TextureFormat;
use bevy::text::FontSize;
use std::collections::HashMap;

/// The feeds as of this frame (written by the render loop).
#[derive(Resource, Debug, Clone, Default)]
pub struct TwinNow(pub HashMap<String, FeedNow>);

pub struct TwinPlugin {
    pub bindings: Vec<BindingSpec>,
    /// Each prop's animations' names, in its file's order, for `Animation`.
    pub props: HashMap<String, Vec<String>>,
    /// Texture size of each shape text is drawn on, in the shape's own proportions.
    pub screens: HashMap<String, (u32, u32)>,
}

impl TwinPlugin {
    pub fn new(scene: &crate::scene::LoadedScene) -> Self {
        let props = scene
            .description
            .props
            .iter()
            .map(|p| {
                let file = scene.asset_path(&p.asset);
                let names = crate::mocap::skeleton::animation_names(&file).unwrap_or_default();
                (p.name.clone(), names)
            })
            .collect();
        let screens = scene
            .description
            .shapes
            .iter()
            .map(|s| (s.name.clone(), screen_size(&s.shape)))
            .collect();
        Self {
            bindings: scene.description.bindings.clone(),
            props,
            screens,
        }
    }
}

/// A texture as high as [`SCREEN_HEIGHT`] with the face's proportions (a 7 m × 1.1 m banner
/// gets a wide one, so its letters are not stretched); 16:9 for shapes without a flat face.
fn screen_size(shape: &crate::scene::Shape) -> (u32, u32) {
    use crate::scene::Shape;
    let aspect = match shape {
        Shape::Box { width, height, .. } => width / height,
        Shape::Plane { width, depth } => width / depth,
        _ => 16.0 / 9.0,
    };
    let aspect = if aspect.is_finite() {
        aspect
    } else {
        16.0 / 9.0
    };
    let width = ((SCREEN_HEIGHT as f32 * aspect / 2.0).round() as u32 * 2).clamp(64, 2048);
    (width, SCREEN_HEIGHT)
}

#[derive(Resource)]
struct PropFiles(HashMap<String, Vec<String>>);

/// An animation player driven by binding `n`, playing graph node `node`.
#[derive(Component)]
struct DrivenBy {
    binding: usize,
    node: AnimationNodeIndex,
}

#[derive(Resource)]
struct Bindings(Vec<BindingSpec>);

/// The text of binding `n`, drawn on its screen.
#[derive(Component)]
struct ScreenText(usize);

/// Pixel height of a screen's texture.
const SCREEN_HEIGHT: u32 = 288;

#[derive(Resource)]
struct ScreenSizes(HashMap<String, (u32, u32)>);

impl Plugin for TwinPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Bindings(self.bindings.clone()))
            .insert_resource(PropFiles(self.props.clone()))
            .insert_resource(ScreenSizes(self.screens.clone()))
            .init_resource::<TwinNow>()
            .init_resource::<crate::stage::ScreensChanged>()
            .add_systems(
                Update,
                (
                    follow_the_scenes_bindings.run_if(resource_changed::<ShowroomSettings>),
                    set_up_screens,
                    apply_bindings,
                    draw_changed_screens,
                    drive_animations,
                    set_animation_speeds,
                )
                    .chain(),
            );
    }
}

/// A scene edit brings its bindings with it: the set is rebuilt from the edited scene, and
/// its screens, colours, visibility and animations follow the edited bindings. (Its feeds
/// are taken by the running `TwinFeeds`, outside the world.)
fn follow_the_scenes_bindings(
    settings: Res<ShowroomSettings>,
    mut bindings: ResMut<Bindings>,
    mut props: ResMut<PropFiles>,
    mut screens: ResMut<ScreenSizes>,
) {
    let edited = TwinPlugin::new(&settings.scene);
    bindings.0 = edited.bindings;
    props.0 = edited.props;
    screens.0 = edited.screens;
}

fn srgb(c: crate::scene::Rgb) -> Color {
    Color::srgb(c.0[0], c.0[1], c.0[2])
}

/// A shape that already has its screen.
#[derive(Component)]
struct ScreenReady;

/// The camera and UI drawing a screen, and the shape they draw for.
#[derive(Component)]
struct ScreenOf(Entity);

/// A screen's camera draws only when its text changed: a screen's picture stays in its
/// texture, and on a CPU renderer every extra pass costs frame rate.
#[derive(Component)]
struct ScreenCamera {
    binding: usize,
    /// Frames still to draw (a first draw can be lost, see [`REDRAW_EVERY`]).
    frames_left: u8,
}

/// How often every screen is drawn again even when its text did not change: a first draw
/// can be lost while the screen's image is still being set up on the GPU (seen in a window,
/// where screens stayed black), and one frame every few seconds costs nothing.
const REDRAW_EVERY: f32 = 2.0;

/// Switches screen cameras on for a few frames after their text changed (and briefly every
/// [`REDRAW_EVERY`] seconds), off otherwise; and tells held shots which screens show
/// something new ([`crate::stage::ScreensChanged`]).
fn draw_changed_screens(
    texts: Query<&ScreenText, Or<(Changed<Text>, Changed<TextColor>)>>,
    laid_out: Query<&ScreenText, Changed<bevy::text::TextLayoutInfo>>,
    mut cameras: Query<(&mut ScreenCamera, &mut Camera, &ScreenOf)>,
    time: Res<Time>,
    mut since_redraw: Local<f32>,
    mut news_last_frame: Local<Vec<usize>>,
    mut changed: ResMut<crate::stage::ScreensChanged>,
) {
    *since_redraw += time.delta_secs();
    let redraw = *since_redraw >= REDRAW_EVERY;
    if redraw {
        *since_redraw = 0.0;
    }
    let news: Vec<usize> = texts.iter().map(|t| t.0).collect();
    // A held shot's set shows the screens: each is drawn again on the frame its new text
    // is laid out and drawn (Bevy lays text out after this, and draws it that frame), and
    // on the next where a layout landed late; not again for the news of the frame before.
    let late: Vec<usize> = (laid_out.iter())
        .map(|t| t.0)
        .filter(|b| !news_last_frame.contains(b))
        .collect();
    changed.0.clear();
    for (mut screen, mut camera, shape) in &mut cameras {
        let new = news.contains(&screen.binding);
        if new {
            screen.frames_left = 3;
        } else if redraw {
            screen.frames_left = screen.frames_left.max(2);
        }
        if new || late.contains(&screen.binding) {
            changed.0.push(shape.0);
        }
        let on = screen.frames_left > 0;
        if camera.is_active != on {
            camera.is_active = on;
        }
        screen.frames_left = screen.frames_left.saturating_sub(1);
    }
    *news_last_frame = news;
}

/// Gives every text-bound shape a texture that a small UI renders into (again after the
/// set is rebuilt by an edit), and clears screens whose shape is gone.
fn set_up_screens(
    mut commands: Commands,
    bindings: Res<Bindings>,
    shapes: Query<
        (Entity, &Name, &MeshMaterial3d<StandardMaterial>),
        (With<ShowroomEntity>, Without<ScreenReady>),
    >,
    drawers: Query<(Entity, &ScreenOf)>,
    alive: Query<(), With<ShowroomEntity>>,
    sizes: Res<ScreenSizes>,
    mut images: ResMut<Assets<Image>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    for (drawer, of) in &drawers {
        if !alive.contains(of.0) {
            commands.entity(drawer).despawn();
        }
    }
    for (i, binding) in bindings.0.iter().enumerate() {
        let Some((shape, _, material)) = shapes.iter().find(|(_, n, _)| binding.draws_text_on(n))
        else {
            continue;
        };
        commands.entity(shape).insert(ScreenReady);
        let (width, height) = (sizes.0.get(&binding.target)).map_or((512, SCREEN_HEIGHT), |s| *s);
        let image = images.add(Image::new_target_texture(
            width,
            height,
            TextureFormat::Rgba8UnormSrgb,
            None,
        ));
        spawn_screen(&mut commands, (i, binding), shape, image.clone());
        if let Some(mut m) = materials.get_mut(&material.0) {
            show_on_screen(&mut m, image);
        }
    }
}

/// Screen `i`'s drawer for `shape`: a 2D camera rendering into `image`, before the
/// cameras that show it, in the binding's background colour, and a UI of one centred
/// line of text in its colour and size.
fn spawn_screen(
    commands: &mut Commands,
    (i, binding): (usize, &BindingSpec),
    shape: Entity,
    image: Handle<Image>,
) {
    let BindingShow::Text {
        color,
        background,
        size,
        ..
    } = &binding.show
    else {
        return;
    };
    let camera = commands
        .spawn((
            Camera2d,
            Camera {
                order: -1 - i as isize,
                clear_color: ClearColorConfig::Custom(srgb(*background)),
                ..default()
            },
            RenderTarget::Image(image.into()),
            ScreenOf(shape),
            ScreenCamera {
                binding: i,
                frames_left: 3,
            },
        ))
        .id();
    commands
        .spawn((
            ScreenOf(shape),
            UiTargetCamera(camera),
            Node {
                width: Val::Percent(100.0),
                height: Val::Percent(100.0),
                justify_content: JustifyContent::Center,
                align_items: AlignItems::Center,
                ..default()
            },
        ))
        .with_child((
            ScreenText(i),
            Text::new(""),
            TextFont::from_font_size(FontSize::Vh(size.clamp(1.0, 100.0))),
            TextColor(srgb(*color)),
            TextLayout::justify(Justify::Center),
        ));
}

/// A shape's material made a screen showing `image`: unlit (what it shows is not shaded
/// by the room), the texture the right way up.
fn show_on_screen(m: &mut StandardMaterial, image: Handle<Image>) {
    m.base_color = Color::WHITE;
    m.base_color_texture = Some(image);
    // A box's faces map the texture bottom-up; a render target is stored top-down.
    m.uv_transform = bevy::math::Affine2::from_scale_angle_translation(
        Vec2::new(1.0, -1.0),
        0.0,
        Vec2::new(0.0, 1.0),
    );
    m.emissive = LinearRgba::BLACK;
    m.unlit = true;
}

/// Shown for a value that never arrived.
const NO_VALUE: &str = "–";

fn truthy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        serde_json::Value::String(s) => !s.is_empty() && s != "false" && s != "0",
        serde_json::Value::Null => false,
        _ => true,
    }
}

/// Long on purpose: one arm per binding kind (text, colour, visibility, spin, animation speed), each a few lines.
fn apply_bindings(
    twin: Res<TwinNow>,
    bindings: Res<Bindings>,
    time: Option<Res<MediaTime>>,
    objects: Query<(Entity, &Name), With<ShowroomEntity>>,
    mut texts: Query<(&ScreenText, &mut Text, &mut TextColor)>,
    shapes: Query<&MeshMaterial3d<StandardMaterial>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut visibility: Query<&mut Visibility>,
    mut transforms: Query<&mut Transform>,
    mut last_time: Local<Option<f64>>,
) {
    let now = time.map_or(0.0, |t| t.0);
    let dt = last_time.map_or(0.0, |l| (now - l).max(0.0)) as f32;
    *last_time = Some(now);
    let by_name: HashMap<&str, Entity> = objects.iter().map(|(e, n)| (n.as_str(), e)).collect();
    for (i, binding) in bindings.0.iter().enumerate() {
        let value = lookup(&twin.0, &binding.value);
        let stale = value.is_none_or(|(_, stale)| stale)
            || twin
                .0
                .get(binding.value.split('.').next().unwrap_or(""))
                .is_none_or(|f| f.stale);
        let Some(&entity) = by_name.get(binding.target.as_str()) else {
            continue;
        };
        match &binding.show {
            BindingShow::Text { format, color, .. } => {
                let shown = value.map_or(NO_VALUE.to_string(), |(v, _)| display(v));
                let mut text = format.replace("{value}", &shown);
                if stale {
                    text.push_str("\n(stale · 数据过期)");
                }
                let tint = if stale {
                    Color::srgb(0.55, 0.55, 0.55)
                } else {
                    srgb(*color)
                };
                for (screen, mut t, mut c) in &mut texts {
                    if screen.0 != i {
                        continue;
                    }
                    if t.0 != text {
                        t.0 = text.clone();
                    }
                    if c.0 != tint {
                        c.0 = tint;
                    }
                }
            }
            BindingShow::Color { states, default } => {
                let Some((v, _)) = value else { continue };
                let key = display(v);
                let Some(rgb) = states.get(&key).or(default.as_ref()) else {
                    continue;
                };
                let Ok(material) = shapes.get(entity) else {
                    continue;
                };
                if let Some(m) = materials.get(&material.0)
                    && m.base_color == srgb(*rgb)
                {
                    continue;
                }
                if let Some(mut m) = materials.get_mut(&material.0) {
                    m.base_color = srgb(*rgb);
                }
            }
            BindingShow::Visible => {
                let Some((v, _)) = value else { continue };
                let wanted = if truthy(v) {
                    Visibility::Inherited
                } else {
                    Visibility::Hidden
                };
                if let Ok(mut vis) = visibility.get_mut(entity)
                    && *vis != wanted
                {
                    *vis = wanted;
                }
            }
            BindingShow::Animation { .. } => {} // see drive_animations
            BindingShow::Spin { degrees_per_unit } => {
                let rate = value.and_then(|(v, _)| super::number(v)).unwrap_or(0.0);
                if rate != 0.0
                    && dt > 0.0
                    && let Ok(mut t) = transforms.get_mut(entity)
                {
                    t.rotate_y((rate * degrees_per_unit * dt).to_radians());
                }
            }
        }
    }
}

/// Gives the animation player inside each animated prop its clip, looping (again after
/// the set is rebuilt).
fn drive_animations(
    mut commands: Commands,
    bindings: Res<Bindings>,
    files: Res<PropFiles>,
    gltfs: Res<Assets<Gltf>>,
    mut graphs: ResMut<Assets<AnimationGraph>>,
    objects: Query<(Entity, &Name, Option<&GltfScene>), With<ShowroomEntity>>,
    children: Query<&Children>,
    mut players: Query<&mut AnimationPlayer, Without<DrivenBy>>,
) {
    for (i, binding) in bindings.0.iter().enumerate() {
        let BindingShow::Animation { clip, .. } = &binding.show else {
            continue;
        };
        let Some((root, _, from)) = objects
            .iter()
            .find(|(_, n, _)| n.as_str() == binding.target)
        else {
            continue;
        };
        let Some(player) = children
            .iter_descendants(root)
            .find(|e| players.contains(*e))
        else {
            continue; // not spawned yet, or already driven
        };
        let Some(names) = files.0.get(&binding.target) else {
            continue;
        };
        // The clip from the prop's file as loaded; asked for by path, Bevy would load the
        // file again and respawn the prop ([`crate::scene::GltfFiles`]).
        let Some(handle) = names
            .iter()
            .position(|n| n == clip)
            .zip(from.and_then(|f| gltfs.get(&f.file)))
            .and_then(|(index, file)| file.animations.get(index).cloned())
        else {
            continue;
        };
        let (graph, node) = AnimationGraph::from_clip(handle);
        if let Ok(mut p) = players.get_mut(player) {
            p.play(node).repeat().set_speed(0.0);
        }
        commands.entity(player).insert((
            AnimationGraphHandle(graphs.add(graph)),
            DrivenBy { binding: i, node },
        ));
    }
}

/// Each driven animation runs at its value's speed (stopped without a value).
fn set_animation_speeds(
    twin: Res<TwinNow>,
    bindings: Res<Bindings>,
    mut players: Query<(&DrivenBy, &mut AnimationPlayer)>,
) {
    for (driven, mut player) in &mut players {
        let Some(BindingSpec {
            value,
            show: BindingShow::Animation { speed_per_unit, .. },
            ..
        }) = bindings.0.get(driven.binding)
        else {
            continue;
        };
        let speed = lookup(&twin.0, value)
            .and_then(|(v, _)| super::number(v))
            .unwrap_or(0.0)
            * speed_per_unit;
        if let Some(active) = player.animation_mut(driven.node)
            && active.speed() != speed
        {
            active.set_speed(speed);
        }
    }
}
