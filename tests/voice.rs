use crate::common::*;

/// `--monitor` on a machine without a sound card: a warning, and the stream is unaffected.
#[test]
fn monitor_without_an_audio_device_warns_and_streams_on() {
    let dir = Scratch::new("monitor");
    let out = dir.path("monitored.flv");
    let run = run_ok(&[
        "stream",
        fixture("colour_panels.toml").to_str().unwrap(),
        "--size",
        "160x90",
        "--seconds",
        "2",
        "--monitor",
        "--output",
        out.to_str().unwrap(),
    ]);
    let log = String::from_utf8_lossy(&run.stderr);
    // Either a device took the program, or there is none and we are told so.
    assert!(
        log.contains("monitoring the program on") || log.contains("--monitor:"),
        "{log}"
    );
    assert_media(&out, 160, 90, 30, 2.0);
}

/// A speech engine that fails every line: each failure is reported, the show goes on.
#[test]
fn a_failing_speech_engine_does_not_stop_the_show() {
    let dir = Scratch::new("engine-fails");
    let show = dir.path("show.toml");
    std::fs::write(
        &show,
        format!(
            "scene = \"{}\"\n[video]\nwidth = 160\nheight = 90\nfps = 10\n[render]\nmsaa = 1\n\
             [voice]\nengine = \"command:echo the voice service is down >&2; exit 7\"\n\
             lines = [\"one\", \"two\"]\ncache_mb = 0\n",
            fixture("colour_panels.ron").display()
        ),
    )
    .unwrap();
    let out = dir.path("silent-host.mkv");
    let run = run_ok(&[
        "render",
        show.to_str().unwrap(),
        "--seconds",
        "3",
        "--output",
        out.to_str().unwrap(),
    ]);
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(
        log.contains("line skipped") && log.contains("the voice service is down"),
        "{log}"
    );
    assert_media(&out, 160, 90, 10, 3.0);
}
