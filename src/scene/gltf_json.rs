//! The files a glTF file reads beside itself (buffers and images named by URI), found as
//! Bevy's loader finds them, and when they were last written: so that a running show and
//! the editor can watch them and load the model again when one is saved.

use crate::gltf_doc::{document, percent_decode};
use bevy::asset::AssetPath;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A file a glTF reads beside itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Beside {
    /// Where it is on disk.
    pub path: PathBuf,
    /// How Bevy's asset server names it (rooted at `/`, see [`super::bevy_asset_path`]).
    pub asset: String,
    /// An image (an asset of its own, loaded again by its path) rather than a buffer
    /// (read into the glTF's own load).
    pub image: bool,
}

/// The files `file` reads beside itself. A file that cannot be read or parsed has none:
/// the loader says what is wrong with it.
pub fn files_beside(file: &Path) -> Vec<Beside> {
    document(file).map_or_else(|_| Vec::new(), |doc| beside_in(file, &doc))
}

/// The files the buffers and images of `doc`, the JSON of `file`, name by URI: data URIs
/// and the GLB's own chunk are not files, and a URI Bevy cannot resolve is left to it.
pub fn beside_in(file: &Path, doc: &Value) -> Vec<Beside> {
    let gltf = AssetPath::from(super::bevy_asset_path(file));
    let uris = |key: &'static str| {
        doc[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| entry["uri"].as_str())
            .filter(|uri| !uri.starts_with("data:"))
            .map(move |uri| (uri, key == "images"))
    };
    let mut found: Vec<Beside> = Vec::new();
    for (uri, image) in uris("buffers").chain(uris("images")) {
        let Ok(resolved) = gltf.resolve_embed_str(&percent_decode(uri)) else {
            continue;
        };
        let asset = resolved.path().to_string_lossy().into_owned();
        if !found.iter().any(|b| b.asset == asset) {
            found.push(Beside {
                path: Path::new("/").join(&asset),
                asset,
                image,
            });
        }
    }
    found
}

/// The latest modification time of `file` and the files beside it, and which it was:
/// what tells that a model was saved again, whichever of its files a modelling tool wrote.
pub fn newest_change<'a>(file: &'a Path, beside: &'a [Beside]) -> Option<(SystemTime, &'a Path)> {
    let modified = |p: &'a Path| Some((std::fs::metadata(p).ok()?.modified().ok()?, p));
    let own = modified(file)?;
    Some(
        beside
            .iter()
            .filter_map(|b| modified(&b.path))
            .fold(
                own,
                |newest, next| if next.0 > newest.0 { next } else { newest },
            ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn buffers_and_images_beside_a_model_are_found_as_bevy_names_them() {
        let doc = json!({
            "buffers": [{"uri": "mesh%20data.bin"}, {"uri": "data:application/octet-stream;base64,AAAA"}, {}],
            "images": [{"uri": "../textures/wood.png"}, {"bufferView": 3}, {"uri": "mesh%20data.bin"}],
        });
        let found = beside_in(Path::new("/shop/props/chair.gltf"), &doc);
        let named: Vec<(&str, &Path, bool)> = found
            .iter()
            .map(|b| (b.asset.as_str(), b.path.as_path(), b.image))
            .collect();
        assert_eq!(
            named,
            [
                (
                    "shop/props/mesh data.bin",
                    Path::new("/shop/props/mesh data.bin"),
                    false
                ),
                (
                    "shop/textures/wood.png",
                    Path::new("/shop/textures/wood.png"),
                    true
                ),
            ]
        );
        assert!(beside_in(Path::new("/a.glb"), &json!({"images": "no list"})).is_empty());
    }
}
