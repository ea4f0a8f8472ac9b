//! Motion capture on the presenter: BVH clips retargeted onto the avatar's skeleton before
//! the show starts and baked into Bevy `AnimationClip`s, so they play, loop and blend
//! through the same animation graph as the avatar's own clips.

use crate::mocap::bvh::{BvhClip, BvhError};
use crate::mocap::humanoid::HumanBone;
use crate::mocap::retarget::{self, BakeOptions, BakedClip, Rig};
use crate::scene::LoadedScene;
use bevy::animation::{
    AnimationTargetId, animated_field,
    animation_curves::{AnimatableCurve, AnimatableKeyframeCurve},
};
use bevy::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MotionError {
    #[error(transparent)]
    Bvh(#[from] BvhError),
    #[error("presenter avatar {}: {reason}", path.display())]
    Rig { path: PathBuf, reason: String },
    /// Her avatar's file as saved cannot be put on stage (checked before a running show
    /// takes her off to dress her from it again).
    #[error("presenter avatar {}: {reason}", path.display())]
    Avatar { path: PathBuf, reason: String },
}

/// The avatar's rig and its retargeted clips, prepared before the app starts so a broken
/// clip is an error with its file and line, not a host frozen on air.
#[derive(Resource, Default, Clone)]
pub struct PreparedMotion {
    pub rig: Option<Arc<Rig>>,
    pub clips: Vec<(String, Arc<BakedClip>)>,
}

impl PreparedMotion {
    /// Her motion prepared again for a running show, after her avatar's file, a clip's
    /// file or the scene's word on her changed, with her file checked first as Bevy's
    /// loader would meet it, so a file saved half-way or without her scene keeps her on
    /// stage as she was rather than taking her off.
    pub fn prepare_again(scene: &LoadedScene) -> Result<Self, MotionError> {
        if let Some(spec) = &scene.description.presenter {
            let path = scene.asset_path(&spec.asset);
            let problem = crate::gltf_doc::document_for_loader(&path).and_then(|doc| {
                let scenes = doc["scenes"].as_array().map_or(0, Vec::len);
                match spec.scene < scenes {
                    true => Ok(()),
                    false => Err(format!(
                        "it has {scenes} scene(s); there is no scene {}",
                        spec.scene
                    )),
                }
            });
            if let Err(reason) = problem {
                return Err(MotionError::Avatar { path, reason });
            }
        }
        Self::prepare(scene)
    }

    pub fn prepare(scene: &LoadedScene) -> Result<Self, MotionError> {
        let Some(spec) = &scene.description.presenter else {
            return Ok(Self::default());
        };
        let file = scene.asset_path(&spec.asset);
        let overrides: BTreeMap<HumanBone, String> = spec
            .bones
            .iter()
            .filter_map(|(b, n)| Some((HumanBone::from_vrm_name(b)?, n.clone())))
            .collect();
        let rig_error = |reason: String| MotionError::Rig {
            path: file.clone(),
            reason,
        };
        let rig = match crate::mocap::skeleton::document(&file) {
            Ok(doc) => Rig::from_document(&doc, spec.scene, &overrides),
            Err(e) => Err(e.reason),
        };
        let rig = match rig {
            Ok(rig) => rig,
            // An avatar that is not a humanoid can still stand on stage and play its own
            // clips; only mocap needs the skeleton.
            Err(reason) if spec.clips.is_empty() => {
                debug!("presenter `{}` has no humanoid rig: {reason}", spec.name);
                return Ok(Self::default());
            }
            Err(reason) => return Err(rig_error(reason)),
        };
        let mut clips = Vec::new();
        for clip_spec in &spec.clips {
            let clip = BvhClip::load(&scene.asset_path(&clip_spec.bvh))?;
            let baked = retarget::bake(
                &clip,
                &rig,
                BakeOptions {
                    in_place: clip_spec.in_place,
                },
            );
            info!(
                "presenter `{}`: clip `{}` retargeted ({} frames, {} bones animated)",
                spec.name,
                clip_spec.name,
                baked.frames.len(),
                baked.animated.len()
            );
            clips.push((clip_spec.name.clone(), Arc::new(baked)));
        }
        Ok(Self {
            rig: Some(Arc::new(rig)),
            clips,
        })
    }
}

/// An idle clip that leaves the arms alone (the robot's `Idle` moves only its head and
/// legs) would hold them in the file's rest pose, out to the sides, whenever no gesture or
/// speech beat moves them. Such an idle gets `relaxed`'s curves (the arms down, as for a
/// host with no idle at all); one that animates any bone `relaxed` moves keeps its own.
/// Its length stays its own. Whether it was changed.
pub fn rest_the_arms_it_leaves(idle: &mut AnimationClip, relaxed: &AnimationClip) -> bool {
    let curves = relaxed.curves();
    if curves.is_empty() || curves.keys().any(|t| idle.curves().contains_key(t)) {
        return false;
    }
    let duration = idle.duration();
    for (target, target_curves) in curves {
        for curve in target_curves {
            idle.add_variable_curve_to_target(*target, curve.clone());
        }
    }
    idle.set_duration(duration);
    true
}

/// A baked clip as a Bevy animation clip: a rotation curve for every animated node, and a
/// translation curve where the position moves too (the hips, detached feet).
pub fn animation_clip(rig: &Rig, baked: &BakedClip) -> AnimationClip {
    let mut clip = AnimationClip::default();
    // A one-frame BVH is a pose: hold it for a frame.
    let frames: Vec<&Vec<retarget::Local>> = if baked.frames.len() == 1 {
        vec![&baked.frames[0], &baked.frames[0]]
    } else {
        baked.frames.iter().collect()
    };
    let time = |i: usize| i as f32 * baked.frame_time.max(1e-4);
    for &node in &baked.animated {
        let names: Vec<Name> = rig.nodes[node]
            .path
            .iter()
            .map(|n| Name::new(n.clone()))
            .collect();
        let target = AnimationTargetId::from_names(names.iter());
        // Neighbouring keys in one hemisphere, so blending never takes the long way round.
        let mut previous = Quat::IDENTITY;
        let rotations = frames.iter().enumerate().map(|(i, f)| {
            let mut q = f[node].rotation;
            if q.dot(previous) < 0.0 {
                q = -q;
            }
            previous = q;
            (time(i), q)
        });
        if let Ok(curve) = AnimatableKeyframeCurve::new(rotations.collect::<Vec<_>>()) {
            clip.add_curve_to_target(
                target,
                AnimatableCurve::new(animated_field!(Transform::rotation), curve),
            );
        }
        let rest = rig.nodes[node].rest.translation;
        if frames.iter().any(|f| f[node].translation != rest)
            && let Ok(curve) = AnimatableKeyframeCurve::new(
                frames
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (time(i), f[node].translation))
                    .collect::<Vec<_>>(),
            )
        {
            clip.add_curve_to_target(
                target,
                AnimatableCurve::new(animated_field!(Transform::translation), curve),
            );
        }
    }
    clip
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip_on(target: &str, seconds: f32) -> AnimationClip {
        let mut clip = AnimationClip::default();
        let keys = [(0.0, Quat::IDENTITY), (seconds, Quat::from_rotation_x(0.5))];
        clip.add_curve_to_target(
            AnimationTargetId::from_name(&Name::new(target.to_string())),
            AnimatableCurve::new(
                animated_field!(Transform::rotation),
                AnimatableKeyframeCurve::new(keys).unwrap(),
            ),
        );
        clip
    }

    #[test]
    fn an_idle_that_leaves_the_arms_alone_gets_them_relaxed_and_keeps_its_length() {
        let relaxed = clip_on("UpperArmL", 1.0);
        let mut idle = clip_on("UpperLegL", 0.5);
        assert!(rest_the_arms_it_leaves(&mut idle, &relaxed));
        assert_eq!(idle.curves().len(), 2);
        assert_eq!(idle.duration(), 0.5);
        // One that moves an arm itself keeps its own.
        let mut waving = clip_on("UpperArmL", 2.0);
        assert!(!rest_the_arms_it_leaves(&mut waving, &relaxed));
        assert_eq!(waving.curves().len(), 1);
    }
}
