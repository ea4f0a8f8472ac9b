//! Held shots: while the on-air camera holds still and nothing of the set changes, the set
//! is drawn once, and each frame draws only the host's part of the picture over it.
//!
//! On a CPU renderer a frame costs its shaded pixels (`bench render`: 0.3 µs a pixel even
//! for unlit panels), and while a shot holds most of those pixels do not change. So:
//! - a *full* frame: the on-air camera draws the whole picture, exactly as
//!   `render --reference` draws every frame (only where the host cannot be found);
//! - a *set* frame: the on-air camera draws the whole picture without the host (the
//!   backdrop), and the host camera draws her over it as on a held frame;
//! - a *held* frame: the on-air camera rests, and the host camera draws her (lights and
//!   shadows, the same anti-aliasing) in her rectangle only, as that rectangle of the
//!   on-air camera's frustum (Bevy's `SubCameraView`), into a small image that each
//!   program's compositor lays over the backdrop, under its graphics. Of the set it draws
//!   only what her shadow falls on and what stands before her ([`her`]), a large piece
//!   (a floor) only in the tiles of it she needs ([`tiles`]); elsewhere the image is
//!   transparent and the backdrop shows.
//!
//! Where her rectangle holds more than `render.host_pixels` of the picture (a close-up on
//! a CPU renderer), the host camera draws it with that many pixels, at no less than 0.7
//! of its sides ([`host_scale`]), and the compositor stretches it over its place.
//!
//! The rectangle covers the host and her shadow on the floor. A set frame is drawn
//! whenever the camera moves (cuts), or the set changes (a mesh, light or material, the
//! scene itself); a cut back to a view whose backdrop is kept from earlier, the set
//! unchanged since, holds on that one instead ([`kept`]). A twin screen's new numbers are
//! drawn in the screen's rectangle alone, into the backdrop ([`patch`]), and into a kept
//! one when the show cuts back to it.
//!
//! While the camera glides (it moved since the last frame, and since the one before: a cut
//! moves it once) there is nothing to hold. A *glide* frame is the whole view drawn by the
//! host camera at `render.glide_scale` of the picture's size and stretched over it, under
//! the graphics, which stay sharp. On a CPU renderer half the size is a quarter of the
//! pixels; in motion the softer picture shows little (a picture of 640×360 or less is
//! mostly fixed costs, and glides in full). There it is drawn without MSAA too
//! (`render.glide_msaa`): a stretched picture's edges are soft either way.

use crate::config::GlideMsaa;
use crate::presenter::{HostAvatar, is_hers};
use crate::scene::{ActiveCamera, ComposeCamera, FrameByCopy, ShowroomSettings, corners};
use crate::stage::ScreensChanged;
use bevy::camera::primitives::Frustum;
use bevy::camera::visibility::VisibilitySystems;
use bevy::camera::{CameraOutputMode, CameraUpdateSystems, Exposure, RenderTarget, SubCameraView};
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::light::ShadowFilteringMethod;
use bevy::math::URect;
use bevy::prelude::*;
use bevy::render::view::Msaa;
use bevy::ui::UiSystems;

pub(super) mod boxes;
mod catcher;
mod compiling;
mod fit;
mod her;
mod holdout;
mod kept;
mod layer;
mod pace;
mod parts;
mod patch;
mod shadow;
#[cfg(test)]
mod tests;
mod tiles;

pub use pace::Pace;

/// Draws held shots as the set once and the host each frame; added by whoever builds a
/// headless show app with `render.held_shots` on.
pub struct HeldShotPlugin {
    /// The image the host camera draws into, made with [`host_image`].
    pub host: Handle<Image>,
    /// `render.glide_scale` (0: `auto`).
    pub glide_scale: f32,
    /// `render.glide_msaa`.
    pub glide_msaa: GlideMsaa,
    /// `render.host_pixels` (0: `auto`).
    pub host_pixels: f32,
    /// `render.keep_pace`: in `stream`, draw the host's layer and glides smaller while
    /// their frames cost more than real time allows ([`pace`]).
    pub keep_pace: bool,
}

impl Plugin for HeldShotPlugin {
    fn build(&self, app: &mut App) {
        let layer = layer::add(app, self.host.clone());
        let keep_pace = self.keep_pace;
        holdout::add(app);
        catcher::add(app);
        tiles::add(app);
        shadow::add(app);
        patch::add(app);
        compiling::add(app);
        app.insert_resource(HeldShots {
            host: self.host.clone(),
            layer,
            glide_scale: self.glide_scale,
            glide_msaa: self.glide_msaa,
            host_pixels: self.host_pixels,
        })
        .init_resource::<her::Her>()
        .init_resource::<HeldShotCount>()
        .init_resource::<Motion>()
        .init_resource::<Backdrop>()
        .init_resource::<Frame>()
        .init_resource::<ScreensChanged>()
        .init_resource::<pace::Pace>()
        .init_resource::<kept::Kept>()
        .add_systems(
            PostUpdate,
            (
                notice_set_changes,
                pace::keep_pace.run_if(move || keep_pace),
                choose_frame,
                patch::plan_patch,
                kept::keep_backdrops,
                aim_cameras,
                patch::aim_patch_camera,
                place_host_layers,
            )
                .chain()
                .after(super::direct_camera)
                .before(UiSystems::Prepare)
                .before(TransformSystems::Propagate)
                .before(CameraUpdateSystems),
        )
        .add_systems(
            PostUpdate,
            cull_to_the_rectangle
                .after(VisibilitySystems::UpdateFrusta)
                .before(VisibilitySystems::CheckVisibility),
        )
        .add_systems(
            PostUpdate,
            her::leave_her_shadow_out_of_the_backdrop
                .after(bevy::light::SimulationLightSystems::CheckLightVisibility)
                .before(VisibilitySystems::MarkNewlyHiddenEntitiesInvisible),
        )
        .add_systems(
            PostUpdate,
            (
                her::draw_only_what_she_needs,
                fit::fit_catchers_to_her_shadow,
                shadow::keep_the_casters_she_needs,
            )
                .chain()
                .after(VisibilitySystems::CheckVisibility)
                .after(bevy::light::SimulationLightSystems::CheckLightVisibility)
                .before(VisibilitySystems::MarkNewlyHiddenEntitiesInvisible),
        );
    }
}

/// The image the host camera draws into. Kept in the main world too, so it can be resized
/// with the host's rectangle.
pub fn host_image() -> Image {
    let mut image = crate::capture::new_target_image(16, 16);
    image.asset_usage = bevy::asset::RenderAssetUsages::default();
    image
}

#[derive(Resource)]
struct HeldShots {
    host: Handle<Image>,
    /// What lays `host` over the picture in the compositors.
    layer: layer::Layers,
    glide_scale: f32,
    glide_msaa: GlideMsaa,
    host_pixels: f32,
}

/// Frames drawn in full, held, and drawn smaller while the camera glides, since the start,
/// for the benchmark and the telemetry.
#[derive(Resource, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldShotCount {
    pub full: u64,
    pub held: u64,
    pub glide: u64,
    /// Of the held frames and those starting a held shot, those that drew the host's layer
    /// smaller than her rectangle (`render.host_pixels`).
    pub smaller: u64,
    /// Of the held frames, those that started a held shot on a backdrop kept from before
    /// ([`kept`]) instead of drawing a new one.
    pub reused: u64,
    /// Of the held frames, those that drew twin screens again into the backdrop
    /// ([`patch`]).
    pub patched: u64,
}

/// How the on-air camera saw the world last frame, and whether it had moved then: a camera
/// that moves two frames running is gliding. Once [`choose_frame`] has run, this frame's.
#[derive(Resource, Default)]
struct Motion {
    last: Option<View>,
    moved: bool,
    /// The view's clip-from-world for the picture's size (what [`patch`] projects screens
    /// with).
    clip_from_world: Option<Mat4>,
}

/// The camera drawing the host's rectangle on held frames.
#[derive(Component)]
pub struct HostCamera;

/// The host's rectangle in a program's compositor: which compositor it is in.
#[derive(Component)]
struct HostLayer(Entity);

/// Where the host is in the picture: her rectangle, or `None` when she is out of it.
type Place = Option<URect>;

/// What the picture's last full frame (the backdrop) was drawn from.
#[derive(Resource, Default)]
struct Backdrop {
    view: Option<View>,
    /// The host is in it (a [`Frame::Full`]): it cannot be held.
    with_her: bool,
    /// Something of the set changed since.
    stale: bool,
}

/// How the on-air camera saw the world.
#[derive(Debug, Clone, Copy, PartialEq)]
struct View {
    transform: Transform,
    fov: f32,
    ev100: f32,
    tonemapping: Tonemapping,
    size: UVec2,
}

/// This frame, as chosen.
#[derive(Resource, Default, Debug, Clone, Copy, PartialEq)]
enum Frame {
    /// The on-air camera draws the whole picture, the host too (where she cannot be
    /// found, or there is none).
    #[default]
    Full,
    /// The on-air camera draws the set without the host (a new backdrop), and the host
    /// camera draws her in her rectangle over it, at `scale` of its sides ([`host_scale`]);
    /// `None` when she is out of the picture.
    Set {
        rect: Option<URect>,
        size: UVec2,
        scale: f32,
    },
    /// The host camera draws her in her rectangle over the backdrop, at `scale` of its
    /// sides; `None` when she is out of the picture, and the backdrop is the whole frame.
    Held {
        rect: Option<URect>,
        size: UVec2,
        scale: f32,
        /// The rectangle the patch camera draws twin screens again in ([`patch`]).
        patch: Option<URect>,
    },
    /// The camera glides: the whole view drawn at `draw` and stretched to the picture's
    /// `size`, with the on-air camera's MSAA or without (`multisampled`).
    Glide {
        draw: UVec2,
        size: UVec2,
        multisampled: bool,
    },
}

/// What the host camera draws for a frame: where its image goes in the picture, the
/// picture's size, and the image's own size (smaller than its place on a glide).
struct HostPart {
    place: URect,
    picture: UVec2,
    image: UVec2,
}

impl Frame {
    /// The host camera's samples this frame: one on a glide drawn without MSAA, the
    /// on-air camera's `on_air` otherwise.
    fn host_samples(&self, on_air: Msaa) -> Msaa {
        match self {
            Frame::Glide {
                multisampled: false,
                ..
            } => Msaa::Off,
            _ => on_air,
        }
    }

    /// Whether the host's image is the whole picture (a glide): then it is laid without
    /// blending ([`layer::Layers`]), over a frame no backdrop is copied into.
    fn whole_picture(&self) -> bool {
        matches!(self, Frame::Glide { .. })
    }

    /// The host camera's part of this frame; `None` when it rests.
    fn host_part(&self) -> Option<HostPart> {
        match *self {
            Frame::Full | Frame::Set { rect: None, .. } | Frame::Held { rect: None, .. } => None,
            Frame::Set {
                rect: Some(place),
                size,
                scale,
            }
            | Frame::Held {
                rect: Some(place),
                size,
                scale,
                ..
            } => Some(HostPart {
                place,
                picture: size,
                image: scaled(place.size(), scale),
            }),
            Frame::Glide { draw, size, .. } => Some(HostPart {
                place: URect::from_corners(UVec2::ZERO, size),
                picture: size,
                image: draw,
            }),
        }
    }
}

/// The host image's sides are multiples of this, so it is rarely resized as she moves.
const STEP: u32 = 32;
/// Room around the host's bounds for a frame's motion (they are last frame's), morph
/// targets the skinned bounds do not include, and anti-aliased and soft shadow edges.
const PAD_FRACTION: f32 = 0.06;
const PAD_PIXELS: u32 = 6;
/// The room around each of her bones, as a fraction of [`PAD_FRACTION`]: their boxes are
/// swept along their motion already ([`parts`]), so what is left is the morph targets and
/// the shadow's soft edge. On two cores a tighter pad draws fewer of the floor's tiles lit
/// under her shadow (docs/performance.md).
const BONE_PAD: f32 = 0.5;

/// Marks the backdrop stale when anything but the host changed since the last frame:
/// something moved, shown or hidden, removed, a light or material changed, an asset
/// loaded, the scene was edited; or it was drawn while a render pipeline was still being
/// made ([`compiling`]). Notes the twin screens that drew new numbers.
#[allow(clippy::too_many_arguments)]
fn notice_set_changes(
    mut backdrop: ResMut<Backdrop>,
    mut kept: ResMut<kept::Kept>,
    screens: Res<ScreensChanged>,
    mut patch: ResMut<patch::Patch>,
    compiling: Res<compiling::Compiling>,
    frame: Res<Frame>,
    settings: Res<ShowroomSettings>,
    moved: Query<
        Entity,
        (
            // `Transform` too: moved this frame, propagated after this system runs. Bevy
            // writes a root's `GlobalTransform` whenever anything below it changes (a child
            // added, as the host camera's stand-ins are), and a root's follows its
            // `Transform`: only children's count.
            Or<(
                Changed<Transform>,
                (Changed<GlobalTransform>, With<ChildOf>),
                Changed<Visibility>,
            )>,
            Without<Camera>,
            Without<Node>,
            // Not in the backdrop: drawn by the host camera alone.
            Without<holdout::Holdout>,
            Without<tiles::Tile>,
            Without<catcher::Catcher>,
        ),
    >,
    lights: Query<
        (),
        Or<(
            Changed<DirectionalLight>,
            Changed<PointLight>,
            Changed<SpotLight>,
        )>,
    >,
    mut removed: RemovedComponents<Mesh3d>,
    hosts: Query<(), With<HostAvatar>>,
    parents: Query<&ChildOf>,
    mut materials: MessageReader<AssetEvent<StandardMaterial>>,
    mut images: MessageReader<AssetEvent<Image>>,
) {
    // Font atlases change as captions need new glyphs, and targets are resized: neither
    // is the set. Images read from disk (a prop's texture arriving late) are.
    let loaded = images
        .read()
        .any(|e| matches!(e, AssetEvent::LoadedWithDependencies { .. }));
    // What was drawn last frame (a backdrop, a patch) lacks what waiting pipelines draw.
    let incomplete = compiling.now()
        && matches!(
            *frame,
            Frame::Full | Frame::Set { .. } | Frame::Held { patch: Some(_), .. }
        );
    let (materials, removed) = (materials.read().count(), removed.read().count());
    let (settings, lit) = (settings.is_changed(), !lights.is_empty());
    let moved: Vec<Entity> = (moved.iter())
        .filter(|e| !is_hers(*e, &hosts, &parents))
        .collect();
    let stale = settings | loaded | (materials > 0) | (removed > 0) | lit | !moved.is_empty();
    if stale || incomplete {
        backdrop.stale = true;
    }
    if incomplete {
        debug!("pipelines were still being made: the backdrop is drawn again");
    }
    // A screen's new numbers are drawn into the backdrop ([`patch`]), and into a kept one
    // when the show cuts back to it.
    patch.pending.extend(screens.0.iter().copied());
    kept.screens_changed(&screens.0);
    if stale {
        kept.invalidate();
        // Why backdrops are drawn again, for anyone counting them (`TWINCAST_LOG`).
        debug!(
            "the set changed: settings {settings}, images loaded {loaded}, material events \
             {materials}, meshes removed {removed}, lights {lit}, moved {moved:?}"
        );
    }
}

/// The backdrop the picture has, and those kept for other views ([`kept`]).
#[derive(bevy::ecs::system::SystemParam)]
struct Backdrops<'w> {
    current: ResMut<'w, Backdrop>,
    kept: ResMut<'w, kept::Kept>,
    patch: ResMut<'w, patch::Patch>,
}

/// Which backdrop a frame can be held on.
#[derive(Clone, Copy)]
enum On {
    /// The one the picture has.
    Current,
    /// One kept for its view, from that slot.
    Kept(usize),
}

impl Backdrops<'_> {
    /// The backdrop a frame seen from `view` can be held on: the picture's, drawn from
    /// that view without the host and the set unchanged since, or one kept for it; `None`
    /// when a new one must be drawn.
    fn on(&self, view: &View) -> Option<On> {
        let current = &self.current;
        match !current.stale && !current.with_her && current.view == Some(*view) {
            true => Some(On::Current),
            false => self.kept.of(view).map(On::Kept),
        }
    }

    /// The on-air camera draws a new backdrop from `view` this frame, the host in it or not.
    fn drawn(&mut self, view: View, with_her: bool) {
        *self.current = Backdrop {
            view: Some(view),
            with_her,
            stale: false,
        };
    }

    /// The backdrop kept in `slot`, drawn from `view`, is the picture's from this frame;
    /// the screens changed since it was kept are to be drawn into it.
    fn shown(&mut self, view: View, slot: usize) {
        self.drawn(view, false);
        self.patch.pending = self.kept.show(slot);
    }
}

/// Chooses a full, held or glide frame, and remembers what a full one draws.
#[allow(clippy::too_many_arguments)]
fn choose_frame(
    mut frame: ResMut<Frame>,
    mut backdrops: Backdrops,
    mut motion: ResMut<Motion>,
    mut count: ResMut<HeldShotCount>,
    mut her: ResMut<her::Her>,
    held: Res<HeldShots>,
    adapter: Option<Res<bevy::render::renderer::RenderAdapterInfo>>,
    camera: Query<(&Camera, &Transform, &Projection, &Exposure, &Tonemapping), With<ActiveCamera>>,
    on_a_move: Query<(), (With<ActiveCamera>, With<super::OnAMove>)>,
    hosts: Query<Entity, With<HostAvatar>>,
    children: Query<&Children>,
    mut bounds: parts::Bounds,
    lights: Query<(&DirectionalLight, &GlobalTransform)>,
    host_camera: Query<(), With<HostCamera>>,
    pace: Res<pace::Pace>,
    mut on_cpu: Local<Option<bool>>,
) {
    let Some((view, clip_from_world)) = camera.single().ok().and_then(view_of) else {
        *frame = Frame::Full;
        *motion = Motion::default();
        return;
    };
    let moved = motion.last.is_some_and(|last| last != view);
    // A camera that moved twice in a row glides; so does one its director has on a move,
    // from its first frame (a cut, which needs a new backdrop, moves it once).
    let gliding = moved && (motion.moved || !on_a_move.is_empty());
    *motion = Motion {
        last: Some(view),
        moved,
        clip_from_world: Some(clip_from_world),
    };
    // The host camera is spawned on the first frame: until then the on-air one draws all.
    let ready = !host_camera.is_empty();
    // Resolved once the renderer is known: the adapter check formats its name.
    let on_cpu = match (*on_cpu, adapter.as_deref()) {
        (Some(known), _) => known,
        (None, None) => false,
        (None, adapter) => *on_cpu.insert(crate::scene::on_cpu(adapter)),
    };
    if gliding && ready {
        let scale = glide_scale(held.glide_scale, on_cpu, view.size) * pace.glide.scale;
        if scale < 1.0 {
            *frame = Frame::Glide {
                draw: scaled(view.size, scale),
                size: view.size,
                multisampled: glide_multisampled(held.glide_msaa, on_cpu),
            };
            count.glide += 1;
            return;
        }
    }
    let found = (hosts.single().ok().filter(|_| ready)).and_then(|root| {
        let meshes: bevy::ecs::entity::EntityHashSet = children
            .iter_descendants(root)
            .filter(|e| bounds.boxes.contains(*e))
            .collect();
        let parts = bounds.parts(meshes.iter().copied());
        find_her(meshes, &parts, &lights, &view, clip_from_world)
    });
    let size = view.size;
    let host_pixels = held.host_pixels;
    let on = backdrops.on(&view);
    *frame = match &found {
        None => Frame::Full,
        Some((_, points)) => {
            let rect = screen_rect(points, clip_from_world, size).map(|r| grown(r, size));
            let scale = rect.map_or(1.0, |r| host_scale(host_pixels, on_cpu, size, r));
            let scale = scale * pace.held.scale;
            match on {
                None => Frame::Set { rect, size, scale },
                Some(_) => Frame::Held {
                    rect,
                    size,
                    scale,
                    patch: None,
                },
            }
        }
    };
    her.0 = found.map(|(needs, _)| needs);
    match (*frame, on) {
        (Frame::Full | Frame::Set { .. }, _) => {
            backdrops.drawn(view, *frame == Frame::Full);
            count.full += 1;
        }
        (Frame::Held { .. }, Some(On::Kept(slot))) => {
            backdrops.shown(view, slot);
            (count.held, count.reused) = (count.held + 1, count.reused + 1);
        }
        (Frame::Held { .. }, _) => count.held += 1,
        (Frame::Glide { .. }, _) => {}
    }
    if let Frame::Set { scale, .. } | Frame::Held { scale, .. } = *frame
        && scale < 1.0
    {
        count.smaller += 1;
    }
}

/// The host as the filter needs her (see [`her`]), from her `meshes` and their `parts`,
/// and the points her rectangle must cover: each of her parts, and its shadow on the
/// floor from each light that casts one. Part by part, since one box around her all (arms
/// out, say) would cast a shadow from corners where nothing of her is. `None` without her
/// bounds, or when a shadow-casting light does not shine down.
fn find_her(
    meshes: bevy::ecs::entity::EntityHashSet,
    parts: &[parts::Part],
    lights: &Query<(&DirectionalLight, &GlobalTransform)>,
    view: &View,
    clip_from_world: Mat4,
) -> Option<(her::Needs, Vec<Vec3>)> {
    let lights: Vec<Dir3> = (lights.iter())
        .filter(|(l, _)| l.shadow_maps_enabled)
        .map(|(_, t)| t.forward())
        .collect();
    let (shades, points) = shades_of(parts, &lights)?;
    let (lo, hi) = around(parts.iter().map(|p| p.whole))?;
    let (eye, forward) = (view.transform.translation, view.transform.forward().into());
    let needs = her::Needs {
        meshes,
        far: her::reach(&shades, eye, forward),
        ground: lo.y + padding(lo, hi).y,
        lights,
        shades,
        eye,
        forward,
        clip_from_world: Some(clip_from_world),
    };
    Some((needs, points))
}

/// `render.glide_scale`, with `auto` (0) resolved for the renderer and the picture's
/// `size`. On a CPU renderer a small picture's frame is mostly fixed costs (at 320×180,
/// glides at half size made the demo's first 40 s 9 % faster and scored 30 dB), so `auto`
/// never draws a glide with fewer pixels than 640×360, nor at under half the size.
fn glide_scale(configured: f32, on_cpu: bool, size: UVec2) -> f32 {
    const LEAST_PIXELS: f32 = 640.0 * 360.0;
    match configured {
        0.0 if on_cpu => {
            let pixels = (size.x as f32 * size.y as f32).max(1.0);
            (LEAST_PIXELS / pixels).sqrt().clamp(0.5, 1.0)
        }
        0.0 => 1.0,
        scale => scale.clamp(0.25, 1.0),
    }
}

/// `render.glide_msaa`, with `auto` resolved for the renderer: off on a CPU renderer. There
/// MSAA 4× is a fixed share of a glide's raster work at any scale (the demo's glide at
/// 720p: 25 fps without it at 0.35 of the sides against 18.7 with, 16.5 against 12.6 at
/// 0.5), and a picture stretched over two or three times its pixels has soft edges either
/// way (0.16–0.27 dB less against `render --reference`).
fn glide_multisampled(configured: GlideMsaa, on_cpu: bool) -> bool {
    match configured {
        GlideMsaa::Auto => !on_cpu,
        GlideMsaa::Off => false,
        GlideMsaa::On => true,
    }
}

/// Her layer is never drawn at under this fraction of her rectangle's sides: at 0.75 the
/// demo's close-up at 1280×720 scored 48.9 dB against her drawn in full, at 0.6 47.1 dB
/// but with her rivets and edges visibly softer.
const LEAST_HOST_SCALE: f32 = 0.7;

/// `render.host_pixels` of the picture's pixels `size` for the host's layer; `auto` (0):
/// on a CPU renderer 0.15 of them, or of 1280×720's if more (a smaller picture's frame is
/// mostly fixed costs), none on a GPU.
const AUTO_HOST_PIXELS: f32 = 0.15;

/// The fraction of her rectangle `rect`'s sides the host camera draws her at: 1 while it
/// holds no more than `render.host_pixels` ([`AUTO_HOST_PIXELS`] for `auto`) of the
/// picture's, else as many, but never under [`LEAST_HOST_SCALE`]. On a CPU renderer a held
/// frame costs her pixels: the demo's close-up (her rectangle about a third of the picture)
/// cost 63 ms a frame at 720p against 33 for the wide shot.
fn host_scale(configured: f32, on_cpu: bool, size: UVec2, rect: URect) -> f32 {
    let picture = size.x as f32 * size.y as f32;
    let budget = match configured {
        0.0 if on_cpu => AUTO_HOST_PIXELS * picture.max(1280.0 * 720.0),
        0.0 => return 1.0,
        share => share * picture,
    };
    let hers = (rect.width() as f32 * rect.height() as f32).max(1.0);
    (budget / hers).sqrt().clamp(LEAST_HOST_SCALE, 1.0)
}

/// `size` times `scale`, each side at least 16 pixels.
fn scaled(size: UVec2, scale: f32) -> UVec2 {
    (size.as_vec2() * scale)
        .round()
        .as_uvec2()
        .max(UVec2::splat(16))
        .min(size)
}

/// The on-air camera's view, and its clip-from-world matrix for the picture's size.
fn view_of(
    (camera, transform, projection, exposure, tonemapping): (
        &Camera,
        &Transform,
        &Projection,
        &Exposure,
        &Tonemapping,
    ),
) -> Option<(View, Mat4)> {
    let size = camera.physical_target_size()?;
    let Projection::Perspective(p) = projection else {
        return None;
    };
    if size.x == 0 || size.y == 0 {
        return None;
    }
    let aspect = size.x as f32 / size.y as f32;
    let clip_from_view = Mat4::perspective_infinite_reverse_rh(p.fov, aspect, p.near);
    let view = View {
        transform: *transform,
        fov: p.fov,
        ev100: exposure.ev100,
        tonemapping: *tonemapping,
        size,
    };
    Some((view, clip_from_view * transform.to_matrix().inverse()))
}

/// The boxes her shadow can fall in, one for each of her `parts` (world boxes, padded here
/// by [`PAD_FRACTION`] of her size): the part and where it is cast on the floor under her
/// along each of the shadow-casting `lights`, with its bones (the part's box takes them
/// in). Also their corners, for her rectangle. `None` without parts, or when a light does
/// not shine down.
fn shades_of(parts: &[parts::Part], lights: &[Dir3]) -> Option<(Vec<her::Shade>, Vec<Vec3>)> {
    let (lo, hi) = around(parts.iter().map(|p| p.whole))?;
    let pad = padding(lo, hi);
    let floor = lo.y - pad.y;
    let bone_pad = pad * BONE_PAD;
    let (mut shades, mut points) = (Vec::new(), Vec::new());
    for part in parts {
        let bones: Vec<_> = (part.bones.iter())
            .map(|(lo, hi)| (*lo - bone_pad, *hi + bone_pad))
            .collect();
        // A bone swept along its motion may reach past the part's padded box.
        let whole = (part.whole.0 - pad, part.whole.1 + pad);
        let (lo, hi) = around(bones.iter().copied().chain([whole]))?;
        let part = corners(lo, hi);
        let mut cast = part.to_vec();
        for toward in lights {
            cast.extend(shadow_on_floor(&part, *toward, floor)?);
        }
        let on_floor = if lights.is_empty() {
            &cast[..]
        } else {
            &cast[part.len()..]
        };
        shades.push(her::Shade {
            bounds: around(cast.iter().map(|p| (*p, *p)))?,
            part: (lo, hi),
            bones,
            footprint: around(on_floor.iter().map(|p| (*p, *p)))?,
        });
        points.extend(cast);
    }
    Some((shades, points))
}

/// The room around each of her parts, for her bounds `lo`..`hi`: [`PAD_FRACTION`] of her
/// size.
fn padding(lo: Vec3, hi: Vec3) -> Vec3 {
    Vec3::splat((hi - lo).max_element() * PAD_FRACTION)
}

/// The box around `boxes`; `None` when there are none.
fn around(boxes: impl Iterator<Item = (Vec3, Vec3)>) -> Option<(Vec3, Vec3)> {
    boxes.reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
}

/// Where `points` cast their shadows on the floor at height `floor`, lit along `toward`;
/// `None` when the light does not shine down (the shadow would run off to the horizon).
fn shadow_on_floor(points: &[Vec3], toward: Dir3, floor: f32) -> Option<Vec<Vec3>> {
    let d = Vec3::from(toward);
    if d.y > -0.1 {
        return None;
    }
    Some(
        points
            .iter()
            .map(|p| *p + d * ((floor - p.y) / d.y))
            .collect(),
    )
}

/// Where `points` are in a picture of `size`: the pixel rectangle covering them, padded
/// by [`PAD_PIXELS`], or `None` when they are all out of the picture on one side or
/// behind the camera. Points behind the camera are replaced by where the lines from them
/// to the points in front cross the camera's plane, so a host beside the camera still
/// gets a rectangle that covers her (the picture's edge, when she is that close).
fn screen_rect(points: &[Vec3], clip_from_world: Mat4, size: UVec2) -> Place {
    const NEAR: f32 = 1e-3;
    let clips: Vec<Vec4> = points
        .iter()
        .map(|p| clip_from_world * p.extend(1.0))
        .collect();
    let mut seen: Vec<Vec4> = clips.iter().copied().filter(|c| c.w > NEAR).collect();
    for (i, a) in clips.iter().enumerate() {
        for b in &clips[i + 1..] {
            if (a.w > NEAR) != (b.w > NEAR) {
                seen.push(a.lerp(*b, (NEAR - a.w) / (b.w - a.w)));
            }
        }
    }
    let all = |outside: fn(&Vec4) -> bool| seen.iter().all(outside);
    if seen.is_empty()
        || all(|c| c.x < -c.w)
        || all(|c| c.x > c.w)
        || all(|c| c.y < -c.w)
        || all(|c| c.y > c.w)
    {
        return None;
    }
    let (mut lo, mut hi) = (Vec2::splat(f32::MAX), Vec2::splat(f32::MIN));
    for clip in &seen {
        let ndc = clip.truncate().truncate() / clip.w.max(NEAR);
        let px = Vec2::new((ndc.x + 1.0) * 0.5, (1.0 - ndc.y) * 0.5) * size.as_vec2();
        lo = lo.min(px);
        hi = hi.max(px);
    }
    let pad = PAD_PIXELS as f32;
    let lo = (lo - pad).floor().clamp(Vec2::ZERO, size.as_vec2());
    let hi = (hi + pad).ceil().clamp(Vec2::ZERO, size.as_vec2());
    let rect = URect::from_corners(lo.as_uvec2(), hi.as_uvec2());
    (!rect.is_empty()).then_some(rect)
}

/// `rect` grown to whole [`STEP`]s inside a picture of `size`.
fn grown(rect: URect, size: UVec2) -> URect {
    let grow = |len: u32, limit: u32| (len.div_ceil(STEP) * STEP).min(limit);
    let (w, h) = (grow(rect.width(), size.x), grow(rect.height(), size.y));
    let x = rect.min.x.min(size.x - w);
    let y = rect.min.y.min(size.y - h);
    URect::new(x, y, x + w, y + h)
}

/// Turns the on-air camera on for a full frame, the host camera for a held one (aimed
/// like the on-air camera, seeing its rectangle) or a glide (seeing all of its view), and
/// sizes the host's image.
#[allow(clippy::type_complexity)]
fn aim_cameras(
    mut commands: Commands,
    frame: Res<Frame>,
    held: Res<HeldShots>,
    her: Res<her::Her>,
    mut images: ResMut<Assets<Image>>,
    mut layers: ResMut<Assets<layer::HostLayerMaterial>>,
    mut active: Query<
        (
            &mut Camera,
            &Transform,
            &Projection,
            &Exposure,
            Option<&Tonemapping>,
        ),
        (With<ActiveCamera>, Without<HostCamera>),
    >,
    mut host: Query<
        (
            (
                &mut Camera,
                &mut Transform,
                &mut Projection,
                &mut Exposure,
                &mut Tonemapping,
            ),
            &mut Msaa,
        ),
        (With<HostCamera>, Without<ActiveCamera>),
    >,
    looks: Query<(&Msaa, &Tonemapping, Option<&ShadowFilteringMethod>), With<ActiveCamera>>,
) {
    let Ok((mut on_air, transform, projection, exposure, tonemapping)) = active.single_mut() else {
        return;
    };
    let Ok(look) = looks.single() else {
        return;
    };
    let Ok((mut following, mut samples)) = host.single_mut() else {
        commands.spawn(host_camera(&held.host, look));
        return;
    };
    samples.set_if_neq(frame.host_samples(*look.0));
    let part = frame.host_part();
    let backdrop = matches!(*frame, Frame::Full | Frame::Set { .. });
    let camera = &mut following.0;
    if (on_air.is_active, camera.is_active) != (backdrop, part.is_some()) {
        (on_air.is_active, camera.is_active) = (backdrop, part.is_some());
    }
    let Some(part) = part else {
        return;
    };
    // Over a backdrop she is drawn on nothing (see [`her`]); a glide is the whole view.
    let glide = frame.whole_picture();
    if glide != matches!(camera.clear_color, ClearColorConfig::Default) {
        camera.clear_color = match glide {
            true => ClearColorConfig::Default,
            false => ClearColorConfig::Custom(Color::NONE),
        };
    }
    let far = match (glide, &her.0) {
        (true, _) | (_, None) => f32::INFINITY,
        (false, Some(needs)) => needs.far,
    };
    let on_air = (transform, projection, exposure, tonemapping);
    follow_on_air(following, on_air, part.place, part.picture, far);
    // Its bind groups hold the image's old texture: marked changed, they are made anew.
    if fit_image(&mut images, &held.host, part.image) {
        held.layer.refresh(&mut layers);
    }
}

/// A drawing camera's parts that follow the on-air camera ([`drawing_camera`]).
type Following<'a> = (
    Mut<'a, Camera>,
    Mut<'a, Transform>,
    Mut<'a, Projection>,
    Mut<'a, Exposure>,
    Mut<'a, Tonemapping>,
);

/// What a drawing camera follows of the on-air camera: where it is, its lens, exposure and
/// tone mapping.
type OnAirLook<'a> = (
    &'a Transform,
    &'a Projection,
    &'a Exposure,
    Option<&'a Tonemapping>,
);

/// Aims a drawing camera like the on-air camera, seeing the rectangle `place` of a
/// picture of `picture` and drawing no farther than `far`; what it has already is left
/// alone, so Bevy sees no change.
fn follow_on_air(
    (mut camera, mut own, mut lens, mut own_exposure, mut own_tonemapping): Following,
    (transform, projection, exposure, tonemapping): OnAirLook,
    place: URect,
    picture: UVec2,
    far: f32,
) {
    aim_lens(&mut lens, projection, far);
    camera.sub_camera_view = Some(SubCameraView {
        full_size: picture,
        offset: place.min.as_vec2(),
        size: place.size(),
    });
    own.set_if_neq(*transform);
    if own_exposure.ev100 != exposure.ev100 {
        own_exposure.ev100 = exposure.ev100;
    }
    if let Some(tonemapping) = tonemapping {
        own_tonemapping.set_if_neq(*tonemapping);
    }
}

/// Resizes `image` to `size` where it has another; whether it did.
fn fit_image(images: &mut Assets<Image>, image: &Handle<Image>, size: UVec2) -> bool {
    if images.get(image).is_none_or(|i| i.size() == size) {
        return false;
    }
    let Some(mut image) = images.get_mut(image) else {
        return false;
    };
    image.resize(bevy::render::render_resource::Extent3d {
        width: size.x,
        height: size.y,
        depth_or_array_layers: 1,
    });
    true
}

/// Gives the host camera the on-air camera's lens, drawing no farther than `far`; left
/// alone while that is what it has, so Bevy sees no change.
fn aim_lens(lens: &mut Mut<Projection>, on_air: &Projection, far: f32) {
    let Projection::Perspective(on_air) = on_air else {
        return;
    };
    let wanted = her::Clipped {
        lens: on_air.clone(),
        far,
    };
    let current = match &**lens {
        Projection::Custom(custom) => custom.get::<her::Clipped>(),
        _ => None,
    };
    if !current.is_some_and(|c| c.same_as(&wanted)) {
        **lens = Projection::custom(wanted);
    }
}

/// The host camera: the on-air camera's anti-aliasing, tone mapping and shadow filter,
/// drawing into the host's image before the compositors run.
fn host_camera(
    image: &Handle<Image>,
    look: (&Msaa, &Tonemapping, Option<&ShadowFilteringMethod>),
) -> impl Bundle + use<> {
    (
        Name::new("host camera (held shots)"),
        HostCamera,
        // The set, and the set's holdouts.
        bevy::camera::visibility::RenderLayers::from_layers(&[0, holdout::LAYER]),
        drawing_camera(image, 50, look),
    )
}

/// A camera drawing part of the on-air camera's view into `image`, as its `order`-th, with
/// the on-air camera's anti-aliasing, tone mapping and shadow filter: the host's and the
/// patches' ([`patch`]).
fn drawing_camera(
    image: &Handle<Image>,
    order: isize,
    (msaa, tonemapping, filter): (&Msaa, &Tonemapping, Option<&ShadowFilteringMethod>),
) -> impl Bundle + use<> {
    (
        Camera3d::default(),
        Camera {
            is_active: false,
            order,
            // Its image has its size and format: the frame is copied there, not drawn by
            // Bevy's upscaling pass (a shader over every pixel, about 1 ms a held frame).
            output_mode: CameraOutputMode::Skip,
            ..default()
        },
        RenderTarget::Image(image.clone().into()),
        FrameByCopy(image.clone()),
        FrameByCopy::usages(),
        Projection::Perspective(PerspectiveProjection::default()),
        Exposure::default(),
        *msaa,
        *tonemapping,
        filter.copied().unwrap_or_default(),
    )
}

/// Lays the host's image over the backdrop in every compositor where she is drawn apart
/// from it, at the pixels it was drawn for, and as the whole picture on glides (replacing
/// it, [`layer::Layers`]); hides it on full frames.
fn place_host_layers(
    mut commands: Commands,
    frame: Res<Frame>,
    held: Res<HeldShots>,
    composers: Query<Entity, With<ComposeCamera>>,
    mut layers: Query<(
        &HostLayer,
        &mut Node,
        &mut MaterialNode<layer::HostLayerMaterial>,
    )>,
) {
    let material = held.layer.for_frame(frame.whole_picture());
    for composer in &composers {
        if !layers.iter().any(|(l, ..)| l.0 == composer) {
            commands.spawn((
                HostLayer(composer),
                Node {
                    display: Display::None,
                    position_type: PositionType::Absolute,
                    ..default()
                },
                MaterialNode(material.clone()),
                bevy::ui::UiTargetCamera(composer),
                // Over the picture (copied into the frame first), under every graphic.
                GlobalZIndex(-999),
            ));
        }
    }
    for (_, mut node, mut laid_by) in &mut layers {
        if laid_by.0 != *material {
            laid_by.0 = material.clone();
        }
        let wanted = match frame.host_part().map(|part| part.place) {
            None => Node {
                display: Display::None,
                ..node.clone()
            },
            Some(rect) => Node {
                display: Display::Flex,
                left: Val::Px(rect.min.x as f32),
                top: Val::Px(rect.min.y as f32),
                width: Val::Px(rect.width() as f32),
                height: Val::Px(rect.height() as f32),
                ..node.clone()
            },
        };
        node.set_if_neq(wanted);
    }
}

/// Culls the host camera's and the patch camera's views to their rectangles. Bevy fits a
/// camera's frustum to its whole projection, sub-view or not, so every set piece in the
/// picture would otherwise be drawn for a rectangle: its vertices shaded and its triangles
/// clipped away.
#[allow(clippy::type_complexity)]
fn cull_to_the_rectangle(
    mut host: Query<
        (&Camera, &GlobalTransform, &Projection, &mut Frustum),
        Or<(With<HostCamera>, With<patch::PatchCamera>)>,
    >,
) {
    for (camera, transform, projection, mut frustum) in &mut host {
        let Some(sub) = camera.sub_camera_view.filter(|_| camera.is_active) else {
            continue;
        };
        let clip_from_world = rectangle_clip_from_world(projection, &sub, transform);
        frustum.0 = bevy::math::primitives::ViewFrustum::from_clip_from_world_custom_far(
            &clip_from_world,
            &transform.translation(),
            &transform.back(),
            projection.far(),
        );
    }
}

/// The host camera's view of its rectangle: `clip_from_world` of its sub-view, which Bevy
/// fits neither its frustum nor the key light's cascade to.
fn rectangle_clip_from_world(
    projection: &Projection,
    sub: &SubCameraView,
    transform: &GlobalTransform,
) -> Mat4 {
    projection.get_clip_from_view_for_sub(sub) * transform.affine().inverse()
}
