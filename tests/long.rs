//! A long render: 4 h 45 min of media at a tiny size and 1 fps. The FLV crosses its 2^24 ms
//! timestamp boundary; audio and video end together; the last line's mouth still matches
//! its sound; memory stays flat.

use crate::common::*;
use std::time::{Duration, Instant};

const SECONDS: f64 = 17_100.0; // 4 h 45 min: past 2^24 ms = 4 h 39 min 37 s

fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Mean absolute level of the decoded audio in `[from, from + seconds)`.
fn level(path: &std::path::Path, from: f64, seconds: f64) -> f64 {
    let out = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-ss",
            &format!("{from}"),
            "-t",
            &format!("{seconds}"),
            "-i",
        ])
        .arg(path)
        .args(["-ac", "1", "-ar", "8000", "-f", "f32le", "-"])
        .output()
        .unwrap();
    let samples: Vec<f32> = out
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    samples.iter().map(|s| s.abs() as f64).sum::<f64>() / samples.len().max(1) as f64
}

#[test]
fn hours_of_media_keep_clocks_timestamps_and_memory_in_line() {
    let dir = Scratch::new("long");
    let out = dir.path("long.flv");
    let telemetry = dir.path("t.jsonl");
    let mut child = twincast()
        .args(["render", fixture("long.toml").to_str().unwrap()])
        .args(["--seconds", &SECONDS.to_string(), "--output"])
        .arg(&out)
        .arg("--telemetry")
        .arg(&telemetry)
        .stdout(std::process::Stdio::null())
        // To a file: a pipe nobody reads during the run would fill and block the logger.
        .stderr(std::fs::File::create(dir.path("stderr.log")).unwrap())
        .spawn()
        .map(Stopped::new)
        .unwrap();
    // RSS once a second; the first 30 s are warm-up (pipelines, caches, the first lines).
    let started = Instant::now();
    let mut samples = Vec::new();
    while child.try_wait().unwrap().is_none() {
        if let Some(rss) = rss_mib(child.id()) {
            samples.push((started.elapsed().as_secs_f64(), rss));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(dir.path("stderr.log")).unwrap();
    assert!(status.success(), "{stderr}");

    // Memory: flat after warm-up (a leak of a few KiB per frame would be tens of MiB here).
    let settled: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| *t > 30.0)
        .map(|s| s.1)
        .collect();
    assert!(
        settled.len() > 30,
        "the run was too short to judge: {samples:?}"
    );
    let first = settled[..5].iter().cloned().fold(f64::MAX, f64::min);
    let peak = settled.iter().cloned().fold(0.0, f64::max);
    eprintln!("RSS after warm-up {first:.0} MiB, peak {peak:.0} MiB");
    assert!(
        peak - first < 48.0,
        "RSS grew {:.0} MiB after warm-up ({first:.0} → {peak:.0})",
        peak - first
    );

    // Timestamps: monotonic in both streams, across the 2^24 ms boundary.
    let video = packet_times(&out, "v:0");
    let audio = packet_times(&out, "a:0");
    assert_eq!(video.len(), SECONDS as usize);
    for (name, packets) in [("video", &video), ("audio", &audio)] {
        assert!(
            packets.windows(2).all(|w| w[1].0 > w[0].0),
            "{name} pts not increasing"
        );
        assert!(
            packets.last().unwrap().0 > 16_777.216 + 60.0,
            "{name} stops before the 2^24 ms boundary"
        );
    }
    // Clocks: the two streams end within one frame of each other.
    let end = |p: &[(f64, f64)]| {
        let last = p.last().unwrap();
        last.0 + last.1
    };
    let (v_end, a_end) = (end(&video), end(&audio));
    assert!(
        (v_end - a_end).abs() <= 1.0,
        "video ends {v_end}, audio {a_end}"
    );
    assert!((v_end - SECONDS).abs() <= 1.0, "video ends at {v_end}");

    // The last line, hours in: its sound starts when it was scheduled, and the mouth moves
    // while it plays and rests before it.
    let last_start: f64 = stderr
        .lines()
        .rev()
        .find_map(|l| l.split("speaking at ").nth(1))
        .and_then(|r| r.split(' ').next()?.parse().ok())
        .expect("no line was said");
    assert!(last_start > SECONDS - 60.0, "last line at {last_start}");
    let before = level(&out, last_start - 1.5, 1.2);
    let during = level(&out, last_start + 0.1, 0.6);
    assert!(
        during > 10.0 * before.max(1e-5),
        "no onset at {last_start}: {before} → {during}"
    );
    let records = read_json_lines(&telemetry);
    let mouth = |t: f64| records[t as usize]["mouth"].as_f64().unwrap();
    let rest = (1..5)
        .map(|k| mouth(last_start.floor() - k as f64))
        .fold(0.0, f64::max);
    let moving = mouth(last_start.ceil()).max(mouth(last_start.ceil() + 1.0));
    assert!(rest < 0.05, "the mouth moves before the line: {rest}");
    assert!(moving > 0.1, "the mouth is still during the line: {moving}");
}
