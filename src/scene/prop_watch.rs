//! Watching the files a scene's props are drawn from, so a prop saved again from a
//! modelling tool is shown as saved: by a running show and by the editor alike. A
//! prop's file is watched with the files it reads beside itself (a `.gltf`'s `.bin`, its
//! textures), since a tool may write only those.

use super::LoadedScene;
use super::gltf_json::files_beside;
use crate::watch::FileWatch;
use std::path::PathBuf;

/// The props' files of the scene last followed, with one watcher for all of them.
#[derive(Default)]
pub struct PropFilesWatch {
    /// The props' own files.
    props: Vec<PathBuf>,
    /// Those and the files beside them: what is watched.
    files: Vec<PathBuf>,
    watch: Option<FileWatch>,
}

impl PropFilesWatch {
    /// Watches the props' files of `scene`, if they are not the ones watched already.
    pub fn follow(&mut self, scene: &LoadedScene) {
        let props = scene.prop_files();
        if props != self.props {
            self.props = props;
            self.watch_files();
        }
    }

    /// Watches the props' files and the files beside them, if those changed. Files that
    /// cannot be watched are logged and left unwatched: no reason to stop.
    fn watch_files(&mut self) {
        let mut files = self.props.clone();
        for beside in self.props.iter().flat_map(|p| files_beside(p)) {
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
                .map_err(|e| tracing::warn!("{e}; a prop saved again shows after a restart"))
                .ok()
        };
        self.files = files;
    }

    /// A prop's file, or a file beside one, that was saved again and has settled, once
    /// (then the set is rebuilt, and [`super::GltfFiles`] loads the changed model again).
    pub fn changed_file(&mut self) -> Option<PathBuf> {
        let changed = self.watch.as_mut()?.changed_file()?;
        // A model saved again may name other files beside it.
        self.watch_files();
        Some(changed)
    }
}
