//! 360° video: an equirectangular picture whose every direction shows the wall that is
//! there, tagged as spherical for players.

use crate::common::*;

#[test]
fn vr360_frames_are_equirectangular_and_tagged_spherical() {
    let dir = Scratch::new("vr360");
    let out = dir.path("room.mp4");
    run_ok(&[
        "render",
        fixture("six_walls.toml").to_str().unwrap(),
        "--vr360",
        "--size",
        "512x256",
        "--seconds",
        "1",
        "--output",
        out.to_str().unwrap(),
    ]);
    let frame = rgb_frame(&out, 5);
    assert_eq!((frame.0, frame.1), (512, 256));
    // Longitude runs left to right with the camera's forward (-Z) in the middle; latitude
    // top (up) to bottom (down).
    let at = |u: f64, v: f64| patch_mean(&frame, (u * 512.0) as u32, (v * 256.0) as u32, 3);
    let cases = [
        ("forward, -Z", 0.5, 0.5, [0xe0, 0x20, 0xe0]),
        ("right, +X", 0.75, 0.5, [0xe0, 0x20, 0x20]),
        ("left, -X", 0.25, 0.5, [0x20, 0xc0, 0x20]),
        ("behind, +Z", 0.02, 0.5, [0x20, 0xe0, 0xe0]),
        ("behind, +Z (other edge)", 0.98, 0.5, [0x20, 0xe0, 0xe0]),
        ("up, +Y", 0.5, 0.04, [0x20, 0x40, 0xe0]),
        ("down, -Y", 0.3, 0.96, [0xe0, 0xe0, 0x20]),
        // Off the axes: 30° up and 30° right of forward still looks at the front wall.
        (
            "forward, up-right",
            0.5 + 30.0 / 360.0,
            0.5 - 30.0 / 180.0,
            [0xe0, 0x20, 0xe0],
        ),
    ];
    for (what, u, v, want) in cases {
        assert_colour_near(at(u, v), want, 14.0, what);
    }
    // Players find the projection in the file.
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&probe.stdout);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let side = &json["streams"][0]["side_data_list"];
    let spherical = side
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|s| s["side_data_type"] == "Spherical Mapping")
        })
        .unwrap_or_else(|| panic!("no spherical side data: {text}"));
    assert_eq!(spherical["projection"], "equirectangular", "{spherical}");
}

#[test]
fn vr360_needs_a_two_to_one_picture() {
    let out = run(&[
        "render",
        fixture("six_walls.toml").to_str().unwrap(),
        "--vr360",
        "--size",
        "640x360",
        "--seconds",
        "1",
        "--output",
        "/tmp/never.mp4",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("render.vr360") && stderr.contains("2:1"),
        "{stderr}"
    );
}
