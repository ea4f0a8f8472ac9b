//! Watching the files a scene's props are drawn from, so a prop saved again from a
//! modelling tool is shown as saved: by a running show and by the editor alike.

use super::LoadedScene;
use crate::watch::FileWatch;
use std::path::PathBuf;

/// The props' files of the scene last followed, with one watcher for all of them.
#[derive(Default)]
pub struct PropFilesWatch {
    files: Vec<PathBuf>,
    watch: Option<FileWatch>,
}

impl PropFilesWatch {
    /// Watches the props' files of `scene`, if they are not the ones watched already.
    /// Files that cannot be watched are logged and left unwatched: no reason to stop.
    pub fn follow(&mut self, scene: &LoadedScene) {
        let files = scene.prop_files();
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

    /// A prop's file that was saved again and has settled, once (then the set is rebuilt,
    /// and [`super::GltfFiles`] loads the changed file again).
    pub fn changed_file(&mut self) -> Option<PathBuf> {
        self.watch.as_mut()?.changed_file()
    }
}
