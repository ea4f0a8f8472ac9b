use crate::common::*;

fn shared(path: &str) -> String {
    repo()
        .join("../shared/assets")
        .join(path)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn inspect_prints_skeleton_timing_and_mapping() {
    let out = run_ok(&["mocap", "inspect", &shared("mocap/cmu_12_01_walk.bvh")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("31 joints") && text.contains("524 frames at 120.00 fps (4.37 s)"),
        "{text}"
    );
    assert!(
        text.contains("LeftUpLeg [Zrotation Yrotation Xrotation]  → leftUpperLeg"),
        "{text}"
    );
    assert!(text.contains("up axis Y"), "{text}");
}

#[test]
fn inspect_against_an_avatar_maps_both_sides() {
    let out = run_ok(&[
        "mocap",
        "inspect",
        &shared("mocap/bvh_test3.bvh"),
        "--avatar",
        &shared("avatars/RobotExpressive.glb"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("leftUpperArm   LeftArm            → UpperArmL"),
        "{text}"
    );
    assert!(
        text.contains("rightLowerLeg  RightLeg           → LowerLegR"),
        "{text}"
    );
}

#[test]
fn inspect_of_a_broken_clip_gives_file_line_reason() {
    let dir = Scratch::new("mocap-broken");
    let path = dir.path("broken.bvh");
    let good = std::fs::read_to_string(shared("mocap/bvh_test1.bvh")).unwrap();
    // Cut the last frame short.
    let cut = good.trim_end().rsplit_once(' ').unwrap().0.to_string();
    std::fs::write(&path, cut).unwrap();
    let out = run(&["mocap", "inspect", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = good.trim_end().lines().count();
    assert!(
        stderr.contains(&format!("broken.bvh:{lines}: frame 75 has")),
        "{stderr}"
    );
}
