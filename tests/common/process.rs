//! The real binary: where it is, how to run it, scratch folders for what it writes.

use std::path::PathBuf;
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_twincast");

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
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
