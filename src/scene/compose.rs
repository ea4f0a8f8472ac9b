//! Programs sharing the on-air picture: a 2D camera per program, whose frame starts as a
//! copy of the picture and gets the program's graphics (and, on held frames, the host's
//! rectangle) drawn over it.
//!
//! The picture reaches the frame as a texture copy before the camera's passes, not as a
//! full-frame UI image: on a CPU renderer Bevy's UI shader over 1280×720 cost 10–17 ms a
//! frame, a tenth or more of a held frame (the host's rectangle, 100 ms in all). The
//! picture and every program composed on it have the same size and format (a program of
//! another size gets a camera of its own), which is what a copy needs.
//!
//! The finished frame leaves the same way ([`FrameByCopy`]): copied into the program's
//! image after the graphics, where Bevy would draw it there through its upscaling pass (a
//! full-frame shader: on lavapipe 3–7 % of a held 720p frame, for a picture of the same
//! size).

use super::ShowroomSettings;
use bevy::camera::NormalizedRenderTarget;
use bevy::camera::{CameraMainTextureUsages, CameraOutputMode, ClearColorConfig};
use bevy::core_pipeline::schedule::{Core2d, Core2dSystems, Core3d};
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::core_pipeline::upscaling::upscaling;
use bevy::prelude::*;
use bevy::render::RenderApp;
use bevy::render::camera::ExtractedCamera;
use bevy::render::extract_component::{ExtractComponent, ExtractComponentPlugin};
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::{Texture, TextureUsages};
use bevy::render::renderer::{RenderContext, ViewQuery};
use bevy::render::texture::GpuImage;
use bevy::render::texture::OutputColorAttachment;
use bevy::render::view::{
    Msaa, ViewTarget, ViewTargetAttachments, prepare_view_attachments, prepare_view_targets,
};
use bevy::render::{Render, RenderSystems};

/// A camera that draws no 3D: program `index`'s picture is the on-air camera's, drawn
/// once into [`Compose::picture`] and shown here under the program's own graphics. So a
/// second language on the same picture costs a copy and its graphics, not a second render.
#[derive(Component, Debug, Clone)]
pub struct ComposeCamera {
    pub index: usize,
}

/// Programs sharing the on-air camera's picture: the image it renders into, and each
/// program's (index, target), the main one (0) included. Every target has the picture's
/// size.
#[derive(Debug, Clone)]
pub struct Compose {
    pub picture: Handle<Image>,
    pub programs: Vec<(usize, bevy::camera::RenderTarget)>,
}

/// The picture a compose camera's frame starts from, in the render world too: the on-air
/// camera's image ([`Compose::picture`]), or a backdrop `camera::held` kept from earlier in
/// the show and shows again after a cut back to its view.
#[derive(Component, Clone, PartialEq, ExtractComponent)]
pub struct OnAirPicture {
    /// The image copied into the frame.
    pub from: Handle<Image>,
    /// Where `from` is copied as well, to be kept (a new backdrop, by one compositor).
    pub keep_in: Option<Handle<Image>>,
    /// An image copied into `from` first, its top left corner there (twin screens drawn
    /// again into the backdrop, by one compositor; `camera::held` patches).
    pub patch: Option<(Handle<Image>, UVec2)>,
    /// Whether what the camera draws covers the whole frame (a glide, laid as the whole
    /// picture by `camera::held`): then `from` is not copied into the frame, only into
    /// `keep_in`.
    pub covered: bool,
}

/// The image a camera's finished frame is copied into, instead of being drawn there by
/// Bevy's upscaling pass, which its output mode (`Skip`) turns off. Only for a camera that
/// draws at its image's size and format, with nothing to blend into it; its main texture
/// needs [`TextureUsages::COPY_SRC`] ([`FrameByCopy::usages`]).
#[derive(Component, Clone, ExtractComponent)]
pub struct FrameByCopy(pub Handle<Image>);

impl FrameByCopy {
    /// What the main texture of a camera whose frame is copied is made with: copied out of
    /// (`COPY_SRC`), and into, for a compositor whose frame starts as the picture
    /// (`COPY_DST`; the host camera does not need it, and it costs nothing).
    pub fn usages() -> CameraMainTextureUsages {
        CameraMainTextureUsages::default().with(TextureUsages::COPY_DST | TextureUsages::COPY_SRC)
    }

    /// The output mode and copy for a camera drawing into `target`: by copy where it is an
    /// image, through Bevy's upscaling pass otherwise.
    fn for_target(target: &bevy::camera::RenderTarget) -> (CameraOutputMode, Option<Self>) {
        match target.as_image() {
            Some(image) => (CameraOutputMode::Skip, Some(Self(image.clone()))),
            None => (CameraOutputMode::default(), None),
        }
    }
}

pub(super) struct ComposePlugin;

impl Plugin for ComposePlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins(ExtractComponentPlugin::<OnAirPicture>::default())
            .add_plugins(ExtractComponentPlugin::<FrameByCopy>::default())
            .add_systems(Startup, spawn_compose_cameras);
        if let Some(render_app) = app.get_sub_app_mut(RenderApp) {
            render_app.add_systems(
                Core2d,
                (
                    copy_picture_into_frame.before(Core2dSystems::MainPass),
                    copy_frame_out.after(upscaling),
                ),
            );
            render_app.add_systems(Core3d, copy_frame_out.after(upscaling));
            render_app.add_systems(
                Render,
                attach_images_copied_into
                    .in_set(RenderSystems::PrepareViews)
                    .after(prepare_view_attachments)
                    .before(prepare_view_targets),
            );
        }
    }
}

/// For each program sharing the on-air picture, a 2D camera into its target that keeps
/// the copied picture (it clears nothing) under its graphics. A target that is an image
/// gets the finished frame by copy ([`FrameByCopy`]), not Bevy's upscaling.
fn spawn_compose_cameras(mut commands: Commands, settings: Res<ShowroomSettings>) {
    let Some(compose) = &settings.compose else {
        return;
    };
    for (index, target) in &compose.programs {
        let (output_mode, by_copy) = FrameByCopy::for_target(target);
        let mut camera = commands.spawn((
            Name::new(format!("program {index} compositor")),
            ComposeCamera { index: *index },
            OnAirPicture {
                from: compose.picture.clone(),
                keep_in: None,
                patch: None,
                covered: false,
            },
            Camera2d,
            Camera {
                order: 100 + *index as isize,
                clear_color: ClearColorConfig::None,
                output_mode,
                ..default()
            },
            FrameByCopy::usages(),
            Tonemapping::None,
            Msaa::Off,
            target.clone(),
        ));
        if let Some(by_copy) = by_copy {
            camera.insert(by_copy);
        }
    }
}

/// Copies the on-air picture into a compose camera's frame, before anything is drawn on
/// it (a patch into the picture first; not into a frame drawn over whole, where the copy
/// would be a 3.7 MB memmove at 720p for nothing), and into the image it is to be kept in,
/// if any. A picture not yet on the GPU leaves the frame as it was.
fn copy_picture_into_frame(
    view: ViewQuery<(&ViewTarget, &OnAirPicture)>,
    images: Res<RenderAssets<GpuImage>>,
    mut ctx: RenderContext,
) {
    let (target, on_air) = view.into_inner();
    let Some(picture) = images.get(&on_air.from) else {
        return;
    };
    if let Some((patch, at)) = &on_air.patch
        && let Some(patch) = images.get(patch)
    {
        let what = "a patch into the backdrop";
        copy_at(&mut ctx, &patch.texture, &picture.texture, *at, what);
    }
    if !on_air.covered {
        let frame = target.main_texture();
        let what = "the on-air picture into a frame";
        copy_whole(&mut ctx, &picture.texture, frame, what);
    }
    if let Some(kept) = on_air.keep_in.as_ref().and_then(|k| images.get(k)) {
        copy_whole(
            &mut ctx,
            &picture.texture,
            &kept.texture,
            "the on-air picture into a kept backdrop",
        );
    }
}

/// Gives the image of each camera that copies its frame out an output attachment, as Bevy
/// gives the targets of the cameras that draw into theirs. Bevy leaves it out for a camera
/// that skips its output, and then draws nothing for one that clears its frame (the host
/// camera); the attachment itself is never drawn into.
fn attach_images_copied_into(
    cameras: Query<&FrameByCopy, With<ExtractedCamera>>,
    images: Res<RenderAssets<GpuImage>>,
    mut attachments: ResMut<ViewTargetAttachments>,
) {
    for by_copy in &cameras {
        let Some(image) = images.get(&by_copy.0) else {
            continue;
        };
        let target = NormalizedRenderTarget::Image(by_copy.0.clone().into());
        attachments.entry(target).or_insert_with(|| {
            OutputColorAttachment::new(image.texture_view.clone(), image.texture.format())
        });
    }
}

/// Copies a camera's finished frame into its image ([`FrameByCopy`]).
fn copy_frame_out(
    view: ViewQuery<(&ViewTarget, &FrameByCopy)>,
    images: Res<RenderAssets<GpuImage>>,
    mut ctx: RenderContext,
) {
    let (target, by_copy) = view.into_inner();
    if let Some(image) = images.get(&by_copy.0) {
        let frame = target.main_texture();
        copy_whole(
            &mut ctx,
            frame,
            &image.texture,
            "a finished frame into its image",
        );
    }
}

/// Copies all of `from` into `to` with its top left corner at `at`; left out with a
/// warning where it does not fit there.
fn copy_at(ctx: &mut RenderContext, from: &Texture, to: &Texture, at: UVec2, what: &str) {
    let (size, room) = (from.size(), to.size());
    if at.x + size.width > room.width
        || at.y + size.height > room.height
        || from.format() != to.format()
    {
        return warn_misfit(what, from, to);
    }
    let mut into = to.as_image_copy();
    into.origin = bevy::render::render_resource::Origin3d {
        x: at.x,
        y: at.y,
        z: 0,
    };
    ctx.command_encoder()
        .copy_texture_to_texture(from.as_image_copy(), into, size);
}

/// Copies all of `from` into `to`. The programs are built so that the two match in size
/// and format; should they not, the copy is left out with a warning: a wrong picture
/// beats a failed frame.
fn copy_whole(ctx: &mut RenderContext, from: &Texture, to: &Texture, what: &str) {
    match from.size() == to.size() {
        true => copy_at(ctx, from, to, UVec2::ZERO, what),
        false => warn_misfit(what, from, to),
    }
}

/// Says once that `from` does not fit `to`, so copying `what` is left out.
fn warn_misfit(what: &str, from: &Texture, to: &Texture) {
    warn_once!(
        "copying {what}: {:?} ({:?}) does not fit {:?} ({:?})",
        from.size(),
        from.format(),
        to.size(),
        to.format()
    );
}
