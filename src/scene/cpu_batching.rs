//! Meshes batched on the CPU when the renderer is the CPU.
//!
//! Bevy prepares each frame's mesh instances with compute shaders where the device has
//! them ("GPU preprocessing": instance data, indirect draw parameters, bin unpacking, a
//! few dispatches per view). On a GPU that is free; on lavapipe each dispatch is shader
//! code on the same two cores that rasterise, for a set of a few dozen meshes. Batching
//! them on the CPU, as Bevy does where compute shaders are missing, cut a frame's cost
//! before its pixels (64×36) by about a fifth and made held 720p frames 2–8 % faster on
//! two cores, with the same picture (docs/performance.md).
//!
//! Bevy decides twice: `MeshRenderPlugin` picks its instance path in its `finish` from
//! [`GpuPreprocessingSupport`], and `RenderStartup` measures the device again for the
//! passes and phases. Both must agree (`PbrPlugin { use_gpu_instance_buffer_builder:
//! false }` changes only the first, and then nothing is drawn), so this plugin sits right
//! after `RenderPlugin` in the plugin group: its `finish` runs once the adapter is known
//! and before the mesh plugin's, and it sets the support to none again after
//! `RenderStartup` has measured it.

use super::on_cpu;
use bevy::prelude::*;
use bevy::render::{
    RenderApp, RenderStartup,
    batching::gpu_preprocessing::{GpuPreprocessingMode, GpuPreprocessingSupport},
    init_gpu_resource,
    renderer::RenderAdapterInfo,
};

/// Add right after `RenderPlugin` (`PluginGroupBuilder::add_after`); see the module.
pub struct CpuBatchingPlugin;

impl Plugin for CpuBatchingPlugin {
    fn build(&self, _app: &mut App) {}

    fn finish(&self, app: &mut App) {
        let Some(render) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        if !on_cpu(render.world().get_resource::<RenderAdapterInfo>()) {
            return;
        }
        render.insert_resource(none());
        render.add_systems(
            RenderStartup,
            batch_on_the_cpu.after(init_gpu_resource::<GpuPreprocessingSupport>),
        );
    }
}

/// Where an app's meshes are batched: "cpu", or "gpu" (compute shaders); "unknown" before
/// the renderer has started. The benchmark prints it beside its figures.
pub fn batching(app: &App) -> &'static str {
    let support = (app.get_sub_app(RenderApp))
        .and_then(|render| render.world().get_resource::<GpuPreprocessingSupport>());
    match support.map(|s| s.max_supported_mode) {
        None => "unknown",
        Some(GpuPreprocessingMode::None) => "cpu",
        Some(_) => "gpu",
    }
}

fn none() -> GpuPreprocessingSupport {
    GpuPreprocessingSupport {
        max_supported_mode: GpuPreprocessingMode::None,
    }
}

fn batch_on_the_cpu(mut support: ResMut<GpuPreprocessingSupport>) {
    *support = none();
}
