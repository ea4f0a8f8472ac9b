//! Lean lighting for a CPU renderer.
//!
//! Lavapipe runs shaders as masked vector code, and paths that no pixel takes still cost:
//! removing one untaken call from Bevy's lighting made the demo's frames 1.4× faster with
//! the same pixels. Bevy's `apply_pbr_lighting` carries many such paths (soft shadows,
//! point and spot light shadows, transmission, environment maps…); on two cores they were
//! 40 % of a 720p frame. Lean lighting replaces that one function with a version that
//! keeps what a showroom is lit by, calling Bevy's own BRDF functions, so for such a set
//! the picture is the same pixel for pixel (`lean_lighting.wgsl` lists what is left out).
//!
//! Once Bevy's `pbr_functions` library has loaded, [`patch`] renames its function and
//! appends ours under the name, and the patched text replaces the loaded library. The set
//! waits for that (`super::lighting_settled`), so its pipelines are built once; Bevy's
//! shader hot reload rebuilds any other pipeline built before (the presenter's, if her
//! file loaded first). If Bevy's text changes so that the function is not there, the
//! library stays as it is and a warning says so: the picture is the same, only slower.

use bevy::prelude::*;
use bevy::shader::{Shader, Source};

/// Where Bevy embeds the library.
const LIBRARY: &str = "embedded://bevy_pbr/render/pbr_functions.wgsl";
const FULL_FN: &str = "fn apply_pbr_lighting(";
const RENAMED_FN: &str = "fn apply_pbr_lighting_full(";
/// The lean function; its first line marks a patched library.
const LEAN_WGSL: &str = include_str!("lean_lighting.wgsl");

/// Bevy's library with [`LEAN_WGSL`] in place of its lighting; `None` when it is patched
/// already or the function is not there exactly once.
pub fn patch(library: &str) -> Option<String> {
    let marker = LEAN_WGSL.lines().next().unwrap_or_default();
    if library.contains(marker) || library.matches(FULL_FN).count() != 1 {
        return None;
    }
    let renamed = library.replace(FULL_FN, RENAMED_FN);
    Some(format!("{renamed}\n{LEAN_WGSL}"))
}

/// The library's handle, from the choice of lean lighting until it is patched (or that is
/// given up). The set waits for it, so its pipelines are built once.
#[derive(Resource)]
pub(super) struct Unpatched(Handle<Shader>);

/// Present once the library is patched: the set is lit the lean way, and its functions
/// (`lean_directional_shadow`) can be imported from `bevy_pbr::pbr_functions`.
#[derive(Resource, Debug)]
pub struct LeanLighting;

/// Frames to wait for the library (an embedded file, loaded in a frame or two) before the
/// set is built with the full lighting instead.
const PATIENCE_FRAMES: u32 = 600;

/// Asks for the library, to patch it once it has loaded.
pub(super) fn watch_lighting_library(world: &mut World) {
    let library = world.resource::<AssetServer>().load(LIBRARY);
    world.insert_resource(Unpatched(library));
}

pub(super) fn patch_lighting_library(
    mut commands: Commands,
    unpatched: Res<Unpatched>,
    mut shaders: ResMut<Assets<Shader>>,
    server: Res<AssetServer>,
    mut waited: Local<u32>,
) {
    let Some(shader) = shaders.get(&unpatched.0) else {
        *waited += 1;
        if *waited > PATIENCE_FRAMES || server.load_state(&unpatched.0).is_failed() {
            warn!("Bevy's lighting library did not load; lighting stays full");
            commands.remove_resource::<Unpatched>();
        }
        return;
    };
    commands.remove_resource::<Unpatched>();
    let Source::Wgsl(text) = &shader.source else {
        warn!("Bevy's lighting library is not WGSL; lighting stays full");
        return;
    };
    let Some(lean) = patch(text) else {
        warn!("Bevy's lighting library has changed; lighting stays full");
        return;
    };
    // Only functions are added, no imports: the loaded shader's import list still holds.
    let mut patched = shader.clone();
    patched.source = Source::Wgsl(lean.into());
    match shaders.insert(unpatched.0.id(), patched) {
        Ok(()) => {
            commands.insert_resource(LeanLighting);
            info!("lighting: lean (CPU renderer)");
        }
        Err(e) => warn!("lighting stays full: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBRARY_TEXT: &str = "#define_import_path bevy_pbr::pbr_functions\n\
        fn apply_pbr_lighting(\n    in: pbr_types::PbrInput,\n) -> vec4<f32> {\n    return vec4(1.0);\n}\n";

    #[test]
    fn bevy_lighting_is_renamed_and_the_lean_one_takes_its_name() {
        let patched = patch(LIBRARY_TEXT).unwrap();
        assert_eq!(patched.matches(FULL_FN).count(), 1);
        assert_eq!(patched.matches(RENAMED_FN).count(), 1);
        assert!(patched.starts_with("#define_import_path bevy_pbr::pbr_functions\n"));
        assert!(patched.contains("fn lean_directional_shadow("));
    }

    #[test]
    fn a_patched_or_changed_library_is_left_alone() {
        let patched = patch(LIBRARY_TEXT).unwrap();
        assert_eq!(patch(&patched), None);
        assert_eq!(patch("fn something_else() {}"), None);
    }
}
