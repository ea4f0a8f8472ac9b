use super::*;
use serde_json::json;

fn spec(node: usize, stiffness: f32, gravity: f32) -> JointSpec {
    JointSpec {
        node,
        hit_radius: 0.02,
        stiffness,
        gravity_power: gravity,
        gravity_dir: Vec3::NEG_Y,
        drag: 0.4,
    }
}

/// A chain of three 10 cm joints sticking out along +Z from an anchor at the origin.
fn chain(stiffness: f32, gravity: f32, colliders: Vec<usize>) -> Chain {
    let joints = (0..3)
        .map(|i| JointRest {
            spec: spec(i, stiffness, gravity),
            local: Transform::from_xyz(0.0, 0.0, if i == 0 { 0.0 } else { 0.1 }),
            head: Vec3::new(0.0, 0.0, 0.1 * i as f32),
            tail: Vec3::new(0.0, 0.0, 0.1 * (i + 1) as f32),
        })
        .collect();
    Chain::new(Affine3A::IDENTITY, joints, colliders)
}

/// Runs `chain` at `fps` for `seconds` while its anchor turns 40° about Y in the first
/// 0.3 s; the tip every 0.2 s (a whole number of frames at 25 and 60 fps).
fn run(mut chain: Chain, fps: f32, seconds: f32) -> Vec<Vec3> {
    let mut stepper = Stepper::default();
    let mut samples = Vec::new();
    let frames = (seconds * fps).round() as u32;
    let every = (0.2 * fps).round() as u32;
    for frame in 1..=frames {
        let t = frame as f32 / fps;
        let turn = (t / 0.3).min(1.0) * 40f32.to_radians();
        let anchor = Affine3A::from_rotation_y(turn);
        chain.advance(anchor, stepper.steps(1.0 / fps), &[], Vec3::ZERO);
        if frame % every == 0 {
            samples.push(chain.tip());
        }
    }
    samples
}

#[test]
fn gravity_bends_a_soft_chain_and_a_stiff_one_holds() {
    let soft = run(chain(0.2, 1.0, vec![]), 30.0, 3.0);
    let stiff = run(chain(4.0, 0.2, vec![]), 30.0, 3.0);
    let (soft, stiff) = (soft.last().unwrap(), stiff.last().unwrap());
    assert!(soft.y < -0.1, "soft tip {soft}");
    assert!(stiff.y > -0.08 && stiff.y < 0.0, "stiff tip {stiff}");
    // Both stay on the chain's length.
    assert!(soft.length() <= 0.3 + 1e-3 && stiff.length() <= 0.3 + 1e-3);
}

#[test]
fn a_settled_chain_hangs_still_from_the_start() {
    let still = |mut chain: Chain, seconds: f32| {
        let mut stepper = Stepper::default();
        let start = chain.tip();
        let mut most: f32 = 0.0;
        for _ in 0..(seconds * 30.0) as u32 {
            chain.advance(
                Affine3A::IDENTITY,
                stepper.steps(1.0 / 30.0),
                &[],
                Vec3::ZERO,
            );
            most = most.max(chain.tip().distance(start));
        }
        most
    };
    // As built, the soft chain sticking out swings down on air.
    assert!(still(chain(0.2, 1.0, vec![]), 1.0) > 0.05);
    let mut settled = chain(0.2, 1.0, vec![]);
    settled.settle(Affine3A::IDENTITY, &[]);
    assert!(settled.tip().y < -0.1, "it hangs: {}", settled.tip());
    let moved = still(settled, 2.0);
    assert!(moved < 0.002, "the settled tip moved {moved} m");
}

#[test]
fn the_sway_is_the_same_at_25_and_60_fps() {
    let slow = run(chain(1.0, 0.3, vec![]), 25.0, 2.0);
    let fast = run(chain(1.0, 0.3, vec![]), 60.0, 2.0);
    assert_eq!(slow.len(), fast.len());
    // The tip lags the turn, then settles where the anchor points.
    let settled = Affine3A::from_rotation_y(40f32.to_radians()).transform_vector3(Vec3::Z);
    let lag = slow[0].normalize().angle_between(settled).to_degrees();
    assert!(lag > 3.0, "the tip turned with the anchor at once ({lag}°)");
    let worst = slow
        .iter()
        .zip(&fast)
        .map(|(a, b)| a.distance(*b))
        .fold(0.0, f32::max);
    assert!(worst < 0.01, "25 and 60 fps differ by {worst} m");
}

#[test]
fn a_collider_keeps_the_chain_out() {
    let settle = |colliders: &[WorldCollider]| {
        let mut c = chain(0.1, 2.0, vec![0]);
        let mut stepper = Stepper::default();
        let mut tails = Vec::new();
        for _ in 0..120 {
            c.advance(
                Affine3A::IDENTITY,
                stepper.steps(1.0 / 30.0),
                colliders,
                Vec3::ZERO,
            );
            tails.extend(c.joints.iter().map(|j| j.tail));
        }
        (c.joints[1].tail, tails)
    };
    // A ball of 8 cm where the chain's middle comes to rest without it.
    let (rest, _) = settle(&[]);
    let ball = WorldCollider {
        from: rest,
        to: rest,
        radius: 0.08,
    };
    // With it, no tail enters the ball: each is pushed out by its hit radius (2 cm), and
    // a bone's length may hold one part of that margin in (as in other VRM runtimes).
    let (_, tails) = settle(&[ball]);
    let kept = tails
        .iter()
        .map(|t| t.distance(rest))
        .fold(f32::MAX, f32::min);
    assert!(kept > 0.085, "{kept}");
}

#[test]
fn a_long_stall_takes_bounded_steps_and_nan_input_none() {
    let mut s = Stepper::default();
    assert_eq!(s.steps(10.0), MAX_STEPS);
    assert_eq!(s.steps(f32::NAN), 0);
    assert_eq!(s.steps(-1.0), 0);
    let mut s = Stepper::default();
    let total: u32 = (0..25).map(|_| s.steps(1.0 / 25.0)).sum();
    assert!((59..=60).contains(&total), "{total} steps in a second");
}

#[test]
fn springs_are_read_from_vrm_1_and_0x() {
    let one = json!({
        "nodes": [{}, {}, {}, {}],
        "extensions": {"VRMC_springBone": {
            "colliders": [
                {"node": 0, "shape": {"sphere": {"offset": [0, 0.1, 0], "radius": 0.09}}},
                {"node": 9, "shape": {"sphere": {"offset": [0, 0, 0], "radius": 1}}},
            ],
            "colliderGroups": [{"colliders": [0, 1]}],
            "springs": [{"joints": [
                {"node": 1, "stiffness": 2.0, "dragForce": 7.0, "gravityPower": 0.5},
                {"node": 2},
                {"node": 42},
            ], "colliderGroups": [0, 5]}],
        }}
    });
    let s = springs_of(&one);
    assert_eq!(
        s.colliders.len(),
        1,
        "the collider on a missing node is dropped"
    );
    assert_eq!(s.chains.len(), 1);
    let joints: Vec<usize> = s.chains[0].joints.iter().map(|j| j.node).collect();
    assert_eq!(joints, vec![1, 2]);
    assert_eq!(s.chains[0].joints[0].stiffness, 2.0);
    assert_eq!(s.chains[0].joints[0].drag, 1.0, "drag is clamped to 0–1");
    assert_eq!(s.chains[0].colliders, vec![0]);

    // 0.x: a bone group's root brings its descendants; a branch is a chain of its own.
    let zero = json!({
        "nodes": [{"children": [1]}, {"children": [2, 3]}, {}, {"children": [4]}, {}],
        "extensions": {"VRM": {"secondaryAnimation": {
            "boneGroups": [{"stiffiness": 0.7, "gravityPower": 0.1,
                "gravityDir": {"x": 0, "y": -1, "z": 0}, "dragForce": 0.3, "hitRadius": 0.05,
                "bones": [1], "colliderGroups": [0]}],
            "colliderGroups": [{"node": 0, "colliders": [
                {"offset": {"x": 0, "y": 0.1, "z": 0.02}, "radius": 0.1}]}],
        }}}
    });
    let s = springs_of(&zero);
    let chains: Vec<Vec<usize>> = s
        .chains
        .iter()
        .map(|c| c.joints.iter().map(|j| j.node).collect())
        .collect();
    assert_eq!(chains, vec![vec![1, 2], vec![3, 4]]);
    assert_eq!(s.chains[0].joints[0].stiffness, 0.7);
    assert_eq!(
        s.colliders[0].shape,
        Shape::Sphere {
            offset: Vec3::new(0.0, 0.1, -0.02),
            radius: 0.1
        }
    );
    assert_eq!(springs_of(&json!({"nodes": []})), Springs::default());
}

#[test]
fn a_chain_carried_with_its_avatar_does_not_swing() {
    let settle = |mut c: Chain, anchor: Affine3A| {
        let mut stepper = Stepper::default();
        for _ in 0..60 {
            c.advance(anchor, stepper.steps(1.0 / 30.0), &[], Vec3::ZERO);
        }
        c
    };
    let at_rest = settle(chain(1.0, 0.3, vec![]), Affine3A::IDENTITY);
    let rest_tip = at_rest.tip();
    let by =
        Affine3A::from_rotation_translation(Quat::from_rotation_y(1.0), Vec3::new(2.0, 0.0, 0.0));
    // Put elsewhere in one frame: carried, the tip is where it hung, moved; not carried,
    // it trails two metres behind and whips.
    let mut carried = at_rest.clone();
    carried.carry(&by);
    carried.advance(by, 1, &[], Vec3::ZERO);
    let mut dragged = at_rest;
    dragged.advance(by, 1, &[], Vec3::ZERO);
    let want = by.transform_point3(rest_tip);
    assert!(
        carried.tip().distance(want) < 1e-3,
        "{} against {want}",
        carried.tip()
    );
    assert!(dragged.tip().distance(want) > 0.05, "{}", dragged.tip());
}

#[test]
fn a_breeze_blows_a_hanging_chain_its_way_and_keeps_it_stirring() {
    // A chain hanging down (gravity 1 bends it), in a breeze toward +X of strength 1.
    let wind = crate::scene::WindSpec {
        strength: 1.0,
        toward: [1.0, 0.0, 0.0],
    };
    let run_in = |breeze_on: bool| {
        let mut c = chain(0.3, 1.0, vec![]);
        let mut stepper = Stepper::default();
        let mut tips = Vec::new();
        for frame in 1..=300 {
            let t = frame as f64 / 30.0;
            let pull = if breeze_on {
                breeze(&wind, t)
            } else {
                Vec3::ZERO
            };
            c.advance(Affine3A::IDENTITY, stepper.steps(1.0 / 30.0), &[], pull);
            tips.push(c.tip());
        }
        tips
    };
    let (calm, windy) = (run_in(false), run_in(true));
    let settled = |tips: &[Vec3]| tips[150..].iter().map(|t| t.x).sum::<f32>() / 150.0;
    assert!(settled(&calm).abs() < 1e-3, "calm {}", settled(&calm));
    assert!(settled(&windy) > 0.03, "blown {}", settled(&windy));
    // Still air settles; a breeze never does (its gusts keep the tip moving).
    let stir = |tips: &[Vec3]| {
        let xs = tips[150..].iter().map(|t| t.x);
        xs.clone().fold(f32::MIN, f32::max) - xs.fold(f32::MAX, f32::min)
    };
    assert!(stir(&calm) < 1e-3, "calm stirs {}", stir(&calm));
    assert!(stir(&windy) > 0.01, "the breeze stirs {}", stir(&windy));
    // Bounded and the same at the same media time.
    for t in [0.0, 1.7, 86_400.0 * 7.0] {
        let b = breeze(&wind, t);
        assert!(b.length() <= 1.2 && b.x > 0.15, "{b} at {t}");
        assert_eq!(b, breeze(&wind, t));
    }
}
