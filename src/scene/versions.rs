//! Bevy's asset source `versions`: the file system from `/`, read under paths that begin
//! with a version number (`versions://7/srv/props/lamp.glb` is `/srv/props/lamp.glb`).
//!
//! A model saved again is loaded as a new asset under its next version, never into the
//! asset on screen. Bevy puts a reloaded asset in place the frame it lands, and respawns
//! the entities showing it only the next frame: that frame the old entities are drawn
//! with the new meshes, and a mesh that gained a skin or morph targets fails the
//! renderer's validation, which stops the show. Loaded as a new version, the old stays on
//! screen until the new one is in with its textures (they are new assets too, being
//! resolved under the same version), and is let go once nothing shows it.

use bevy::asset::AssetApp;
use bevy::asset::io::{
    AssetReader, AssetReaderError, AssetSourceBuilder, PathStream, Reader, VecReader,
};
use bevy::prelude::*;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const SOURCE: &str = "versions";

/// Registers the `versions` source: added before Bevy's `AssetPlugin`.
pub struct VersionedFilesPlugin;

impl Plugin for VersionedFilesPlugin {
    fn build(&self, app: &mut App) {
        app.register_asset_source(SOURCE, AssetSourceBuilder::new(|| Box::new(VersionedFiles)));
    }
}

/// The asset path of a new version of the file at asset path `path` (as
/// [`super::bevy_asset_path`] makes it): one no asset has had in this run.
pub fn next_version(path: &str) -> String {
    static VERSION: AtomicU64 = AtomicU64::new(1);
    let n = VERSION.fetch_add(1, Ordering::Relaxed);
    format!("{SOURCE}://{n}/{path}")
}

struct VersionedFiles;

/// The file `path` names, its version taken off.
fn on_disk(path: &Path) -> Result<PathBuf, AssetReaderError> {
    let mut parts = path.components();
    match parts.next() {
        Some(Component::Normal(_)) => Ok(Path::new("/").join(parts.as_path())),
        _ => Err(AssetReaderError::NotFound(path.to_path_buf())),
    }
}

/// The whole file: Bevy's glTF loader reads a model whole anyway.
fn read_whole(file: PathBuf) -> Result<VecReader, AssetReaderError> {
    match std::fs::read(&file) {
        Ok(bytes) => Ok(VecReader::new(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AssetReaderError::NotFound(file)),
        Err(e) => Err(AssetReaderError::Io(Arc::new(e))),
    }
}

impl AssetReader for VersionedFiles {
    async fn read<'a>(&'a self, path: &'a Path) -> Result<impl Reader + 'a, AssetReaderError> {
        read_whole(on_disk(path)?)
    }

    async fn read_meta<'a>(&'a self, path: &'a Path) -> Result<impl Reader + 'a, AssetReaderError> {
        let mut meta = on_disk(path)?.into_os_string();
        meta.push(".meta");
        read_whole(meta.into())
    }

    async fn read_directory<'a>(
        &'a self,
        path: &'a Path,
    ) -> Result<Box<PathStream>, AssetReaderError> {
        // Models are asked for by file; no folder is loaded through a version.
        Err(AssetReaderError::NotFound(path.to_path_buf()))
    }

    async fn is_directory<'a>(&'a self, path: &'a Path) -> Result<bool, AssetReaderError> {
        Ok(on_disk(path)?.is_dir())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_names_the_file_without_its_number() {
        let first = next_version("srv/props/lamp.glb");
        let second = next_version("srv/props/lamp.glb");
        assert_ne!(first, second);
        let path = first.strip_prefix("versions://").unwrap();
        assert_eq!(
            on_disk(Path::new(path)).unwrap(),
            Path::new("/srv/props/lamp.glb")
        );
        assert!(on_disk(Path::new("/")).is_err());
    }
}
