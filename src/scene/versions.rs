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
//!
//! The files are read by Bevy's own file reader, so a version streams from the disk as
//! the first load did (a large prop saved again is not held in memory twice).

use bevy::asset::AssetApp;
use bevy::asset::io::file::FileAssetReader;
use bevy::asset::io::{AssetReader, AssetReaderError, AssetSourceBuilder, PathStream, Reader};
use bevy::prelude::*;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicU64, Ordering};

const SOURCE: &str = "versions";

/// Registers the `versions` source: added before Bevy's `AssetPlugin`.
pub struct VersionedFilesPlugin;

impl Plugin for VersionedFilesPlugin {
    fn build(&self, app: &mut App) {
        app.register_asset_source(
            SOURCE,
            AssetSourceBuilder::new(|| {
                Box::new(VersionedFiles {
                    files: FileAssetReader::new("/"),
                })
            }),
        );
    }
}

/// The asset path of a new version of the file at asset path `path` (as
/// [`super::bevy_asset_path`] makes it): one no asset has had in this run.
pub fn next_version(path: &str) -> String {
    static VERSION: AtomicU64 = AtomicU64::new(1);
    let n = VERSION.fetch_add(1, Ordering::Relaxed);
    format!("{SOURCE}://{n}/{path}")
}

/// Bevy's file reader rooted at `/`, asked for the file a versioned path names.
struct VersionedFiles {
    files: FileAssetReader,
}

/// The file `path` names, its version taken off, relative to `/`.
fn on_disk(path: &Path) -> Result<&Path, AssetReaderError> {
    let mut parts = path.components();
    match parts.next() {
        Some(Component::Normal(_)) if parts.clone().next().is_some() => Ok(parts.as_path()),
        _ => Err(AssetReaderError::NotFound(path.to_path_buf())),
    }
}

impl AssetReader for VersionedFiles {
    async fn read<'a>(&'a self, path: &'a Path) -> Result<impl Reader + 'a, AssetReaderError> {
        let file = on_disk(path)?;
        self.files.read(file).await
    }

    async fn read_meta<'a>(&'a self, path: &'a Path) -> Result<impl Reader + 'a, AssetReaderError> {
        let file = on_disk(path)?;
        self.files.read_meta(file).await
    }

    async fn read_directory<'a>(
        &'a self,
        path: &'a Path,
    ) -> Result<Box<PathStream>, AssetReaderError> {
        // Models are asked for by file; no folder is loaded through a version.
        Err(AssetReaderError::NotFound(path.to_path_buf()))
    }

    async fn is_directory<'a>(&'a self, path: &'a Path) -> Result<bool, AssetReaderError> {
        let file = on_disk(path)?;
        self.files.is_directory(file).await
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
            Path::new("srv/props/lamp.glb")
        );
        assert!(on_disk(Path::new("/")).is_err());
        assert!(on_disk(Path::new("7")).is_err());
    }
}
