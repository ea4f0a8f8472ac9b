//! Watching the files a scene's models are drawn from, so a prop or an avatar saved again
//! from a modelling tool is shown as saved: by a running show and by the editor alike. A
//! model's file is watched with the files it reads beside itself (a `.gltf`'s `.bin`, its
//! textures), since a tool may write only those.

use super::gltf_json::files_beside;
use crate::watch::FileWatch;
use std::path::PathBuf;

/// The models' files last followed (a scene's props', or the presenter's), with one
/// watcher for all of them.
#[derive(Default)]
pub struct ModelFilesWatch {
    /// The models' own files (other files, a BVH clip, are watched as they are).
    models: Vec<PathBuf>,
    /// Those and the files beside them: what is watched.
    files: Vec<PathBuf>,
    watch: Option<FileWatch>,
}

impl ModelFilesWatch {
    /// Watches `models`' files ([`super::LoadedScene::prop_files`],
    /// [`super::LoadedScene::presenter_files`]), if they are not the ones watched already.
    pub fn follow(&mut self, models: Vec<PathBuf>) {
        if models != self.models {
            self.models = models;
            self.watch_files();
        }
    }

    /// Watches the models' files and the files beside them, if those changed. Files that
    /// cannot be watched are logged and left unwatched: no reason to stop.
    fn watch_files(&mut self) {
        let mut files = self.models.clone();
        for beside in self.models.iter().flat_map(|p| files_beside(p)) {
            // (One in a folder that is not there is the loader's error to report.)
            let folder_is_there = beside.path.parent().is_some_and(|d| d.is_dir());
            if folder_is_there && !files.contains(&beside.path) {
                files.push(beside.path);
            }
        }
        if files == self.files {
            return;
        }
        self.watch = if files.is_empty() {
            None
        } else {
            FileWatch::files(&files)
                .map_err(|e| tracing::warn!("{e}; a model saved again shows after a restart"))
                .ok()
        };
        self.files = files;
    }

    /// A model's file, or a file beside one, that was saved again and has settled, once
    /// (then the set is rebuilt, or the presenter dressed again, and
    /// [`super::GltfFiles`] loads the changed model again).
    pub fn changed_file(&mut self) -> Option<PathBuf> {
        let changed = self.watch.as_mut()?.changed_file()?;
        // A model saved again may name other files beside it.
        self.watch_files();
        Some(changed)
    }
}
