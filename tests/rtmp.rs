use crate::common::*;
use std::time::Duration;

/// `stream` to a real RTMP server on loopback; the server's own recording is complete.
#[test]
fn stream_to_nginx_rtmp_and_the_server_records_it() {
    let dir = Scratch::new("rtmp");
    let server = RtmpServer::start(&dir.0);
    let show = fixture("colour_panels.toml");
    let url = server.url("it");
    let local = dir.path("local.flv");
    let started = std::time::Instant::now();
    let out = run_ok(&[
        "stream",
        show.to_str().unwrap(),
        "--size",
        "320x180",
        "--seconds",
        "3",
        "--output",
        &url,
        "--output",
        local.to_str().unwrap(),
    ]);
    // `stream` keeps to the wall clock: 3 s of media cannot take less than 3 s.
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "ran ahead of real time"
    );
    // Reported without its stream key.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let shown = format!("{}/…", url.rsplit_once('/').unwrap().0);
    assert!(stdout.contains(&format!("wrote {shown} (")), "{stdout}");

    let recording = server.recording("it");
    wait_for_stable_file(&recording, Duration::from_secs(10));
    assert_media(&recording, 320, 180, 30, 3.0);
    assert_media(&local, 320, 180, 30, 3.0);
}

/// Waits until `path` holds more than `bytes`, or fails after `timeout`.
fn wait_for_bytes(path: &std::path::Path, bytes: u64, timeout: Duration) -> Duration {
    let started = std::time::Instant::now();
    while std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) <= bytes {
        assert!(
            started.elapsed() < timeout,
            "{} never got past {bytes} bytes",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

/// The server dies mid-stream (twice) and comes back on the same port: the stream is back
/// on it within 3 s each time, the process never exits early, and the local recording
/// taken at the same time has no gap.
#[test]
fn stream_reconnects_when_the_server_comes_back() {
    let dir = Scratch::new("reconnect");
    let port = free_port();
    let mut first = RtmpServer::start_on(&dir.path("first"), port);
    let show = fixture("colour_panels.toml");
    let url = first.url("it");
    let local = dir.path("local.flv");
    let mut child = twincast()
        .args([
            "stream",
            show.to_str().unwrap(),
            "--size",
            "320x180",
            "--seconds",
            "20",
            "--status-every",
            "1",
        ])
        .args(["--output", &url, "--output", local.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map(Stopped::new)
        .unwrap();

    wait_for_bytes(&first.recording("it"), 20_000, Duration::from_secs(60));
    first.stop(); // SIGKILL: the connection just dies
    std::thread::sleep(Duration::from_millis(1500));
    let mut second = RtmpServer::start_on(&dir.path("second"), port);
    let back = wait_for_bytes(&second.recording("it"), 0, Duration::from_secs(10));
    assert!(
        back <= Duration::from_secs(3),
        "back on air {back:?} after the restart"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "twincast exited while the server was away"
    );

    // Let it record a few seconds (it starts at the next keyframe) before the second outage.
    std::thread::sleep(Duration::from_secs(4));
    second.stop();
    std::thread::sleep(Duration::from_millis(1000));
    let third = RtmpServer::start_on(&dir.path("third"), port);
    let back = wait_for_bytes(&third.recording("it"), 0, Duration::from_secs(10));
    assert!(
        back <= Duration::from_secs(3),
        "back on air {back:?} after the second restart"
    );

    let output = child.into_inner().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.matches("reconnected after").count(), 2, "{stderr}");

    // The local recording went on through both outages: 20 s, no gap, pts increasing.
    assert_media(&local, 320, 180, 30, 20.0);
    // What the restarted servers recorded is valid media with increasing timestamps.
    drop(third);
    for rec in [second.recording("it"), dir.path("third/rec/it.flv")] {
        wait_for_stable_file(&rec, Duration::from_secs(10));
        let p = probe(&rec);
        assert_eq!(stream(&p, "video")["codec_name"], "h264");
        assert_eq!(stream(&p, "audio")["codec_name"], "aac");
        let video = packet_times(&rec, "v:0");
        assert!(
            video.len() > 30,
            "{} has {} frames",
            rec.display(),
            video.len()
        );
        assert!(
            video.windows(2).all(|w| w[1].0 > w[0].0),
            "pts not increasing in {}",
            rec.display()
        );
    }
}

/// A server that takes the TCP connection and never reads from it (nor answers the RTMP
/// handshake): rendering and the local recording go on at full rate, the stalled output
/// keeps retrying, and the stream still stops on time.
#[test]
fn a_stalled_server_never_holds_up_the_show() {
    let dir = Scratch::new("stall");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept everything and keep the sockets open, unread.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let show = fixture("colour_panels.toml");
    let local = dir.path("local.flv");
    let url = format!("rtmp://127.0.0.1:{port}/live/stalled");
    let started = std::time::Instant::now();
    let out = run(&[
        "stream",
        show.to_str().unwrap(),
        "--size",
        "320x180",
        "--seconds",
        "8",
        "--status-every",
        "1",
        "--output",
        &url,
        "--output",
        local.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The stalled output never delivered, and says so; everything else went on.
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("keeps retrying"), "{stderr}");
    assert!(took < Duration::from_secs(20), "stopping took {took:?}");
    assert_media(&local, 320, 180, 30, 8.0);
    // Rendering and encoding never waited on the socket. A main loop held up by the stalled
    // output would stand still for a whole timed-out attempt (3 s) between two of its
    // once-a-second status lines; an encoder held up would stop counting frames. Neither
    // depends on how fast this machine renders.
    let status: Vec<(f64, u64)> = stderr
        .lines()
        .filter(|l| l.contains("status: t="))
        .filter_map(|l| Some((log_seconds(l)?, number_after(l, "encoded ")?)))
        .collect();
    assert!(status.len() >= 5, "too few status lines\n{stderr}");
    for pair in status.windows(2) {
        let ((t0, e0), (t1, e1)) = (pair[0], pair[1]);
        assert!(
            t1 - t0 < 2.5,
            "the show stood still {:.1} s\n{stderr}",
            t1 - t0
        );
        assert!(e1 > e0, "the encoder stood still at frame {e0}\n{stderr}");
    }
}

/// Seconds since midnight of a log line's RFC 3339 timestamp (`…T07:58:45.761882Z`).
fn log_seconds(line: &str) -> Option<f64> {
    let clock = line.split('T').nth(1)?.split('Z').next()?;
    let mut parts = clock.split(':').map(|p| p.parse::<f64>().ok());
    Some(parts.next()?? * 3600.0 + parts.next()?? * 60.0 + parts.next()??)
}

/// The whole number that follows `label` in `line`.
fn number_after(line: &str, label: &str) -> Option<u64> {
    let rest = line.split(label).nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// A server that is down when the show starts: the show (and its recording) starts anyway,
/// and the stream goes on air when the server comes up.
#[test]
fn a_server_down_at_start_is_connected_when_it_comes_up() {
    let dir = Scratch::new("late-server");
    let port = free_port();
    // The show, with a webhook told when the output keeps failing and when it is back.
    let (hook, events) = webhook_receiver();
    let text = std::fs::read_to_string(fixture("colour_panels.toml")).unwrap();
    let text = text.replace(
        "scene = \"colour_panels.ron\"",
        &format!(
            "scene = {:?}",
            fixture("colour_panels.ron").to_str().unwrap()
        ),
    );
    let show = dir.path("show.toml");
    std::fs::write(
        &show,
        format!("{text}\n[alerts]\nwebhook = \"{hook}\"\nfailing_after_seconds = 1.0\n"),
    )
    .unwrap();
    let local = dir.path("local.flv");
    let url = format!("rtmp://127.0.0.1:{port}/live/late");
    let child = twincast()
        .args([
            "stream",
            show.to_str().unwrap(),
            "--size",
            "320x180",
            "--seconds",
            "10",
            "--output",
            &url,
            "--output",
            local.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map(Stopped::new)
        .unwrap();
    // Down for longer than the failing threshold, counted from the first connection attempt.
    std::thread::sleep(Duration::from_secs(4));
    let server = RtmpServer::start_on(&dir.path("srv"), port);
    wait_for_bytes(&server.recording("late"), 10_000, Duration::from_secs(15));
    let output = child.into_inner().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("connected after"), "{stderr}");
    assert_media(&local, 320, 180, 30, 10.0);
    let events = events.lock().unwrap().clone();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for want in ["output_failing", "output_reconnected", "stopped"] {
        assert!(names.contains(&want), "no {want} in {events:?}");
    }
    assert!(
        names[0] == "started" || names[0] == "restarted",
        "{events:?}"
    );
    let failing = events
        .iter()
        .find(|e| e["event"] == "output_failing")
        .unwrap();
    assert!(
        failing["output"].as_str().unwrap().ends_with("/live/…"),
        "the stream key is not sent: {failing}"
    );
}

/// A run that ends in error tells the webhook `failed`, with the reason and no stream key.
#[test]
fn a_failed_run_is_reported_as_failed_with_its_reason() {
    let dir = Scratch::new("failed-run");
    let (hook, events) = webhook_receiver();
    let show = panel_show_in(
        &dir,
        "colour_panels.toml",
        &format!("[alerts]\nwebhook = \"{hook}\"\n"),
    );
    let url = format!("rtmp://127.0.0.1:{}/live/SECRETKEY", free_port());
    let out = run(&[
        "stream",
        show.to_str().unwrap(),
        "--size",
        "320x180",
        "--seconds",
        "2",
        "-o",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let failed = webhook_event(&events, "failed", Duration::from_secs(10));
    let events = events.lock().unwrap().clone();
    let detail = failed["detail"].as_str().unwrap();
    assert!(
        detail.contains("/live/…") && !detail.contains("SECRETKEY"),
        "{failed}"
    );
    assert!(
        !events.iter().any(|e| e["event"] == "stopped"),
        "{events:?}"
    );
}
