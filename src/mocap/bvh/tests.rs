use super::*;

const SMALL: &str = "HIERARCHY\nROOT Hips\n{\n\tOFFSET 0 0 0\n\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n\tJOINT Chest\n\t{\n\t\tOFFSET 0 1 0\n\t\tCHANNELS 3 Zrotation Xrotation Yrotation\n\t\tEnd Site\n\t\t{\n\t\t\tOFFSET 0 1 0\n\t\t}\n\t}\n}\nMOTION\nFrames: 2\nFrame Time: 0.5\n0 0 0 0 0 0 0 0 0\n1 2 3 90 0 0 0 90 0\n";

/// The clips shipped in the repository's `assets/mocap` (see `assets/LICENSES.md`).
fn shipped_clips() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mocap");
    let mut clips: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("bvh")))
        .collect();
    clips.sort();
    clips
}

#[test]
fn every_shipped_clip_loads_with_its_documented_shape() {
    let expected = [
        // (file, joints, frames, frame time) as documented in assets/LICENSES.md,
        // joints counted as ROOT + JOINT entries.
        ("bvh_test1.bvh", 24, 75, 0.033333),
        ("bvh_test3.bvh", 60, 100, 0.008333),
        ("cmu_12_01_walk.bvh", 31, 524, 0.0083333),
    ];
    let clips = shipped_clips();
    assert!(clips.len() >= expected.len(), "{clips:?}");
    for (name, joints, frames, frame_time) in expected {
        let path = clips.iter().find(|p| p.ends_with(name)).expect(name);
        let clip = BvhClip::load(path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(clip.joints.len(), joints, "{name}");
        assert_eq!(clip.frame_count, frames, "{name}");
        assert!((clip.frame_time - frame_time).abs() < 1e-9, "{name}");
        assert_eq!(
            clip.values.len(),
            frames * clip.channels_per_frame,
            "{name}"
        );
        assert_eq!(clip.joints[0].name, "Hips", "{name}");
    }
    // And any other clip put there later must load too.
    for path in &clips {
        BvhClip::load(path).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn small_clip_parses_channels_end_sites_and_frames() {
    let clip = BvhClip::parse(SMALL).unwrap();
    assert_eq!(clip.joints.len(), 2);
    assert_eq!(clip.channels_per_frame, 9);
    assert_eq!(clip.joints[1].parent, Some(0));
    assert_eq!(clip.joints[1].first_channel, 6);
    assert_eq!(clip.joints[1].end_site, Some(Vec3::Y));
    assert_eq!(clip.fps(), 2.0);
    assert_eq!(clip.frame(1)[..3], [1.0, 2.0, 3.0]);
}

#[test]
fn rotations_compose_in_listed_order() {
    // Root: Z=90 then X=0; chest: Z=0, X=90. Chest's local Y offset of 1 goes to the root's
    // rotated frame; its end site to the chest's.
    let clip = BvhClip::parse(SMALL).unwrap();
    let world = clip.world_pose(1);
    let root = world[0].0;
    assert!((root - Vec3::new(1.0, 2.0, 3.0)).length() < 1e-5);
    // Root rotated 90° about Z: the chest offset (0,1,0) becomes (-1,0,0).
    assert!(
        (world[1].0 - (root + Vec3::new(-1.0, 0.0, 0.0))).length() < 1e-5,
        "{:?}",
        world[1].0
    );
    // Order matters: Z then X is not X then Z.
    let zx = euler_degrees(EulerRot::ZXY, 90.0, 90.0, 0.0) * Vec3::Y;
    let xz = euler_degrees(EulerRot::XZY, 90.0, 90.0, 0.0) * Vec3::Y;
    assert!((zx - xz).length() > 0.5);
    let text = SMALL.replace("1 2 3 90 0 0 0 90 0", "0 0 0 90 90 0 0 0 0");
    let clip = BvhClip::parse(&text).unwrap();
    let chest = clip.world_pose(1)[1].0;
    assert!((chest - zx).length() < 1e-5, "{chest:?} vs {zx:?}");
}

#[test]
fn quirks_of_real_files_are_accepted() {
    let variants = [
        SMALL.replace('\n', "\r\n"),                           // CRLF
        SMALL.replace('\t', "    "),                           // spaces
        SMALL.replace("Frames: 2", "Frames:2"),                // no space
        SMALL.replace("Frame Time: 0.5", "Frame Time:\t.5"),   // no leading zero
        format!("{SMALL}\n\nthis is junk after the frames\n"), // trailing junk
        SMALL.replace("MOTION\n", "MOTION\n\n"),               // blank line
        SMALL.replace("End Site", "End site"),
    ];
    for (i, text) in variants.iter().enumerate() {
        let clip = BvhClip::parse(text).unwrap_or_else(|e| panic!("variant {i}: {e:?}"));
        assert_eq!(clip.frame_count, 2, "variant {i}");
        assert_eq!(clip.frame_time, 0.5, "variant {i}");
    }
}

#[test]
fn broken_files_are_refused_with_their_line() {
    let cases: &[(String, usize, &str)] = &[
        (String::new(), 1, "`HIERARCHY` was expected"),
        (
            "HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\n".into(),
            4,
            "CHANNELS, JOINT, End Site",
        ),
        (
            SMALL.replace(
                "CHANNELS 3 Zrotation Xrotation Yrotation",
                "CHANNELS 3 Zrotation Xrotation",
            ),
            9,
            "CHANNELS says 3 but names 2",
        ),
        (
            SMALL.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Wrotation"),
            9,
            "`Wrotation` is not a channel",
        ),
        (
            SMALL.replace("OFFSET 0 1 0\n\t\tCHANNELS", "OFFSET 0 one 0\n\t\tCHANNELS"),
            8,
            "found `one`",
        ),
        (
            SMALL[..SMALL.find("MOTION").unwrap()].to_string(),
            15,
            "ROOT or MOTION was expected",
        ),
        (
            SMALL.replace("MOTION", "MOTON"),
            16,
            "expected ROOT or MOTION, found `MOTON`",
        ),
        (
            SMALL.replace("Frames: 2", "Frames: two"),
            17,
            "`Frames:` wants a number",
        ),
        (
            SMALL.replace("Frames: 2", "Frame: 2"),
            17,
            "expected `Frames: <number>`",
        ),
        (
            SMALL.replace("Frame Time: 0.5", "Frame Time: 0"),
            18,
            "Frame Time must be positive",
        ),
        (
            SMALL.replace("Frames: 2", "Frames: 3"),
            20,
            "expected 3 frames, the file ends after 2",
        ),
        (
            SMALL.replace("1 2 3 90 0 0 0 90 0", "1 2 3 90 0 0 0 90"),
            20,
            "frame 2 has 8 values, the HIERARCHY has 9 channels",
        ),
        (
            SMALL.replace("1 2 3 90 0 0 0 90 0", "1 2 3 90 0 0 0 90 0 7"),
            20,
            "frame 2 has 10 values",
        ),
        (
            SMALL.replace("1 2 3 90", "1 2 x 90"),
            20,
            "frame 2: `x` is not a number",
        ),
        (
            SMALL.replace("1 2 3 90", "1 2 NaN 90"),
            20,
            "`NaN` is not a number",
        ),
        (
            SMALL.replace("\tJOINT Chest\n\t{", "\tJOINT Chest\n\t("),
            7,
            "expected `{`, found `(`",
        ),
        (
            SMALL.replace("End Site", "End Sight"),
            10,
            "expected `End Site`",
        ),
        (
            "HIERARCHY\nMOTION\nFrames: 0\nFrame Time: 1\n".into(),
            2,
            "no ROOT joint",
        ),
    ];
    for (text, line, reason) in cases {
        match BvhClip::parse(text) {
            Ok(_) => panic!("accepted a broken file expecting `{reason}`:\n{text}"),
            Err((got_line, got_reason)) => {
                assert!(
                    got_reason.contains(reason),
                    "want `{reason}`, got `{got_reason}`"
                );
                assert_eq!(got_line, *line, "`{got_reason}` on the wrong line");
            }
        }
    }
}

#[test]
fn load_names_the_file_in_errors() {
    let path = std::env::temp_dir().join(format!("twincast-broken-{}.bvh", std::process::id()));
    std::fs::write(
        &path,
        SMALL
            .replace("1 2 x", "1 2 3")
            .replace("1 2 3 90", "1 2 x 90"),
    )
    .unwrap();
    let err = BvhClip::load(&path).unwrap_err().to_string();
    let _ = std::fs::remove_file(&path);
    assert!(
        err.contains("twincast-broken") && err.contains(":20: "),
        "{err}"
    );
}

#[test]
fn up_axis_is_found_for_y_up_and_z_up_skeletons() {
    let clips = shipped_clips();
    let z_up = BvhClip::load(clips.iter().find(|p| p.ends_with("bvh_test1.bvh")).unwrap()).unwrap();
    assert_eq!(z_up.up_axis(), Vec3::Z);
    let y_up = BvhClip::load(
        clips
            .iter()
            .find(|p| p.ends_with("cmu_12_01_walk.bvh"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(y_up.up_axis(), Vec3::Y);
}

#[test]
fn absurd_nesting_and_frame_counts_are_refused_not_crashed_on() {
    // 100 000 joints deep: an error with its line, not a stack overflow.
    let mut text = String::from(
        "HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Xrotation Yrotation Zrotation\n",
    );
    for i in 0..100_000 {
        text.push_str(&format!("JOINT j{i}\n{{\nOFFSET 0 1 0\n"));
    }
    let (line, reason) = BvhClip::parse(&text).unwrap_err();
    assert!(reason.contains("nested deeper than 256"), "{reason}");
    assert_eq!(line, 6 + 3 * MAX_DEPTH, "{reason}"); // `JOINT j256`
    // A frame count the file cannot hold: an error, not an allocation of terabytes.
    let huge = SMALL.replace("Frames: 2", "Frames: 1000000000000");
    let (_, reason) = BvhClip::parse(&huge).unwrap_err();
    assert!(reason.contains("expected 1000000000000 frames"), "{reason}");
}
