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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&url), "{stdout}");

    let recording = server.recording("it");
    wait_for_stable_file(&recording, Duration::from_secs(10));
    assert_media(&recording, 320, 180, 30, 3.0);
    assert_media(&local, 320, 180, 30, 3.0);
}
