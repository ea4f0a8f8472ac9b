//! `twincast edit` in a real window under Xvfb: scripted edits change the scene, undo and
//! redo work, the saved file is canonical and holds the edits, the screenshot shows them,
//! and a stream running the same scene rebuilds its set when the file is saved.

use crate::common::*;
use std::time::{Duration, Instant};

#[test]
fn the_editor_moves_recolours_saves_and_a_running_stream_follows() {
    let dir = Scratch::new("editor");
    let scene = dir.path("six_walls.ron");
    std::fs::copy(fixture("six_walls.ron"), &scene).unwrap();
    std::fs::copy(fixture("six_walls.toml"), dir.path("six_walls.toml")).unwrap();
    let video = dir.path("stream.mkv");
    let mut stream = twincast()
        .args(["stream", dir.path("six_walls.toml").to_str().unwrap()])
        // Long enough for a slow editor on a busy machine; stopped once the set is rebuilt.
        .args(["--seconds", "90", "--output", video.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path("stream.log")).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::fs::metadata(&video).map_or(0, |m| m.len()) < 20_000 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "stream never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let script = dir.path("edit.txt");
    let shot = dir.path("shot.ppm");
    std::fs::write(
        &script,
        format!(
            "# recolour the front wall, move the east wall closer, undo and redo the move\n\
             wait 5\nselect front -z\ncolor #20e020\nselect east +x\nmove -2 0 0\nundo\nredo\n\
             # slide the west wall 100 px to the right with Shift+drag\n\
             select west -x\nhold ShiftLeft\ndrag 100 0\nwait 2\nrelease ShiftLeft\nwait 2\n\
             save\nwait 5\nscreenshot {}\nquit\n",
            shot.display()
        ),
    )
    .unwrap();
    let edit = on_virtual_display(&[
        "edit",
        scene.to_str().unwrap(),
        "--size",
        "640x360",
        "--commands",
        script.to_str().unwrap(),
    ]);
    let log = String::from_utf8_lossy(&edit.stderr);
    assert!(edit.status.success(), "{log}");
    assert!(log.contains("edit: saved"), "{log}");

    // The file holds the edits, in canonical form.
    let saved = std::fs::read_to_string(&scene).unwrap();
    let line = |name: &str| {
        saved
            .lines()
            .find(|l| l.contains(&format!("name: \"{name}\"")))
            .unwrap()
            .to_string()
    };
    assert!(line("front -z").contains("color: \"#20e020\""), "{saved}");
    assert!(
        line("east +x").contains("translation: (3.0, 0.0, 0.0)"),
        "{saved}"
    );
    // 100 px at 5 m with a 60° field in a 360 px high window: 1.6 m to the right.
    let west = line("west -x");
    let x: f64 = west
        .split("translation: (")
        .nth(1)
        .and_then(|t| t.split(',').next())
        .and_then(|x| x.trim().parse().ok())
        .unwrap();
    assert!((x - (-3.4)).abs() < 0.15, "dragged to x = {x}: {west}");
    let fmt = run_ok(&["scene", "fmt", scene.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&fmt.stdout),
        saved,
        "saved form is canonical"
    );

    // The window showed it: the front wall, above the inspector panel, is green.
    let picture = read_ppm(&shot);
    assert_eq!((picture.0, picture.1), (640, 360));
    assert_colour_near(
        patch_mean(&picture, 320, 90, 6),
        [0x20, 0xe0, 0x20],
        14.0,
        "front wall",
    );

    // The running stream rebuilt its set from the saved file; a few seconds of the new set
    // are recorded, then it is stopped as an operator would (SIGINT: a clean stop).
    wait_until(
        "the stream rebuilds its set",
        Duration::from_secs(30),
        || {
            let log = std::fs::read_to_string(dir.path("stream.log")).unwrap_or_default();
            if log.contains("the set is rebuilt") {
                Ok(())
            } else {
                Err(log.len())
            }
        },
    );
    // (The rebuild shows a few frames later; on a busy machine, seconds.)
    std::thread::sleep(Duration::from_secs(8));
    // SAFETY: signals our own child process.
    unsafe { libc::kill(stream.id() as i32, libc::SIGINT) };
    let status = stream.wait().unwrap();
    let stream_log = std::fs::read_to_string(dir.path("stream.log")).unwrap();
    assert!(status.success(), "{stream_log}");
    let probe = probe(&video);
    let fps = 10.0;
    // (MKV keeps the length in the container, not the stream.)
    let seconds = probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse::<f64>().ok())
        .expect("the recording's length");
    let frames = (seconds * fps) as u32;
    let first = rgb_frame(&video, 3);
    let last = rgb_frame(&video, frames - 3);
    assert_colour_near(
        patch_mean(&first, 256, 128, 6),
        [0xe0, 0x20, 0xe0],
        14.0,
        "before",
    );
    assert_colour_near(
        patch_mean(&last, 256, 128, 6),
        [0x20, 0xe0, 0x20],
        14.0,
        "after",
    );
}
