//! The Bevy apps: the plugins every app shares ([`add_show_plugins`]) on a headless base
//! (no window, no winit, updated by our own loop on the media clock) or a windowed one
//! (see [`super::window`]).

use super::RunError;
use crate::capture::{CapturePlugin, CaptureSpec, CaptureTarget, ViewTargets};
use crate::config::ShowConfig;
use crate::config::plan::OverlayConfig;
use crate::media::VideoFrame;
use crate::scene::{Compose, LoadedScene, ShowroomPlugin, ShowroomSettings, ViewCamera};
use bevy::{
    app::PluginGroupBuilder,
    asset::{AssetPlugin, LoadState},
    camera::RenderTarget,
    log::LogPlugin,
    prelude::*,
    render::{
        RenderPlugin,
        error_handler::{RenderError, RenderErrorHandler, RenderErrorPolicy},
        pipelined_rendering::PipelinedRenderingPlugin,
        renderer::RenderAdapterInfo,
    },
    window::ExitCondition,
    winit::WinitPlugin,
};
use crossbeam_channel::{Receiver, Sender};
use std::time::{Duration, Instant};

/// How long start-up may take to load every asset of the scene.
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// Frames rendered after loading, before the first captured frame, so that glTF scenes
/// are instanced and every pipeline is compiled.
const SETTLE_FRAMES: u32 = 3;

/// Bevy's plugins for running without a window, with our own logging and our own loop.
pub fn headless_plugins() -> PluginGroupBuilder {
    DefaultPlugins
        .set(AssetPlugin {
            // Scene files name assets relative to themselves; we hand Bevy absolute paths.
            file_path: "/".into(),
            ..default()
        })
        .set(WindowPlugin {
            primary_window: None,
            exit_condition: ExitCondition::DontExit,
            ..default()
        })
        .set(RenderPlugin {
            // Complete first frames: never a frame with a pipeline still compiling.
            synchronous_pipeline_compilation: true,
            ..default()
        })
        .add_after::<RenderPlugin>(crate::scene::CpuBatchingPlugin)
        // Models saved again load as new versions through it (`scene::versions`).
        .add_before::<AssetPlugin>(crate::scene::VersionedFilesPlugin)
        .disable::<WinitPlugin>()
        .disable::<LogPlugin>()
        // Each update renders its own frame before returning: simple to drain at shutdown,
        // and the render world is where the time goes anyway.
        .disable::<PipelinedRenderingPlugin>()
}

/// Builds the app that renders `scene` into the capture target.
pub fn build_app(
    show: &ShowConfig,
    scene: LoadedScene,
    frames: Sender<VideoFrame>,
    recycled: Receiver<Vec<u8>>,
) -> Result<App, RunError> {
    let (width, height) = show.render_size();
    let main = CaptureSpec {
        width,
        height,
        sink: frames,
        recycled,
    };
    build_app_with(show, scene, main, Vec::new(), |_| {})
}

/// [`build_app`], with the cameras of programs beside the main one (`views`, each with
/// its capture), and `extra` adding plugins before the app is finished (the benchmark's
/// render diagnostics).
pub fn build_app_with(
    show: &ShowConfig,
    scene: LoadedScene,
    main: CaptureSpec,
    views: Vec<(ViewCamera, CaptureSpec)>,
    extra: impl FnOnce(&mut App),
) -> Result<App, RunError> {
    let mut app = App::new();
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        app.add_plugins(headless_plugins());
    }));
    if built.is_err() {
        return Err(RunError::Renderer(
            "no usable graphics adapter (on a machine without a GPU, install Mesa's Vulkan \
             drivers: scripts/install-deps.sh)"
                .into(),
        ));
    }
    app.insert_resource(RenderErrorHandler(keep_render_error));
    let (width, height) = (main.width, main.height);
    let (cameras, others): (Vec<ViewCamera>, Vec<CaptureSpec>) = views.into_iter().unzip();
    app.add_plugins(CapturePlugin { main, others });
    let held = show.render.held_shots && !show.render.vr360;
    let targets = targets(&mut app, cameras, (width, height), held);
    let mut overlay = show.plan.overlay.clone();
    // Flat graphics have no place on a sphere; the VR frame is the room alone.
    overlay.enabled &= !show.render.vr360;
    add_show_plugins(&mut app, show, scene, targets, overlay)?;
    if show.render.vr360 {
        app.add_plugins(crate::vr::VrPlugin {
            face_size: (width / 4).max(16),
        });
    }
    app.add_plugins(crate::camera::CameraDirectorPlugin);
    if held {
        let host = app
            .world_mut()
            .resource_mut::<Assets<Image>>()
            .add(crate::camera::held::host_image());
        app.add_plugins(crate::camera::held::HeldShotPlugin {
            host,
            glide_scale: show.render.glide_scale,
            glide_msaa: show.render.glide_msaa,
            host_pixels: show.render.host_pixels,
            keep_pace: show.render.keep_pace,
        });
    }
    extra(&mut app);
    app.finish();
    app.cleanup();
    let adapter = app.world().get_resource::<RenderAdapterInfo>();
    if crate::scene::on_cpu(adapter) {
        run_schedules_on_one_thread(&mut app);
    }
    Ok(app)
}

/// Runs every schedule of the world and of the render world on the thread that runs it.
///
/// On a CPU renderer the rasteriser's threads want every core, and Bevy's multi-threaded
/// executor hands each of hundreds of small systems to a pool thread and waits for it:
/// wake-ups that cost more than the systems. On two cores one thread gained 3–8 % of a
/// held 720p frame and 22 % of its cost before any pixel (`LP_NO_RAST`;
/// docs/performance.md). Bevy's own parallel iteration inside systems still uses the task pools.
fn run_schedules_on_one_thread(app: &mut App) {
    use bevy::ecs::schedule::{Schedules, SingleThreadedExecutor};
    let on_one_thread = |world: &mut World| {
        for (_, schedule) in world.resource_mut::<Schedules>().iter_mut() {
            schedule.set_executor(SingleThreadedExecutor::new());
        }
    };
    on_one_thread(app.world_mut());
    if let Some(render) = app.get_sub_app_mut(bevy::render::RenderApp) {
        on_one_thread(render.world_mut());
    }
}

/// Where the show's cameras draw.
#[derive(Default)]
pub struct Targets {
    /// The on-air camera's target; the window when `None`.
    pub main: Option<RenderTarget>,
    /// Programs with cameras of their own, each with its target.
    pub views: Vec<(ViewCamera, RenderTarget)>,
    /// Programs sharing the on-air camera's picture (the main one among them).
    pub compose: Option<Compose>,
}

/// The capture targets as the cameras use them: a program that sees what the on-air
/// camera sees shares its picture (drawn once into an image of its own, composed under
/// each program's graphics); one with framings of its own gets a camera. With `held`
/// shots the main program is composed too (the host's rectangle goes over the picture).
fn targets(
    app: &mut App,
    cameras: Vec<ViewCamera>,
    (width, height): (u32, u32),
    held: bool,
) -> Targets {
    let main = app.world().resource::<CaptureTarget>().0.clone();
    let view_targets = app.world().resource::<ViewTargets>().0.clone();
    let mut targets = Targets::default();
    let mut shared = Vec::new();
    for (camera, target) in cameras.into_iter().zip(view_targets) {
        match camera.shares_picture(width, height) {
            true => shared.push((camera.index, RenderTarget::from(target))),
            false => targets.views.push((camera, RenderTarget::from(target))),
        }
    }
    if shared.is_empty() && !held {
        targets.main = Some(RenderTarget::from(main));
        return targets;
    }
    let picture = crate::capture::new_target_image(width, height);
    let picture = app.world_mut().resource_mut::<Assets<Image>>().add(picture);
    shared.insert(0, (0, RenderTarget::from(main)));
    targets.main = Some(RenderTarget::from(picture.clone()));
    targets.compose = Some(Compose {
        picture,
        programs: shared,
    });
    targets
}

/// The plugins every app that shows the showroom has, headless or in a window, drawing
/// on `targets`: the set, the presenter with her prepared motion, the graphics and the
/// twin's bindings.
pub fn add_show_plugins(
    app: &mut App,
    show: &ShowConfig,
    scene: LoadedScene,
    targets: Targets,
    overlay: OverlayConfig,
) -> Result<(), RunError> {
    let motion = crate::presenter::PreparedMotion::prepare(&scene)?;
    let twin = crate::twin::TwinPlugin::new(&scene);
    app.add_plugins(ShowroomPlugin {
        settings: ShowroomSettings {
            scene,
            camera: show.camera.clone(),
            msaa: show.render.msaa,
            shadow_filter: show.render.shadow_filter,
            lighting: show.render.lighting,
            shadow_cascades: show.render.shadow_cascades,
            shadows: show.render.shadows,
            target: targets.main,
            views: targets.views,
            compose: targets.compose,
        },
    });
    app.add_plugins((
        crate::presenter::PresenterPlugin,
        crate::graphics::OverlayPlugin {
            settings: crate::graphics::OverlaySettings {
                config: overlay,
                shop: show.plan.shop.text(&show.language).to_string(),
                layout: crate::graphics::Layout::for_size(show.video.width, show.video.height),
            },
        },
        twin,
    ));
    app.insert_resource(motion);
    Ok(())
}

/// The adapter Bevy picked, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)".
pub fn adapter_name(app: &App) -> String {
    app.world()
        .get_resource::<RenderAdapterInfo>()
        .map(|info| format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type))
        .unwrap_or_else(|| "unknown adapter".into())
}

/// The renderer's first error on a headless app, kept for the loop to stop on and report.
///
/// Bevy's own handler logs it and asks the app to exit, which only Bevy's runner reads; our
/// loop went on capturing nothing (`render.msaa = 2` on lavapipe wrote an empty file, and
/// `render` said it was done).
#[derive(Resource, Default)]
struct RendererFailed(Option<String>);

fn keep_render_error(error: &RenderError, main: &mut World, _: &mut World) -> RenderErrorPolicy {
    let mut failed = main.get_resource_or_init::<RendererFailed>();
    failed.0.get_or_insert_with(|| render_error_text(error));
    RenderErrorPolicy::StopRendering
}

/// The error and its causes on one line: wgpu's description is only "Validation Error",
/// and what went wrong ("Sample count 2 is not supported…") is in its sources.
fn render_error_text(error: &RenderError) -> String {
    let mut text = format!("{:?} error", error.ty);
    let mut cause: Option<&(dyn std::error::Error + 'static)> =
        error.source.as_deref().map(|source| &**source as _);
    while let Some(e) = cause {
        let said = e.to_string();
        let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
        if !said.is_empty() {
            text = format!("{text}: {said}");
        }
        cause = e.source();
    }
    text
}

/// The renderer's error, once it has stopped drawing: the run ends with it.
pub(super) fn renderer_failure(app: &App) -> Result<(), RunError> {
    let failed = app.world().get_resource::<RendererFailed>();
    match failed.and_then(|f| f.0.clone()) {
        Some(reason) => Err(RunError::Renderer(reason)),
        None => Ok(()),
    }
}

/// Updates until every asset of the showroom has loaded, then a few frames more.
///
/// Bevy's clock stands still meanwhile ([`super::pacer::FramePacer`] starts it): loading
/// takes as long as the machine needs, and the show's first frame is the same each run.
pub fn warm_up(app: &mut App) -> Result<Duration, RunError> {
    let started = Instant::now();
    app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
        Duration::ZERO,
    ));
    for update in 1.. {
        timed_update(app, format_args!("update {update}"));
        renderer_failure(app)?;
        match showroom_load_state(app) {
            Ok(true) => break,
            Ok(false) if started.elapsed() > LOAD_TIMEOUT => {
                return Err(RunError::Scene(format!(
                    "assets still loading after {} s",
                    LOAD_TIMEOUT.as_secs()
                )));
            }
            Ok(false) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(e),
        }
    }
    for settle in 1..=SETTLE_FRAMES {
        timed_update(app, format_args!("settle frame {settle}"));
    }
    renderer_failure(app)?;
    Ok(started.elapsed())
}

/// One update of warm-up, its time logged (`TWINCAST_LOG=twincast::runtime=debug`): where
/// a slow start goes.
fn timed_update(app: &mut App, what: std::fmt::Arguments) {
    let began = Instant::now();
    app.update();
    debug!(
        "warm-up {what}: {:.1} ms",
        began.elapsed().as_secs_f64() * 1e3
    );
}

/// Whether the showroom's assets are all loaded; an error names the asset that failed.
fn showroom_load_state(app: &App) -> Result<bool, RunError> {
    if !crate::scene::lighting_settled(app.world()) {
        return Ok(false);
    }
    let missing = app.world().get_resource::<crate::scene::MissingScenes>();
    if let Some(first) = missing.and_then(|m| m.0.first()) {
        return Err(RunError::Scene(first.clone()));
    }
    let server = app.world().resource::<AssetServer>();
    let assets = app.world().resource::<crate::scene::ShowroomAssets>();
    let presenter = app
        .world()
        .get_resource::<crate::presenter::PresenterAsset>()
        .and_then(|p| p.0.as_ref())
        .map(|(label, handle)| (label.clone(), handle.id()));
    let props = assets
        .ids()
        .map(|(name, id)| (format!("prop `{name}`"), id));
    let mut all = true;
    for (label, id) in props.chain(presenter) {
        if let Some(LoadState::Failed(error)) = server.get_load_state(id) {
            return Err(RunError::Scene(format!("{label}: {error}")));
        }
        all &= server.is_loaded_with_dependencies(id);
    }
    Ok(all)
}
