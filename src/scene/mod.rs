//! The showroom: its description on disk, and the plugin that builds it in the Bevy world.

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

pub use compose::{Compose, ComposeCamera};
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

    /// Feeds have unique names and sane timings; bindings name a feed and an object.
    ///
    /// Long on purpose: one check after another over feeds and bindings, read as a checklist.
    fn validate_twin(
        &self,
        invalid: &dyn Fn(String, String) -> SceneError,
    ) -> Result<(), SceneError> {
        let d = &self.description;
        for (i, feed) in d.feeds.iter().enumerate() {
            if feed.name.is_empty() || feed.name.contains('.') {
                return Err(invalid(
                    format!("feeds[{i}].name"),
                    format!("`{}` must be non-empty and without dots", feed.name),
                ));
            }
            if d.feeds[..i].iter().any(|f| f.name == feed.name) {
                return Err(invalid(
                    format!("feeds[{i}].name"),
                    format!("`{}` is used twice", feed.name),
                ));
            }
            if !(feed.stale_after > 0.0 && feed.stale_after.is_finite()) {
                return Err(invalid(
                    format!("feeds[{i}].stale_after"),
                    format!("{} is not a positive number of seconds", feed.stale_after),
                ));
            }
            if let FeedSource::Http { url, every_seconds } = &feed.source {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(invalid(
                        format!("feeds[{i}].source.url"),
                        format!("`{url}` is not an http:// or https:// URL"),
                    ));
                }
                if !(0.1..=3600.0).contains(every_seconds) {
                    return Err(invalid(
                        format!("feeds[{i}].source.every_seconds"),
                        format!("{every_seconds} is outside 0.1..=3600"),
                    ));
                }
            }
        }
        let objects: Vec<&str> = d
            .shapes
            .iter()
            .map(|s| s.name.as_str())
            .chain(d.props.iter().map(|p| p.name.as_str()))
            .collect();
        for (i, b) in d.bindings.iter().enumerate() {
            let feed = b.value.split('.').next().unwrap_or("");
            if !d.feeds.iter().any(|f| f.name == feed) || !b.value.contains('.') {
                return Err(invalid(
                    format!("bindings[{i}].value"),
                    format!(
                        "`{}` does not start with a feed name and a field (feed.field)",
                        b.value
                    ),
                ));
            }
            if !objects.contains(&b.target.as_str()) {
                return Err(invalid(
                    format!("bindings[{i}].target"),
                    format!("no shape or prop named `{}`", b.target),
                ));
            }
            if let BindingShow::Animation { clip, .. } = &b.show {
                let Some(prop) = d.props.iter().find(|p| p.name == b.target) else {
                    return Err(invalid(
                        format!("bindings[{i}].target"),
                        format!("animations play on a prop; `{}` is a shape", b.target),
                    ));
                };
                let names = crate::mocap::skeleton::animation_names(&self.asset_path(&prop.asset))
                    .unwrap_or_default();
                if !names.contains(clip) {
                    return Err(invalid(
                        format!("bindings[{i}].show.clip"),
                        format!(
                            "`{}` has no animation `{clip}` (it has: {})",
                            prop.asset.display(),
                            names.join(", ")
                        ),
                    ));
                }
            }
            if let BindingShow::Text { .. } = b.show
                && !d.shapes.iter().any(|s| s.name == b.target)
            {
                return Err(invalid(
                    format!("bindings[{i}].target"),
                    format!("text goes on a shape (a screen); `{}` is a prop", b.target),
                ));
            }
        }
        Ok(())
    }

    /// Long on purpose: one check after another over the scene, read as a checklist; each names its item.
    fn validate(&self) -> Result<(), SceneError> {
        let invalid = |field: String, reason: String| SceneError::Invalid {
            path: self.path.clone(),
            field,
            reason,
        };
        let d = &self.description;
        self.validate_twin(&invalid)?;
        if let Some((field, reason)) = self.bad_number() {
            return Err(invalid(field, reason));
        }
        if d.cameras.is_empty() {
            return Err(invalid(
                "cameras".into(),
                "a scene needs at least one camera".into(),
            ));
        }
        for (i, camera) in d.cameras.iter().enumerate() {
            if !(5.0..=170.0).contains(&camera.fov_degrees) {
                return Err(invalid(
                    format!("cameras[{i}].fov_degrees"),
                    format!("{} is outside 5..=170", camera.fov_degrees),
                ));
            }
            if camera.position == camera.look_at {
                return Err(invalid(
                    format!("cameras[{i}].look_at"),
                    "equals the camera position".into(),
                ));
            }
            if d.cameras[..i].iter().any(|c| c.name == camera.name) {
                return Err(invalid(
                    format!("cameras[{i}].name"),
                    format!("`{}` is used twice", camera.name),
                ));
            }
        }
        for (i, light) in d.lights.iter().enumerate() {
            if let LightSpec::Spot {
                inner_angle_degrees,
                outer_angle_degrees,
                ..
            } = light
                && !(0.0 <= *inner_angle_degrees
                    && inner_angle_degrees <= outer_angle_degrees
                    && *outer_angle_degrees < 90.0)
            {
                return Err(invalid(
                    format!("lights[{i}]"),
                    "spot angles need 0 <= inner <= outer < 90".into(),
                ));
            }
        }
        for (i, shape) in d.shapes.iter().enumerate() {
            let sizes: &[f32] = match &shape.shape {
                Shape::Plane { width, depth } => &[*width, *depth],
                Shape::Box {
                    width,
                    height,
                    depth,
                } => &[*width, *height, *depth],
                Shape::Cylinder { radius, height } => &[*radius, *height],
                Shape::Sphere { radius } => &[*radius],
            };
            if sizes.iter().any(|s| !(*s > 0.0 && s.is_finite())) {
                return Err(invalid(
                    format!("shapes[{i}].shape"),
                    format!("`{}` has a size that is not positive", shape.name),
                ));
            }
        }
        if let Some(p) = &d.presenter {
            model_file(&self.asset_path(&p.asset), &p.name)
                .map_err(|reason| invalid("presenter.asset".into(), reason))?;
            for (i, clip) in p.clips.iter().enumerate() {
                let file = self.asset_path(&clip.bvh);
                if !file.is_file() {
                    return Err(invalid(
                        format!("presenter.clips[{i}].bvh"),
                        format!("`{}`: file {} does not exist", clip.name, file.display()),
                    ));
                }
            }
            for bone in p.bones.keys() {
                if crate::mocap::humanoid::HumanBone::from_vrm_name(bone).is_none() {
                    let names: Vec<&str> = crate::mocap::humanoid::HumanBone::ALL
                        .iter()
                        .map(|b| b.vrm_name())
                        .collect();
                    return Err(invalid(
                        format!("presenter.bones.{bone}"),
                        format!("not a humanoid bone (one of {})", names.join(", ")),
                    ));
                }
            }
            if !(0.0..=10.0).contains(&p.crossfade) {
                return Err(invalid(
                    "presenter.crossfade".into(),
                    format!("{} s is outside 0..=10", p.crossfade),
                ));
            }
            if !(p.speed > 0.0 && p.speed <= 10.0) {
                return Err(invalid(
                    "presenter.speed".into(),
                    format!("{} is outside (0, 10]", p.speed),
                ));
            }
            if let Some(wind) = &p.wind {
                if !(0.0..=5.0).contains(&wind.strength) {
                    return Err(invalid(
                        "presenter.wind.strength".into(),
                        format!("{} is outside 0..=5", wind.strength),
                    ));
                }
                let toward = bevy::math::Vec3::from_array(wind.toward);
                if !toward.is_finite() || toward.length() < 1e-3 {
                    return Err(invalid(
                        "presenter.wind.toward".into(),
                        format!("{:?} is not a direction", wind.toward),
                    ));
                }
            }
        }
        for (i, prop) in d.props.iter().enumerate() {
            model_file(&self.asset_path(&prop.asset), &prop.name)
                .map_err(|reason| invalid(format!("props[{i}].asset"), reason))?;
        }
        Ok(())
    }
}

/// A model file the scene names (`name`'s): there, and without a URI Bevy's loader would
/// panic on. A file that does not read as glTF is left to the loader, which says why.
fn model_file(file: &Path, name: &str) -> Result<(), String> {
    if !file.is_file() {
        return Err(format!("`{name}`: file {} does not exist", file.display()));
    }
    let bad = crate::gltf_doc::document(file)
        .ok()
        .and_then(|doc| crate::gltf_doc::bad_uri(&doc));
    match bad {
        Some(problem) => Err(format!("`{name}`: {}: {problem}", file.display())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
