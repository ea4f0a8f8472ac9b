//! The humanoid skeleton every source is mapped onto: VRM 1.0's bone names.
//!
//! Mocap files and avatars name bones in a dozen conventions (CMU's `LeftUpLeg`, Mixamo's
//! `mixamorig:LeftUpLeg`, 3ds Max's `Bip01 L Thigh`, RobotExpressive's `UpperLegL`, VRM's
//! `leftUpperLeg`, …). Names are matched by side and body part after normalising them; the
//! spine is mapped by structure (the joints between hips and neck, in order), because
//! "Spine" means the lowest spine bone in one convention and the chest in another.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HumanBone {
    Hips,
    Spine,
    Chest,
    UpperChest,
    Neck,
    Head,
    LeftShoulder,
    LeftUpperArm,
    LeftLowerArm,
    LeftHand,
    RightShoulder,
    RightUpperArm,
    RightLowerArm,
    RightHand,
    LeftUpperLeg,
    LeftLowerLeg,
    LeftFoot,
    LeftToes,
    RightUpperLeg,
    RightLowerLeg,
    RightFoot,
    RightToes,
}

impl HumanBone {
    pub const ALL: [HumanBone; 22] = [
        Self::Hips,
        Self::Spine,
        Self::Chest,
        Self::UpperChest,
        Self::Neck,
        Self::Head,
        Self::LeftShoulder,
        Self::LeftUpperArm,
        Self::LeftLowerArm,
        Self::LeftHand,
        Self::RightShoulder,
        Self::RightUpperArm,
        Self::RightLowerArm,
        Self::RightHand,
        Self::LeftUpperLeg,
        Self::LeftLowerLeg,
        Self::LeftFoot,
        Self::LeftToes,
        Self::RightUpperLeg,
        Self::RightLowerLeg,
        Self::RightFoot,
        Self::RightToes,
    ];

    /// Bones a humanoid must have for retargeting to make sense (VRM's required set, less
    /// the spine, which some rigs fold into the chest).
    pub const REQUIRED: [HumanBone; 15] = [
        Self::Hips,
        Self::Head,
        Self::LeftUpperArm,
        Self::LeftLowerArm,
        Self::LeftHand,
        Self::RightUpperArm,
        Self::RightLowerArm,
        Self::RightHand,
        Self::LeftUpperLeg,
        Self::LeftLowerLeg,
        Self::LeftFoot,
        Self::RightUpperLeg,
        Self::RightLowerLeg,
        Self::RightFoot,
        Self::Neck,
    ];

    /// VRM 1.0's name for the bone (`leftUpperArm`).
    pub fn vrm_name(self) -> &'static str {
        match self {
            Self::Hips => "hips",
            Self::Spine => "spine",
            Self::Chest => "chest",
            Self::UpperChest => "upperChest",
            Self::Neck => "neck",
            Self::Head => "head",
            Self::LeftShoulder => "leftShoulder",
            Self::LeftUpperArm => "leftUpperArm",
            Self::LeftLowerArm => "leftLowerArm",
            Self::LeftHand => "leftHand",
            Self::RightShoulder => "rightShoulder",
            Self::RightUpperArm => "rightUpperArm",
            Self::RightLowerArm => "rightLowerArm",
            Self::RightHand => "rightHand",
            Self::LeftUpperLeg => "leftUpperLeg",
            Self::LeftLowerLeg => "leftLowerLeg",
            Self::LeftFoot => "leftFoot",
            Self::LeftToes => "leftToes",
            Self::RightUpperLeg => "rightUpperLeg",
            Self::RightLowerLeg => "rightLowerLeg",
            Self::RightFoot => "rightFoot",
            Self::RightToes => "rightToes",
        }
    }

    pub fn from_vrm_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|b| b.vrm_name().eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Shoulder,
    UpperArm,
    LowerArm,
    Hand,
    UpperLeg,
    LowerLeg,
    Foot,
    Toes,
}

/// Lower-case letters and digits only, with rig prefixes (`mixamorig:`, `Bip01`, `J_Bip_`)
/// removed: `mixamorig:LeftUpLeg` → `leftupleg`.
pub(crate) fn normalise(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let stripped = lower
        .rsplit([':', '|'])
        .next()
        .unwrap_or(&lower)
        .trim_start_matches("mixamorig")
        .trim_start_matches("bip01")
        .trim_start_matches("bip001")
        .trim_start_matches("j_bip_")
        .trim_start_matches("def-")
        .to_string();
    stripped
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Side and rest of a name: `leftupleg` → (Left, "upleg"), `upperlegl` → (Left, "upperleg"),
/// `lhipjoint` → (Left, "hipjoint"), `lupperarm`/`l_upperarm` → (Left, …).
fn split_side(original: &str, n: &str) -> Option<(Side, String)> {
    for (word, side) in [("left", Side::Left), ("right", Side::Right)] {
        if let Some(rest) = n.strip_prefix(word) {
            return Some((side, rest.to_string()));
        }
        if let Some(rest) = n.strip_suffix(word) {
            return Some((side, rest.to_string()));
        }
    }
    let lower = original.to_ascii_lowercase();
    let separated_suffix = |s: &str| {
        [".", "_", " ", "-"]
            .iter()
            .any(|sep| lower.ends_with(&format!("{sep}{s}")))
    };
    let separated_prefix = |s: &str| {
        [".", "_", " ", "-"]
            .iter()
            .any(|sep| lower.starts_with(&format!("{s}{sep}")))
            || lower.contains(&format!(" {s} "))
    };
    for (letter, side) in [("l", Side::Left), ("r", Side::Right)] {
        if separated_suffix(letter) || separated_prefix(letter) {
            let rest = n
                .strip_suffix(letter)
                .or_else(|| n.strip_prefix(letter))
                .unwrap_or(n);
            let rest = if lower.contains(&format!(" {letter} ")) {
                n.replacen(letter, "", 1)
            } else {
                rest.to_string()
            };
            return Some((side, rest));
        }
    }
    // CamelCase with a single capital L/R: `UpperArmL`, `LThumb`, `RHipJoint`.
    let bytes = original.as_bytes();
    let last = *bytes.last()?;
    let first = bytes[0];
    let before_last = bytes.len().checked_sub(2).map(|i| bytes[i]);
    if (last == b'L' || last == b'R')
        && before_last.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        let side = if last == b'L' {
            Side::Left
        } else {
            Side::Right
        };
        return Some((side, n[..n.len() - 1].to_string()));
    }
    if (first == b'L' || first == b'R') && bytes.len() > 1 && bytes[1].is_ascii_uppercase() {
        let side = if first == b'L' {
            Side::Left
        } else {
            Side::Right
        };
        return Some((side, n[1..].to_string()));
    }
    None
}

fn part(rest: &str) -> Option<Part> {
    // Order matters: the more specific words first.
    const TABLE: &[(&[&str], Part)] = &[
        (
            &["forearm", "lowerarm", "elbow", "armlower"],
            Part::LowerArm,
        ),
        (&["upperarm", "armupper"], Part::UpperArm),
        (&["shoulder", "clavicle", "collar"], Part::Shoulder),
        (&["hand", "wrist", "palm"], Part::Hand),
        (&["upleg", "upperleg", "thigh", "legupper"], Part::UpperLeg),
        (
            &["lowerleg", "shin", "calf", "knee", "leglower"],
            Part::LowerLeg,
        ),
        (&["toebase", "toes", "toe", "forefoot", "ball"], Part::Toes),
        (&["foot", "ankle"], Part::Foot),
        (&["arm"], Part::UpperArm),
        (&["leg"], Part::LowerLeg),
    ];
    // Finger joints (`LeftHandIndex1`, `LThumb`) and hip joints are not body bones.
    const SKIP: &[&str] = &[
        "thumb", "index", "middle", "ring", "pinky", "finger", "hipjoint", "end", "nub",
    ];
    if SKIP.iter().any(|s| rest.contains(s)) {
        return None;
    }
    TABLE
        .iter()
        .find(|(words, _)| {
            words
                .iter()
                .any(|w| rest == *w || rest.ends_with(w) || rest.starts_with(w))
        })
        .map(|(_, p)| *p)
}

fn limb(side: Side, part: Part) -> HumanBone {
    use HumanBone::*;
    match (side, part) {
        (Side::Left, Part::Shoulder) => LeftShoulder,
        (Side::Left, Part::UpperArm) => LeftUpperArm,
        (Side::Left, Part::LowerArm) => LeftLowerArm,
        (Side::Left, Part::Hand) => LeftHand,
        (Side::Left, Part::UpperLeg) => LeftUpperLeg,
        (Side::Left, Part::LowerLeg) => LeftLowerLeg,
        (Side::Left, Part::Foot) => LeftFoot,
        (Side::Left, Part::Toes) => LeftToes,
        (Side::Right, Part::Shoulder) => RightShoulder,
        (Side::Right, Part::UpperArm) => RightUpperArm,
        (Side::Right, Part::LowerArm) => RightLowerArm,
        (Side::Right, Part::Hand) => RightHand,
        (Side::Right, Part::UpperLeg) => RightUpperLeg,
        (Side::Right, Part::LowerLeg) => RightLowerLeg,
        (Side::Right, Part::Foot) => RightFoot,
        (Side::Right, Part::Toes) => RightToes,
    }
}

/// Maps a skeleton (names with their parent indices, parents first) onto humanoid bones.
/// Returns, per bone, the index of the joint that drives it. `overrides` (bone → joint
/// name) wins over the guesses, for rigs no convention covers.
///
/// Long on purpose: the mapping's passes (VRM map, names, structure for spine and limbs) run in order over shared state.
pub fn map_skeleton(
    names: &[&str],
    parents: &[Option<usize>],
    overrides: &BTreeMap<HumanBone, String>,
) -> BTreeMap<HumanBone, usize> {
    let mut map = BTreeMap::new();
    // Limbs by side and part, first match wins (the joint nearest the root).
    for (i, name) in names.iter().enumerate() {
        let n = normalise(name);
        if let Some((side, rest)) = split_side(name, &n)
            && let Some(p) = part(&rest)
        {
            map.entry(limb(side, p)).or_insert(i);
        }
    }
    // Hips: a joint called hips/pelvis, else the root.
    let hips = names
        .iter()
        .position(|n| matches!(normalise(n).as_str(), "hips" | "hip" | "pelvis"))
        .or_else(|| parents.iter().position(Option::is_none));
    let head = names.iter().position(|n| normalise(n) == "head");
    // Hips are where the legs and the spine branch. Some rigs put a "Hips" joint beside the
    // legs (RobotExpressive's legs hang off `Body`); moving it would leave the legs behind,
    // so the branch point is used instead.
    let hips = match (hips, head, map.get(&HumanBone::LeftUpperLeg)) {
        (Some(h), Some(head), Some(&leg)) if !is_ancestor(parents, h, leg) => {
            common_ancestor(parents, leg, head).or(Some(h))
        }
        _ => hips,
    };
    if let Some(h) = hips {
        map.insert(HumanBone::Hips, h);
    }
    if let Some(h) = head {
        map.insert(HumanBone::Head, h);
    }
    // The spine: the chain from the hips up to the head; its last joint before the head
    // that is called neck is the neck, the rest are spine, chest, upper chest from the bottom.
    if let (Some(hips), Some(head)) = (hips, head) {
        let mut chain = Vec::new();
        let mut at = parents[head];
        while let Some(j) = at {
            if j == hips {
                break;
            }
            chain.push(j);
            at = parents[j];
        }
        chain.reverse();
        let necks: Vec<usize> = chain
            .iter()
            .copied()
            .filter(|j| normalise(names[*j]).starts_with("neck"))
            .collect();
        if let Some(first_neck) = necks.first() {
            map.insert(HumanBone::Neck, *first_neck);
        }
        let spine: Vec<usize> = chain
            .iter()
            .copied()
            .filter(|j| !necks.contains(j))
            .filter(|j| split_side(names[*j], &normalise(names[*j])).is_none())
            .collect();
        let slots: &[HumanBone] = match spine.len() {
            0 => &[],
            1 => &[HumanBone::Spine],
            2 => &[HumanBone::Spine, HumanBone::Chest],
            _ => &[HumanBone::Spine, HumanBone::Chest, HumanBone::UpperChest],
        };
        // With more joints than slots, spread them: first, middle…, last.
        for (k, bone) in slots.iter().enumerate() {
            let idx = if slots.len() == 1 {
                0
            } else {
                k * (spine.len() - 1) / (slots.len() - 1)
            };
            map.insert(*bone, spine[idx]);
        }
    }
    fill_limbs_by_structure(&mut map, parents);
    for (bone, name) in overrides {
        if let Some(i) = names.iter().position(|n| n == name) {
            map.insert(*bone, i);
        }
    }
    map
}

/// Fills the limb bones names left out, from the skeleton's shape: the joint that holds
/// the elbow is the upper arm, the one that holds the knee the upper leg, whatever they
/// are called (`Collar → Shoulder → Elbow`, `Hip → Knee`). A "shoulder" that holds the
/// elbow is such an upper arm, and its parent, when it is not on the spine, the collar.
fn fill_limbs_by_structure(map: &mut BTreeMap<HumanBone, usize>, parents: &[Option<usize>]) {
    use HumanBone::*;
    let taken = |map: &BTreeMap<HumanBone, usize>, j: usize| map.values().any(|v| *v == j);
    let arms = [
        (LeftShoulder, LeftUpperArm, LeftLowerArm),
        (RightShoulder, RightUpperArm, RightLowerArm),
    ];
    for (shoulder, upper, lower) in arms {
        let Some(joint) = map.get(&lower).and_then(|&elbow| parents[elbow]) else {
            continue;
        };
        if map.contains_key(&upper) {
            continue;
        }
        if map.get(&shoulder) == Some(&joint) {
            map.remove(&shoulder);
            if let Some(collar) = parents[joint].filter(|&p| !taken(map, p)) {
                map.insert(shoulder, collar);
            }
            map.insert(upper, joint);
        } else if !taken(map, joint) {
            map.insert(upper, joint);
        }
    }
    for (upper, lower) in [(LeftUpperLeg, LeftLowerLeg), (RightUpperLeg, RightLowerLeg)] {
        let Some(joint) = map.get(&lower).and_then(|&knee| parents[knee]) else {
            continue;
        };
        if !map.contains_key(&upper) && !taken(map, joint) {
            map.insert(upper, joint);
        }
    }
}

fn is_ancestor(parents: &[Option<usize>], ancestor: usize, mut joint: usize) -> bool {
    while let Some(p) = parents[joint] {
        if p == ancestor {
            return true;
        }
        joint = p;
    }
    false
}

fn common_ancestor(parents: &[Option<usize>], a: usize, b: usize) -> Option<usize> {
    let mut at = parents[a];
    while let Some(p) = at {
        if is_ancestor(parents, p, b) {
            return Some(p);
        }
        at = parents[p];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain_names(names: &[&str], parents: &[Option<usize>]) -> BTreeMap<&'static str, String> {
        map_skeleton(names, parents, &BTreeMap::new())
            .into_iter()
            .map(|(b, i)| (b.vrm_name(), names[i].to_string()))
            .collect()
    }

    #[test]
    fn cmu_names_map_with_lowerback_as_spine() {
        let names = [
            "Hips",
            "LHipJoint",
            "LeftUpLeg",
            "LeftLeg",
            "LeftFoot",
            "LeftToeBase",
            "LowerBack",
            "Spine",
            "Spine1",
            "Neck",
            "Neck1",
            "Head",
            "LeftShoulder",
            "LeftArm",
            "LeftForeArm",
            "LeftHand",
            "LThumb",
        ];
        let parents = [
            None,
            Some(0),
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(0),
            Some(6),
            Some(7),
            Some(8),
            Some(9),
            Some(10),
            Some(8),
            Some(12),
            Some(13),
            Some(14),
            Some(15),
        ];
        let m = chain_names(&names, &parents);
        assert_eq!(m["leftUpperLeg"], "LeftUpLeg");
        assert_eq!(m["leftLowerLeg"], "LeftLeg");
        assert_eq!(m["leftToes"], "LeftToeBase");
        assert_eq!(m["spine"], "LowerBack");
        assert_eq!(m["chest"], "Spine");
        assert_eq!(m["upperChest"], "Spine1");
        assert_eq!(m["neck"], "Neck");
        assert_eq!(m["leftUpperArm"], "LeftArm");
        assert_eq!(m["leftLowerArm"], "LeftForeArm");
        assert_eq!(m["leftShoulder"], "LeftShoulder");
        assert!(!m.values().any(|v| v == "LThumb" || v == "LHipJoint"));
    }

    /// A skeleton named by joint rather than by bone: `Collar → Shoulder → Elbow → Wrist`,
    /// `Hip → Knee → Ankle → Toe`. Every one of the 22 body bones maps.
    fn joint_named_skeleton(with_collar: bool) -> (Vec<String>, Vec<Option<usize>>) {
        let mut names: Vec<String> = ["Hips", "Spine", "Chest", "UpperChest", "Neck", "Head"]
            .map(String::from)
            .to_vec();
        let mut parents = vec![None, Some(0), Some(1), Some(2), Some(3), Some(4)];
        let mut chain = |names: &mut Vec<String>, from: usize, joints: &[&str]| {
            let mut parent = from;
            for joint in joints {
                parents.push(Some(parent));
                parent = names.len();
                names.push(joint.to_string());
            }
        };
        for side in ["Left", "Right"] {
            let arm: Vec<String> = ["Collar", "Shoulder", "Elbow", "Wrist"]
                .iter()
                .skip(usize::from(!with_collar))
                .map(|j| format!("{side}{j}"))
                .collect();
            let arm: Vec<&str> = arm.iter().map(String::as_str).collect();
            chain(&mut names, 3, &arm);
            let leg: Vec<String> = ["Hip", "Knee", "Ankle", "Toe"]
                .iter()
                .map(|j| format!("{side}{j}"))
                .collect();
            let leg: Vec<&str> = leg.iter().map(String::as_str).collect();
            chain(&mut names, 0, &leg);
        }
        (names, parents)
    }

    #[test]
    fn joint_names_map_every_limb_by_structure() {
        let (names, parents) = joint_named_skeleton(true);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let m = chain_names(&names, &parents);
        assert_eq!(m.len(), 22, "{m:?}");
        assert_eq!(m["leftShoulder"], "LeftCollar");
        assert_eq!(m["leftUpperArm"], "LeftShoulder");
        assert_eq!(m["leftLowerArm"], "LeftElbow");
        assert_eq!(m["leftHand"], "LeftWrist");
        assert_eq!(m["rightUpperLeg"], "RightHip");
        assert_eq!(m["rightLowerLeg"], "RightKnee");
        assert_eq!(m["rightFoot"], "RightAnkle");
        assert_eq!(m["rightToes"], "RightToe");
        // Without collars the shoulder joint is still the upper arm, and no bone is the
        // shoulder (the chest is not one).
        let (names, parents) = joint_named_skeleton(false);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let m = chain_names(&names, &parents);
        assert_eq!(m["leftUpperArm"], "LeftShoulder");
        assert!(!m.contains_key("leftShoulder"), "{m:?}");
        assert_eq!(m.len(), 20, "{m:?}");
    }

    #[test]
    fn mixamo_and_robot_and_max_names_map() {
        let mixamo = [
            "mixamorig:Hips",
            "mixamorig:Spine",
            "mixamorig:Spine1",
            "mixamorig:Spine2",
            "mixamorig:Neck",
            "mixamorig:Head",
            "mixamorig:RightArm",
            "mixamorig:RightForeArm",
            "mixamorig:RightHand",
        ];
        let parents = [
            None,
            Some(0),
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(3),
            Some(6),
            Some(7),
        ];
        let m = chain_names(&mixamo, &parents);
        assert_eq!(m["spine"], "mixamorig:Spine");
        assert_eq!(m["upperChest"], "mixamorig:Spine2");
        assert_eq!(m["rightLowerArm"], "mixamorig:RightForeArm");

        let robot = [
            "Root",
            "Hips",
            "Abdomen",
            "Torso",
            "Neck",
            "Head",
            "ShoulderL",
            "UpperArmL",
            "LowerArmL",
            "Palm2L",
            "UpperLegR",
            "LowerLegR",
            "FootR",
        ];
        let parents = [
            None,
            Some(0),
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(3),
            Some(6),
            Some(7),
            Some(8),
            Some(1),
            Some(10),
            Some(11),
        ];
        let m = chain_names(&robot, &parents);
        assert_eq!(m["hips"], "Hips");
        assert_eq!(m["leftUpperArm"], "UpperArmL");
        assert_eq!(m["leftHand"], "Palm2L");
        assert_eq!(m["rightFoot"], "FootR");
        assert_eq!(m["spine"], "Abdomen");
        assert_eq!(m["chest"], "Torso");

        let max = [
            "Bip01 Pelvis",
            "Bip01 L Thigh",
            "Bip01 L Calf",
            "Bip01 L Foot",
            "Bip01 R UpperArm",
            "Bip01 R Forearm",
        ];
        let parents = [None, Some(0), Some(1), Some(2), Some(0), Some(4)];
        let m = chain_names(&max, &parents);
        assert_eq!(m["hips"], "Bip01 Pelvis");
        assert_eq!(m["leftUpperLeg"], "Bip01 L Thigh");
        assert_eq!(m["leftLowerLeg"], "Bip01 L Calf");
        assert_eq!(m["rightLowerArm"], "Bip01 R Forearm");
    }

    #[test]
    fn overrides_win() {
        let names = ["Hips", "Weird1"];
        let mut overrides = BTreeMap::new();
        overrides.insert(HumanBone::Head, "Weird1".to_string());
        let m = map_skeleton(&names, &[None, Some(0)], &overrides);
        assert_eq!(m[&HumanBone::Head], 1);
    }

    #[test]
    fn vrm_names_round_trip() {
        for bone in HumanBone::ALL {
            assert_eq!(HumanBone::from_vrm_name(bone.vrm_name()), Some(bone));
        }
    }
}
