//! Render pipelines still being made: a backdrop drawn meanwhile is not held.
//!
//! Bevy makes a pipeline in the background the first time something needs it, and draws
//! nothing with it until it is ready. A backdrop drawn meanwhile lacks what that pipeline
//! draws, and a held shot would show it so for as long as it holds: at startup the demo's
//! last backdrop, drawn during warm-up, held every edge of the set unlike the frames drawn
//! in full. So a backdrop (or a patch) drawn on a frame that ended with pipelines waiting
//! is drawn again.

use bevy::prelude::*;
use bevy::render::render_resource::{CachedPipelineState, PipelineCache};
use bevy::render::{Render, RenderApp, RenderSystems};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the render world had pipelines waiting when it last drew, shared by both
/// worlds.
#[derive(Resource, Clone, Default)]
pub(super) struct Compiling(Arc<AtomicBool>);

impl Compiling {
    pub(super) fn now(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

pub(super) fn add(app: &mut App) {
    let compiling = Compiling::default();
    app.insert_resource(compiling.clone());
    if let Some(render_app) = app.get_sub_app_mut(RenderApp) {
        render_app.insert_resource(compiling).add_systems(
            Render,
            note_waiting_pipelines.in_set(RenderSystems::Cleanup),
        );
    }
}

/// Notes whether any pipeline is still being made, after the frame is drawn.
///
/// Bevy leaves a pipeline it made this frame among the waiting ones until the next (and
/// this app makes them synchronously, before drawing): such a pipeline drew this frame, so
/// only those not made yet count. Counting them too drew every backdrop of warm-up, and
/// the first after each new pipeline, twice.
fn note_waiting_pipelines(cache: Res<PipelineCache>, compiling: Res<Compiling>) {
    let waiting = cache.waiting_pipelines().any(|id| {
        !matches!(
            cache.pipelines().nth(id).map(|p| &p.state),
            Some(CachedPipelineState::Ok(_))
        )
    });
    compiling.0.store(waiting, Ordering::Relaxed);
}
