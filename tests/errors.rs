use crate::common::*;

/// Runs twincast expecting failure; returns its one-line error.
fn fails(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "twincast {args:?} succeeded:\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "want one error line, got:\n{stderr}");
    errors[0].to_string()
}

fn show_with(dir: &Scratch, body: &str) -> String {
    let scene = fixture("colour_panels.ron");
    let text = format!("scene = \"{}\"\n{body}", scene.display());
    let path = dir.path("show.toml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let dir = Scratch::new("err-unknown");
    let show = show_with(&dir, "[video]\nfsp = 30\n");
    let e = fails(&["render", &show, "--seconds", "1", "--output", "x.flv"]);
    assert!(
        e.contains("show.toml:3:") && e.contains("unknown field `fsp`"),
        "{e}"
    );
}

#[test]
fn negative_fps_is_refused() {
    let dir = Scratch::new("err-fps");
    let show = show_with(&dir, "[video]\nfps = -30\n");
    let e = fails(&["render", &show, "--seconds", "1", "--output", "x.flv"]);
    assert!(e.contains("show.toml:3:") && e.contains("-30"), "{e}");
    let e = fails(&[
        "render",
        &show_with(&dir, ""),
        "--fps",
        "0",
        "--seconds",
        "1",
        "--output",
        "x.flv",
    ]);
    assert!(e.contains("video.fps"), "{e}");
}

#[test]
fn missing_scene_file_is_named() {
    let dir = Scratch::new("err-scene");
    let path = dir.path("show.toml");
    std::fs::write(&path, "scene = \"no-such-room.ron\"\n").unwrap();
    let e = fails(&[
        "render",
        path.to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        "x.flv",
    ]);
    assert!(
        e.contains("no-such-room.ron") && e.contains("does not exist"),
        "{e}"
    );
}

/// A prop asking for a scene its file does not have stops the start with the prop, the
/// file and how many scenes it has, before anything goes out.
#[test]
fn a_prop_scene_the_file_lacks_is_named() {
    let dir = Scratch::new("err-prop-scene");
    let scene = std::fs::read_to_string(fixture("colour_panels.ron"))
        .unwrap()
        .replace(
            "asset: \"../../assets/",
            &format!("scene: 2, asset: \"{}/", repo().join("assets").display()),
        );
    let room = dir.path("room.ron");
    std::fs::write(&room, scene).unwrap();
    let show = dir.path("show.toml");
    std::fs::write(&show, format!("scene = \"{}\"\n", room.display())).unwrap();
    let out = dir.path("x.mkv");
    let e = fails(&[
        "render",
        show.to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        out.to_str().unwrap(),
    ]);
    let named = format!("{}", repo().join("assets/props/cakeBirthday.glb").display());
    assert!(
        e.contains(&format!(
            "`cake`: {named} has 1 scene(s); there is no scene 2"
        )),
        "{e}"
    );
}

/// A prop whose image URI decodes to no text: Bevy's glTF loader panics on it (the show
/// stopped with "asset loader panicked" and a backtrace); the scene is refused first,
/// naming the prop and the URI.
#[test]
fn a_prop_with_a_uri_the_loader_would_panic_on_is_refused_by_name() {
    let dir = Scratch::new("err-prop-uri");
    std::fs::write(
        dir.path("sign.gltf"),
        r#"{"asset":{"version":"2.0"},"images":[{"uri":"%FF%FE.png"}]}"#,
    )
    .unwrap();
    let scene = r#"(
    cameras: [(name: "a", position: (0.0, 1.0, 5.0), look_at: (0.0, 1.0, 0.0))],
    props: [(name: "sign", asset: "sign.gltf")],
)"#;
    std::fs::write(dir.path("room.ron"), scene).unwrap();
    std::fs::write(dir.path("show.toml"), "scene = \"room.ron\"\n").unwrap();
    let out = dir.path("x.mkv");
    let e = fails(&[
        "render",
        dir.path("show.toml").to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(
        e.contains("props[0].asset: `sign`:")
            && e.contains("images[0]: URI `%FF%FE.png` does not decode to UTF-8")
            && !e.contains("panicked"),
        "{e}"
    );
}

#[test]
fn broken_scene_file_is_located() {
    let dir = Scratch::new("err-ron");
    let scene = dir.path("room.ron");
    std::fs::write(&scene, "(\n  cameras: [(name: \"a\", position: (0.0, 1.0, 5.0), look_at: (0.0, 1.0, 0.0))],\n  shapes: [(name: \"x\", shape: Plane(width: 1.0, depth: 1.0), material: (color: \"red\"))],\n)\n").unwrap();
    let path = dir.path("show.toml");
    std::fs::write(&path, "scene = \"room.ron\"\n").unwrap();
    let e = fails(&[
        "render",
        path.to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        dir.path("x.flv").to_str().unwrap(),
    ]);
    assert!(
        e.contains("room.ron:3:") && e.contains("colour `red`"),
        "{e}"
    );
}

#[test]
/// Nothing listens: the show runs anyway (retrying), and the run ends with the reason.
fn unreachable_rtmp_server_is_reported() {
    let port = free_port(); // nothing listens there
    let url = format!("rtmp://127.0.0.1:{port}/live/x");
    let show = fixture("colour_panels.toml");
    let e = fails(&[
        "stream",
        show.to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        &url,
    ]);
    // Named without its stream key.
    let shown = format!("rtmp://127.0.0.1:{port}/live/…");
    assert!(e.contains(&shown) && e.contains("cannot open"), "{e}");
    let out = run(&[
        "stream",
        show.to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        &url,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keeps retrying"), "{stderr}");
}

#[test]
fn unsupported_output_is_refused() {
    let show = fixture("colour_panels.toml");
    let e = fails(&[
        "render",
        show.to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        "movie.avi",
    ]);
    assert!(e.contains("movie.avi") && e.contains(".mp4"), "{e}");
}

#[test]
fn help_describes_every_subcommand() {
    let out = run_ok(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["stream", "render", "bench"] {
        assert!(text.contains(cmd), "{text}");
    }
    let out = run_ok(&["stream", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--output", "--seconds", "--size", "--fps", "[SHOW]"] {
        assert!(text.contains(flag), "{text}");
    }
}

#[test]
fn render_refuses_network_outputs() {
    let show = fixture("colour_panels.toml");
    let e = fails(&[
        "render",
        show.to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        "rtmp://127.0.0.1/live/x",
    ]);
    assert!(e.contains("twincast stream"), "{e}");
}

#[test]
fn scene_fmt_prints_the_canonical_form_or_a_located_error() {
    let out = run_ok(&[
        "scene",
        "fmt",
        fixture("colour_panels.ron").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(name: \"yellow card\", shape: Box(width: 1.5, height: 1.5, depth: 0.1)"),
        "{text}"
    );
    let dir = Scratch::new("scene-fmt");
    let broken = dir.path("broken.ron");
    std::fs::write(
        &broken,
        "(\n  cameras: [(name: \"a\", position: (0.0, 1.0), look_at: (0.0, 0.0, 0.0))],\n)\n",
    )
    .unwrap();
    let e = fails(&["scene", "fmt", broken.to_str().unwrap()]);
    assert!(e.contains("broken.ron:2:"), "{e}");
}
