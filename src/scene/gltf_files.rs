//! glTF files, each loaded once and as a whole.
//!
//! Bevy loads a file again for every sub-asset asked for by path before the file has
//! loaded (`robot.glb#Animation3` forces a load of `robot.glb`: bevyengine/bevy#10549),
//! and each load puts the file's clips and scenes in again: edits made to them are undone
//! and scenes made from them respawn. The demo's host, asked for as her scene and 14
//! clips, was parsed 15 times at start-up, and whichever load finished last decided her
//! first frames. So a file is loaded once, as a [`Gltf`], and its scenes and clips are
//! taken from that.

use super::gltf_json::{Beside, beside_in, files_beside, newest_change};
use crate::gltf_doc::document_for_loader;
use bevy::{gltf::Gltf, prelude::*, world_serialization::WorldAssetRoot};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The glTF files of the showroom, by asset path (as [`super::bevy_asset_path`] makes it),
/// kept loaded while the set uses them, so a rebuilt set finds them as they were.
#[derive(Resource, Default)]
pub struct GltfFiles {
    files: HashMap<String, LoadedFile>,
    /// The file kept loaded whatever the set shows (the presenter's), by asset path.
    held: Option<String>,
}

struct LoadedFile {
    /// The version shown.
    handle: Handle<Gltf>,
    /// The version loading since the file was saved again ([`super::versions`]): shown
    /// once it is in with its dependencies, dropped if it fails.
    next: Option<Handle<Gltf>>,
    /// The files it reads beside itself (buffers, images), as of its last load.
    beside: Vec<Beside>,
    /// The latest modification time of it and those files when it was last asked to load.
    modified: Option<SystemTime>,
}

impl GltfFiles {
    /// The file at `path` as shown: loaded the first time it is asked for, and as a new
    /// version when it or a file beside it (a `.bin`, a texture) has changed on disk
    /// since (a prop saved again from a modelling tool). The version shown stays until
    /// the new one is in ([`Self::show_loaded_versions`]), and when it fails to load.
    pub fn load(&mut self, server: &AssetServer, path: &str) -> Handle<Gltf> {
        self.file(server, path).handle.clone()
    }

    /// The one file kept whatever the set shows (the presenter's, in place of the one held
    /// before), at its newest version: the one loading, if it was saved again. Whoever
    /// shows it waits for that to be in.
    pub fn load_held(&mut self, server: &AssetServer, path: &str) -> Handle<Gltf> {
        self.held = Some(path.to_string());
        let file = self.file(server, path);
        file.next.as_ref().unwrap_or(&file.handle).clone()
    }

    fn file(&mut self, server: &AssetServer, path: &str) -> &mut LoadedFile {
        let on_disk = Path::new("/").join(path);
        let file = self.files.entry(path.to_string()).or_insert_with(|| {
            let beside = files_beside(&on_disk);
            LoadedFile {
                handle: server.load(path.to_string()),
                next: None,
                modified: newest_change(&on_disk, &beside).map(|(t, _)| t),
                beside,
            }
        });
        file.load_again_if_saved(server, path, &on_disk);
        file
    }

    /// Shows each new version that is in with its dependencies in place of the old one,
    /// and drops each that failed (the old one stays). Whether one came in: the set is
    /// then rebuilt (the held file may be a prop's too; whoever holds it takes its own).
    pub fn show_loaded_versions(&mut self, server: &AssetServer) -> bool {
        let mut shown = false;
        for (path, file) in &mut self.files {
            let Some(next) = &file.next else {
                continue;
            };
            if server.is_loaded_with_dependencies(next) {
                file.handle = next.clone();
                file.next = None;
                shown = true;
            } else if let Some(error) = load_error(server, next) {
                warn!("/{path}: the version saved did not load ({error}); the one shown stays");
                file.next = None;
            }
        }
        shown
    }

    /// Lets go of every file but those `kept` (a rebuilt set's) and the one held
    /// ([`Self::load_held`]), so files an edit dropped do not stay loaded for the rest of
    /// a run, and the held one is still known as last loaded when it is saved again.
    pub fn keep_only(&mut self, kept: &[AssetId<Gltf>]) {
        let held = self.held.as_deref();
        self.files
            .retain(|path, file| kept.contains(&file.handle.id()) || Some(path.as_str()) == held);
    }
}

/// Why `handle` failed to load, it or one of its dependencies (a texture).
pub fn load_error(server: &AssetServer, handle: &Handle<Gltf>) -> Option<String> {
    use bevy::asset::{LoadState, RecursiveDependencyLoadState};
    match server.get_load_states(handle)? {
        (LoadState::Failed(e), _, _) => Some(e.to_string()),
        (_, _, RecursiveDependencyLoadState::Failed(e)) => Some(e.to_string()),
        _ => None,
    }
}

impl LoadedFile {
    /// Starts loading a new version of the file at asset `path` (`on_disk`) if it or a
    /// file beside it was written since. A save cut short is not handed to Bevy's loader,
    /// which would log it twice with a backtrace, nor one naming a URI the loader would
    /// panic on: it is logged once, and the model stays as it was until saved whole.
    fn load_again_if_saved(&mut self, server: &AssetServer, path: &str, on_disk: &Path) {
        let Some((modified, written)) = newest_change(on_disk, &self.beside) else {
            return;
        };
        if Some(modified) == self.modified {
            return;
        }
        let written = written.to_path_buf();
        self.modified = Some(modified);
        let doc = match document_for_loader(on_disk) {
            Ok(doc) => doc,
            Err(reason) => {
                warn!("/{path}: {reason}; the model stays as it was until it is saved whole");
                return;
            }
        };
        info!(
            "{}: changed on disk; loading /{path} again",
            written.display()
        );
        self.next = Some(server.load(super::versions::next_version(path)));
        self.beside = beside_in(on_disk, &doc);
        self.modified = newest_change(on_disk, &self.beside).map(|(t, _)| t);
    }
}

/// A scene of a glTF file, spawned on this entity once the file has loaded; the file
/// stays named here for what else is taken from it (a prop's clips).
#[derive(Component, Clone)]
pub struct GltfScene {
    pub file: Handle<Gltf>,
    pub index: usize,
    /// The file as the scene names it, for messages.
    pub asset: PathBuf,
}

/// Scenes asked for that their files do not have: start-up stops with the first.
#[derive(Resource, Default)]
pub struct MissingScenes(pub Vec<String>);

/// How many times a glTF file was loaded (each file once, unless something asked for a
/// part of one by path): said when the scene is ready.
#[derive(Resource, Default)]
pub struct GltfLoads(pub usize);

pub(super) fn place_gltf_scenes(
    mut commands: Commands,
    waiting: Query<(Entity, &GltfScene, &Name), Without<WorldAssetRoot>>,
    files: Res<Assets<Gltf>>,
    mut missing: ResMut<MissingScenes>,
) {
    for (entity, wanted, name) in &waiting {
        let Some(file) = files.get(&wanted.file) else {
            continue;
        };
        match file.scenes.get(wanted.index) {
            Some(scene) => {
                commands
                    .entity(entity)
                    .insert(WorldAssetRoot(scene.clone()));
            }
            None => {
                missing
                    .0
                    .push(no_such_scene(name, &wanted.asset, file, wanted.index));
                commands.entity(entity).remove::<GltfScene>();
            }
        }
    }
}

/// The message for scene `index`, asked for by `name`, missing from `file` (`asset`).
pub fn no_such_scene(name: &str, asset: &Path, file: &Gltf, index: usize) -> String {
    format!(
        "`{name}`: {} has {} scene(s); there is no scene {index}",
        asset.display(),
        file.scenes.len()
    )
}

pub(super) fn count_gltf_loads(
    mut events: MessageReader<AssetEvent<Gltf>>,
    mut loads: ResMut<GltfLoads>,
) {
    loads.0 += events
        .read()
        .filter(|e| matches!(e, AssetEvent::Added { .. } | AssetEvent::Modified { .. }))
        .count();
}
