//! Helpers shared by the integration tests: run the real binary, probe real files with
//! ffprobe/ffmpeg, and run a real RTMP server (nginx + RTMP module) on loopback.

#![allow(dead_code)]

use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// ffprobe's JSON description of a file's streams and format.
pub fn probe(path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(path)
        .output()
        .expect("running ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn stream<'a>(probe: &'a Value, kind: &str) -> &'a Value {
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} stream in {probe}"))
}

/// Packet timestamps (pts, duration) of one stream, in seconds, in file order.
pub fn packet_times(path: &Path, selector: &str) -> Vec<(f64, f64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            selector,
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("running ffprobe");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.split(',');
            let pts = it.next()?.parse().ok()?;
            let dur = it.next().and_then(|d| d.parse().ok()).unwrap_or(0.0);
            Some((pts, dur))
        })
        .collect()
}

/// Checks a file as the foundation issue asks: H.264 + AAC, size, rate, duration, monotonic pts.
pub fn assert_media(path: &Path, width: u64, height: u64, fps: u64, seconds: f64) {
    let p = probe(path);
    let v = stream(&p, "video");
    let a = stream(&p, "audio");
    assert_eq!(v["codec_name"], "h264", "{p}");
    assert_eq!(a["codec_name"], "aac", "{p}");
    assert_eq!(v["width"].as_u64(), Some(width));
    assert_eq!(v["height"].as_u64(), Some(height));
    assert_eq!(v["r_frame_rate"], format!("{fps}/1"), "{p}");
    assert_eq!(a["sample_rate"], "48000");
    assert_eq!(a["channels"].as_u64(), Some(2));

    let frame = 1.0 / fps as f64;
    let video = packet_times(path, "v:0");
    let audio = packet_times(path, "a:0");
    assert_eq!(
        video.len() as u64,
        (seconds * fps as f64).round() as u64,
        "video frame count"
    );
    assert!(
        video.windows(2).all(|w| w[1].0 > w[0].0),
        "video pts not increasing"
    );
    assert!(
        audio.windows(2).all(|w| w[1].0 > w[0].0),
        "audio pts not increasing"
    );
    let v_end = video.last().unwrap().0 + frame - video[0].0;
    let a_end = audio.last().map(|(p, d)| p + d).unwrap() - audio[0].0;
    assert!(
        (v_end - seconds).abs() <= frame + 1e-3,
        "video lasts {v_end} s, want {seconds}"
    );
    assert!(
        (a_end - seconds).abs() <= frame + 1e-3,
        "audio lasts {a_end} s, want {seconds}"
    );
    let format_duration: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!(
        (format_duration - seconds).abs() <= frame + 0.03,
        "container says {format_duration} s"
    );
}

/// Decodes frame `n` of a file to packed RGB (BT.709, as we encode it).
pub fn rgb_frame(path: &Path, n: u32) -> (u32, u32, Vec<u8>) {
    let p = probe(path);
    let v = stream(&p, "video");
    let (w, h) = (
        v["width"].as_u64().unwrap() as u32,
        v["height"].as_u64().unwrap() as u32,
    );
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            &format!("select=eq(n\\,{n}),scale=in_color_matrix=bt709:in_range=tv:out_range=pc,format=rgb24"),
            "-frames:v", "1", "-f", "rawvideo", "-",
        ])
        .output()
        .expect("running ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), (w * h * 3) as usize, "frame {n} missing");
    (w, h, out.stdout)
}

/// Mean colour of a square patch centred on (x, y).
pub fn patch_mean(frame: &(u32, u32, Vec<u8>), x: u32, y: u32, half: u32) -> [f64; 3] {
    let (w, _, data) = frame;
    let mut sum = [0f64; 3];
    let mut n = 0.0;
    for py in y - half..=y + half {
        for px in x - half..=x + half {
            let i = ((py * w + px) * 3) as usize;
            for c in 0..3 {
                sum[c] += data[i + c] as f64;
            }
            n += 1.0;
        }
    }
    sum.map(|s| s / n)
}

pub fn assert_colour_near(got: [f64; 3], want: [u8; 3], tolerance: f64, what: &str) {
    for c in 0..3 {
        assert!(
            (got[c] - want[c] as f64).abs() <= tolerance,
            "{what}: got {got:?}, want {want:?} ± {tolerance}"
        );
    }
}

/// Mean volume of a file's audio in dBFS, measured by FFmpeg's `volumedetect` filter.
pub fn mean_volume_db(path: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-v", "info", "-nostats", "-i"])
        .arg(path)
        .args(["-map", "0:a", "-af", "volumedetect", "-f", "null", "-"])
        .output()
        .expect("running ffmpeg");
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| l.split("mean_volume:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no volume in:\n{text}"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx with the RTMP module, on loopback, recording every stream it receives.
pub struct RtmpServer {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

impl RtmpServer {
    pub fn start(dir: &Path) -> Self {
        Self::start_on(dir, free_port())
    }

    pub fn start_on(dir: &Path, port: u16) -> Self {
        let module = [
            "/usr/lib/nginx/modules/ngx_rtmp_module.so",
            "/usr/share/nginx/modules/ngx_rtmp_module.so",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx RTMP module not installed: run scripts/install-deps.sh");
        std::fs::create_dir_all(dir.join("rec")).unwrap();
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let conf = format!(
            "load_module {module};\n\
             daemon off;\nmaster_process off;\nworker_processes 1;\n\
             error_log {dir}/logs/error.log warn;\npid {dir}/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             rtmp {{\n  server {{\n    listen 127.0.0.1:{port};\n    chunk_size 4096;\n\
             application live {{\n      live on;\n      record all;\n      record_path {dir}/rec;\n\
             record_unique off;\n    }}\n  }}\n}}\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("logs/error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nginx (install it with scripts/install-deps.sh)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            port,
            dir: dir.to_path_buf(),
            child,
        }
    }

    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    pub fn recording(&self, key: &str) -> PathBuf {
        self.dir.join("rec").join(format!("{key}.flv"))
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until a file exists and has stopped growing.
pub fn wait_for_stable_file(path: &Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    loop {
        let len = std::fs::metadata(path).map(|m| m.len()).ok();
        if len.is_some() && len == last {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never settled",
            path.display()
        );
        last = len;
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Integrated loudness (LUFS) and true peak (dBTP) of a file's audio, measured by FFmpeg's
/// own EBU R128 filter.
pub fn r128(path: &Path) -> (f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-v", "info", "-nostats", "-i"])
        .arg(path)
        .args(["-map", "0:a", "-af", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .expect("running ffmpeg");
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = text.rsplit("Summary:").next().unwrap_or("");
    let value = |label: &str| -> f64 {
        summary
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no `{label}` in:\n{summary}"))
    };
    (value("I:"), value("Peak:"))
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

/// Reads a binary PPM (P6, as screenshots and references are kept): width, height, RGB.
pub fn read_ppm(path: &Path) -> (u32, u32, Vec<u8>) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while data[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !data[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..at]).to_string());
    }
    assert_eq!(fields[0], "P6", "{} is not a binary PPM", path.display());
    let (w, h) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, data[at + 1..].to_vec())
}
