//! The host's layer in the compositors: her image laid over the picture with premultiplied
//! alpha.
//!
//! Over a backdrop the host camera draws her on a transparent clear, and its anti-aliasing
//! resolves her edges to premultiplied colour (a pixel half covered holds half her colour
//! and half opacity). Bevy UI's images blend as straight alpha, which would darken that
//! edge into a dark outline; this material blends as premultiplied.

use bevy::asset::{load_internal_asset, uuid_handle};
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, BlendState, RenderPipelineDescriptor};
use bevy::shader::{Shader, ShaderRef};
use bevy::ui_render::prelude::{UiMaterial, UiMaterialPlugin};
use bevy::ui_render::ui_material::UiMaterialKey;

/// The layer's shader, built in (its source lives in `shaders/`).
const HOST_LAYER_SHADER: Handle<Shader> = uuid_handle!("8f3b2a51-6c1d-4e7f-9b20-5d4a3c2e1f07");

/// The host's image, drawn as it is and blended as premultiplied alpha.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct HostLayerMaterial {
    #[texture(0)]
    #[sampler(1)]
    image: Handle<Image>,
}

impl UiMaterial for HostLayerMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(HOST_LAYER_SHADER)
    }

    fn specialize(descriptor: &mut RenderPipelineDescriptor, _key: UiMaterialKey<Self>) {
        let targets = descriptor.fragment.iter_mut().flat_map(|f| &mut f.targets);
        for target in targets.flatten() {
            target.blend = Some(BlendState::PREMULTIPLIED_ALPHA_BLENDING);
        }
    }
}

/// Adds the material to `app` and makes the one that lays `image`.
pub(super) fn add(app: &mut App, image: Handle<Image>) -> Handle<HostLayerMaterial> {
    load_internal_asset!(
        app,
        HOST_LAYER_SHADER,
        "../../../shaders/host_layer.wgsl",
        Shader::from_wgsl
    );
    app.add_plugins(UiMaterialPlugin::<HostLayerMaterial>::default());
    (app.world_mut().resource_mut::<Assets<HostLayerMaterial>>()).add(HostLayerMaterial { image })
}
