//! Reading an avatar's skeleton (joint names and hierarchy) from a glTF/GLB file without
//! loading it into Bevy: enough for `mocap inspect` to show the bone mapping it would use.

use serde_json::Value;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
#[error("{}: {reason}", path.display())]
pub struct SkeletonError {
    pub path: PathBuf,
    pub reason: String,
}

/// Joint names with parent indices (parents first), from the file's first skin — or from
/// every node when it has no skin.
#[derive(Debug, Clone, PartialEq)]
pub struct Skeleton {
    pub names: Vec<String>,
    pub parents: Vec<Option<usize>>,
}

impl Skeleton {
    pub fn load(path: &Path) -> Result<Self, SkeletonError> {
        Self::from_document(&document(path)?).map_err(|reason| SkeletonError {
            path: path.to_path_buf(),
            reason,
        })
    }

    fn from_document(doc: &Value) -> Result<Self, String> {
        let nodes = doc["nodes"].as_array().ok_or("the file has no nodes")?;
        let mut parent_of = vec![None; nodes.len()];
        for (i, node) in nodes.iter().enumerate() {
            for child in node["children"].as_array().into_iter().flatten() {
                if let Some(c) = child
                    .as_u64()
                    .map(|c| c as usize)
                    .filter(|c| *c < nodes.len())
                {
                    parent_of[c] = Some(i);
                }
            }
        }
        let joints: Vec<usize> = match doc["skins"][0]["joints"].as_array() {
            Some(list) => list
                .iter()
                .filter_map(|j| j.as_u64().map(|j| j as usize))
                .filter(|j| *j < nodes.len())
                .collect(),
            None => (0..nodes.len()).collect(),
        };
        // Order parents before children: sort by depth, keeping file order within a depth.
        let depth = |mut n: usize| {
            let mut d = 0;
            while let Some(p) = parent_of[n] {
                n = p;
                d += 1;
                if d > nodes.len() {
                    break; // a cycle: malformed, but do not hang
                }
            }
            d
        };
        let mut ordered = joints.clone();
        ordered.sort_by_key(|n| depth(*n));
        let names = ordered
            .iter()
            .map(|n| {
                nodes[*n]["name"]
                    .as_str()
                    .map_or_else(|| format!("node{n}"), str::to_string)
            })
            .collect();
        let parents = ordered
            .iter()
            .map(|n| {
                // The nearest ancestor that is itself a joint.
                let mut at = parent_of[*n];
                while let Some(p) = at {
                    if let Some(k) = ordered.iter().position(|o| *o == p) {
                        return Some(k);
                    }
                    at = parent_of[p];
                }
                None
            })
            .collect();
        Ok(Self { names, parents })
    }
}

/// A glTF/GLB/VRM file's JSON document.
pub fn document(path: &Path) -> Result<Value, SkeletonError> {
    crate::gltf_doc::document(path).map_err(|reason| SkeletonError {
        path: path.to_path_buf(),
        reason,
    })
}

/// The name Bevy's glTF loader gives node `index` of `doc`: its own, or `GltfNode{index}`.
pub fn node_name(doc: &Value, index: usize) -> String {
    doc["nodes"][index]["name"]
        .as_str()
        .map_or_else(|| format!("GltfNode{index}"), str::to_string)
}

/// The names of a glTF file's animations, in file order (Bevy's animation indices).
pub fn animation_names(path: &Path) -> Result<Vec<String>, SkeletonError> {
    let doc = document(path)?;
    Ok(doc["animations"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, a)| {
            a["name"]
                .as_str()
                .map_or_else(|| format!("animation{i}"), str::to_string)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robot_avatar_skeleton_is_read_from_its_skin() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/avatars/RobotExpressive.glb");
        let skeleton = Skeleton::load(&path).unwrap();
        assert_eq!(skeleton.names.len(), 43, "{:?}", skeleton.names);
        assert!(skeleton.names.iter().any(|n| n == "UpperArmL"));
        // Parents come first.
        for (i, p) in skeleton.parents.iter().enumerate() {
            assert!(p.is_none_or(|p| p < i));
        }
    }

    #[test]
    fn non_gltf_is_refused() {
        let err = Skeleton::from_document(&serde_json::json!({"asset": {}})).unwrap_err();
        assert!(err.contains("no nodes"));
    }
}
