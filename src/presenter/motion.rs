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
}

/// The avatar's rig and its retargeted clips, prepared before the app starts so a broken
/// clip is an error with its file and line, not a host frozen on air.
#[derive(Resource, Default, Clone)]
pub struct PreparedMotion {
    pub rig: Option<Arc<Rig>>,
    pub clips: Vec<(String, Arc<BakedClip>)>,
}

impl PreparedMotion {
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
