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
/// avatar's skeleton too, when one is given), section by section as the user reads it.
pub fn inspect(clip_path: &Path, avatar: Option<&Path>) -> Result<Inspection, MocapError> {
    let clip = BvhClip::load(clip_path)?;
    let names: Vec<&str> = clip.joints.iter().map(|j| j.name.as_str()).collect();
    let parents: Vec<Option<usize>> = clip.joints.iter().map(|j| j.parent).collect();
    let mapping = map_skeleton(&names, &parents, &BTreeMap::new());
    let mut text = describe_clip(&clip, clip_path, &mapping);
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
        let (against, problems) = against_avatar(&clip, &mapping, avatar)?;
        text.push_str(&against);
        warnings.extend(problems);
    }
    Ok(Inspection { text, warnings })
}

/// The clip's header line (joints, channels, frames, timing, up axis, rest height) and
/// its skeleton as a tree, each joint with its channels and the humanoid bone it maps to.
fn describe_clip(clip: &BvhClip, path: &Path, mapping: &BTreeMap<HumanBone, usize>) -> String {
    let by_joint: BTreeMap<usize, HumanBone> = mapping.iter().map(|(b, j)| (*j, *b)).collect();
    let rest = clip.rest_positions();
    let up = clip.up_axis();
    let height = rest.iter().map(|p| p.dot(up)).fold(f32::MIN, f32::max)
        - rest.iter().map(|p| p.dot(up)).fold(f32::MAX, f32::min);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: {} joints, {} channels, {} frames at {:.2} fps ({:.2} s), up axis {}, rest height {:.1} units",
        path.display(),
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
    text
}

/// Each humanoid bone's clip joint beside the `avatar`'s bone it will drive (the mapping
/// the presenter uses: names, structure and a VRM map if present), and warnings for the
/// clip's bones the avatar lacks and the required bones it lacks.
fn against_avatar(
    clip: &BvhClip,
    mapping: &BTreeMap<HumanBone, usize>,
    avatar: &Path,
) -> Result<(String, Vec<String>), MocapError> {
    let doc = skeleton::document(avatar)?;
    let rig = retarget::Rig::from_document(&doc, 0, &BTreeMap::new()).map_err(|reason| {
        SkeletonError {
            path: avatar.to_path_buf(),
            reason,
        }
    })?;
    let avatar_map = &rig.humanoid;
    let (mut text, mut warnings) = (String::new(), Vec::new());
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
        if let (Some(from), None) = (from, to) {
            warnings.push(format!(
                "avatar has no bone for {} (clip joint {from})",
                bone.vrm_name()
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
    Ok((text, warnings))
}
