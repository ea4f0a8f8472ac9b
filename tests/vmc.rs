//! Live capture: real OSC datagrams over loopback UDP into a running `twincast stream`.

use crate::common::*;
use std::net::UdpSocket;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// OSC written out by hand (not with twincast's own encoder), as a sender would.
fn osc(address: &str, args: &[Value]) -> Vec<u8> {
    fn pad(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    let mut out = Vec::new();
    pad(&mut out, address);
    let tags: String = std::iter::once(',')
        .chain(args.iter().map(|a| match a {
            Value::S(_) => 's',
            Value::F(_) => 'f',
        }))
        .collect();
    pad(&mut out, &tags);
    for a in args {
        match a {
            Value::S(s) => pad(&mut out, s),
            Value::F(f) => out.extend_from_slice(&f.to_be_bytes()),
        }
    }
    out
}

enum Value {
    S(&'static str),
    F(f32),
}

fn bundle(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"#bundle\0".to_vec();
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    for m in messages {
        out.extend_from_slice(&(m.len() as u32).to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

/// Both arms raised straight up, in Unity's axes (what VMC carries): the left arm, along
/// Unity's -X, turns -90° about Z… which a mirrored, right-handed receiver must see as the
/// arm pointing up.
fn arms_up() -> Vec<u8> {
    arms_up_at(0.0, 0.0)
}

/// [`arms_up`], with the performer's root `step` metres to their left (Unity's -X) and
/// their hips `crouch` metres lower than standing (1 m up from the root).
fn arms_up_at(step: f32, crouch: f32) -> Vec<u8> {
    let s = std::f32::consts::FRAC_1_SQRT_2;
    let bone = |name: &'static str, z: f32| {
        osc(
            "/VMC/Ext/Bone/Pos",
            &[
                Value::S(name),
                Value::F(0.0),
                Value::F(0.0),
                Value::F(0.0),
                Value::F(0.0),
                Value::F(0.0),
                Value::F(z),
                Value::F(s),
            ],
        )
    };
    let placed = |address: &'static str, name: &'static str, at: [f32; 3]| {
        let mut args = vec![Value::S(name)];
        args.extend([at[0], at[1], at[2], 0.0, 0.0, 0.0, 1.0].map(Value::F));
        osc(address, &args)
    };
    bundle(&[
        osc("/VMC/Ext/OK", &[]),
        placed("/VMC/Ext/Root/Pos", "root", [-step, 0.0, 0.0]),
        placed("/VMC/Ext/Bone/Pos", "Hips", [0.0, 1.0 - crouch, 0.0]),
        bone("LeftUpperArm", -s),
        bone("RightUpperArm", s),
        osc("/VMC/Ext/Blend/Val", &[Value::S("A"), Value::F(1.0)]),
        osc(
            "/VMC/Ext/Blend/Val",
            &[Value::S("Surprised"), Value::F(1.0)],
        ),
        osc("/VMC/Ext/Blend/Apply", &[]),
    ])
}

#[test]
fn vmc_packets_drive_the_avatar_then_it_falls_back_to_its_clips() {
    let dir = Scratch::new("vmc");
    let telemetry = dir.path("t.jsonl");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = twincast()
        .args([
            "stream",
            fixture("mocap.toml").to_str().unwrap(),
            "--seconds",
            "6",
            "--output",
            dir.path("out.mkv").to_str().unwrap(),
            "--telemetry",
            telemetry.to_str().unwrap(),
            "--vmc-listen",
            &listen,
            "--vmc-fallback",
            "0.5",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map(Stopped::new)
        .unwrap();
    // Wait for the show to be on air (telemetry flowing), then perform for 1.5 s, with
    // garbage mixed in, then go quiet.
    let started = Instant::now();
    while std::fs::read_to_string(&telemetry).map_or(true, |t| t.lines().count() < 3) {
        assert!(started.elapsed() < Duration::from_secs(60), "never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let performing = Instant::now();
    let mut garbage = 0;
    // Standing until she follows fully (the stream first spends the frames it drew ahead
    // of the clock), then for a second a step to the left and a crouch.
    let mut moved_at: Option<Instant> = None;
    while moved_at.is_none_or(|t| t.elapsed() < Duration::from_millis(1000)) {
        assert!(performing.elapsed() < Duration::from_secs(30), "never live");
        if moved_at.is_none() && fully_live(&telemetry) >= 2 {
            moved_at = Some(Instant::now());
        }
        let packet = match moved_at {
            Some(_) => arms_up_at(0.5, 0.3),
            None => arms_up(),
        };
        socket.send_to(&packet, &listen).unwrap();
        for junk in [
            b"not osc at all".to_vec(),
            vec![0xff; 7],
            b"#bundle\0\0\0\0\0\0\0\0\x01\x7f\xff\xff\xff".to_vec(),
            osc("/VMC/Ext/Bone/Pos", &[Value::S("Head"), Value::F(1.0)]),
        ] {
            socket.send_to(&junk, &listen).unwrap();
            garbage += 1;
        }
        std::thread::sleep(Duration::from_millis(33));
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{stderr}");

    let records = read_json_lines(&telemetry);
    let arms_raised = |r: &serde_json::Value| {
        let y = |b: &str| r["pose"][b][1].as_f64().unwrap();
        y("leftHand") > y("head") && y("rightHand") > y("head")
    };
    let live: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["live"]["weight"].as_f64() == Some(1.0))
        .collect();
    assert!(live.len() >= 5, "fully live for {} frames", live.len());
    assert!(
        live.iter().all(|r| arms_raised(r)),
        "arms not up while live"
    );
    assert!(
        live.iter().all(|r| r["mouth"].as_f64().unwrap() > 0.5),
        "blend A not applied"
    );
    // The performer's `Surprised` blend is on the robot's own `Surprised` morph target.
    assert!(
        live.iter()
            .all(|r| r["emotion"] == "surprised" && r["expression"].as_f64() > Some(0.9)),
        "blend Surprised not applied: {:?}",
        live.iter().map(|r| &r["expression"]).collect::<Vec<_>>()
    );
    // The performer's step and crouch (root and hips positions) moved the host with them:
    // to her left and down, from where she stood when the performance began.
    let at =
        |r: &serde_json::Value, bone: &str, axis: usize| r["pose"][bone][axis].as_f64().unwrap();
    let (standing, moved) = (live[1], live[live.len() - 1]);
    let her_left = (at(standing, "leftFoot", 0) - at(standing, "rightFoot", 0)).signum();
    let (dx, dy) = (
        (at(moved, "head", 0) - at(standing, "head", 0)) * her_left,
        at(moved, "head", 1) - at(standing, "head", 1),
    );
    assert!(
        dx > 0.12 && dy < -0.08,
        "the head moved {dx:.3} to her left, {dy:.3} up"
    );
    // Packets stopped: back to the walk clip, hands down, by the end.
    let last = records.last().unwrap();
    assert_eq!(last["live"]["weight"].as_f64(), Some(0.0), "{last}");
    assert!(!arms_raised(last), "{last}");
    // Garbage was counted and dropped.
    let malformed = last["live"]["malformed"].as_u64().unwrap();
    assert!(
        malformed >= garbage * 9 / 10,
        "{malformed} of {garbage} counted"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Frames of the telemetry so far with the host following the performer fully.
fn fully_live(telemetry: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(telemetry).unwrap_or_default();
    (text.lines())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["live"]["weight"].as_f64() == Some(1.0))
        .count()
}

#[test]
fn a_vmc_port_in_use_is_a_clear_error() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = Scratch::new("vmc-busy");
    let out = run(&[
        "stream",
        fixture("mocap.toml").to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        dir.path("x.mkv").to_str().unwrap(),
        "--vmc-listen",
        &addr,
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("VMC: cannot listen on {addr}")),
        "{stderr}"
    );
}

/// Energy of a 440 Hz tone relative to all energy, per 100 ms window of mono 8 kHz audio.
fn tone_share(samples: &[f32]) -> Vec<f64> {
    samples
        .chunks(800)
        .map(|w| {
            let k = 2.0 * std::f64::consts::PI * 440.0 / 8000.0;
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for &x in w {
                let s = x as f64 + 2.0 * k.cos() * s1 - s2;
                s2 = s1;
                s1 = s;
            }
            let power = s1 * s1 + s2 * s2 - 2.0 * k.cos() * s1 * s2;
            let total: f64 =
                w.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() * w.len() as f64 / 2.0;
            if total < 1e-6 { 0.0 } else { power / total }
        })
        .collect()
}

/// A person takes over: the script pauses, the host follows their capture, their voice
/// (PCM over UDP) goes out in the program; then they hand back, and the stream never broke.
#[test]
fn a_takeover_switches_to_live_capture_and_voice_and_back() {
    let dir = Scratch::new("takeover");
    let audio_port = free_port();
    let vmc = format!("127.0.0.1:{}", free_port());
    let api = format!("127.0.0.1:{}", free_port());
    let text = std::fs::read_to_string(fixture("mocap.toml"))
        .unwrap()
        .replace(
            "scene = \"mocap_scene.ron\"",
            &format!("scene = {:?}", fixture("mocap_scene.ron").to_str().unwrap()),
        )
        // The whole lead while nobody has the host, so that the takeover's in-step frames
        // stand out (as far as this small picture's frames need would be a frame or two).
        .replace("[video]\n", "[video]\nrender_ahead_adapts = false\n");
    let show = dir.path("show.toml");
    std::fs::write(
        &show,
        format!(
            "{text}\n[voice]\nlines = [\"This is the scripted line.\"]\npause_seconds = 0.5\ncache_mb = 0\n\
             [takeover]\naudio_listen = \"127.0.0.1:{audio_port}\"\n[compliance]\naudit = false\n"
        ),
    )
    .unwrap();
    let out = dir.path("out.mkv");
    let telemetry = dir.path("t.jsonl");
    let child = twincast()
        .args(["stream", show.to_str().unwrap(), "--seconds", "12"])
        .args(["--output", out.to_str().unwrap(), "--telemetry"])
        .arg(&telemetry)
        .args(["--vmc-listen", &vmc, "--vmc-fallback", "0.3", "--api", &api])
        .env("TWINCAST_API_TOKEN", "t0ken")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map(Stopped::new)
        .unwrap();
    let started = Instant::now();
    while std::fs::read_to_string(&telemetry).map_or(true, |t| t.lines().count() < 10) {
        assert!(started.elapsed() < Duration::from_secs(60), "never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // What the lead has banked before the person steps in, as the operator sees it.
    wait_until("frames drawn ahead", Duration::from_secs(30), || {
        let ahead = get_json(&api, "/status")["ahead_seconds"].as_f64();
        if ahead > Some(0.1) {
            Ok(())
        } else {
            Err(ahead)
        }
    });
    let post = |on: bool| {
        let body = format!("{{\"on\": {on}}}");
        let (code, text) = http(&api, "POST", "/takeover", Some("t0ken"), &body);
        assert_eq!(code, 202, "{text}");
    };
    post(true);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let performing = Instant::now();
    let mut n = 0u64;
    while performing.elapsed() < Duration::from_secs(3) {
        socket.send_to(&arms_up(), &vmc).unwrap();
        // 20 ms of a 440 Hz tone, s16le 48 kHz mono: the person's "voice".
        let pcm: Vec<u8> = (0..960)
            .flat_map(|i| {
                let t = (n * 960 + i) as f64 / 48_000.0;
                (((2.0 * std::f64::consts::PI * 440.0 * t).sin() * 12_000.0) as i16).to_le_bytes()
            })
            .collect();
        socket.send_to(&pcm, ("127.0.0.1", audio_port)).unwrap();
        n += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    post(false);
    let output = child.into_inner().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("takeover: the script pauses"), "{stderr}");
    assert!(
        stderr.contains("takeover over: the script resumes"),
        "{stderr}"
    );
    // The stream went on throughout.
    assert_media(&out, 160, 160, 10, 12.0);

    // The host followed the person: fully live with arms up for a stretch.
    let records = read_json_lines(&telemetry);
    let live = records
        .iter()
        .filter(|r| r["live"]["weight"].as_f64() == Some(1.0))
        .filter(|r| {
            let y = |b: &str| r["pose"][b][1].as_f64().unwrap();
            y("leftHand") > y("head")
        })
        .count();
    assert!(live >= 10, "live with arms up for {live} frames");
    // Before the takeover frames were drawn ahead of the clock (`video.render_ahead_ms`,
    // 500 by default); while the person had the host, in step with it.
    let early = |r: &serde_json::Value| r["early_ms"].as_f64().unwrap();
    let is_live = |r: &&serde_json::Value| r["live"]["weight"].as_f64() == Some(1.0);
    let first_live = records.iter().position(|r| is_live(&r)).unwrap();
    let most = records[..first_live]
        .iter()
        .map(early)
        .fold(f64::MIN, f64::max);
    assert!((100.0..=510.0).contains(&most), "{most} ms early at most");
    let live_early = records
        .iter()
        .filter(is_live)
        .map(early)
        .fold(f64::MIN, f64::max);
    assert!(live_early <= 1.0, "{live_early} ms early while live");

    // Their voice is in the program: seconds of audio dominated by the 440 Hz tone.
    let decoded = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&out)
        .args(["-ac", "1", "-ar", "8000", "-f", "f32le", "-"])
        .output()
        .unwrap();
    let samples: Vec<f32> = decoded
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let tone = tone_share(&samples).iter().filter(|s| **s > 0.5).count();
    assert!(tone >= 15, "the live voice was heard for {tone} × 100 ms");
}
