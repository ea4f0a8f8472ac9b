use crate::common::*;

/// A file under the repository's `assets/`.
fn asset(path: &str) -> String {
    repo()
        .join("assets")
        .join(path)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn inspect_prints_skeleton_timing_and_mapping() {
    let out = run_ok(&["mocap", "inspect", &asset("mocap/cmu_12_01_walk.bvh")]);
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
        &asset("mocap/bvh_test3.bvh"),
        "--avatar",
        &asset("avatars/RobotExpressive.glb"),
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
    let good = std::fs::read_to_string(asset("mocap/bvh_test1.bvh")).unwrap();
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

#[test]
fn a_retargeted_clip_moves_the_avatar_and_keeps_it_on_the_floor() {
    let dir = Scratch::new("mocap-render");
    let video = dir.path("walk.mp4");
    let telemetry = dir.path("walk.jsonl");
    render_with(
        &fixture("mocap.toml"),
        2,
        &video,
        &["--telemetry", telemetry.to_str().unwrap()],
    );
    // Feet (the robot's foot bones sit at its soles) never below the floor at y = 0, and the
    // lower one near it: standing, not floating. (A walking heel lifts before the other foot
    // lands, so "near" is a few centimetres, and exactly on the floor only at times.)
    let text = std::fs::read_to_string(&telemetry).unwrap();
    let mut hands = Vec::new();
    let mut lower = Vec::new();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let pose = &record["pose"];
        let y = |bone: &str| pose[bone][1].as_f64().unwrap_or_else(|| panic!("{line}"));
        let (left, right) = (y("leftFoot"), y("rightFoot"));
        assert!(
            left > -0.01 && right > -0.01,
            "a foot below the floor: {line}"
        );
        lower.push(left.min(right));
        hands.push(pose["leftHand"][2].as_f64().unwrap());
    }
    assert_eq!(hands.len(), 20);
    lower.sort_by(f64::total_cmp);
    assert!(
        lower[0] < 0.02 && lower[10] < 0.05,
        "lower foot heights {lower:?}"
    );
    // The arms swing: the hand moves forward and back by more than a few centimetres.
    let swing = hands.iter().cloned().fold(f64::MIN, f64::max)
        - hands.iter().cloned().fold(f64::MAX, f64::min);
    assert!(swing > 0.03, "hand swing {swing} m");

    // And the picture shows it: the avatar's region differs between frames.
    let region = |n: u32| {
        let (w, _, data) = rgb_frame(&video, n);
        let mut out = Vec::new();
        for y in 40..150u32 {
            for x in 40..120u32 {
                let i = ((y * w + x) * 3) as usize;
                out.extend_from_slice(&data[i..i + 3]);
            }
        }
        out
    };
    let first = region(0);
    let differing = [5, 10, 15]
        .iter()
        .map(|n| {
            let other = region(*n);
            first
                .iter()
                .zip(&other)
                .filter(|(a, b)| (**a as i32 - **b as i32).abs() > 24)
                .count()
        })
        .collect::<Vec<_>>();
    assert!(
        differing.iter().all(|d| *d > 150),
        "values differing from frame 0: {differing:?}"
    );
}

/// Renders a variant of the mocap test scene (its presenter line replaced) for a second;
/// each frame's telemetry pose.
fn render_presenter(dir: &Scratch, name: &str, presenter: &str) -> Vec<serde_json::Value> {
    let scene = std::fs::read_to_string(fixture("mocap_scene.ron")).unwrap();
    let start = scene.find("    presenter: (").unwrap();
    let end = start + scene[start..].find("    ),\n").unwrap() + "    ),\n".len();
    let scene = format!("{}{presenter}\n{}", &scene[..start], &scene[end..]);
    let scene = scene.replace(
        "../../assets/",
        &format!("{}/", repo().join("assets").display()),
    );
    let scene = scene.replace(
        "apose_rig.gltf",
        fixture("apose_rig.gltf").to_str().unwrap(),
    );
    std::fs::write(dir.path(&format!("{name}.ron")), scene).unwrap();
    let show = std::fs::read_to_string(fixture("mocap.toml"))
        .unwrap()
        .replace("mocap_scene.ron", &format!("{name}.ron"));
    std::fs::write(dir.path(&format!("{name}.toml")), show).unwrap();
    let (_, frames) = render_with_telemetry(&dir.path(&format!("{name}.toml")), 1, dir, name);
    frames.iter().map(|f| f["pose"].clone()).collect()
}

fn point(pose: &serde_json::Value, bone: &str) -> [f64; 3] {
    let p = |i: usize| {
        pose[bone][i]
            .as_f64()
            .unwrap_or_else(|| panic!("{bone}: {pose}"))
    };
    [p(0), p(1), p(2)]
}

/// An avatar with no clips of its own (a bare Mixamo-named rig in an A-pose, as Mixamo,
/// Ready Player Me and VRoid export them) plays a BVH idle: its hands move.
#[test]
fn a_rig_without_clips_plays_mocap() {
    let dir = Scratch::new("mocap-noclips");
    let poses = render_presenter(
        &dir,
        "noclips",
        "    presenter: (name: \"host\", asset: \"apose_rig.gltf\", idle: \"Walk\",\n\
         clips: [(name: \"Walk\", bvh: \"../../assets/mocap/cmu_12_01_walk.bvh\")]),",
    );
    assert_eq!(poses.len(), 10);
    let hands: Vec<[f64; 3]> = poses.iter().map(|p| point(p, "leftHand")).collect();
    let swing = hands
        .iter()
        .map(|h| {
            (0..3)
                .map(|i| (h[i] - hands[0][i]).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .fold(0.0, f64::max);
    assert!(swing > 0.05, "hand swing {swing} m: {hands:?}");
}

/// With no idle clip the host stands relaxed, arms down, not in the T-pose the robot is
/// modelled in; so with the robot's own `Idle`, which moves only its head and legs.
#[test]
fn the_host_stands_relaxed_with_no_idle_or_one_that_leaves_the_arms_alone() {
    let dir = Scratch::new("mocap-relaxed");
    for (name, idle) in [("relaxed", ""), ("own-idle", "idle: \"Idle\", ")] {
        let poses = render_presenter(
            &dir,
            name,
            &format!(
                "    presenter: (name: \"host\", asset: \"../../assets/avatars/RobotExpressive.glb\",\n\
                 {idle}transform: (scale: (0.3, 0.3, 0.3))),"
            ),
        );
        // From the first frame on (her file loads once, so nothing undoes the relaxed arms
        // of the robot's own idle after it has them).
        for (frame, pose) in [(0, &poses[0]), (poses.len() - 1, poses.last().unwrap())] {
            let head = point(pose, "head");
            let foot = point(pose, "leftFoot");
            let tall = head[1] - foot[1];
            for hand in ["leftHand", "rightHand"] {
                let h = point(pose, hand);
                // In the robot's T-pose the hands are at shoulder height (two thirds of
                // hers), as far out as she is tall; standing relaxed they hang below her
                // waist, by her sides.
                let at = format!("{name}, frame {frame}: {hand} {h:?}, head {head:?}");
                assert!(h[1] - foot[1] < 0.45 * tall, "{at}");
                assert!((h[0] - head[0]).abs() < 0.5 * tall, "{at}");
            }
        }
    }
}

#[test]
fn a_broken_clip_in_the_scene_stops_the_show_with_its_line() {
    let dir = Scratch::new("mocap-broken-scene");
    let bvh = dir.path("bad.bvh");
    std::fs::write(
        &bvh,
        "HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 3 Xrotation Yrotation Zrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n0 zero 0\n",
    )
    .unwrap();
    let scene = std::fs::read_to_string(fixture("mocap_scene.ron"))
        .unwrap()
        .replace("../../assets/", &format!("{}/assets/", repo().display()))
        .replace(
            &format!("{}/assets/mocap/cmu_12_01_walk.bvh", repo().display()),
            bvh.to_str().unwrap(),
        );
    std::fs::write(dir.path("scene.ron"), scene).unwrap();
    let show = std::fs::read_to_string(fixture("mocap.toml"))
        .unwrap()
        .replace("mocap_scene.ron", "scene.ron");
    std::fs::write(dir.path("show.toml"), show).unwrap();
    let out = run(&[
        "render",
        dir.path("show.toml").to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        dir.path("x.mp4").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.bvh:10:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A scene edit that moves the host puts her there on air: the picture's lit pixels (she
/// stands alone before black) shift right by what 40 cm is at her distance.
#[test]
fn a_scene_edit_moves_the_host_on_air() {
    let dir = Scratch::new("host-moved");
    let scene = host_alone_in(&dir);
    let video = dir.path("stream.mkv");
    let mut stream = StreamBuilder::new(&dir.path("alone.toml"))
        .args(["--seconds", "60", "--output", video.to_str().unwrap()])
        .log_to(&dir.path("stream.log"))
        .start();
    stream.logged("scene ready");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let moved = scene.replace(
        "transform: (scale:",
        "transform: (translation: (0.4, 0.0, 0.0), scale:",
    );
    assert_ne!(moved, scene);
    std::fs::write(dir.path("alone.ron"), moved).unwrap();
    stream.logged("the set is rebuilt");
    std::thread::sleep(std::time::Duration::from_secs(3));
    stream.interrupt();

    let seconds = duration(&video);
    let before = lit_centre(&rgb_frame(&video, 5), 0..160);
    let after = lit_centre(&rgb_frame(&video, (seconds * 10.0) as u32 - 3), 0..160);
    // 40 cm at 2 m in a 160 px picture: about 35 px by the lens.
    assert!(
        after - before > 20.0,
        "her centre from x = {before:.0} to {after:.0}"
    );
}

/// Her avatar's file saved again while the show streams puts her on stage from it: a save
/// cut short is named and leaves her as she was, the whole file of another avatar (the
/// VRM human, her clip retargeted onto its skeleton) shows, and she is in every frame of
/// the recording meanwhile. A prop saved again as a model whose meshes are skinned
/// differently is shown too (loaded into the asset on screen, its old entities were drawn
/// with the new meshes for a frame, which the renderer refused: the show stopped).
#[test]
fn her_avatar_saved_again_shows_on_air() {
    let dir = Scratch::new("host-redressed");
    let robot = repo().join("assets/avatars/RobotExpressive.glb");
    std::fs::copy(&robot, dir.path("her.glb")).unwrap();
    std::fs::copy(&robot, dir.path("prop.glb")).unwrap();
    let scene = host_alone_in(&dir)
        .replace(robot.to_str().unwrap(), "her.glb")
        .replace(
            "    presenter: (",
            "    props: [(name: \"robot\", asset: \"prop.glb\", transform: (translation: \
             (-0.6, 0.0, -0.5), scale: (0.1, 0.1, 0.1)))],\n    presenter: (",
        );
    assert!(
        scene.contains("asset: \"her.glb\"") && scene.contains("props: ["),
        "{scene}"
    );
    std::fs::write(dir.path("alone.ron"), &scene).unwrap();
    let video = dir.path("stream.mkv");
    let mut stream = StreamBuilder::new(&dir.path("alone.toml"))
        .args(["--seconds", "60", "--output", video.to_str().unwrap()])
        .log_to(&dir.path("stream.log"))
        .start();
    stream.logged("scene ready");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let human = std::fs::read(fixture("human.vrm")).unwrap();
    std::fs::write(dir.path("her.glb"), &human[..human.len() / 2]).unwrap();
    stream.logged("the presenter stays as she was");
    std::thread::sleep(std::time::Duration::from_secs(2));
    std::fs::write(dir.path("her.glb"), &human).unwrap();
    std::fs::write(dir.path("prop.glb"), &human).unwrap();
    stream.logged("on stage again from her files");
    stream.logged("prop.glb: changed; the set is rebuilt");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let text = stream.interrupt();
    assert!(!text.contains("rendering error"), "{text}");
    assert!(text.contains("truncated GLB"), "{text}");
    let lit = lit_pixels_per_frame(&video);
    let (first, last) = (lit[5], lit[lit.len() - 3]);
    eprintln!("lit pixels per frame: {lit:?}");
    assert!(
        lit.iter().all(|&n| n > 200),
        "she is in every frame: {lit:?}"
    );
    assert!(
        (first as f64 - last as f64).abs() > 0.25 * first as f64,
        "the robot ({first} lit pixels) became the human ({last})"
    );
}

/// How many pixels of each frame of `video` are lit brighter than near-black.
fn lit_pixels_per_frame(video: &std::path::Path) -> Vec<usize> {
    let (w, h, _) = rgb_frame(video, 0);
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(video)
        .args(["-vf", "format=rgb24", "-f", "rawvideo", "-"])
        .output()
        .expect("running ffmpeg");
    assert!(out.status.success());
    let frame = (w * h * 3) as usize;
    out.stdout
        .chunks_exact(frame)
        .map(|f| {
            let lit = |p: &[u8]| p.iter().map(|&c| c as u32).sum::<u32>() > 60;
            f.chunks_exact(3).filter(|p| lit(p)).count()
        })
        .collect()
}
