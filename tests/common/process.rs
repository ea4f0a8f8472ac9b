//! The real binary: where it is, how to run it, scratch folders for what it writes, and
//! the guard every test's child process is held by ([`Stopped`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_twincast");

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// The processes running now: each one's id and its folder under `/proc`.
pub fn running_processes() -> impl Iterator<Item = (u32, PathBuf)> {
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    entries.filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path())))
}

/// A scratch folder for one test, removed when the test passes.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("twincast-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The binary, with what headless rendering needs in its environment.
pub fn twincast() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(repo());
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join("twincast-xdg");
        let _ = std::fs::create_dir_all(&dir);
        cmd.env("XDG_RUNTIME_DIR", dir);
    }
    cmd
}

pub fn run(args: &[&str]) -> Output {
    twincast().args(args).output().expect("running twincast")
}

pub fn run_ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "twincast {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The records of a JSON-lines file twincast wrote and closed (telemetry), each parsed.
pub fn read_json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `twincast render SHOW --seconds N --output OUT`.
pub fn render_to(show: &Path, seconds: impl std::fmt::Display, out: &Path) -> Output {
    render_with(show, seconds, out, &[])
}

/// `twincast render SHOW --seconds N --output OUT` with the `extra` arguments.
pub fn render_with(
    show: &Path,
    seconds: impl std::fmt::Display,
    out: &Path,
    extra: &[&str],
) -> Output {
    let seconds = seconds.to_string();
    let (show, out) = (show.to_str().unwrap(), out.to_str().unwrap());
    run_ok(
        &[
            &["render", show, "--seconds", &seconds, "--output", out],
            extra,
        ]
        .concat(),
    )
}

/// The fixture show `show` written into `dir` as `NAME.toml` on another scene, `scene`
/// (the text of its fixture scene `scene_file` changed), written beside it as `NAME.ron`;
/// the show's path. Files the scene names (her avatar) are for the test to put in `dir`.
pub fn show_on_scene(
    dir: &Scratch,
    show: &str,
    scene_file: &str,
    name: &str,
    scene: &str,
) -> PathBuf {
    std::fs::write(dir.path(&format!("{name}.ron")), scene).unwrap();
    let text = std::fs::read_to_string(fixture(show)).unwrap();
    let moved = text.replace(scene_file, &format!("{name}.ron"));
    assert_ne!(moved, text, "{show} does not name {scene_file}");
    let path = dir.path(&format!("{name}.toml"));
    std::fs::write(&path, moved).unwrap();
    path
}

/// `twincast render SHOW --seconds N` into `dir` as `NAME.mkv`, with telemetry: the
/// recording and the telemetry's records (one a frame).
pub fn render_with_telemetry(
    show: &Path,
    seconds: u32,
    dir: &Scratch,
    name: &str,
) -> (PathBuf, Vec<serde_json::Value>) {
    let out = dir.path(&format!("{name}.mkv"));
    let telemetry = dir.path(&format!("{name}.jsonl"));
    render_with(
        show,
        seconds,
        &out,
        &["--telemetry", telemetry.to_str().unwrap()],
    );
    (out, read_json_lines(&telemetry))
}

/// Runs twincast in a window on a virtual X display (Xvfb), as a person's desktop would.
pub fn on_virtual_display(args: &[&str]) -> Output {
    let mut cmd = Command::new("xvfb-run");
    cmd.args(["-a", "-s", "-screen 0 1024x768x24"])
        .arg(BIN)
        .args(args)
        .current_dir(repo());
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    cmd.output()
        .expect("running xvfb-run (install it with scripts/install-deps.sh)")
}

/// The fixture show `name` (on the colour-panel scene) written into `dir` with its scene
/// path made absolute and `extra` (more TOML) appended; its path.
pub fn panel_show_in(dir: &Scratch, name: &str, extra: &str) -> PathBuf {
    let scene = fixture("colour_panels.ron");
    let text = std::fs::read_to_string(fixture(name)).unwrap().replace(
        "scene = \"colour_panels.ron\"",
        &format!("scene = {:?}", scene.to_str().unwrap()),
    );
    let path = dir.path(name);
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path
}

/// The mocap fixture's scene with the host alone before black (no floor), written into
/// `dir` as `alone.ron` with its show `alone.toml`: any lit pixel is her. The scene's text.
pub fn host_alone_in(dir: &Scratch) -> String {
    let scene = std::fs::read_to_string(fixture("mocap_scene.ron"))
        .unwrap()
        .replace("../../assets/", &format!("{}/", repo().join("assets").display()))
        .replace(
            "    shapes: [(name: \"floor\", shape: Plane(width: 4.0, depth: 4.0), material: (color: \"#808080\"))],\n",
            "    environment: (clear_color: \"#000000\", ambient_brightness: 500.0),\n",
        );
    assert!(
        scene.contains("clear_color"),
        "the fixture's floor line moved: {scene}"
    );
    std::fs::write(dir.path("alone.ron"), &scene).unwrap();
    let show = std::fs::read_to_string(fixture("mocap.toml"))
        .unwrap()
        .replace("mocap_scene.ron", "alone.ron");
    std::fs::write(dir.path("alone.toml"), show).unwrap();
    scene
}

/// The mean column of the pixels of `rows` lit brighter than near-black: where the host
/// alone before black stands in the picture.
pub fn lit_centre(frame: &(u32, u32, Vec<u8>), rows: std::ops::Range<u32>) -> f64 {
    let (mut sum, mut n) = (0.0, 0.0);
    for y in rows {
        for x in 0..frame.0 {
            let i = ((y * frame.0 + x) * 3) as usize;
            if frame.2[i..i + 3].iter().map(|&c| c as u32).sum::<u32>() > 60 {
                sum += x as f64;
                n += 1.0;
            }
        }
    }
    assert!(n > 200.0, "she is in the picture ({n} pixels)");
    sum / n
}

/// The demo scene's text with the host moved between the `cake` camera and the cake.
pub fn host_before_the_cake(scene: &str) -> String {
    let in_the_way = scene.replace(
        "transform: (translation: (-1.0, 0.0, 1.1)",
        "transform: (translation: (-2.15, 0.0, 0.4)",
    );
    assert_ne!(
        in_the_way, scene,
        "the host's place in the demo scene moved"
    );
    in_the_way
}

/// A child process (a stream, a server, a driver), killed if it is still running when the
/// test lets go of it: a test that fails halfway leaves nothing behind to load the machine
/// under the tests after it, or to hold a port.
pub struct Stopped(Option<Child>);

impl Stopped {
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    /// Kills it now, if it still runs, and reaps it.
    pub fn stop(&mut self) {
        if let Some(child) = &mut self.0
            && matches!(child.try_wait(), Ok(None))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The process, to wait for its output; no longer killed on drop.
    pub fn into_inner(mut self) -> Child {
        self.0.take().expect("taken once")
    }
}

impl std::ops::Deref for Stopped {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().expect("taken once")
    }
}

impl std::ops::DerefMut for Stopped {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().expect("taken once")
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        self.stop();
    }
}
