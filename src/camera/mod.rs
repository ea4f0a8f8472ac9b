//! The camera director: each segment's shots, in turn, on the on-air camera — cuts, or
//! smooth moves between the scene's named cameras (a factory tour is a list of moves).
//!
//! The scene's cameras are poses; only the on-air one renders. Shots are timed on the
//! media clock from the moment the segment went on air, so a render is repeatable. A shot
//! on camera `product` is a close-up of the segment's product found from its prop
//! ([`product`]).

use crate::scene::{ActiveCamera, CameraSpec, ShowroomSettings, ViewCamera};
use crate::stage::{MediaTime, OnAirNow};
use bevy::camera::Exposure;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::prelude::*;

pub mod held;
pub mod product;
pub mod sight;

pub use product::PRODUCT_CAMERA;

pub struct CameraDirectorPlugin;

impl Plugin for CameraDirectorPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            PostUpdate,
            direct_camera.before(TransformSystems::Propagate),
        );
    }
}

/// Where a camera was when the segment changed (the start of its first move), and the
/// segment's product close-up once found (`reframe`: to be found again after a set
/// rebuild, kept until its prop has bounds again).
#[derive(Component, Default, Clone, Copy)]
struct Direction {
    generation: u64,
    from: Option<Pose>,
    product: Option<Pose>,
    reframe: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub position: Vec3,
    pub look_at: Vec3,
    pub fov_degrees: f32,
    pub ev100: f32,
    /// The camera's own tone mapping: a shot looks as its camera is set, not as the
    /// camera on air at start.
    pub tonemapping: Tonemapping,
}

impl Pose {
    pub fn of(spec: &CameraSpec) -> Self {
        Self {
            position: Vec3::from(spec.position),
            look_at: Vec3::from(spec.look_at),
            fov_degrees: spec.fov_degrees,
            ev100: spec.exposure_ev100,
            tonemapping: crate::scene::tonemapping(spec.tonemapping),
        }
    }

    /// Eased blend: position and target move together, so the camera glides and turns; the
    /// tone mapping changes halfway.
    pub fn lerp(&self, to: &Pose, t: f32) -> Pose {
        let t = t.clamp(0.0, 1.0);
        let s = t * t * (3.0 - 2.0 * t);
        Pose {
            position: self.position.lerp(to.position, s),
            look_at: self.look_at.lerp(to.look_at, s),
            fov_degrees: self.fov_degrees + (to.fov_degrees - self.fov_degrees) * s,
            ev100: self.ev100 + (to.ev100 - self.ev100) * s,
            tonemapping: if s < 0.5 {
                self.tonemapping
            } else {
                to.tonemapping
            },
        }
    }
}

/// The pose of shot list `shots` (camera name, seconds, move seconds) at `t` seconds into
/// the segment; `from` is where the first shot's move starts.
pub fn pose_at(shots: &[(Pose, f64, f64)], t: f64, from: Option<Pose>) -> Option<Pose> {
    shot_at(shots, t, from).map(|(pose, _)| pose)
}

/// [`pose_at`], and whether the camera is on a move there (between two poses).
fn shot_at(shots: &[(Pose, f64, f64)], t: f64, from: Option<Pose>) -> Option<(Pose, bool)> {
    let total: f64 = shots.iter().map(|s| s.1).sum();
    if shots.is_empty() || total <= 0.0 {
        return None;
    }
    let first_cycle = t < total;
    let mut local = if first_cycle { t.max(0.0) } else { t % total };
    for (i, (pose, seconds, move_seconds)) in shots.iter().enumerate() {
        if local < *seconds || i == shots.len() - 1 {
            if *move_seconds > 0.0 && local < *move_seconds {
                let previous = if i == 0 {
                    if first_cycle {
                        from
                    } else {
                        Some(shots[shots.len() - 1].0)
                    }
                } else {
                    Some(shots[i - 1].0)
                };
                if let Some(previous) = previous {
                    return Some((previous.lerp(pose, (local / move_seconds) as f32), true));
                }
            }
            return Some((*pose, false));
        }
        local -= seconds;
    }
    None
}

/// On a camera whose shot is on a move this frame: its first frame is one of a glide, not
/// a cut (which would need a new backdrop), so it is drawn as one ([`held`]).
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnAMove;

/// Puts each program's camera where its shots are now: the on-air camera, and the
/// cameras of programs beside it with their own framings swapped in.
fn direct_camera(
    mut commands: Commands,
    on_air: Res<OnAirNow>,
    time: Option<Res<MediaTime>>,
    settings: Res<ShowroomSettings>,
    props: product::PropBounds,
    mut unframed: Local<Option<u64>>,
    mut cameras: Query<
        (
            Entity,
            &mut Transform,
            &mut Projection,
            &mut Exposure,
            &mut Tonemapping,
            Option<&Direction>,
            Option<&ViewCamera>,
            Has<OnAMove>,
        ),
        Or<(With<ActiveCamera>, With<ViewCamera>)>,
    >,
) {
    let on_air = &on_air.0;
    if on_air.segment.is_none() {
        return;
    }
    let now = time.map_or(0.0, |t| t.0);
    for (
        entity,
        mut transform,
        mut projection,
        mut exposure,
        mut tonemapping,
        direction,
        view,
        on_a_move,
    ) in &mut cameras
    {
        let swap = |name: &str| {
            view.and_then(|v| v.cameras.get(name).cloned())
                .unwrap_or_else(|| name.to_string())
        };
        let scene = &settings.scene.description;
        let find = |name: &str| {
            let name = swap(name);
            scene.cameras.iter().find(|c| c.name == name).map(Pose::of)
        };
        let mut direction = direction.map_or_else(Direction::default, |d| *d);
        let default = (settings.camera.as_deref())
            .and_then(find)
            .or_else(|| scene.cameras.first().map(Pose::of));
        let before = (direction.generation, direction.product, direction.reframe);
        if direction.generation != on_air.generation {
            direction.generation = on_air.generation;
            direction.from = Some(current_pose(
                &transform,
                &projection,
                &exposure,
                *tonemapping,
            ));
            direction.product = None;
            direction.reframe = false;
        }
        // The prop may have moved. Its new pieces are placed in the world after this
        // system, and have bounds only once loaded: framed again from the next frame on.
        direction.reframe |= settings.is_changed() && direction.product.is_some();
        let close_up =
            (on_air.shots.iter()).any(|s| s.camera == PRODUCT_CAMERA && find(&s.camera).is_none());
        let unframed_now = direction.product.is_none() || direction.reframe;
        let wide = default.or(direction.from);
        if let Some(wide) = wide.filter(|_| close_up && unframed_now && !settings.is_changed()) {
            let aspect = aspect_of(&projection);
            if let Some(pose) =
                frame_the_product(on_air, &props, &wide, aspect, scene, &mut unframed)
            {
                direction.product = Some(pose);
                direction.reframe = false;
            }
        }
        if before != (direction.generation, direction.product, direction.reframe) {
            commands.entity(entity).insert(direction);
        }
        let pose_of =
            |name: &str| find(name).or(direction.product.filter(|_| name == PRODUCT_CAMERA));
        let shots: Vec<(Pose, f64, f64)> = (on_air.shots.iter())
            .filter_map(|s| Some((pose_of(&s.camera)?, s.seconds, s.move_seconds)))
            .collect();
        let shot = shot_at(&shots, now - on_air.shots_since, direction.from);
        let Some((pose, moving)) = shot.or(default.map(|pose| (pose, false))) else {
            continue;
        };
        if moving && !on_a_move {
            commands.entity(entity).insert(OnAMove);
        } else if on_a_move && !moving {
            commands.entity(entity).remove::<OnAMove>();
        }
        apply_pose(&pose, &mut transform, &mut projection, &mut exposure);
        tonemapping.set_if_neq(pose.tonemapping);
    }
}

/// A perspective camera's width over height (16:9 for any other).
fn aspect_of(projection: &Projection) -> f32 {
    match projection {
        Projection::Perspective(p) => p.aspect_ratio,
        _ => 16.0 / 9.0,
    }
}

/// The close-up of the product on air, from its prop's bounds; `None` while they are not
/// known, warned once a segment when it names no piece the set has. Its shots then stay
/// on the other cameras.
fn frame_the_product(
    on_air: &crate::show::OnAir,
    props: &product::PropBounds,
    wide: &Pose,
    aspect: f32,
    scene: &crate::scene::SceneDescription,
    unframed: &mut Option<u64>,
) -> Option<Pose> {
    let product = on_air.product.as_ref()?;
    let prop = product.prop.as_deref();
    let bounds = prop.and_then(|prop| props.of(prop));
    // A piece still loading has no bounds yet: waited for, not warned of.
    let missing = prop.is_none_or(|prop| !props.has(prop));
    if missing && *unframed != Some(on_air.generation) {
        *unframed = Some(on_air.generation);
        warn!(
            "camera `{PRODUCT_CAMERA}`: product `{}` has no prop in the set to frame ({}); \
             its close-up stays on the other shots",
            product.id,
            product
                .prop
                .as_deref()
                .map_or("no `prop`".into(), |p| format!("`{p}`"))
        );
    }
    let bounds = bounds?;
    let pieces = props.around(prop?, bounds.centre);
    let in_the_way = product::InTheWay {
        scene,
        pieces: &pieces,
    };
    Some(product::close_up(bounds, wide, aspect, &in_the_way))
}

/// Puts the on-air camera at `pose`, outside any rundown (the benchmark's glides).
pub fn put_on_air_camera(world: &mut World, pose: &Pose) {
    let mut cameras = world.query_filtered::<(
        &mut Transform,
        &mut Projection,
        &mut Exposure,
        &mut Tonemapping,
    ), With<ActiveCamera>>();
    for (mut transform, mut projection, mut exposure, mut tonemapping) in cameras.iter_mut(world) {
        apply_pose(pose, &mut transform, &mut projection, &mut exposure);
        tonemapping.set_if_neq(pose.tonemapping);
    }
}

/// Where a camera is and how it sees, as a pose (the start of a segment's first move).
fn current_pose(
    transform: &Transform,
    projection: &Projection,
    exposure: &Exposure,
    tonemapping: Tonemapping,
) -> Pose {
    let fov = match projection {
        Projection::Perspective(p) => p.fov.to_degrees(),
        _ => 50.0,
    };
    Pose {
        position: transform.translation,
        look_at: transform.translation + transform.forward() * 5.0,
        fov_degrees: fov,
        ev100: exposure.ev100,
        tonemapping,
    }
}

/// Moves a camera to `pose`, touching only what changed (change detection stays quiet
/// while a shot holds).
fn apply_pose(
    pose: &Pose,
    transform: &mut Mut<Transform>,
    projection: &mut Mut<Projection>,
    exposure: &mut Mut<Exposure>,
) {
    let wanted = Transform::from_translation(pose.position).looking_at(pose.look_at, Vec3::Y);
    if !stays(transform, &wanted) {
        **transform = wanted;
    }
    if let Projection::Perspective(p) = &mut **projection {
        let fov = pose.fov_degrees.to_radians();
        if (p.fov - fov).abs() > 1e-6 {
            p.fov = fov;
        }
    }
    if (exposure.ev100 - pose.ev100).abs() > 1e-6 {
        exposure.ev100 = pose.ev100;
    }
}

/// How far a camera may be from where it is wanted and stay where it is: a thousandth of a
/// millimetre, and a quaternion a millionth away (about two millionths of a radian, under
/// a hundredth of a pixel at 720p). A move between two poses that are the same but for
/// rounding (a segment that starts on the camera the last one ended on: its move starts
/// from the camera's pose as found, with another point to look at on the same line) nudged
/// the camera by a float's last bit on most frames, and held shots take any change of the
/// camera for a move: such frames were drawn as glides, or whole (180 ms on two cores).
const STILL_METRES: f32 = 1e-5;
const STILL_TURN: f32 = 1e-6;

/// Whether a camera at `current` is where `wanted` is, to within [`STILL_METRES`] and
/// [`STILL_TURN`] (and at the same scale).
pub(crate) fn stays(current: &Transform, wanted: &Transform) -> bool {
    let (a, b) = (Vec4::from(current.rotation), Vec4::from(wanted.rotation));
    // A quaternion and its negation are the same turn.
    let turn = (a - b).length().min((a + b).length());
    current.translation.distance(wanted.translation) <= STILL_METRES
        && turn <= STILL_TURN
        && current.scale == wanted.scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_onto_the_camera_it_starts_on_leaves_it_still() {
        let speeder = Pose {
            position: Vec3::new(1.7, 1.55, 1.4),
            look_at: Vec3::new(2.6, 1.05, -0.8),
            ..pose(0.0)
        };
        let at = |p: &Pose| Transform::from_translation(p.position).looking_at(p.look_at, Vec3::Y);
        let start = at(&speeder);
        let from = current_pose(
            &start,
            &Projection::default(),
            &Exposure::default(),
            Tonemapping::None,
        );
        let shots = [(speeder, 8.0, 2.0)];
        let mut nudged = 0;
        for frame in 0..60 {
            let pose = pose_at(&shots, frame as f64 / 30.0, Some(from)).unwrap();
            let wanted = at(&pose);
            nudged += usize::from(wanted != start);
            assert!(
                stays(&start, &wanted),
                "frame {frame}: {wanted:?} against {start:?}"
            );
        }
        // Rounding does move it: without `stays` these frames were camera moves.
        assert!(nudged > 0);
    }

    #[test]
    fn the_least_real_move_is_a_move() {
        let start = Transform::from_xyz(1.0, 1.5, 4.0).looking_at(Vec3::ZERO, Vec3::Y);
        let moved = Transform::from_xyz(1.0, 1.5, 4.0001).looking_at(Vec3::ZERO, Vec3::Y);
        assert!(!stays(&start, &moved));
        let turned =
            Transform::from_xyz(1.0, 1.5, 4.0).looking_at(Vec3::new(0.0001, 0.0, 0.0), Vec3::Y);
        assert!(!stays(&start, &turned));
        let flipped = Transform {
            rotation: -start.rotation,
            ..start
        };
        assert!(stays(&start, &flipped));
    }

    fn pose(x: f32) -> Pose {
        Pose {
            position: Vec3::new(x, 1.0, 5.0),
            look_at: Vec3::ZERO,
            fov_degrees: 40.0,
            ev100: 8.0,
            tonemapping: Tonemapping::None,
        }
    }

    #[test]
    fn shots_cut_move_and_cycle() {
        let shots = [(pose(0.0), 4.0, 0.0), (pose(10.0), 4.0, 2.0)];
        assert_eq!(pose_at(&shots, 1.0, None), Some(pose(0.0)));
        // Halfway through the two-second move from shot 0 to shot 1.
        let mid = pose_at(&shots, 5.0, None).unwrap();
        assert!((mid.position.x - 5.0).abs() < 1e-4, "{mid:?}");
        assert_eq!(pose_at(&shots, 7.0, None), Some(pose(10.0)));
        // The second cycle starts with a cut back to the first shot.
        assert_eq!(pose_at(&shots, 9.0, None), Some(pose(0.0)));
        assert_eq!(pose_at(&[], 1.0, None), None);
    }

    #[test]
    fn a_shot_is_on_a_move_only_while_it_moves() {
        let shots = [(pose(0.0), 4.0, 0.0), (pose(10.0), 4.0, 2.0)];
        let moving = |t| shot_at(&shots, t, None).map(|(_, moving)| moving);
        assert_eq!(moving(1.0), Some(false), "held");
        assert_eq!(
            moving(4.0 + 1.0 / 30.0),
            Some(true),
            "the move's first frame"
        );
        assert_eq!(moving(5.9), Some(true));
        assert_eq!(moving(6.0), Some(false), "arrived");
        // The cut back to the first shot, and a first move with nowhere to start from.
        assert_eq!(moving(8.0 + 1.0 / 30.0), Some(false));
        assert_eq!(
            shot_at(&[(pose(1.0), 4.0, 2.0)], 0.5, None),
            Some((pose(1.0), false))
        );
    }

    #[test]
    fn the_first_move_starts_where_the_camera_was() {
        let shots = [(pose(10.0), 4.0, 2.0)];
        let from = pose(-10.0);
        let start = pose_at(&shots, 0.0, Some(from)).unwrap();
        assert!((start.position.x + 10.0).abs() < 1e-4);
        let later = pose_at(&shots, 1.0, Some(from)).unwrap();
        assert!(later.position.x.abs() < 1e-4);
    }
}
