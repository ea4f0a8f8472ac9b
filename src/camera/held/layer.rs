//! The host's layer in the compositors: her image laid over the picture with premultiplied
//! alpha, or, on a glide, laid as the whole picture.
//!
//! Over a backdrop the host camera draws her on a transparent clear, and its anti-aliasing
//! resolves her edges to premultiplied colour (a pixel half covered holds half her colour
//! and half opacity). Bevy UI's images blend as straight alpha, which would darken that
//! edge into a dark outline; this material blends as premultiplied.
//!
//! A glide's image is the whole view, opaque, stretched over the whole picture: blending
//! it would read every pixel of the frame under it for nothing. On lavapipe that read (and
//! its sRGB decoding) was about 1.2 ms of a 720p glide's graphics pass (5.3 ms with it,
//! 4.1 without), so a glide is laid by a second material of the same image that replaces
//! what is there.

use bevy::asset::{load_internal_asset, uuid_handle};
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, BlendState, RenderPipelineDescriptor};
use bevy::shader::{Shader, ShaderRef};
use bevy::ui_render::prelude::{UiMaterial, UiMaterialPlugin};
use bevy::ui_render::ui_material::UiMaterialKey;

/// The layer's shader, built in (its source lives in `shaders/`).
const HOST_LAYER_SHADER: Handle<Shader> = uuid_handle!("8f3b2a51-6c1d-4e7f-9b20-5d4a3c2e1f07");

/// The host's image, drawn as it is: blended as premultiplied alpha, or replacing what is
/// under it ([`LayerKey::whole`]).
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
#[bind_group_data(LayerKey)]
pub struct HostLayerMaterial {
    #[texture(0)]
    #[sampler(1)]
    image: Handle<Image>,
    whole: bool,
}

/// What the layer's pipeline is specialised by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerKey {
    /// The image is the whole picture (a glide): written, not blended.
    whole: bool,
}

impl From<&HostLayerMaterial> for LayerKey {
    fn from(material: &HostLayerMaterial) -> Self {
        Self {
            whole: material.whole,
        }
    }
}

impl UiMaterial for HostLayerMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(HOST_LAYER_SHADER)
    }

    fn specialize(descriptor: &mut RenderPipelineDescriptor, key: UiMaterialKey<Self>) {
        let blend = match key.bind_group_data.whole {
            true => None,
            false => Some(BlendState::PREMULTIPLIED_ALPHA_BLENDING),
        };
        let targets = descriptor.fragment.iter_mut().flat_map(|f| &mut f.targets);
        for target in targets.flatten() {
            target.blend = blend;
        }
    }
}

/// The two materials that lay the host's image: over the backdrop, and as a glide's whole
/// picture.
pub(super) struct Layers {
    over: Handle<HostLayerMaterial>,
    whole: Handle<HostLayerMaterial>,
}

impl Layers {
    /// The material for a frame: the whole picture on a glide, over the backdrop otherwise.
    pub(super) fn for_frame(&self, glide: bool) -> &Handle<HostLayerMaterial> {
        match glide {
            true => &self.whole,
            false => &self.over,
        }
    }

    /// Marks both materials changed, so that their bind groups take the image's new texture.
    pub(super) fn refresh(&self, materials: &mut Assets<HostLayerMaterial>) {
        for handle in [&self.over, &self.whole] {
            if let Some(material) = materials.get_mut(handle) {
                material.into_inner();
            }
        }
    }
}

/// Adds the material to `app` and makes the two that lay `image`.
pub(super) fn add(app: &mut App, image: Handle<Image>) -> Layers {
    load_internal_asset!(
        app,
        HOST_LAYER_SHADER,
        "../../../shaders/host_layer.wgsl",
        Shader::from_wgsl
    );
    app.add_plugins(UiMaterialPlugin::<HostLayerMaterial>::default());
    let mut materials = app.world_mut().resource_mut::<Assets<HostLayerMaterial>>();
    let mut add = |whole| {
        materials.add(HostLayerMaterial {
            image: image.clone(),
            whole,
        })
    };
    Layers {
        over: add(false),
        whole: add(true),
    }
}
