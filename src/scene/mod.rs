//! The showroom: its description on disk, and the plugin that builds it in the Bevy world.

mod checks;
mod compose;
mod cpu_batching;
mod description;
mod gltf_files;
mod gltf_json;
mod lean_lighting;
mod model_watch;
mod numbers;
pub mod optimised;
mod spawn;
mod versions;

pub use compose::{Compose, ComposeCamera, FrameByCopy, OnAirPicture};
pub use cpu_batching::{CpuBatchingPlugin, batching};
pub use description::*;
pub use gltf_files::{GltfFiles, GltfLoads, GltfScene, MissingScenes, load_error, no_such_scene};
pub use lean_lighting::LeanLighting;
pub use model_watch::ModelFilesWatch;
pub use spawn::{
    ActiveCamera, SetPiece, ShowroomAssets, ShowroomEntity, ShowroomPlugin, ShowroomSettings,
    ViewCamera, bevy_asset_path, corners, loadable, on_cpu, tonemapping, transform,
};
pub use versions::VersionedFilesPlugin;

use crate::config::Located;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Whether the lighting is settled: Bevy's, or the lean one once its library is patched.
/// Nothing of the set is built before, so that its pipelines are built once.
pub fn lighting_settled(world: &bevy::prelude::World) -> bool {
    !world.contains_resource::<lean_lighting::Unpatched>()
}

#[derive(Debug, Error)]
pub enum SceneError {
    #[error("{}: cannot read scene file: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{}:{}: {message}", path.display(), at.line, at.column)]
    Parse {
        path: PathBuf,
        at: Located,
        message: String,
    },
    #[error("{}: {field}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        field: String,
        reason: String,
    },
}

/// A validated scene with the folder its relative asset paths start from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedScene {
    pub path: PathBuf,
    pub description: SceneDescription,
}

impl LoadedScene {
    pub fn load(path: &Path) -> Result<Self, SceneError> {
        let text = std::fs::read_to_string(path).map_err(|source| SceneError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, SceneError> {
        // `implicit_some` lets optional fields be written plainly (`emissive: "#ff0000"`).
        let options = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let description: SceneDescription =
            options.from_str(text).map_err(|e| SceneError::Parse {
                path: path.to_path_buf(),
                at: Located {
                    line: e.span.start.line,
                    column: e.span.start.col,
                },
                message: e.code.to_string(),
            })?;
        let scene = Self {
            path: path.to_path_buf(),
            description,
        };
        scene.validate()?;
        Ok(scene)
    }

    /// The scene in its canonical form: fields in a fixed order, one shape, prop, light or
    /// camera per line, shortest exact numbers, hex colours. Saving is deterministic, and
    /// loading what was saved gives the same scene back. (Comments are not kept.)
    pub fn to_ron(&self) -> String {
        let config = ron::ser::PrettyConfig::new()
            .depth_limit(2)
            .separate_tuple_members(false)
            .struct_names(false)
            .indentor("    ");
        ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .to_string_pretty(&self.description, config)
            .map(|mut text| {
                text.push('\n');
                text
            })
            .unwrap_or_default()
    }

    /// Writes the canonical form (see [`LoadedScene::to_ron`]) to `path`, atomically.
    pub fn save(&self, path: &Path) -> Result<(), SceneError> {
        let io = |source| SceneError::Read {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("ron.tmp");
        std::fs::write(&tmp, self.to_ron()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Absolute path of an asset named in the scene.
    pub fn asset_path(&self, relative: &Path) -> PathBuf {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let joined = dir.join(relative);
        std::path::absolute(&joined).unwrap_or(joined)
    }

    /// The files the props are drawn from, each once: a running show watches them, so a
    /// prop saved again from a modelling tool appears without a restart.
    pub fn prop_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = Vec::new();
        for prop in &self.description.props {
            let file = self.asset_path(&prop.asset);
            if !files.contains(&file) {
                files.push(file);
            }
        }
        files
    }

    /// The files the presenter is made from: her avatar's file and her clips' BVH files
    /// (a running show watches them with the files the avatar reads beside itself, so a
    /// re-exported avatar or a re-recorded clip appears without a restart).
    pub fn presenter_files(&self) -> Vec<PathBuf> {
        let Some(spec) = &self.description.presenter else {
            return Vec::new();
        };
        let mut files = vec![self.asset_path(&spec.asset)];
        for clip in spec.clips.iter().map(|c| self.asset_path(&c.bvh)) {
            if !files.contains(&clip) {
                files.push(clip);
            }
        }
        files
    }

    /// The first field whose number would draw nothing (a position that is not finite, a
    /// scale of 0, a negative light), and why: such a scene is not loaded, nor made by an edit.
    pub fn bad_number(&self) -> Option<(String, String)> {
        numbers::first_bad_number(self)
    }

    /// Checks what the scene's numbers alone do not (`checks`, one function per part of
    /// the file).
    fn validate(&self) -> Result<(), SceneError> {
        checks::validate(self).map_err(|(field, reason)| SceneError::Invalid {
            path: self.path.clone(),
            field,
            reason,
        })
    }
}

#[cfg(test)]
mod tests;
