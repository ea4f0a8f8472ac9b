use crate::common::*;
use std::time::Duration;

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
    let show = tiny_speaking_show(
        &dir,
        "engine = \"command:echo the voice service is down >&2; exit 7\"\n\
         lines = [\"one\", \"two\"]\ncache_mb = 0\n",
    );
    let out = dir.path("silent-host.mkv");
    let run = render_to(&show, 3, &out);
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(
        log.contains("line skipped") && log.contains("the voice service is down"),
        "{log}"
    );
    assert_media(&out, 160, 90, 10, 3.0);
}

/// eSpeak runs in a worker process: a native crash there (SIGABRT, what a failed C
/// `assert` raises, sent from outside; an outside SIGSEGV is survived once by Rust's
/// stack-overflow handler, a real one is not) costs at most the line being spoken. The
/// show streams on, a new worker starts, and the host is heard again after the crash.
#[test]
fn a_crash_in_the_speech_worker_costs_a_line_not_the_show() {
    let dir = Scratch::new("worker-crash");
    let show = tiny_speaking_show(
        &dir,
        "engine = \"espeak\"\ncache_mb = 0\npause_seconds = 0.3\n\
         lines = [\"The first line of the night.\", \"Robots, cakes and speeders.\", \
         \"Ask me anything about the factory.\"]\n",
    );
    let out = dir.path("crash.mkv");
    let child = StreamBuilder::new(&show)
        .args(["--seconds", "16", "-o", out.to_str().unwrap()])
        .start();
    let worker = wait_until("the speech worker", Duration::from_secs(60), || {
        speech_worker_of(child.child.id()).ok_or(())
    });
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: a signal to a process this test's child started.
    unsafe { libc::kill(worker as i32, libc::SIGABRT) };
    let next = wait_until("a new speech worker", Duration::from_secs(20), || {
        speech_worker_of(child.child.id())
            .filter(|pid| *pid != worker)
            .ok_or(())
    });
    let output = child.finish();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(
        log.contains(&format!(
            "worker process {worker} ended (signal 6 (SIGABRT))"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!("worker process {next} started")),
        "{log}"
    );
    assert_media(&out, 160, 90, 10, 16.0);
    // The host speaks in the last seconds, long after the crash (silence is about -91 dB).
    let late = mean_volume_db_from(&out, 11.0);
    assert!(
        late > -50.0,
        "the last 5 s are silent ({late:.1} dB)\n{log}"
    );
}

/// The pid of `parent`'s `speech-worker` child, if it has one now.
fn speech_worker_of(parent: u32) -> Option<u32> {
    running_processes().find_map(|(pid, dir)| {
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        // Fields after the command name, which is in parentheses: state, ppid, …
        let ppid: u32 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        let cmdline = std::fs::read(dir.join("cmdline")).ok()?;
        let is_worker = cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == b"speech-worker");
        (ppid == parent && is_worker).then_some(pid)
    })
}

/// A 160×90, 10 fps show on the colour-panel scene whose `[voice]` table is `voice`.
fn tiny_speaking_show(dir: &Scratch, voice: &str) -> std::path::PathBuf {
    let show = dir.path("show.toml");
    std::fs::write(
        &show,
        format!(
            "scene = \"{}\"\n[video]\nwidth = 160\nheight = 90\nfps = 10\n[render]\nmsaa = 1\n\
             [voice]\n{voice}",
            fixture("colour_panels.ron").display()
        ),
    )
    .unwrap();
    show
}
