//! The scene file's checks beyond its numbers (`numbers`): names unique, references that
//! resolve, files that exist, angles and sizes that draw. One function per part of the
//! file, each naming the item it refuses and why; [`LoadedScene::validate`] adds the path.

use super::{BindingShow, FeedSource, LightSpec, LoadedScene, PresenterSpec, Shape};
use crate::mocap::humanoid::HumanBone;
use std::path::Path;

/// A refused item and the reason.
pub(super) type Refusal = (String, String);

/// Every check, twin first; the first refusal wins.
pub(super) fn validate(scene: &LoadedScene) -> Result<(), Refusal> {
    feeds(scene)?;
    bindings(scene)?;
    if let Some(bad) = scene.bad_number() {
        return Err(bad);
    }
    cameras(scene)?;
    lights(scene)?;
    shapes(scene)?;
    if let Some(p) = &scene.description.presenter {
        presenter(scene, p)?;
    }
    for (i, prop) in scene.description.props.iter().enumerate() {
        model_file(&scene.asset_path(&prop.asset), &prop.name)
            .map_err(|reason| (format!("props[{i}].asset"), reason))?;
    }
    Ok(())
}

fn refuse(field: String, reason: impl Into<String>) -> Result<(), Refusal> {
    Err((field, reason.into()))
}

/// Feeds have unique names without dots, a staleness that is a time, and an HTTP source
/// that is a URL polled at a sane pace.
fn feeds(scene: &LoadedScene) -> Result<(), Refusal> {
    let feeds = &scene.description.feeds;
    for (i, feed) in feeds.iter().enumerate() {
        let field = |key: &str| format!("feeds[{i}].{key}");
        if feed.name.is_empty() || feed.name.contains('.') {
            let reason = format!("`{}` must be non-empty and without dots", feed.name);
            return refuse(field("name"), reason);
        }
        if feeds[..i].iter().any(|f| f.name == feed.name) {
            return refuse(field("name"), format!("`{}` is used twice", feed.name));
        }
        if !(feed.stale_after > 0.0 && feed.stale_after.is_finite()) {
            let reason = format!("{} is not a positive number of seconds", feed.stale_after);
            return refuse(field("stale_after"), reason);
        }
        if let FeedSource::Http { url, every_seconds } = &feed.source {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                let reason = format!("`{url}` is not an http:// or https:// URL");
                return refuse(field("source.url"), reason);
            }
            if !(0.1..=3600.0).contains(every_seconds) {
                let reason = format!("{every_seconds} is outside 0.1..=3600");
                return refuse(field("source.every_seconds"), reason);
            }
        }
    }
    Ok(())
}

/// Bindings read `feed.field` of a feed that exists and show it on an object that does:
/// animations on a prop that has the clip, text on a shape (a screen).
fn bindings(scene: &LoadedScene) -> Result<(), Refusal> {
    let d = &scene.description;
    let shapes = || d.shapes.iter().map(|s| s.name.as_str());
    let objects: Vec<&str> = shapes()
        .chain(d.props.iter().map(|p| p.name.as_str()))
        .collect();
    for (i, b) in d.bindings.iter().enumerate() {
        let field = |key: &str| format!("bindings[{i}].{key}");
        let feed = b.value.split('.').next().unwrap_or("");
        if !d.feeds.iter().any(|f| f.name == feed) || !b.value.contains('.') {
            let reason = format!(
                "`{}` does not start with a feed name and a field (feed.field)",
                b.value
            );
            return refuse(field("value"), reason);
        }
        if !objects.contains(&b.target.as_str()) {
            return refuse(
                field("target"),
                format!("no shape or prop named `{}`", b.target),
            );
        }
        match &b.show {
            BindingShow::Animation { clip, .. } => {
                let Some(prop) = d.props.iter().find(|p| p.name == b.target) else {
                    let reason = format!("animations play on a prop; `{}` is a shape", b.target);
                    return refuse(field("target"), reason);
                };
                let names = crate::mocap::skeleton::animation_names(&scene.asset_path(&prop.asset))
                    .unwrap_or_default();
                if !names.contains(clip) {
                    let reason = format!(
                        "`{}` has no animation `{clip}` (it has: {})",
                        prop.asset.display(),
                        names.join(", ")
                    );
                    return refuse(field("show.clip"), reason);
                }
            }
            BindingShow::Text { .. } if !shapes().any(|s| s == b.target) => {
                let reason = format!("text goes on a shape (a screen); `{}` is a prop", b.target);
                return refuse(field("target"), reason);
            }
            _ => {}
        }
    }
    Ok(())
}

/// At least one camera; each with a field of view a lens has, a direction, its own name.
fn cameras(scene: &LoadedScene) -> Result<(), Refusal> {
    let cameras = &scene.description.cameras;
    if cameras.is_empty() {
        return refuse("cameras".into(), "a scene needs at least one camera");
    }
    for (i, camera) in cameras.iter().enumerate() {
        let field = |key: &str| format!("cameras[{i}].{key}");
        if !(5.0..=170.0).contains(&camera.fov_degrees) {
            let reason = format!("{} is outside 5..=170", camera.fov_degrees);
            return refuse(field("fov_degrees"), reason);
        }
        if camera.position == camera.look_at {
            return refuse(field("look_at"), "equals the camera position");
        }
        if cameras[..i].iter().any(|c| c.name == camera.name) {
            return refuse(field("name"), format!("`{}` is used twice", camera.name));
        }
    }
    Ok(())
}

/// Spot lights' cones open no wider than a hemisphere, the inner inside the outer.
fn lights(scene: &LoadedScene) -> Result<(), Refusal> {
    for (i, light) in scene.description.lights.iter().enumerate() {
        if let LightSpec::Spot {
            inner_angle_degrees: inner,
            outer_angle_degrees: outer,
            ..
        } = light
            && !(0.0 <= *inner && inner <= outer && *outer < 90.0)
        {
            return refuse(
                format!("lights[{i}]"),
                "spot angles need 0 <= inner <= outer < 90",
            );
        }
    }
    Ok(())
}

/// Every shape's sizes are positive.
fn shapes(scene: &LoadedScene) -> Result<(), Refusal> {
    for (i, shape) in scene.description.shapes.iter().enumerate() {
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
            let reason = format!("`{}` has a size that is not positive", shape.name);
            return refuse(format!("shapes[{i}].shape"), reason);
        }
    }
    Ok(())
}

/// Her avatar and clips exist, her bone names are humanoid bones, her timings and wind
/// are in range.
fn presenter(scene: &LoadedScene, p: &PresenterSpec) -> Result<(), Refusal> {
    model_file(&scene.asset_path(&p.asset), &p.name)
        .map_err(|reason| ("presenter.asset".to_string(), reason))?;
    for (i, clip) in p.clips.iter().enumerate() {
        let file = scene.asset_path(&clip.bvh);
        if !file.is_file() {
            let reason = format!("`{}`: file {} does not exist", clip.name, file.display());
            return refuse(format!("presenter.clips[{i}].bvh"), reason);
        }
    }
    if let Some(bone) = p
        .bones
        .keys()
        .find(|b| HumanBone::from_vrm_name(b).is_none())
    {
        let names: Vec<&str> = HumanBone::ALL.iter().map(|b| b.vrm_name()).collect();
        let reason = format!("not a humanoid bone (one of {})", names.join(", "));
        return refuse(format!("presenter.bones.{bone}"), reason);
    }
    if !(0.0..=10.0).contains(&p.crossfade) {
        let reason = format!("{} s is outside 0..=10", p.crossfade);
        return refuse("presenter.crossfade".into(), reason);
    }
    if !(p.speed > 0.0 && p.speed <= 10.0) {
        return refuse(
            "presenter.speed".into(),
            format!("{} is outside (0, 10]", p.speed),
        );
    }
    if let Some(wind) = &p.wind {
        if !(0.0..=5.0).contains(&wind.strength) {
            let reason = format!("{} is outside 0..=5", wind.strength);
            return refuse("presenter.wind.strength".into(), reason);
        }
        let toward = bevy::math::Vec3::from_array(wind.toward);
        if !toward.is_finite() || toward.length() < 1e-3 {
            let reason = format!("{:?} is not a direction", wind.toward);
            return refuse("presenter.wind.toward".into(), reason);
        }
    }
    Ok(())
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
