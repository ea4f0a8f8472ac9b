//! Line of sight, checked at load: a product shot must show its product. For every shot of
//! a segment about a product, and every point of a move into it, the product in the
//! camera's view must not be hidden behind the presenter, and the presenter must not fill the picture from a step
//! away (the back of her head is not a product shot).
//!
//! The presenter is taken as a person-sized column where she stands: her real shape is
//! known only once the avatar has loaded, and a warning before the show starts is worth
//! more than an exact one after it aired.

use super::Pose;
use crate::config::plan::{SegmentKind, ShowPlan};
use crate::scene::SceneDescription;
use bevy::math::{Vec2, Vec3};

/// The column that stands for the presenter: radius and height in metres.
const RADIUS: f32 = 0.35;
const HEIGHT: f32 = 1.8;

/// Closer than this to the camera and in view, the presenter fills the picture.
const TOO_CLOSE: f32 = 1.2;

/// Points checked along a move.
const MOVE_SAMPLES: usize = 10;

/// What is wrong with the rundown's shots in this scene, one sentence per shot.
pub fn blocked_shots(scene: &SceneDescription, plan: &ShowPlan) -> Vec<String> {
    let Some(host) = Column::of(scene) else {
        return Vec::new();
    };
    let products: Vec<(&str, Vec3)> = plan
        .products
        .iter()
        .filter_map(|p| {
            let prop = scene
                .props
                .iter()
                .find(|s| Some(&s.name) == p.prop.as_ref())?;
            Some((p.id.as_str(), Vec3::from(prop.transform.translation)))
        })
        .collect();
    let pose = |name: &str| scene.cameras.iter().find(|c| c.name == name).map(Pose::of);
    let mut problems = Vec::new();
    for (i, segment) in plan.segments.iter().enumerate() {
        // The subject: the segment's product, or for a pitch or flash sale of the rotation,
        // whichever product is up. An opening, a tour or Q&A shows the room.
        let subjects: Vec<(&str, Vec3)> = match (&segment.product, segment.kind) {
            (Some(id), _) => products.iter().filter(|(p, _)| p == id).cloned().collect(),
            (None, SegmentKind::Pitch | SegmentKind::FlashSale) => products.clone(),
            (None, _) => continue,
        };
        let previous = previous_shot(plan, i).and_then(|c| pose(&c));
        for (j, shot) in segment.shots.iter().enumerate() {
            let Some(to) = pose(&shot.camera) else {
                continue;
            };
            let from = match j {
                0 => previous,
                _ => pose(&segment.shots[j - 1].camera),
            }
            .filter(|_| shot.move_seconds > 0.0);
            let poses: Vec<Pose> = match from {
                Some(from) => (1..=MOVE_SAMPLES)
                    .map(|k| from.lerp(&to, k as f32 / MOVE_SAMPLES as f32))
                    .collect(),
                None => vec![to],
            };
            if let Some(why) = poses.iter().find_map(|p| host.spoils(p, &subjects)) {
                let how = if from.is_some() { " (or its move)" } else { "" };
                problems.push(format!(
                    "segment {} (`{}`), shot {} on camera `{}`{how}: {why}",
                    i + 1,
                    segment.kind.label(),
                    j + 1,
                    shot.camera
                ));
            }
        }
    }
    problems
}

/// Whether the presenter of `scene`, where she stands, hides `subject` from `pose` or
/// fills its picture (what the product close-up turns away from).
pub fn presenter_spoils(scene: &SceneDescription, pose: &Pose, subject: Vec3) -> bool {
    Column::of(scene).is_some_and(|host| host.spoils(pose, &[("product", subject)]).is_some())
}

/// The camera of the shot before segment `i`'s first: the previous segment's last shot.
fn previous_shot(plan: &ShowPlan, i: usize) -> Option<String> {
    let n = plan.segments.len();
    (1..=n)
        .map(|k| &plan.segments[(i + n - k) % n])
        .find_map(|s| s.shots.last())
        .map(|s| s.camera.clone())
}

struct Column {
    centre: Vec2,
    base: f32,
}

impl Column {
    /// The column where `scene` puts the presenter, if it has one.
    fn of(scene: &SceneDescription) -> Option<Self> {
        let [x, y, z] = scene.presenter.as_ref()?.transform.translation;
        Some(Column {
            centre: Vec2::new(x, z),
            base: y,
        })
    }

    /// Why this pose's picture is spoiled by the presenter, if it is.
    fn spoils(&self, pose: &Pose, products: &[(&str, Vec3)]) -> Option<String> {
        let in_view: Vec<&(&str, Vec3)> =
            products.iter().filter(|(_, at)| sees(pose, *at)).collect();
        if in_view.is_empty() {
            return None; // not a product shot
        }
        if let Some((id, _)) = in_view
            .iter()
            .find(|(_, at)| self.hides(pose.position, *at))
        {
            return Some(format!(
                "the presenter stands between the camera and `{id}`"
            ));
        }
        let nearest = self.centre + (flat(pose.position) - self.centre).clamp_length_max(RADIUS);
        let near = Vec3::new(
            nearest.x,
            pose.position.y.clamp(self.base, self.base + HEIGHT),
            nearest.y,
        );
        (near.distance(pose.position) < TOO_CLOSE && sees(pose, near)).then(|| {
            format!(
                "the presenter fills the picture of `{}` from {:.1} m",
                in_view[0].0,
                near.distance(pose.position)
            )
        })
    }

    /// Whether the straight line from `eye` to `target` passes through the column.
    fn hides(&self, eye: Vec3, target: Vec3) -> bool {
        let (a, b) = (flat(eye), flat(target));
        let along = b - a;
        let t = if along.length_squared() > 1e-6 {
            ((self.centre - a).dot(along) / along.length_squared()).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let closest = a + along * t;
        let height = eye.y + (target.y - eye.y) * t;
        closest.distance(self.centre) < RADIUS && (self.base..=self.base + HEIGHT).contains(&height)
    }
}

/// Whether `at` is inside the pose's picture (16:9, `fov_degrees` vertical).
fn sees(pose: &Pose, at: Vec3) -> bool {
    let forward = (pose.look_at - pose.position).normalize_or_zero();
    let to = at - pose.position;
    if forward == Vec3::ZERO || to.dot(forward) <= 0.0 {
        return false;
    }
    let right = forward.cross(Vec3::Y).normalize_or_zero();
    let up = right.cross(forward);
    let depth = to.dot(forward);
    let half_v = (pose.fov_degrees.to_radians() / 2.0).tan();
    (to.dot(up) / depth).abs() <= half_v && (to.dot(right) / depth).abs() <= half_v * 16.0 / 9.0
}

fn flat(v: Vec3) -> Vec2 {
    Vec2::new(v.x, v.z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ShowConfig;

    fn demo() -> (SceneDescription, ShowPlan) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let show = ShowConfig::load(&root.join("assets/shows/demo.toml")).unwrap();
        let scene = crate::scene::LoadedScene::load(&show.scene).unwrap();
        (scene.description, show.plan)
    }

    #[test]
    fn every_shot_of_the_demo_shows_its_product() {
        let (scene, plan) = demo();
        assert_eq!(blocked_shots(&scene, &plan), Vec::<String>::new());
    }

    #[test]
    fn a_presenter_in_front_of_the_product_is_found() {
        let (mut scene, plan) = demo();
        // Between the `cake` camera and the cake.
        let cake = scene
            .cameras
            .iter()
            .find(|c| c.name == "cake")
            .unwrap()
            .clone();
        let between = (Vec3::from(cake.position) + Vec3::from(cake.look_at)) / 2.0;
        scene.presenter.as_mut().unwrap().transform.translation = [between.x, 0.0, between.z];
        let problems = blocked_shots(&scene, &plan);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("camera `cake`") && p.contains("between")),
            "{problems:?}"
        );
        // A step in front of the camera, off the line to the cake: she fills the picture.
        let eye = Vec3::from(cake.position);
        let toward = (Vec3::from(cake.look_at) - eye).normalize();
        let aside = eye + toward * 1.0 + toward.cross(Vec3::Y).normalize() * 0.45;
        scene.presenter.as_mut().unwrap().transform.translation = [aside.x, 0.0, aside.z];
        let problems = blocked_shots(&scene, &plan);
        assert!(
            problems.iter().any(|p| p.contains("fills the picture")),
            "{problems:?}"
        );
    }
}
