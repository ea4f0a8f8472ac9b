//! The digital twin: values pushed to the API, polled over HTTP and read from a file show
//! up on screens, colours and visibility in the encoded picture; a feed that turns to
//! garbage keeps its last value, marked stale.

use crate::common::*;
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Serves `{"temp": 21.5}` until `broken` is set, then garbage.
fn feed_server(broken: Arc<AtomicBool>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/twin.json", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let body = if broken.load(Ordering::Relaxed) {
                "{\"temp\": 2"
            } else {
                "{\"temp\": 21.5}"
            };
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn post(api: &str, path: &str, body: &str) -> (u16, String) {
    http(api, "POST", path, Some(TOKEN), body)
}

fn diff(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .sum::<f64>()
        / a.len() as f64
}

fn region(frame: &(u32, u32, Vec<u8>), x0: u32, y0: u32, w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for y in y0..y0 + h {
        let start = ((y * frame.0 + x0) * 3) as usize;
        out.extend_from_slice(&frame.2[start..start + (w * 3) as usize]);
    }
    out
}

#[test]
fn feeds_drive_screens_colours_and_visibility_and_go_stale() {
    let dir = Scratch::new("twin");
    let broken = Arc::new(AtomicBool::new(false));
    let url = feed_server(broken.clone());
    let scene = std::fs::read_to_string(fixture("twin_scene.ron"))
        .unwrap()
        .replace("http://127.0.0.1:9/twin.json", &url)
        .replace(
            "../../assets/avatars/RobotExpressive.glb",
            repo()
                .join("assets/avatars/RobotExpressive.glb")
                .to_str()
                .unwrap(),
        );
    std::fs::write(dir.path("twin_scene.ron"), scene).unwrap();
    std::fs::copy(fixture("twin.toml"), dir.path("twin.toml")).unwrap();
    let file_feed = dir.path("twin.json");
    std::fs::write(&file_feed, r#"{"beacon": true}"#).unwrap();
    let out = dir.path("twin.mkv");
    let live = StreamBuilder::new(&dir.path("twin.toml"))
        .args(["--seconds", "14", "--output"])
        .args([&out])
        .stderr(std::fs::File::create(dir.path("stderr.log")).unwrap())
        .with_api()
        .start();
    let api = live.api.clone();
    let s = live.wait_status(60, |s| {
        s["frames"].as_u64().unwrap_or(0) > 20 && s["twin"]["poll"]["stale"] == false
    });
    assert_eq!(s["twin"]["poll"]["doc"]["temp"], 21.5, "{s}");

    // Refusals.
    assert_eq!(post(&api, "/twin/nope", "{}").0, 404);
    assert_eq!(post(&api, "/twin/push", "[1, 2]").0, 422);
    assert_eq!(post(&api, "/twin/push", "{oops").0, 400);

    let pushed_at = get_json(&api, "/status")["media_seconds"].as_f64().unwrap();
    let (code, body) = post(
        &api,
        "/twin/push",
        r#"{"orders": 42, "state": "fault", "speed": 1.5}"#,
    );
    assert_eq!(code, 202, "{body}");
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::write(&file_feed, r#"{"beacon": false}"#).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    broken.store(true, Ordering::Relaxed);
    let s = live.wait_status(10, |s| s["twin"]["poll"]["stale"] == true);
    assert!(
        s["twin"]["poll"]["error"]
            .as_str()
            .unwrap()
            .contains("JSON"),
        "{s}"
    );
    assert_eq!(
        s["twin"]["poll"]["doc"]["temp"], 21.5,
        "last good value kept: {s}"
    );
    let stale_at = s["media_seconds"].as_f64().unwrap();
    let status_code = live.finish().status;
    let log = std::fs::read_to_string(dir.path("stderr.log")).unwrap();
    assert!(status_code.success(), "{log}");

    // 480×270, camera 5 units away with a 50° field: 57.9 px per unit from the centre.
    let fps = 15.0;
    let frame_at = |t: f64| rgb_frame(&out, (t * fps).round() as u32);
    let before = frame_at(pushed_at - 0.5);
    // The machine turns red within a second of the push.
    let red = |f: &(u32, u32, Vec<u8>)| {
        let c = patch_mean(f, 333, 118, 6);
        c[0] > 180.0 && c[1] < 80.0 && c[2] < 80.0
    };
    assert!(!red(&before), "red before the push");
    let turned = (0..30)
        .map(|k| pushed_at + k as f64 / fps)
        .find(|t| red(&frame_at(*t)))
        .expect("the machine never turned red");
    assert!(
        turned - pushed_at <= 1.0,
        "red {:.2} s after the push",
        turned - pushed_at
    );
    // The orders screen's text changed with it.
    let orders = |f: &(u32, u32, Vec<u8>)| region(f, 100, 85, 130, 65);
    let after = frame_at(pushed_at + 1.2);
    assert!(
        diff(&orders(&before), &orders(&after)) > 2.0,
        "the orders screen did not change"
    );
    // The robot stands still without a speed, and dances once the line has one.
    let robot = |t: f64| region(&frame_at(t), 395, 170, 70, 95);
    assert!(
        diff(&robot(pushed_at - 0.9), &robot(pushed_at - 0.3)) < 0.5,
        "the robot moved before it had a speed"
    );
    assert!(
        diff(&robot(pushed_at + 1.0), &robot(pushed_at + 1.4)) > 1.0,
        "the robot did not move at speed 1.5"
    );
    // The beacon was on, then hidden by the file feed.
    let beacon = |f: &(u32, u32, Vec<u8>)| patch_mean(f, 55, 48, 4);
    assert_colour_near(beacon(&before), [0xe0, 0xc0, 0x20], 25.0, "beacon on");
    let end = frame_at(13.8);
    assert_colour_near(beacon(&end), [0x33, 0x66, 0xcc], 25.0, "beacon hidden");
    // The temperature screen is marked stale after the feed broke.
    let temp = |f: &(u32, u32, Vec<u8>)| region(f, 185, 190, 110, 46);
    assert!(stale_at < 13.5, "went stale too late to see ({stale_at})");
    assert!(
        diff(&temp(&after), &temp(&end)) > 2.0,
        "the stale marking is not on screen"
    );
}

/// A scene edit to the twin is on air while the show streams: the machine, green for the
/// file feed's `running`, turns red once the scene is saved with a second file feed whose
/// `fault` is red bound to it (the new feed read, the new binding drawn).
#[test]
fn a_scene_edit_rebinds_the_twin_on_air() {
    let dir = Scratch::new("twin-rebound");
    std::fs::write(dir.path("twin.json"), r#"{"state": "running"}"#).unwrap();
    std::fs::write(dir.path("more.json"), r#"{"state": "fault"}"#).unwrap();
    let scene = r##"(
    name: "rebinding",
    environment: (clear_color: "#000000", ambient_brightness: 500.0),
    cameras: [(name: "front", position: (0.0, 0.0, 5.0), look_at: (0.0, 0.0, 0.0), tonemapping: None)],
    shapes: [(name: "machine", shape: Box(width: 2.0, height: 2.0, depth: 0.2), material: (color: "#808080", unlit: true))],
    feeds: [(name: "file", source: File(path: "twin.json"), stale_after: 600.0)],
    bindings: [(target: "machine", value: "file.state", show: Color(states: {"running": "#20c020"}))],
)"##;
    std::fs::write(dir.path("scene.ron"), scene).unwrap();
    std::fs::write(
        dir.path("show.toml"),
        "scene = \"scene.ron\"\n[video]\nwidth = 160\nheight = 90\nfps = 10\npreset = \"ultrafast\"\n",
    )
    .unwrap();
    let video = dir.path("stream.mkv");
    let mut stream = StreamBuilder::new(&dir.path("show.toml"))
        .args(["--seconds", "60", "--output", video.to_str().unwrap()])
        .log_to(&dir.path("stream.log"))
        .start();
    stream.logged("scene ready");
    std::thread::sleep(Duration::from_secs(3));
    let red = scene
        .replace(
            "stale_after: 600.0)]",
            "stale_after: 600.0), (name: \"more\", source: File(path: \"more.json\"))]",
        )
        .replace(
            "value: \"file.state\", show: Color(states: {\"running\": \"#20c020\"})",
            "value: \"more.state\", show: Color(states: {\"fault\": \"#e02020\"})",
        );
    assert!(red.contains("more.state"), "{red}");
    std::fs::write(dir.path("scene.ron"), red).unwrap();
    stream.logged("the set is rebuilt");
    std::thread::sleep(Duration::from_secs(3));
    let text = stream.interrupt();
    assert!(text.contains("the twin's feeds taken as edited"), "{text}");
    let seconds = duration(&video);
    let before = patch_mean(&rgb_frame(&video, 10), 80, 45, 6);
    let after = patch_mean(&rgb_frame(&video, (seconds * 10.0) as u32 - 3), 80, 45, 6);
    assert!(
        before[1] > 150.0 && before[0] < 80.0,
        "green before: {before:?}"
    );
    assert!(after[0] > 150.0 && after[1] < 80.0, "red after: {after:?}");
}
