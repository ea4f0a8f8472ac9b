//! Checking what the viewer gets: real files probed with ffprobe, pictures and sound
//! decoded with ffmpeg, screenshots read back.

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

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

/// A recording's length in seconds, as its container says.
pub fn duration(path: &Path) -> f64 {
    (probe(path)["format"]["duration"].as_str())
        .and_then(|d| d.parse::<f64>().ok())
        .expect("the recording's length")
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

/// For each decoded frame of a file, the (column, row) of every pixel whose RGB `want`
/// holds for: where a coloured part of the picture is, frame by frame.
pub fn pixels_per_frame(path: &Path, want: impl Fn([u8; 3]) -> bool) -> Vec<Vec<(usize, usize)>> {
    let p = probe(path);
    let v = stream(&p, "video");
    let width = v["width"].as_u64().unwrap() as usize;
    let size = width * v["height"].as_u64().unwrap() as usize;
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("running ffmpeg");
    out.stdout
        .chunks_exact(size * 3)
        .map(|frame| {
            (frame.chunks_exact(3).enumerate())
                .filter(|(_, px)| want([px[0], px[1], px[2]]))
                .map(|(i, _)| (i % width, i / width))
                .collect()
        })
        .collect()
}

/// Of the pixels in a rectangle of a frame (packed RGB, as [`rgb_frame`] and [`read_ppm`]
/// give it), how many `want` holds for, and how many there are.
pub fn count_pixels(
    frame: &(u32, u32, Vec<u8>),
    xs: std::ops::Range<u32>,
    ys: std::ops::Range<u32>,
    want: impl Fn([u8; 3]) -> bool,
) -> (u32, u32) {
    let (mut hits, mut all) = (0, 0);
    for y in ys {
        for x in xs.clone() {
            let i = ((y * frame.0 + x) * 3) as usize;
            hits += want([frame.2[i], frame.2[i + 1], frame.2[i + 2]]) as u32;
            all += 1;
        }
    }
    (hits, all)
}

/// The largest mean absolute difference (0–255, over the three channels) between two
/// frames of one size in any `side`×`side` square of a grid over them, and that square's
/// corner: where a picture differs locally (a piece missing, a seam), which a whole
/// frame's PSNR averages away.
pub fn worst_patch_difference(
    a: &(u32, u32, Vec<u8>),
    b: &(u32, u32, Vec<u8>),
    side: u32,
) -> (f64, (u32, u32)) {
    assert_eq!((a.0, a.1), (b.0, b.1), "frames of different sizes");
    let (w, h) = (a.0, a.1);
    let mut worst = (0f64, (0, 0));
    for y0 in (0..h - side + 1).step_by(side as usize) {
        for x0 in (0..w - side + 1).step_by(side as usize) {
            let mut sum = 0u64;
            for y in y0..y0 + side {
                let row = ((y * w + x0) * 3) as usize..((y * w + x0 + side) * 3) as usize;
                let pairs = a.2[row.clone()].iter().zip(&b.2[row]);
                sum += pairs.map(|(p, q)| p.abs_diff(*q) as u64).sum::<u64>();
            }
            let mean = sum as f64 / (side * side * 3) as f64;
            if mean > worst.0 {
                worst = (mean, (x0, y0));
            }
        }
    }
    worst
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
    mean_volume_db_from(path, 0.0)
}

/// Mean volume in dBFS of a file's audio from `start` seconds to its end.
pub fn mean_volume_db_from(path: &Path, start: f64) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-v", "info", "-nostats", "-ss", &start.to_string(), "-i"])
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

/// FFmpeg decoding the whole file to nowhere: its exit status and the errors it printed.
pub fn decode(path: &Path) -> std::process::Output {
    Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("running ffmpeg")
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

/// Per-frame PSNR (dB, all planes) of `a` against `b`, by FFmpeg's `psnr` filter.
pub fn psnr_per_frame(a: &Path, b: &Path) -> Vec<f64> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(a)
        .arg("-i")
        .arg(b)
        .args(["-lavfi", "[0:v][1:v]psnr=stats_file=-", "-f", "null", "-"])
        .output()
        .expect("running ffmpeg");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|f| f.strip_prefix("psnr_avg:"))
        })
        .map(|v| if v == "inf" { 99.0 } else { v.parse().unwrap() })
        .collect()
}

/// Linear RMS of the encoded audio per video frame (FFmpeg's astats over frame-sized windows).
pub fn audio_level_per_frame(path: &Path, samples_per_frame: u32) -> Vec<f64> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-af",
            &format!("asetnsamples=n={samples_per_frame}:p=0,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.RMS_level:file=-"),
            "-f", "null", "-",
        ])
        .output()
        .expect("running ffmpeg");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("lavfi.astats.Overall.RMS_level="))
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .map_or(0.0, |db| 10f64.powf(db / 20.0))
        })
        .collect()
}
