//! Where the host looks: at the viewer (the on-air camera) most of the time, in fixations
//! of a few seconds with small saccades between them; at the product during its pitch
//! when its prop is in the picture; away around the room now and then between lines. The
//! eyes turn at once (eye bones, limited as the VRM `lookAt` range maps say), and the head
//! follows part of the way, slowly, as a person's does.
//!
//! Fixations are drawn from a generator seeded by their count, so a render is repeatable
//! and a day's show never repeats a pattern.

use crate::mocap::retarget::Rig;
use crate::scene::{ActiveCamera, SetPiece};
use crate::stage::{MediaTime, OnAirNow, SpeechTimeline};
use bevy::prelude::*;
use serde_json::Value;

/// How much of the gaze's angle the head turns, at most how far, and how fast it follows.
const HEAD_SHARE: f32 = 0.45;
const HEAD_MAX_DEGREES: Vec2 = Vec2::new(22.0, 10.0);
const HEAD_FOLLOW_S: f32 = 0.45;
/// Eye limits for rigs with eye bones and no VRM range maps (yaw, pitch).
const EYE_MAX_DEGREES: Vec2 = Vec2::new(25.0, 15.0);

/// What the host is looking at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Look {
    #[default]
    Camera,
    Product,
    Away,
}

impl Look {
    pub fn name(self) -> &'static str {
        match self {
            Look::Camera => "camera",
            Look::Product => "product",
            Look::Away => "away",
        }
    }
}

/// The gaze this frame: what she looks at, where, how her head follows, and (telemetry)
/// how far her eyes point from the camera.
#[derive(Resource, Debug, Clone, Default)]
pub struct Gaze {
    pub at: Look,
    pub target: Option<Vec3>,
    /// The head's turn towards the target (yaw to her left, pitch up), degrees, smoothed.
    pub head: Vec2,
    /// Angle between where the eyes point and the camera, degrees (0 without eye bones).
    pub off_camera: f32,
    /// Fixations so far (saccades), for telemetry.
    pub fixations: u32,
    /// Where her body faces, flat on the floor (the head's turn is about this frame).
    pub body_forward: Vec3,
    /// Look expression weights (her left, right, up, down) for eyes drawn by morphs.
    pub looks: [f32; 4],
    next: f64,
    offset: Vec2,
    last: Option<f64>,
}

/// A VRM `lookAt` range map: gaze angles up to `input` degrees turn the eye linearly up to
/// `output` degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeMap {
    pub input: f32,
    pub output: f32,
}

impl RangeMap {
    fn map(self, degrees: f32) -> f32 {
        let input = self.input.max(1.0);
        degrees.signum() * degrees.abs().min(input) / input * self.output
    }
}

/// How the eyes turn: inner, outer (horizontal), down, up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EyeRanges {
    pub inner: RangeMap,
    pub outer: RangeMap,
    pub down: RangeMap,
    pub up: RangeMap,
}

impl Default for EyeRanges {
    fn default() -> Self {
        let h = RangeMap {
            input: EYE_MAX_DEGREES.x,
            output: EYE_MAX_DEGREES.x,
        };
        let v = RangeMap {
            input: EYE_MAX_DEGREES.y,
            output: EYE_MAX_DEGREES.y,
        };
        Self {
            inner: h,
            outer: h,
            down: v,
            up: v,
        }
    }
}

/// How a VRM file says its eyes look: eye bones by glTF node (left, right), the range
/// maps, and whether the eyes are drawn by `look*` expressions instead of bones.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LookAt {
    pub eyes: Option<(usize, usize)>,
    pub ranges: Option<EyeRanges>,
    pub expression: bool,
}

/// The look-at of a file: VRM 1.0 `humanoid` and `lookAt`, 0.x `humanoid` and
/// `firstPerson` (all `None` for other files).
pub fn vrm_look_at(doc: &Value) -> LookAt {
    let one = &doc["extensions"]["VRMC_vrm"];
    let zero = &doc["extensions"]["VRM"];
    let bone = |name| crate::mocap::retarget::vrm_bone_node(doc, name);
    let bones = bone("leftEye").zip(bone("rightEye"));
    let map = |v: &Value, input: &str, output: &str| {
        let f = |k: &str| v[k].as_f64().map(|x| x as f32).filter(|x| x.is_finite());
        Some(RangeMap {
            input: f(input)?.clamp(1.0, 180.0),
            output: f(output)?.clamp(0.0, 90.0),
        })
    };
    let (l, keys, io, expression) = if one.is_object() {
        let l = &one["lookAt"];
        let keys = [
            "rangeMapHorizontalInner",
            "rangeMapHorizontalOuter",
            "rangeMapVerticalDown",
            "rangeMapVerticalUp",
        ];
        (
            l,
            keys,
            ("inputMaxValue", "outputScale"),
            l["type"] == "expression",
        )
    } else {
        let l = &zero["firstPerson"];
        let keys = [
            "lookAtHorizontalInner",
            "lookAtHorizontalOuter",
            "lookAtVerticalDown",
            "lookAtVerticalUp",
        ];
        (
            l,
            keys,
            ("xRange", "yRange"),
            l["lookAtTypeName"] == "BlendShape",
        )
    };
    let m = |k: &str| map(&l[k], io.0, io.1);
    let ranges = (|| {
        Some(EyeRanges {
            inner: m(keys[0])?,
            outer: m(keys[1])?,
            down: m(keys[2])?,
            up: m(keys[3])?,
        })
    })();
    LookAt {
        eyes: bones.filter(|_| !expression),
        ranges,
        expression,
    }
}

/// Whether a node's name looks like an eye bone, and which side (`Some(true)` left).
pub fn eye_side(name: &str) -> Option<bool> {
    let lower = name.to_ascii_lowercase();
    let tokens: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let eye = tokens.iter().any(|t| t.ends_with("eye") || *t == "eyeball");
    let not = [
        "brow",
        "lid",
        "lash",
        "target",
        "socket",
        "end",
        "highlight",
    ];
    if !eye || not.iter().any(|n| lower.contains(n)) {
        return None;
    }
    let has = |s: &str| tokens.contains(&s);
    if lower.contains("left") || has("l") {
        Some(true)
    } else if lower.contains("right") || has("r") {
        Some(false)
    } else {
        None
    }
}

/// One eye: its entity, its rest rotation relative to the head, and `left` for the range
/// maps' inner/outer.
#[derive(Debug, Clone, Copy)]
pub struct Eye {
    pub entity: Entity,
    pub left: bool,
    relative: Quat,
}

/// The avatar's eyes and head as gaze needs them: which way the head faces and is up in
/// its own frame, and the eyes' limits.
#[derive(Resource)]
pub struct GazeRig {
    pub avatar: Entity,
    /// The avatar's facing in its own space (see [`Rig::forward`]).
    pub forward: Vec3,
    pub head: Entity,
    pub eyes: Vec<Eye>,
    head_forward: Vec3,
    head_up: Vec3,
    pub ranges: EyeRanges,
    /// The eyes are drawn by `look*` expressions (weights from `ranges`), not bones.
    pub expression: bool,
}

impl GazeRig {
    /// The rig from the avatar's rest pose: `head` and `eyes` (entity, rig node, left).
    pub fn new(
        rig: &Rig,
        avatar: Entity,
        head: (Entity, usize),
        eyes: &[(Entity, usize, bool)],
        look: &LookAt,
    ) -> Self {
        let head_rest = rig.rest_rotation(head.1);
        let forward = rig.forward();
        Self {
            avatar,
            forward,
            head: head.0,
            eyes: eyes
                .iter()
                .map(|(entity, node, left)| Eye {
                    entity: *entity,
                    left: *left,
                    relative: head_rest.inverse() * rig.rest_rotation(*node),
                })
                .collect(),
            head_forward: head_rest.inverse() * forward,
            head_up: head_rest.inverse() * Vec3::Y,
            ranges: look.ranges.unwrap_or_default(),
            expression: look.expression,
        }
    }

    /// The head's forward, up and left in the world for its world rotation.
    fn frame(&self, head: Quat) -> (Vec3, Vec3, Vec3) {
        let forward = (head * self.head_forward).normalize_or(Vec3::Z);
        let up = (head * self.head_up).normalize_or(Vec3::Y);
        (forward, up, up.cross(forward).normalize_or(Vec3::X))
    }
}

/// Yaw (to the left) and pitch (up), degrees, of `dir` in a frame.
fn angles(dir: Vec3, (forward, up, left): (Vec3, Vec3, Vec3)) -> Vec2 {
    Vec2::new(
        dir.dot(left).atan2(dir.dot(forward)).to_degrees(),
        dir.dot(up).clamp(-1.0, 1.0).asin().to_degrees(),
    )
}

/// A small generator for fixations: the same sequence for the same count.
fn draw(seed: u32, k: u32) -> f32 {
    let mut x = seed.wrapping_mul(0x9E37_79B9) ^ k.wrapping_mul(0x85EB_CA6B);
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846C_A68B);
    x ^= x >> 16;
    x as f32 / u32::MAX as f32
}

/// What the next fixation is: where, for how long, and the saccade's offset (degrees)
/// around it. `product` says whether the product is in the picture during its pitch.
pub fn next_fixation(n: u32, last: Look, product: bool, speaking: bool) -> (Look, f32, Vec2) {
    let r = |k| draw(n, k);
    let look = if n == 0 || last != Look::Camera {
        Look::Camera
    } else if product && r(0) < 0.35 {
        Look::Product
    } else if !speaking && r(1) < 0.3 {
        Look::Away
    } else {
        Look::Camera
    };
    let (seconds, offset) = match look {
        Look::Camera => (1.5 + 2.5 * r(2), Vec2::new(r(3) - 0.5, r(4) - 0.5) * 3.0),
        Look::Product => (1.0 + r(2), Vec2::ZERO),
        Look::Away => {
            let side = if r(5) < 0.5 { -1.0 } else { 1.0 };
            (
                0.8 + r(2),
                Vec2::new(side * (15.0 + 15.0 * r(3)), 8.0 * (r(4) - 0.6)),
            )
        }
    };
    (look, seconds, offset)
}

/// Picks what to look at (a new fixation when the last is over) and turns the head's
/// share of the gaze towards it, smoothed.
#[allow(clippy::too_many_arguments)]
pub fn choose_gaze(
    now: Res<MediaTime>,
    timeline: Res<SpeechTimeline>,
    on_air: Res<OnAirNow>,
    rig: Option<Res<GazeRig>>,
    mut gaze: ResMut<Gaze>,
    cameras: Query<(&GlobalTransform, &Projection), With<ActiveCamera>>,
    props: Query<(&Name, &GlobalTransform), With<SetPiece>>,
    transforms: Query<&GlobalTransform>,
) {
    let (Some(rig), Ok((camera, projection))) = (rig, cameras.single()) else {
        return;
    };
    let Ok(head) = transforms.get(rig.head) else {
        return;
    };
    let t = now.0;
    let dt = gaze.last.map_or(0.0, |l| (t - l).max(0.0)) as f32;
    gaze.last = Some(t);
    let eye = head.translation();
    let prop = (on_air.0.card)
        .then(|| on_air.0.product.as_ref()?.prop.clone())
        .flatten()
        .and_then(|name| props.iter().find(|(n, _)| n.as_str() == name))
        .map(|(_, g)| g.translation())
        .filter(|p| in_picture(camera, projection, *p));
    if t >= gaze.next {
        let speaking = timeline.0.iter().any(|l| l.offset_at(t).is_some());
        let (look, seconds, offset) =
            next_fixation(gaze.fixations, gaze.at, prop.is_some(), speaking);
        gaze.at = look;
        gaze.offset = offset;
        gaze.next = t + seconds as f64;
        gaze.fixations += 1;
    }
    let to_camera = camera.translation() - eye;
    let target = match (gaze.at, prop) {
        (Look::Product, Some(p)) => p,
        _ => {
            let turn = Quat::from_rotation_y(gaze.offset.x.to_radians())
                * Quat::from_axis_angle(
                    to_camera.cross(Vec3::Y).normalize_or(Vec3::X),
                    gaze.offset.y.to_radians(),
                );
            eye + turn * to_camera
        }
    };
    gaze.target = Some(target);
    gaze.looks = if rig.expression {
        let want = angles(
            (target - eye).normalize_or(Vec3::Z),
            rig.frame(head.rotation()),
        );
        look_weights(want, &rig.ranges)
    } else {
        [0.0; 4]
    };
    // The head turns its share towards the target, from where the body faces (not the
    // head, which would chase its own turn).
    let avatar = transforms
        .get(rig.avatar)
        .map_or(Quat::IDENTITY, |g| g.rotation());
    let forward = (avatar * rig.forward).with_y(0.0).normalize_or(Vec3::Z);
    gaze.body_forward = forward;
    let body = (forward, Vec3::Y, Vec3::Y.cross(forward));
    let want = (angles((target - eye).normalize_or(forward), body) * HEAD_SHARE)
        .clamp(-HEAD_MAX_DEGREES, HEAD_MAX_DEGREES);
    let k = if dt > 0.0 {
        1.0 - (-dt / HEAD_FOLLOW_S).exp()
    } else {
        1.0
    };
    let head = gaze.head;
    gaze.head = head + (want - head) * k;
}

/// The look expressions' weights (her left, right, up, down) for a gaze at `angles` (yaw
/// to her left, pitch up, degrees) from the head: the range maps' outputs, 0–1.
fn look_weights(angles: Vec2, ranges: &EyeRanges) -> [f32; 4] {
    let w = |map: RangeMap, degrees: f32| map.map(degrees.max(0.0)).clamp(0.0, 1.0);
    [
        w(ranges.outer, angles.x),
        w(ranges.outer, -angles.x),
        w(ranges.up, angles.y),
        w(ranges.down, -angles.y),
    ]
}

/// Whether `point` is inside the camera's view (with a margin).
fn in_picture(camera: &GlobalTransform, projection: &Projection, point: Vec3) -> bool {
    let Projection::Perspective(p) = projection else {
        return true;
    };
    let local = camera.affine().inverse().transform_point3(point);
    if local.z >= 0.0 {
        return false;
    }
    let half_v = (p.fov * 0.5).tan() * 0.9;
    let half_h = half_v * p.aspect_ratio;
    (local.x / -local.z).abs() < half_h && (local.y / -local.z).abs() < half_v
}

/// Turns the eyes to the gaze's target within their limits, after the pose is final, and
/// writes their world transforms for this frame's skin.
pub fn turn_eyes(
    rig: Option<Res<GazeRig>>,
    mut gaze: ResMut<Gaze>,
    cameras: Query<&GlobalTransform, With<ActiveCamera>>,
    parents: Query<&ChildOf>,
    mut transforms: Query<(&mut Transform, &mut GlobalTransform), Without<ActiveCamera>>,
) {
    let (Some(rig), Some(target)) = (rig, gaze.target) else {
        return;
    };
    let Ok((_, head)) = transforms.get(rig.head).map(|(t, g)| (*t, *g)) else {
        return;
    };
    let frame = rig.frame(head.rotation());
    let camera = cameras.single().map(GlobalTransform::translation).ok();
    let mut off = Vec::new();
    for eye in &rig.eyes {
        let Some(parent) = parents
            .get(eye.entity)
            .ok()
            .and_then(|p| transforms.get(p.parent()).ok())
            .map(|(_, g)| *g)
        else {
            continue;
        };
        let Ok((mut local, mut global)) = transforms.get_mut(eye.entity) else {
            continue;
        };
        let at = global.translation();
        let want = angles((target - at).normalize_or(frame.0), frame);
        let r = &rig.ranges;
        let (toward_nose, away) = if eye.left {
            (r.inner, r.outer)
        } else {
            (r.outer, r.inner)
        };
        // Yaw to her left: the left eye turns outwards, the right one towards the nose.
        let yaw = if want.x >= 0.0 {
            away.map(want.x)
        } else {
            toward_nose.map(want.x)
        };
        let pitch = if want.y >= 0.0 {
            r.up.map(want.y)
        } else {
            r.down.map(want.y)
        };
        let turn = Quat::from_axis_angle(frame.1, yaw.to_radians())
            * Quat::from_axis_angle(
                frame.0.cross(frame.1).normalize_or(Vec3::X),
                pitch.to_radians(),
            );
        let world = turn * head.rotation() * eye.relative;
        local.rotation = parent.rotation().inverse() * world;
        *global = parent.mul_transform(*local);
        if let Some(camera) = camera {
            let looking = turn * frame.0;
            off.push(looking.angle_between(camera - at).to_degrees());
        }
    }
    gaze.off_camera = if off.is_empty() {
        0.0
    } else {
        off.iter().sum::<f32>() / off.len() as f32
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn eye_bones_are_found_by_name_whatever_the_convention() {
        assert_eq!(eye_side("J_Adj_L_FaceEye"), Some(true));
        assert_eq!(eye_side("mixamorig:RightEye"), Some(false));
        assert_eq!(eye_side("eye.L"), Some(true));
        assert_eq!(eye_side("Eye_R"), Some(false));
        assert_eq!(eye_side("LeftEye"), Some(true));
        assert_eq!(eye_side("J_Adj_L_FaceEyeHighlight"), None);
        assert_eq!(eye_side("EyeBrow_L"), None);
        assert_eq!(eye_side("eyelid_L"), None);
        assert_eq!(eye_side("Eyes"), None);
        assert_eq!(eye_side("LeftHand"), None);
    }

    #[test]
    fn range_maps_are_read_from_vrm_1_and_0x() {
        let one = json!({"extensions": {"VRMC_vrm": {
            "humanoid": {"humanBones": {"leftEye": {"node": 7}, "rightEye": {"node": 8}}},
            "lookAt": {"type": "bone",
                "rangeMapHorizontalInner": {"inputMaxValue": 90, "outputScale": 12},
                "rangeMapHorizontalOuter": {"inputMaxValue": 90, "outputScale": 14},
                "rangeMapVerticalDown": {"inputMaxValue": 90, "outputScale": 10},
                "rangeMapVerticalUp": {"inputMaxValue": 90, "outputScale": 8}}}}});
        let look = vrm_look_at(&one);
        assert_eq!(look.eyes, Some((7, 8)));
        assert!(!look.expression);
        let ranges = look.ranges.unwrap();
        assert_eq!(ranges.up.output, 8.0);
        assert!((ranges.outer.map(45.0) - 7.0).abs() < 1e-4);
        assert!(
            (ranges.inner.map(-200.0) + 12.0).abs() < 1e-4,
            "clamped at the input's end"
        );

        let zero = json!({"extensions": {"VRM": {
            "humanoid": {"humanBones": [{"bone": "leftEye", "node": 3}, {"bone": "rightEye", "node": 4}]},
            "firstPerson": {"lookAtTypeName": "Bone",
                "lookAtHorizontalInner": {"xRange": 90, "yRange": 8},
                "lookAtHorizontalOuter": {"xRange": 90, "yRange": 12},
                "lookAtVerticalDown": {"xRange": 90, "yRange": 10},
                "lookAtVerticalUp": {"xRange": 90, "yRange": 10}}}}});
        let look = vrm_look_at(&zero);
        assert_eq!(look.eyes, Some((3, 4)));
        assert_eq!(look.ranges.unwrap().outer.output, 12.0);
        // Eyes drawn by expressions move no bones: their weights come from the range maps (0–1).
        let expression = json!({"extensions": {"VRMC_vrm": {
            "humanoid": {"humanBones": {"leftEye": {"node": 7}, "rightEye": {"node": 8}}},
            "lookAt": {"type": "expression",
                "rangeMapHorizontalInner": {"inputMaxValue": 90, "outputScale": 1},
                "rangeMapHorizontalOuter": {"inputMaxValue": 90, "outputScale": 1},
                "rangeMapVerticalDown": {"inputMaxValue": 90, "outputScale": 1},
                "rangeMapVerticalUp": {"inputMaxValue": 90, "outputScale": 1}}}}});
        let look = vrm_look_at(&expression);
        assert!(look.expression && look.eyes.is_none());
        let w = look_weights(Vec2::new(45.0, -90.0), &look.ranges.unwrap());
        assert_eq!(w, [0.5, 0.0, 0.0, 1.0]);
        assert_eq!(vrm_look_at(&json!({})), LookAt::default());
        // The expressions' morphs are found by their preset names too.
        use super::super::face::{Channel, LookDir, channel_for};
        assert_eq!(channel_for("lookLeft"), Some(Channel::Look(LookDir::Left)));
        assert_eq!(channel_for("LookDown"), Some(Channel::Look(LookDir::Down)));
    }

    #[test]
    fn fixations_mostly_hold_the_camera_and_vary() {
        let mut last = Look::Camera;
        let mut counts = [0u32; 3];
        let mut seconds = Vec::new();
        let mut offsets = Vec::new();
        for n in 0..400 {
            let (look, s, offset) = next_fixation(n, last, true, n % 2 == 0);
            assert!(
                !(look != Look::Camera && last != Look::Camera),
                "two looks away in a row"
            );
            assert!((0.8..=4.0).contains(&s), "{s}");
            if look == Look::Camera {
                assert!(offset.abs().max_element() <= 1.5, "{offset}");
            }
            counts[look as usize] += 1;
            seconds.push(s);
            offsets.push(offset);
            last = look;
        }
        assert!(
            counts[0] > 200 && counts[1] > 40 && counts[2] > 10,
            "{counts:?}"
        );
        // No two fixations in a row alike: saccades land somewhere new each time.
        assert!(offsets.windows(2).all(|w| w[0] != w[1]));
        // Without the product in the picture she never looks for it.
        assert!((0..200).all(|n| next_fixation(n, Look::Camera, false, true).0 == Look::Camera));
    }

    #[test]
    fn the_product_counts_as_in_the_picture_only_inside_the_view() {
        // A camera at 3 m on +Z looking at the origin, 40° tall, 16:9.
        let camera = GlobalTransform::from(
            Transform::from_xyz(0.0, 1.0, 3.0).looking_at(Vec3::new(0.0, 1.0, 0.0), Vec3::Y),
        );
        let projection = Projection::Perspective(PerspectiveProjection {
            fov: 40f32.to_radians(),
            aspect_ratio: 16.0 / 9.0,
            ..default()
        });
        assert!(in_picture(&camera, &projection, Vec3::new(0.0, 1.0, 0.0)));
        assert!(in_picture(&camera, &projection, Vec3::new(1.5, 1.2, 0.0)));
        assert!(
            !in_picture(&camera, &projection, Vec3::new(3.5, 1.0, 0.0)),
            "off the side"
        );
        assert!(
            !in_picture(&camera, &projection, Vec3::new(0.0, 1.0, 5.0)),
            "behind"
        );
    }

    #[test]
    fn the_angles_of_a_direction_in_the_head_frame() {
        let frame = (Vec3::Z, Vec3::Y, Vec3::X);
        let a = angles(Quat::from_rotation_y(20f32.to_radians()) * Vec3::Z, frame);
        assert!((a.x - 20.0).abs() < 1e-3 && a.y.abs() < 1e-3, "{a}");
        let b = angles(Vec3::new(0.0, 1.0, 1.0).normalize(), frame);
        assert!((b.y - 45.0).abs() < 1e-3, "{b}");
    }
}
