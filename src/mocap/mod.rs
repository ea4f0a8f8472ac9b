//! Motion capture: BVH clips, the humanoid bone vocabulary they are mapped onto, and the
//! `mocap inspect` report.
//!
//! Retargeting onto an avatar is in [`retarget`]; playback through Bevy's animation graph
//! in `presenter`.

pub mod bvh;
pub mod humanoid;
pub mod retarget;
pub mod skeleton;

use bvh::{BvhClip, BvhError};
use humanoid::{HumanBone, map_skeleton};
use skeleton::SkeletonError;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MocapError {
    #[error(transparent)]
    Bvh(#[from] BvhError),
    #[error(transparent)]
    Avatar(#[from] SkeletonError),
}

/// What `twincast mocap inspect` prints, and the warnings it found.
pub struct Inspection {
    pub text: String,
    pub warnings: Vec<String>,
}

/// Describes a clip: skeleton, timing, and the humanoid mapping it would get (against an
/// avatar's skeleton too, when one is given).
///
/// Long on purpose: it writes the report section by section (skeleton, timing, mapping, avatar) as the user reads it.
pub fn inspect(clip_path: &Path, avatar: Option<&Path>) -> Result<Inspection, MocapError> {
    let clip = BvhClip::load(clip_path)?;
    let names: Vec<&str> = clip.joints.iter().map(|j| j.name.as_str()).collect();
    let parents: Vec<Option<usize>> = clip.joints.iter().map(|j| j.parent).collect();
    let mapping = map_skeleton(&names, &parents, &BTreeMap::new());
    let by_joint: BTreeMap<usize, HumanBone> = mapping.iter().map(|(b, j)| (*j, *b)).collect();

    let rest = clip.rest_positions();
    let up = clip.up_axis();
    let height = rest.iter().map(|p| p.dot(up)).fold(f32::MIN, f32::max)
        - rest.iter().map(|p| p.dot(up)).fold(f32::MAX, f32::min);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: {} joints, {} channels, {} frames at {:.2} fps ({:.2} s), up axis {}, rest height {:.1} units",
        clip_path.display(),
        clip.joints.len(),
        clip.channels_per_frame,
        clip.frame_count,
        clip.fps(),
        clip.duration(),
        if up.z > 0.5 { "Z" } else { "Y" },
        height,
    );
    let _ = writeln!(text, "skeleton:");
    for (i, joint) in clip.joints.iter().enumerate() {
        let depth = std::iter::successors(joint.parent, |p| clip.joints[*p].parent).count();
        let channels: Vec<String> = joint.channels.iter().map(|c| c.to_string()).collect();
        let bone = by_joint
            .get(&i)
            .map(|b| format!("  → {}", b.vrm_name()))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "{}{} [{}]{}",
            "  ".repeat(depth + 1),
            joint.name,
            channels.join(" "),
            bone
        );
    }

    let mut warnings = Vec::new();
    let missing: Vec<&str> = HumanBone::REQUIRED
        .iter()
        .filter(|b| !mapping.contains_key(b))
        .map(|b| b.vrm_name())
        .collect();
    if !missing.is_empty() {
        warnings.push(format!("clip has no joint for: {}", missing.join(", ")));
    }
    let _ = writeln!(
        text,
        "humanoid mapping: {} of {} bones",
        mapping.len(),
        HumanBone::ALL.len()
    );

    if let Some(avatar) = avatar {
        // The mapping the presenter will use: names, structure and a VRM map if present.
        let doc = skeleton::document(avatar)?;
        let rig = retarget::Rig::from_document(&doc, 0, &BTreeMap::new()).map_err(|reason| {
            SkeletonError {
                path: avatar.to_path_buf(),
                reason,
            }
        })?;
        let avatar_map = &rig.humanoid;
        let _ = writeln!(text, "against {}:", avatar.display());
        for bone in HumanBone::ALL {
            let from = mapping.get(&bone).map(|j| clip.joints[*j].name.as_str());
            let to = avatar_map.get(&bone).map(|j| rig.nodes[*j].name.as_str());
            let _ = writeln!(
                text,
                "  {:<14} {:<18} → {}",
                bone.vrm_name(),
                from.unwrap_or("-"),
                to.unwrap_or("-")
            );
            if from.is_some() && to.is_none() {
                warnings.push(format!(
                    "avatar has no bone for {} (clip joint {})",
                    bone.vrm_name(),
                    from.unwrap_or("")
                ));
            }
        }
        let missing: Vec<&str> = HumanBone::REQUIRED
            .iter()
            .filter(|b| !avatar_map.contains_key(b))
            .map(|b| b.vrm_name())
            .collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "avatar has no bone for required: {}",
                missing.join(", ")
            ));
        }
    }
    Ok(Inspection { text, warnings })
}
