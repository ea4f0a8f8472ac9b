use crate::common::*;
use std::time::Duration;

/// The fixture scene to FLV and MP4: streams, size, rate, duration, pts, and known colours.
#[test]
fn render_fixture_to_flv_and_mp4_with_known_colours() {
    let dir = Scratch::new("render-fixture");
    let show = fixture("colour_panels.toml");
    for ext in ["flv", "mp4", "mkv"] {
        let out = dir.path(&format!("panels.{ext}"));
        render_to(&show, 3, &out);
        assert_media(&out, 640, 360, 30, 3.0);

        assert_colour_panels(&rgb_frame(&out, 45), 10.0);
    }
}

/// The built-in demo show renders a showroom, not a blank frame.
#[test]
fn render_demo_show_is_a_real_picture() {
    let dir = Scratch::new("render-demo");
    let out = dir.path("demo.mp4");
    run_ok(&[
        "render",
        "--seconds",
        "3",
        "--size",
        "640x360",
        "--preset",
        "ultrafast",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_media(&out, 640, 360, 30, 3.0);
    let frame = rgb_frame(&out, 60);
    let luma: Vec<f64> = frame
        .2
        .chunks_exact(3)
        .map(|p| 0.2126 * p[0] as f64 + 0.7152 * p[1] as f64 + 0.0722 * p[2] as f64)
        .collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    let var = luma.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luma.len() as f64;
    assert!(
        var.sqrt() > 20.0,
        "frame is nearly uniform (stddev {})",
        var.sqrt()
    );
    assert!(
        mean > 40.0 && mean < 220.0,
        "frame is too dark or blown out (mean {mean})"
    );
    // The music bed is on the audio track.
    let volume = mean_volume_db(&out);
    assert!(volume > -45.0, "audio is (nearly) silent: {volume} dB");
    // The unlit brand banner across the top of the back wall is red, with the shop's name
    // written on it in white.
    let (red, n) = count_pixels(&frame, 200..440, 70..80, |p| {
        let [r, g, b] = p.map(f64::from);
        r > 120.0 && r > 2.0 * g && r > 2.0 * b
    });
    let (white, _) = count_pixels(&frame, 200..440, 70..80, |p| p.iter().all(|c| *c > 180));
    assert!(red * 2 > n, "the banner is not red: {red} of {n} pixels");
    assert!(
        white * 50 > n,
        "no writing on the banner: {white} of {n} pixels"
    );
    // What the host said is recorded beside the recording, not in the show's own audit
    // log (the record of what went on air).
    let said = read_json_lines(&dir.path("demo.said.jsonl"));
    assert!(
        said.iter()
            .any(|l| l["media"].as_f64().is_some_and(|m| m < 1.0)),
        "{said:?}"
    );
}

/// SIGTERM in the middle of a render still leaves a complete, playable file.
#[test]
fn sigterm_mid_render_leaves_a_playable_file() {
    let dir = Scratch::new("sigterm");
    let out = dir.path("cut.mp4");
    let show = fixture("colour_panels.toml");
    let mut child = twincast()
        .args([
            "render",
            show.to_str().unwrap(),
            "--seconds",
            "600",
            "--output",
            out.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map(Stopped::new)
        .unwrap();
    // Let it get going: the file exists once the header is written; then some frames.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) < 50_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "render never started writing"
        );
        assert!(child.try_wait().unwrap().is_none(), "render exited early");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.into_inner().wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "exit after SIGTERM: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    let p = probe(&out);
    let seconds: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!(seconds > 0.1 && seconds < 600.0, "duration {seconds}");
    // Decoding the whole file reports no error.
    let decode = decode(&out);
    assert!(
        decode.status.success() && decode.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&decode.stderr)
    );
}

/// Rendering at half size and scaling up keeps the output size and the colours.
#[test]
fn render_scale_renders_smaller_and_outputs_full_size() {
    let dir = Scratch::new("render-scale");
    let out = dir.path("half.mkv");
    let show = fixture("colour_panels.toml");
    render_with(&show, 1, &out, &["--render-scale", "0.5"]);
    assert_media(&out, 640, 360, 30, 1.0);
    let frame = rgb_frame(&out, 15);
    assert_colour_near(
        patch_mean(&frame, 320, 40, 8),
        [0x33, 0x66, 0xcc],
        10.0,
        "backdrop",
    );
    assert_colour_near(
        patch_mean(&frame, 165, 180, 8),
        [0xe0, 0xc0, 0x20],
        10.0,
        "yellow card",
    );
}

/// The demo host speaks, and the encoded program sits at broadcast loudness.
#[test]
fn demo_speaks_at_broadcast_loudness() {
    let dir = Scratch::new("loudness");
    let out = dir.path("speech.mkv");
    let run = run_ok(&[
        "render",
        "--seconds",
        "15",
        // The day slot (English), whatever the hour the test runs at.
        "--clock",
        "12:00",
        "--size",
        "320x180",
        "--fps",
        "10",
        "--preset",
        "ultrafast",
        "--output",
        out.to_str().unwrap(),
    ]);
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(
        log.contains("speaking at") && log.contains("Welcome to the Twincast Factory Store"),
        "{log}"
    );
    let (integrated, true_peak) = r128(&out);
    assert!(
        (integrated + 16.0).abs() <= 1.0,
        "integrated loudness {integrated} LUFS"
    );
    assert!(true_peak <= -1.0, "true peak {true_peak} dBTP");
}

/// The presenter is alive: its region changes between frames while the set stays still.
#[test]
fn presenter_moves_on_a_still_set() {
    let dir = Scratch::new("presenter");
    let out = dir.path("host.mkv");
    let show = fixture("speech.toml");
    render_to(&show, 4, &out);
    let (a, b) = (rgb_frame(&out, 10), rgb_frame(&out, 50));
    let diff = |x0: u32, y0: u32, x1: u32, y1: u32| {
        let mut sum = 0.0;
        let mut n = 0.0;
        for y in y0..y1 {
            for x in x0..x1 {
                let i = ((y * 320 + x) * 3) as usize;
                for c in 0..3 {
                    sum += (a.2[i + c] as f64 - b.2[i + c] as f64).abs();
                }
                n += 1.0;
            }
        }
        sum / n
    };
    // The host stands left of centre; the banner spans the top of the back wall.
    let host = diff(70, 70, 160, 150);
    let banner = diff(110, 30, 210, 45);
    assert!(host > 3.0, "the host did not move ({host:.2})");
    assert!(banner < 1.0, "the set moved ({banner:.2})");
}

/// Level of the encoded audio per 0.1 s window, in dBFS (FFmpeg's astats).
fn levels_db(path: &std::path::Path) -> Vec<f64> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-af",
            "asetnsamples=n=4800:p=0,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.RMS_level:file=-",
            "-f", "null", "-",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("lavfi.astats.Overall.RMS_level="))
        .map(|v| v.trim().parse::<f64>().unwrap_or(-120.0))
        .collect()
}

/// In the encoded program the music sits lower under speech by the configured amount.
#[test]
fn music_ducks_under_speech_in_the_encoded_program() {
    let dir = Scratch::new("ducking");
    let tone = dir.path("tone.wav");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=20",
        ])
        .arg(&tone)
        .status()
        .unwrap();
    assert!(made.success());
    // A line of silence: what changes during it is the ducking alone.
    let show = dir.path("show.toml");
    std::fs::write(
        &show,
        format!(
            "scene = \"{scene}\"\n[video]\nwidth = 160\nheight = 90\nfps = 10\npreset = \"ultrafast\"\n\
             [render]\nmsaa = 1\nshadows = false\n\
             [audio]\nmusic = \"{tone}\"\nmusic_gain_db = -10.0\nnormalize = false\nduck_db = -12.0\n\
             [voice]\nengine = \"command:ffmpeg -v error -f lavfi -i anullsrc=r=22050:cl=mono -t 3 -y {{output}}\"\n\
             lines = [\"(silence)\"]\npause_seconds = 4.0\ncache_mb = 0\n",
            scene = fixture("colour_panels.ron").display(),
            tone = tone.display()
        ),
    )
    .unwrap();
    let out = dir.path("ducked.mkv");
    render_to(&show, 7, &out);
    let levels = levels_db(&out);
    let mean = |a: usize, b: usize| levels[a..b].iter().sum::<f64>() / (b - a) as f64;
    // The line starts at 0.2 s (two frames of lead) and lasts 3 s; release is 0.4 s.
    let under = mean(8, 28);
    let after = mean(42, 62);
    let ducked = under - after;
    assert!(
        (ducked + 12.0).abs() <= 1.0,
        "music ducked by {ducked:.2} dB (under {under:.1}, after {after:.1})"
    );
}

/// The demo's product shots show their product: each product camera renders the same
/// middle of the picture (where it looks: the product) with the host and without her. The
/// check is shown to bite by standing the host between the camera and the cake.
#[test]
fn the_demos_product_shots_show_the_product_unobstructed() {
    let dir = Scratch::new("product-shots");
    let assets = repo().join("assets");
    let scene = std::fs::read_to_string(assets.join("scenes/showroom.ron"))
        .unwrap()
        .replace("\"../", &format!("\"{}/", assets.display()));
    let start = scene.find("    presenter: (").unwrap();
    let end = start + scene[start..].find("\n    ),\n").unwrap() + "\n    ),\n".len();
    let without = format!("{}{}", &scene[..start], &scene[end..]);
    let in_the_way = host_before_the_cake(&scene);
    let render = |name: &str, scene_text: &str, camera: &str| {
        let scene_path = dir.path(&format!("{name}.ron"));
        std::fs::write(&scene_path, scene_text).unwrap();
        let show = dir.path(&format!("{name}-{camera}.toml"));
        std::fs::write(
            &show,
            format!(
                "scene = {:?}\ncamera = {camera:?}\n[video]\nwidth = 320\nheight = 180\nfps = 10\n",
                scene_path.to_str().unwrap()
            ),
        )
        .unwrap();
        let out = dir.path(&format!("{name}-{camera}.mkv"));
        render_to(&show, "0.3", &out);
        rgb_frame(&out, 2)
    };
    for camera in ["cake", "speeder"] {
        let with_host = render("with", &scene, camera);
        let alone = render("without", &without, camera);
        let d = middle_difference(&with_host, &alone);
        assert!(
            d < 4.0,
            "camera `{camera}`: the host changes the product's middle by {d:.1}"
        );
    }
    let blocked = render("in-the-way", &in_the_way, "cake");
    let alone = render("without", &without, "cake");
    let d = middle_difference(&blocked, &alone);
    assert!(
        d > 15.0,
        "a host in front of the cake changed the middle by only {d:.1}"
    );
}

/// A shot on camera `product` closes up on the product on air by its prop: the yellow
/// card (a shape) and the cake (a glTF prop) of the colour panels, on a scene with no
/// camera of that name. In the encoded picture the wide shot has the card left of centre
/// and small; its close-up has it in the middle, large; the cake's close-up has the cake's
/// colours, not the blue backdrop, in the middle.
#[test]
fn a_product_shot_closes_up_on_the_products_prop() {
    let dir = Scratch::new("product-camera");
    let show = dir.path("product.toml");
    std::fs::write(
        &show,
        format!(
            r#"scene = {:?}
[video]
width = 320
height = 180
fps = 10
preset = "ultrafast"
[render]
msaa = 1
shadows = false
[[products]]
id = "card"
name = {{ en = "card" }}
price = 1
prop = "yellow card"
[[products]]
id = "cake"
name = {{ en = "cake" }}
price = 2
prop = "cake"
[[segments]]
kind = "pitch"
product = "card"
seconds = 3
shots = [{{ camera = "front", seconds = 1 }}, {{ camera = "product", seconds = 2 }}]
[[segments]]
kind = "pitch"
product = "cake"
seconds = 2
shots = [{{ camera = "product", seconds = 2 }}]
"#,
            fixture("colour_panels.ron").to_str().unwrap()
        ),
    )
    .unwrap();
    let out = dir.path("product.mkv");
    render_to(&show, "4.5", &out);
    let yellow = |[r, g, b]: [u8; 3]| r > 170 && g > 140 && b < 90;
    let (wide, card, cake) = (rgb_frame(&out, 5), rgb_frame(&out, 25), rgb_frame(&out, 40));
    let (wide_at, wide_share) = centroid(&wide, yellow);
    let (card_at, card_share) = centroid(&card, yellow);
    assert!(
        wide_at < 0.35 && wide_share < 0.1,
        "wide shot: the card at {wide_at:.2} of the width, {wide_share:.2} of the picture"
    );
    assert!(
        (card_at - 0.5).abs() < 0.05 && card_share > 2.0 * wide_share,
        "close-up: the card at {card_at:.2} of the width, {card_share:.2} of the picture \
         (wide: {wide_share:.2})"
    );
    let backdrop = |[r, g, b]: [u8; 3]| b > 150 && r < 90 && (60..140).contains(&g);
    let (hits, all) = count_pixels(&cake, 120..200, 60..120, backdrop);
    let (wide_hits, _) = count_pixels(&wide, 120..200, 60..120, backdrop);
    assert!(
        hits * 4 < all && wide_hits * 2 > all,
        "the cake's close-up has {hits} of {all} backdrop pixels in the middle (wide: {wide_hits})"
    );
}

/// A black room with one yellow card at `x`, sold as product `card` in one long pitch on
/// `shots`; writes `scene.ron` and `show.toml` into `dir` and gives the scene's text.
fn one_card_show(dir: &Scratch, shots: &str) -> String {
    let scene = r##"(
    name: "one card",
    environment: (clear_color: "#000000", ambient_brightness: 500.0),
    cameras: [(name: "front", position: (0.0, 0.0, 5.0), look_at: (0.0, 0.0, 0.0), tonemapping: None)],
    shapes: [(name: "card", shape: Box(width: 1.0, height: 1.0, depth: 0.1), transform: (translation: (-1.5, 0.0, 0.0)), material: (color: "#e0c020", unlit: true))],
)"##;
    std::fs::write(dir.path("scene.ron"), scene).unwrap();
    std::fs::write(
        dir.path("show.toml"),
        format!(
            "scene = \"scene.ron\"\n[video]\nwidth = 160\nheight = 90\nfps = 10\npreset = \"ultrafast\"\n\
             [[products]]\nid = \"card\"\nname = {{ en = \"card\" }}\nprice = 1\nprop = \"card\"\n\
             [[segments]]\nkind = \"pitch\"\nproduct = \"card\"\nseconds = 600\nshots = {shots}\n"
        ),
    )
    .unwrap();
    scene.to_string()
}

/// The yellow pixels of a frame: their centroid across the picture and their share of it.
fn yellow_of(frame: &(u32, u32, Vec<u8>)) -> (f64, f64) {
    centroid(frame, |[r, g, b]| r > 170 && g > 140 && b < 90)
}

/// The product close-up follows its prop through a scene edit on air: the card moved to
/// the other side of the room is still in the middle of the picture, as large.
#[test]
fn a_product_close_up_follows_its_prop_moved_on_air() {
    let dir = Scratch::new("product-moved");
    let scene = one_card_show(&dir, r#"[{ camera = "product", seconds = 600 }]"#);
    let video = dir.path("stream.mkv");
    let mut stream = StreamBuilder::new(&dir.path("show.toml"))
        .args(["--seconds", "60", "--output", video.to_str().unwrap()])
        .log_to(&dir.path("stream.log"))
        .start();
    stream.logged("scene ready");
    std::thread::sleep(Duration::from_secs(3));
    std::fs::write(
        dir.path("scene.ron"),
        scene.replace("(-1.5, 0.0, 0.0)", "(1.5, 0.5, -1.0)"),
    )
    .unwrap();
    stream.logged("the set is rebuilt");
    std::thread::sleep(Duration::from_secs(3));
    stream.interrupt();
    let seconds = duration(&video);
    let yellow = |[r, g, b]: [u8; 3]| r > 170 && g > 140 && b < 90;
    let (before_at, before_share) = yellow_of(&rgb_frame(&video, 10));
    let last = rgb_frame(&video, (seconds * 10.0) as u32 - 3);
    let (after_at, after_share) = yellow_of(&last);
    let (top, _) = count_pixels(&last, 0..160, 0..45, yellow);
    let (bottom, _) = count_pixels(&last, 0..160, 45..90, yellow);
    assert!(
        (before_at - 0.5).abs() < 0.05 && before_share > 0.1,
        "before: the card at {before_at:.2}, {before_share:.2} of the picture"
    );
    assert!(
        (after_at - 0.5).abs() < 0.05 && (after_share - before_share).abs() < 0.05,
        "after: the card at {after_at:.2}, {after_share:.2} of the picture (before {before_share:.2})"
    );
    assert!(
        top.abs_diff(bottom) * 5 < top + bottom,
        "after: {top} of its pixels above the middle, {bottom} below"
    );
}

/// The operator cuts to the product close-up over the API while a segment holds its wide
/// shot: the card, left of centre, is in the middle and larger from then on. A camera the
/// scene lacks is refused by name.
#[test]
fn the_operator_cuts_to_the_product_close_up() {
    let dir = Scratch::new("product-cut");
    one_card_show(&dir, r#"[{ camera = "front", seconds = 600 }]"#);
    let video = dir.path("stream.mkv");
    let mut stream = StreamBuilder::new(&dir.path("show.toml"))
        .args(["--seconds", "60", "--output", video.to_str().unwrap()])
        .log_to(&dir.path("stream.log"))
        .with_api()
        .start();
    stream.logged("scene ready");
    std::thread::sleep(Duration::from_secs(3));
    let (code, text) = http(&stream.api, "POST", "/camera/nowhere", Some(TOKEN), "");
    assert_eq!(code, 404, "{text}");
    assert!(text.contains("front") && text.contains("product"), "{text}");
    let (code, text) = http(&stream.api, "POST", "/camera/product", Some(TOKEN), "");
    assert_eq!(code, 202, "{text}");
    std::thread::sleep(Duration::from_secs(3));
    stream.interrupt();
    let seconds = duration(&video);
    let (wide_at, wide_share) = yellow_of(&rgb_frame(&video, 10));
    let (cut_at, cut_share) = yellow_of(&rgb_frame(&video, (seconds * 10.0) as u32 - 3));
    assert!(
        wide_at < 0.4 && wide_share > 0.0,
        "wide: the card at {wide_at:.2}"
    );
    assert!(
        (cut_at - 0.5).abs() < 0.05 && cut_share > 2.0 * wide_share,
        "after the cut: the card at {cut_at:.2}, {cut_share:.2} of the picture (wide {wide_share:.2})"
    );
}

/// Where across the picture the pixels `want` holds for are (0 left, 1 right), and what
/// share of the picture they are.
fn centroid(frame: &(u32, u32, Vec<u8>), want: impl Fn([u8; 3]) -> bool) -> (f64, f64) {
    let (w, h) = (frame.0, frame.1);
    let (mut sum, mut n) = (0.0, 0u32);
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 3) as usize;
            if want([frame.2[i], frame.2[i + 1], frame.2[i + 2]]) {
                sum += x as f64;
                n += 1;
            }
        }
    }
    (sum / n.max(1) as f64 / w as f64, n as f64 / (w * h) as f64)
}

/// Mean absolute difference (0–255) of the middle third of two pictures.
fn middle_difference(a: &(u32, u32, Vec<u8>), b: &(u32, u32, Vec<u8>)) -> f64 {
    let (w, h) = (a.0 as usize, a.1 as usize);
    let (mut sum, mut n) = (0.0, 0usize);
    for y in h / 3..2 * h / 3 {
        for x in w / 3..2 * w / 3 {
            for c in 0..3 {
                let i = (y * w + x) * 3 + c;
                sum += (a.2[i] as f64 - b.2[i] as f64).abs();
                n += 1;
            }
        }
    }
    sum / n as f64
}

/// `render --reference` draws the full, slow way; a faster setting is judged by its PSNR
/// against it, frame by frame, on the demo's held opening shot (host, set, shadows): the
/// held shot (the set drawn once, the host's rectangle each frame), one shadow cascade,
/// hard shadow edges and lean lighting, each and all together.
#[test]
fn faster_settings_are_judged_against_the_reference_render() {
    let dir = Scratch::new("reference");
    let demo = demo_show();
    let render = |name: &str, render_table: &str, extra: &[&str]| {
        render_small(
            &dir,
            &demo.replace("shadows = true\n", render_table),
            name,
            "1.5",
            extra,
        )
    };
    let fast = "shadows = true\nshadow_filter = \"hardware2x2\"\n";
    let (reference, _) = render("reference", fast, &["--reference"]);
    let (again, _) = render(
        "again",
        "shadows = true\nshadow_filter = \"gaussian\"\nshadow_cascades = 4\n\
         held_shots = false\nlighting = \"full\"\n",
        &[],
    );
    let every_frame = "shadows = true\nshadow_filter = \"hardware2x2\"\nheld_shots = false\n";
    let (full, lean_log) = render("every-frame-full", every_frame, &[]);
    let (full_lighting, _) = render(
        "full-lighting",
        &format!("{every_frame}lighting = \"full\"\n"),
        &[],
    );
    let telemetry = dir.path("hard-shadows.jsonl");
    let (hard, _) = render(
        "hard-shadows",
        fast,
        &["--telemetry", telemetry.to_str().unwrap()],
    );
    let (auto, _) = render("auto", "shadows = true\n", &[]);
    let smaller_telemetry = dir.path("host-smaller.jsonl");
    let (smaller, _) = render(
        "host-smaller",
        &format!("{fast}host_pixels = 0.05\n"),
        &["--telemetry", smaller_telemetry.to_str().unwrap()],
    );
    let (flat, _) = render("no-shadows", "shadows = false\n", &[]);

    // The shot held from 0.5 s on (the twin's screens are drawn by then). The reference is
    // the full settings written out, and the same every time.
    let held = |a: &std::path::Path| {
        let all = psnr_per_frame(a, &reference);
        assert_eq!(all.len(), 15, "{all:?}");
        all[5..].to_vec()
    };
    // Two runs of a show are the same frames to the bit, from the first (the clock stands
    // still while the scene loads, however long that takes): PSNR reads 99 for identical.
    // (At this size x264's rate control never binds; at 720p its threads make files that
    // differ by a level here and there, docs/performance.md "The same frames every run".)
    let same = psnr_per_frame(&again, &reference);
    assert!(
        same.len() == 15 && same.iter().all(|p| *p >= 99.0),
        "two full renders differ: {same:?}"
    );
    // On lavapipe the default (`auto`) is the 2×2 filter.
    let auto_vs_hard = psnr_per_frame(&auto, &hard);
    assert!(
        auto_vs_hard[5..].iter().all(|p| *p >= 45.0),
        "auto is not hardware 2×2 here: {auto_vs_hard:?}"
    );
    // On lavapipe the lighting is the lean one (`auto`), and the demo's set looks the same
    // under it as under Bevy's full lighting.
    assert!(
        lean_log.contains("lighting: lean"),
        "lean lighting was not applied: {lean_log}"
    );
    // The demo's five glTF files (the host, four props) are each loaded once: asked for by
    // path, her scene and 14 clips were 15 loads, and the last to finish set her pose.
    assert!(
        lean_log.contains("(5 glTF file loads)"),
        "glTF files loaded more than once: {lean_log}"
    );
    let lean_vs_full = psnr_per_frame(&full, &full_lighting);
    assert!(
        lean_vs_full[5..].iter().all(|p| *p >= 50.0),
        "lean lighting differs from full lighting: {lean_vs_full:?} dB"
    );
    // The held frames were held: the set drawn once, the host's rectangle over it …
    let drawn = |path: &std::path::Path| {
        let text = std::fs::read_to_string(path).unwrap();
        let last: serde_json::Value =
            serde_json::from_str(text.lines().last().expect("telemetry")).unwrap();
        last["drawn"].clone()
    };
    let opening = drawn(&telemetry);
    let held_frames = opening["held"].as_u64().unwrap_or(0);
    assert!(held_frames >= 9, "frames drawn: {opening}");
    // … and look like frames drawn in full with the same settings: the rectangle's seams,
    // the host's bounds and her shadow all covered.
    let against_full = psnr_per_frame(&hard, &full);
    eprintln!("held against full, same settings: {against_full:?}");
    assert!(
        against_full[5..].iter().all(|p| *p >= 42.0),
        "held frames differ from full ones: {against_full:?} dB"
    );
    // Nor anywhere in them: no piece of the set missing or drawn over (a plinth behind
    // her, a slice of the cake), which the whole frame's PSNR would average away.
    for n in [6, 10, 14] {
        let (patch, at) = worst_patch_difference(&rgb_frame(&hard, n), &rgb_frame(&full, n), 4);
        eprintln!("held frame {n} against full: the 4×4 patch at {at:?} differs by {patch:.1}");
        assert!(
            patch <= 12.0,
            "frame {n}: the 4×4 patch at {at:?} differs by {patch:.1}"
        );
    }
    // A large host drawn with fewer pixels and stretched over her rectangle
    // (`render.host_pixels`; `auto` leaves so small a picture alone): drawn so on every
    // held frame, not the same picture, and still 35 dB or better against the reference.
    assert_eq!(opening["host_smaller"], 0, "{opening}");
    let smaller_drawn = drawn(&smaller_telemetry);
    let smaller_frames = smaller_drawn["host_smaller"].as_u64();
    assert!(smaller_frames >= Some(9), "{smaller_drawn}");
    let smaller_vs_hard = psnr_per_frame(&smaller, &hard);
    assert!(
        smaller_vs_hard[5..].iter().all(|p| *p < 99.0),
        "the host drawn smaller is the same picture: {smaller_vs_hard:?}"
    );
    let smaller = held(&smaller);
    eprintln!("host drawn smaller against the reference: {smaller:?}");
    assert!(
        smaller.iter().all(|p| *p >= 35.0),
        "host drawn smaller: {smaller:?} dB"
    );
    // Hard shadow edges and one cascade cost nothing visible: every frame at 35 dB or
    // better against the reference …
    let hard = held(&hard);
    assert!(
        hard.iter().all(|p| *p >= 35.0),
        "hardware 2×2 shadows: {hard:?} dB"
    );
    // … while losing the shadows does, which the same measure sees.
    let flat = held(&flat);
    eprintln!("hardware 2×2 shadows {hard:?}; no shadows {flat:?}");
    let worst_hard = hard.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        flat.iter().all(|p| *p < worst_hard),
        "no shadows ({flat:?} dB) scored as well as hard ones ({hard:?} dB)"
    );
}

/// Her shadow on a textured floor: held frames look like frames drawn in full. A catcher
/// reckons the share of light her shadow takes after tone mapping, so it depends on each
/// pixel's colour: catchers on a textured piece, reckoned with the material's flat colour,
/// left the shadow on the floor's dark squares about 10 levels off (this test's patch
/// 9.7); such a piece's tiles are drawn lit (2.0–2.3 here).
#[test]
fn her_shadow_on_a_textured_floor_looks_as_drawn_in_full() {
    let dir = Scratch::new("textured-floor");
    write_checker_floor(&dir);
    let assets = repo().join("assets");
    let floor_shape = r##"        (name: "floor", shape: Plane(width: 16.0, depth: 12.0), material: (color: "#cfcac2", roughness: 0.35), cast_shadows: false),
"##;
    let scene = std::fs::read_to_string(assets.join("scenes/showroom.ron")).unwrap();
    assert!(scene.contains(floor_shape), "the demo's floor changed");
    let scene = scene
        .replace(floor_shape, "")
        .replace("\"../", &format!("\"{}/", assets.display()))
        .replace(
            "    props: [\n",
            "    props: [\n        (name: \"floor\", asset: \"floor.gltf\"),\n",
        );
    std::fs::write(dir.path("showroom.ron"), scene).unwrap();
    let show = demo_show().replace(
        &format!("{}/scenes/showroom.ron", assets.display()),
        dir.path("showroom.ron").to_str().unwrap(),
    );
    let (held, _) = render_small(&dir, &show, "held", "4", &[]);
    let full_show = show.replace("shadows = true\n", "shadows = true\nheld_shots = false\n");
    let (full, _) = render_small(&dir, &full_show, "full", "4", &[]);
    for n in [10, 16, 22, 28, 34, 38] {
        let (patch, at) = worst_patch_difference(&rgb_frame(&held, n), &rgb_frame(&full, n), 4);
        eprintln!("held frame {n} against full: the 4×4 patch at {at:?} differs by {patch:.1}");
        assert!(
            patch <= 6.0,
            "frame {n}: the 4×4 patch at {at:?} differs by {patch:.1}"
        );
    }
}

/// `floor.gltf`: a 16 × 12 m floor of light and dark squares (a 64² texture, repeated),
/// glossy as the demo's own floor.
fn write_checker_floor(dir: &Scratch) {
    let checker = image::RgbImage::from_fn(64, 64, |x, y| {
        if (x / 8 + y / 8) % 2 == 1 {
            image::Rgb([70, 48, 32])
        } else {
            image::Rgb([215, 190, 150])
        }
    });
    checker.save(dir.path("floor.png")).unwrap();
    let mut bin = Vec::new();
    let floats: [&[f32]; 3] = [
        &[-8., 0., -6., 8., 0., -6., 8., 0., 6., -8., 0., 6.],
        &[0., 1., 0., 0., 1., 0., 0., 1., 0., 0., 1., 0.],
        &[0., 0., 8., 0., 8., 6., 0., 6.],
    ];
    for v in floats.iter().flat_map(|a| a.iter()) {
        bin.extend_from_slice(&v.to_le_bytes());
    }
    for i in [0u16, 2, 1, 0, 3, 2] {
        bin.extend_from_slice(&i.to_le_bytes());
    }
    std::fs::write(dir.path("floor.bin"), &bin).unwrap();
    let gltf = r#"{"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0]}],"nodes":[{"mesh":0}],
"meshes":[{"primitives":[{"attributes":{"POSITION":0,"NORMAL":1,"TEXCOORD_0":2},"indices":3,"material":0}]}],
"materials":[{"pbrMetallicRoughness":{"baseColorTexture":{"index":0},"metallicFactor":0.0,"roughnessFactor":0.35}}],
"textures":[{"source":0,"sampler":0}],
"samplers":[{"magFilter":9729,"minFilter":9987,"wrapS":10497,"wrapT":10497}],
"images":[{"uri":"floor.png"}],
"buffers":[{"uri":"floor.bin","byteLength":140}],
"bufferViews":[{"buffer":0,"byteOffset":0,"byteLength":48},{"buffer":0,"byteOffset":48,"byteLength":48},
{"buffer":0,"byteOffset":96,"byteLength":32},{"buffer":0,"byteOffset":128,"byteLength":12}],
"accessors":[{"bufferView":0,"componentType":5126,"count":4,"type":"VEC3","min":[-8,0,-6],"max":[8,0,6]},
{"bufferView":1,"componentType":5126,"count":4,"type":"VEC3"},
{"bufferView":2,"componentType":5126,"count":4,"type":"VEC2"},
{"bufferView":3,"componentType":5123,"count":6,"type":"SCALAR"}]}"#;
    std::fs::write(dir.path("floor.gltf"), gltf).unwrap();
}

/// While the camera glides, a frame is the whole view drawn smaller and stretched over the
/// picture (`render.glide_scale`; half the size at 720p on lavapipe), under sharp
/// graphics, and on lavapipe without MSAA (`render.glide_msaa`). The demo's opening move,
/// brought forward: from the wide shot to the close-up, 0.5 s in.
#[test]
fn glides_are_drawn_smaller_and_look_like_full_frames() {
    let dir = Scratch::new("glides");
    let opening = "shots = [{ camera = \"wide\", seconds = 8 }, \
                   { camera = \"closeup\", seconds = 6, move = 3 }]";
    let demo = demo_show();
    assert!(demo.contains(opening), "the demo's opening shots changed");
    let demo = demo.replace(
        opening,
        "shots = [{ camera = \"wide\", seconds = 0.5 }, \
         { camera = \"closeup\", seconds = 6, move = 2 }]",
    );
    let render = |name: &str, render_lines: &str| {
        let table = format!("shadows = true\n{render_lines}");
        let show = demo.replace("shadows = true\n", &table);
        let telemetry = dir.path(&format!("{name}.jsonl"));
        let extra = ["--telemetry", telemetry.to_str().unwrap()];
        (render_small(&dir, &show, name, "4", &extra).0, telemetry)
    };
    // `auto` would draw a picture this small in full.
    let (glide, telemetry) = render("glide", "glide_scale = 0.5\n");
    let (same_size, _) = render("glide-full-size", "glide_scale = 1\n");
    let (multisampled, _) = render("glide-msaa", "glide_scale = 0.5\nglide_msaa = \"on\"\n");
    let (full, _) = render("every-frame-full", "held_shots = false\n");

    // Which frames glided, from the telemetry (one record a frame).
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&telemetry)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 40, "one telemetry record a frame");
    // The frames whose count of `kind` (`glide`, `held`) went up, from `first` on.
    let drawn_as = |kind: &str, first: usize| -> Vec<usize> {
        let count = |i: usize| records[i]["drawn"][kind].as_u64().unwrap_or(0);
        (first.max(1)..40)
            .filter(|&i| count(i) > count(i - 1))
            .collect()
    };
    let gliding = drawn_as("glide", 1);
    assert!(gliding.len() >= 15, "glide frames: {gliding:?}");
    // The move's first frame that moves is drawn as a glide (its director has it on a
    // move), not whole with a new backdrop as a cut is, before the glides.
    let whole = drawn_as("full", 1);
    assert!(
        !whole.contains(&(gliding[0] - 1)),
        "drawn whole: {whole:?}, glides: {gliding:?}"
    );
    // Each record but the first says what its frame cost; the frame-costs script sums
    // them by kind, and finds the same glide frames.
    assert!(records[0]["frame_ms"].is_null(), "{}", records[0]);
    assert!(
        records[1..]
            .iter()
            .all(|r| r["frame_ms"].as_f64().is_some_and(|ms| ms > 0.0)),
        "frame_ms missing"
    );
    let costs = std::process::Command::new("python3")
        .arg(repo().join("scripts/frame-costs.py"))
        .arg(&telemetry)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&costs.stdout);
    let glides = (text.lines().find(|l| l.starts_with("glide ")))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<usize>().ok());
    assert_eq!(glides, Some(gliding.len()), "{text}");

    let at = |psnr: &[f64]| gliding.iter().map(|&i| psnr[i]).collect::<Vec<_>>();
    // Drawn at full size the same way, a glide frame is the frame drawn in full …
    let same = at(&psnr_per_frame(&same_size, &full));
    assert!(same.iter().all(|p| *p >= 45.0), "{same:?} dB");
    // … and at half the size it is softer, but the same picture: not shifted, cropped
    // or differently exposed, which would score far lower.
    let glide_vs_full = psnr_per_frame(&glide, &full);
    let half = at(&glide_vs_full);
    eprintln!("glide frames against full ones: half size {half:?}, full size {same:?}");
    assert!(half.iter().all(|p| *p >= 25.0), "{half:?} dB");
    // `auto` draws glides with one sample on lavapipe: another picture than with the
    // show's MSAA, about as close to frames drawn in full.
    let with_msaa = at(&psnr_per_frame(&multisampled, &full));
    let one_against_four = at(&psnr_per_frame(&glide, &multisampled));
    eprintln!(
        "half-size glides with MSAA: {with_msaa:?}; without against with: {one_against_four:?}"
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        one_against_four.iter().all(|p| *p < 45.0),
        "glides drawn with the show's MSAA by `auto`: {one_against_four:?} dB"
    );
    assert!(
        mean(&half) > mean(&with_msaa) - 1.5,
        "glides without MSAA much further from full frames: {half:?} against {with_msaa:?}"
    );
    assert!(
        mean(&half) < mean(&same) - 10.0,
        "half-size glides are as sharp as full ones: {half:?} against {same:?}"
    );
    // The close-up the glide ends on is held, though she fills most of it, and its held
    // frames (only she and what her shadow falls on, over the set drawn without her) look
    // like frames drawn in full.
    let held = drawn_as("held", gliding.last().copied().unwrap_or(0) + 1);
    assert!(held.len() >= 5, "held frames after the glide: {held:?}");
    let close_up: Vec<f64> = held.iter().map(|&i| glide_vs_full[i]).collect();
    eprintln!("held close-up frames against full ones: {close_up:?}");
    assert!(close_up.iter().all(|p| *p >= 40.0), "{close_up:?} dB");
}

/// The demo's opening cut between the wide shot and the close-up every second: the show
/// cuts back to each view, and a cut back to one whose backdrop is kept (the set unchanged
/// since) copies it in instead of drawing the set again. Those frames look like frames
/// drawn in full, as held frames on a new backdrop do.
#[test]
fn a_cut_back_to_a_view_shows_its_kept_backdrop() {
    let dir = Scratch::new("kept-backdrops");
    let demo = cutting_demo();
    let render = |name: &str, render_lines: &str| {
        let show = demo.replace(
            "shadows = true\n",
            &format!("shadows = true\n{render_lines}"),
        );
        let telemetry = dir.path(&format!("{name}.jsonl"));
        let extra = ["--telemetry", telemetry.to_str().unwrap()];
        (render_small(&dir, &show, name, "4.5", &extra).0, telemetry)
    };
    let (kept, telemetry) = render("kept", "");
    let (full, _) = render("every-frame-full", "held_shots = false\n");
    let records = json_lines_so_far(&telemetry);
    assert_eq!(records.len(), 45, "one telemetry record a frame");
    let count = |i: usize, kind: &str| records[i]["drawn"][kind].as_u64().unwrap_or(0);
    let reused: Vec<usize> = (1..45)
        .filter(|&i| count(i, "reused") > count(i - 1, "reused"))
        .collect();
    // Cut back to the wide shot at 2 s and 4 s, to the close-up at 3 s.
    assert!(reused.len() >= 3, "reused at {reused:?}: {}", records[44]);
    let psnr = psnr_per_frame(&kept, &full);
    let on_kept: Vec<f64> = reused
        .iter()
        .flat_map(|&i| [psnr[i], psnr[i + 1]])
        .collect();
    eprintln!("frames on kept backdrops against full ones: {on_kept:?}");
    assert!(on_kept.iter().all(|p| *p >= 40.0), "{on_kept:?} dB");
    for &n in &reused {
        let (patch, at) =
            worst_patch_difference(&rgb_frame(&kept, n as u32), &rgb_frame(&full, n as u32), 4);
        assert!(
            patch <= 12.0,
            "frame {n} (on a kept backdrop): the 4×4 patch at {at:?} differs by {patch:.1}"
        );
    }
}

/// The demo with its opening segment cutting between the wide shot and the close-up every
/// second.
fn cutting_demo() -> String {
    let opening = "shots = [{ camera = \"wide\", seconds = 8 }, \
                   { camera = \"closeup\", seconds = 6, move = 3 }]";
    let demo = demo_show();
    assert!(demo.contains(opening), "the demo's opening shots changed");
    demo.replace(
        opening,
        "shots = [{ camera = \"wide\", seconds = 1 }, { camera = \"closeup\", seconds = 1 }]",
    )
}

/// The demo's scene copied into `dir` with an API feed `push` and `edit` applied (its
/// asset paths made absolute), and `show` pointed at it; the show file's path.
fn pushed_demo(
    dir: &Scratch,
    show: String,
    edit: impl FnOnce(String) -> String,
) -> std::path::PathBuf {
    let assets = repo().join("assets");
    let scene = std::fs::read_to_string(assets.join("scenes/showroom.ron"))
        .unwrap()
        .replace("\"../", &format!("\"{}/", assets.display()))
        .replacen(
            "feeds: [",
            "feeds: [\n        (name: \"push\", source: Api, stale_after: 600.0),",
            1,
        );
    std::fs::write(dir.path("showroom.ron"), edit(scene)).unwrap();
    let show = show.replace(
        &format!("{}/scenes/showroom.ron", assets.display()),
        dir.path("showroom.ron").to_str().unwrap(),
    );
    std::fs::write(dir.path("demo.toml"), show).unwrap();
    dir.path("demo.toml")
}

/// `show` streaming at `size` and 10 fps for up to a minute, with the API, into `dir`'s
/// `NAME.mkv`, its telemetry in `NAME.jsonl`, its log in `NAME.log`.
fn pushed_stream(
    dir: &Scratch,
    show: &std::path::Path,
    name: &str,
    size: &str,
) -> (LiveStream, std::path::PathBuf, std::path::PathBuf) {
    let (out, telemetry) = (
        dir.path(&format!("{name}.mkv")),
        dir.path(&format!("{name}.jsonl")),
    );
    let stream = StreamBuilder::new(show)
        .args(["--size", size, "--fps", "10", "--clock", "12:00"])
        .args(["--seconds", "60", "-o", out.to_str().unwrap()])
        .args(["--telemetry", telemetry.to_str().unwrap()])
        .log_to(&dir.path(&format!("{name}.log")))
        // Why backdrops were drawn again, for a failure to show.
        .env("TWINCAST_LOG", "info,twincast::camera::held=debug")
        .with_api()
        .start();
    (stream, out, telemetry)
}

/// The frame of a [`pushed_stream`] (10 fps) at media time `seconds`.
fn frame_at(seconds: f64) -> usize {
    (seconds * 10.0).round() as usize
}

/// Pushes `body` to the scene's `push` feed; the media time it was pushed at.
fn push_twin(stream: &LiveStream, body: &str) -> f64 {
    let (code, answer) = http(&stream.api, "POST", "/twin/push", Some(TOKEN), body);
    assert_eq!(code, 202, "{answer}");
    media_seconds(&get_json(&stream.api, "/status"))
}

/// Waits until the telemetry shows `n` cuts back onto kept backdrops (it is written a
/// little behind the stream).
fn wait_for_cuts_back(telemetry: &std::path::Path, n: u64) {
    let waited = std::time::Instant::now();
    let last = loop {
        let last = json_lines_so_far(telemetry).pop().expect("telemetry");
        if drawn(&last, "reused") >= n || waited.elapsed().as_secs() > 20 {
            break last;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        drawn(&last, "reused") >= n,
        "fewer than {n} backdrops reused: {last}"
    );
}

/// A telemetry record's count of frames drawn one way (`camera::held`).
fn drawn(record: &serde_json::Value, kind: &str) -> u64 {
    record["drawn"][kind].as_u64().unwrap_or(0)
}

/// A `/status` answer's media time.
fn media_seconds(status: &serde_json::Value) -> f64 {
    status["media_seconds"].as_f64().unwrap_or(0.0)
}

/// A change of the set reaches every view a show cuts back to: the back wall, bound to a
/// twin value pushed while the show cuts between two views every second, turns green on
/// air within a second and stays so in both views. The backdrops kept for the views
/// (drawn before the push) are not shown again.
#[test]
fn a_change_of_the_set_reaches_every_view_the_show_cuts_back_to() {
    let dir = Scratch::new("kept-then-changed");
    let show = pushed_demo(&dir, cutting_demo(), |scene| {
        scene.replacen(
            "bindings: [",
            "bindings: [\n        (target: \"back wall\", value: \"push.state\", \
             show: Color(states: {\"fault\": \"#20e020\"})),",
            1,
        )
    });
    let (mut stream, out, telemetry) = pushed_stream(&dir, &show, "cuts", "256x144");
    stream.wait_status(60, |s| media_seconds(s) >= 3.6);
    wait_for_cuts_back(&telemetry, 2);
    let pushed_at = push_twin(&stream, r#"{"state": "fault"}"#);
    stream.wait_status(30, |s| media_seconds(s) >= pushed_at + 3.5);
    stream.interrupt();

    let frames = pixels_per_frame(&out, green);
    let greens: Vec<usize> = frames.iter().map(|f| f.len()).collect();
    eprintln!("green pixels a frame (pushed at {pushed_at:.2} s): {greens:?}");
    assert!(
        greens[..frame_at(pushed_at - 0.2)].iter().all(|n| *n < 50),
        "green before the push: {greens:?}"
    );
    let after = &greens[frame_at(pushed_at + 1.0)..frame_at(pushed_at + 3.4)];
    assert!(
        after.iter().all(|n| *n >= 500),
        "not green after the push: {greens:?}"
    );
}

/// A twin screen's new number is drawn over a held shot's backdrop in the screen's
/// rectangle only, and looks on air as it does once the whole set is drawn again: the
/// left screen, bound to a pushed value in green on black, shows it within a second of the
/// push in every frame after, and its rectangle then matches (≥ 45 dB; 50.6 measured, two
/// patched frames 53.5 apart) the frames after a second push hides a piece behind the
/// camera, which draws the backdrop whole.
#[test]
fn a_twin_screens_new_number_is_drawn_over_the_held_backdrop_as_it_would_be_whole() {
    let dir = Scratch::new("patched-screen");
    let show = pushed_demo(&dir, demo_show(), |scene| {
        green_screen(scene)
            .replacen(
                "bindings: [",
                "bindings: [\n        (target: \"marker\", value: \"push.marker\", show: Visible),",
                1,
            )
            // Behind the wide camera, out of the picture: hiding it changes the set.
            .replacen(
                "shapes: [",
                "shapes: [\n        (name: \"marker\", shape: Box(width: 0.2, height: 0.2, depth: 0.2), \
                 transform: (translation: (0.0, 1.0, 9.0)), cast_shadows: false),",
                1,
            )
    });
    let (mut stream, out, telemetry) = pushed_stream(&dir, &show, "patched", "320x180");
    stream.wait_status(60, |s| media_seconds(s) >= 2.5);
    let patched_so_far = || drawn(json_lines_so_far(&telemetry).last().unwrap(), "patched");
    let patched_before = patched_so_far();
    let changed_at = push_twin(&stream, r#"{"orders": "888"}"#);
    stream.wait_status(30, |s| media_seconds(s) >= changed_at + 2.0);
    let patched = patched_so_far();
    let hidden_at = push_twin(&stream, r#"{"orders": "888", "marker": false}"#);
    stream.wait_status(30, |s| media_seconds(s) >= hidden_at + 2.0);
    stream.interrupt();
    assert!(
        patched > patched_before,
        "the new number was not drawn as a patch ({patched_before} → {patched})"
    );

    let frames = pixels_per_frame(&out, green);
    let greens: Vec<usize> = frames.iter().map(|f| f.len()).collect();
    eprintln!(
        "green pixels a frame (changed at {changed_at:.2} s, hidden at {hidden_at:.2} s): {greens:?}"
    );
    assert!(
        greens[..frame_at(changed_at - 0.2)].iter().all(|n| *n < 5),
        "green before the push: {greens:?}"
    );
    let (patched_frame, whole_frame) = (frame_at(hidden_at - 0.2), frame_at(hidden_at + 1.5));
    assert!(
        greens[frame_at(changed_at + 1.0)..=whole_frame]
            .iter()
            .all(|n| *n >= 20),
        "the new number is not on air in every frame: {greens:?}"
    );
    // The screen's rectangle: around its green digits, with room for its edges.
    let (mut lo, mut hi) = ((usize::MAX, usize::MAX), (0, 0));
    for (x, y) in &frames[patched_frame] {
        (lo, hi) = ((lo.0.min(*x), lo.1.min(*y)), (hi.0.max(*x), hi.1.max(*y)));
    }
    let region = |f: &(u32, u32, Vec<u8>)| -> Vec<u8> {
        let (x0, y0) = (lo.0.saturating_sub(12), lo.1.saturating_sub(12));
        let (x1, y1) = (
            (hi.0 + 12).min(f.0 as usize - 1),
            (hi.1 + 12).min(f.1 as usize - 1),
        );
        (y0..=y1)
            .flat_map(|y| (x0..=x1).map(move |x| (y * f.0 as usize + x) * 3))
            .flat_map(|i| f.2[i..i + 3].to_vec())
            .collect()
    };
    let db = |a: usize, b: usize| {
        let (a, b) = (
            region(&rgb_frame(&out, a as u32)),
            region(&rgb_frame(&out, b as u32)),
        );
        let mse = (a.iter().zip(&b))
            .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
    };
    let (floor, db) = (
        db(patched_frame - 5, patched_frame),
        db(patched_frame, whole_frame),
    );
    eprintln!(
        "the screen's rectangle {lo:?}..{hi:?}: {db:.1} dB patched against whole \
         ({floor:.1} dB between two patched frames)"
    );
    assert!(
        db >= 45.0,
        "patched screen {db:.1} dB against the whole set drawn"
    );
}

/// The demo's scene `scene` with its left screen showing the `push` feed's `orders` in
/// large green digits on black ([`green`]).
fn green_screen(scene: String) -> String {
    let screen = "(target: \"screen left\", value: \"factory.orders_today\", \
                  show: Text(format: \"今日订单 Orders today\\n{value}\")),";
    assert!(scene.contains(screen), "the demo's left screen changed");
    scene.replace(
        screen,
        "(target: \"screen left\", value: \"push.orders\", show: Text(format: \"{value}\", \
         color: \"#20e020\", background: \"#000000\", size: 90.0)),",
    )
}

/// A clearly green pixel.
fn green([r, g, b]: [u8; 3]) -> bool {
    g as i32 > r as i32 + 60 && g as i32 > b as i32 + 60
}

/// A twin screen's new number reaches the backdrops kept for the views a show cuts back
/// to as patches, not as backdrops drawn again: pushed while the show cuts between two
/// views every second, the left screen's number (in both views) is on air within a
/// second and in every frame after; each cut back after the push lands on a kept
/// backdrop, and no frame is drawn whole.
#[test]
fn a_twin_screens_new_number_is_drawn_into_the_backdrops_kept_for_cuts_back() {
    let dir = Scratch::new("kept-then-patched");
    let show = pushed_demo(&dir, cutting_demo(), green_screen);
    let (mut stream, out, telemetry) = pushed_stream(&dir, &show, "cuts", "320x180");
    stream.wait_status(60, |s| media_seconds(s) >= 3.6);
    wait_for_cuts_back(&telemetry, 2);
    let pushed_at = push_twin(&stream, r#"{"orders": "888"}"#);
    stream.wait_status(30, |s| media_seconds(s) >= pushed_at + 4.5);
    let log = stream.interrupt();
    let changes: Vec<&str> = (log.lines())
        .filter(|l| l.contains("the set changed"))
        .collect();

    let records = json_lines_so_far(&telemetry);
    let when = |t: f64| {
        let record = records.iter().find(|r| r["time"].as_f64().unwrap() >= t);
        record.unwrap_or_else(|| records.last().unwrap())
    };
    let (pushed, end) = (when(pushed_at), when(pushed_at + 4.4));
    let since = |kind: &str| drawn(end, kind) - drawn(pushed, kind);
    eprintln!("after the push: {pushed} … {end}");
    assert_eq!(
        since("full"),
        0,
        "frames drawn whole after the push: {end}; the set changed: {changes:#?}"
    );
    assert!(since("reused") >= 3, "cuts back onto kept backdrops: {end}");
    // One into the backdrop on air, one into the other view's when the show cuts to it.
    assert!(since("patched") >= 2, "patches drawn: {end}");

    let greens: Vec<usize> = (pixels_per_frame(&out, green).iter())
        .map(|f| f.len())
        .collect();
    eprintln!("green pixels a frame (pushed at {pushed_at:.2} s): {greens:?}");
    assert!(
        greens[..frame_at(pushed_at - 0.2)].iter().all(|n| *n < 5),
        "green before the push: {greens:?}"
    );
    assert!(
        greens[frame_at(pushed_at + 1.0)..frame_at(pushed_at + 4.4)]
            .iter()
            .all(|n| *n >= 20),
        "the new number is not on air in every frame: {greens:?}"
    );
}

/// A stream whose turns cost more than a frame's time (made so on purpose: each 60 ms
/// longer) draws the host's layer smaller, a step at a time down to the lowest level,
/// rather than repeat ever more pictures: `/status`, `/metrics` and the status line say
/// so, and the telemetry shows her drawn smaller, which `auto` never does in a picture
/// this small. `render` hands the world no frame cost, so it draws as planned (the
/// reference test checks two renders are the same to the bit).
#[test]
fn a_stream_behind_real_time_draws_her_smaller_to_keep_pace() {
    let dir = Scratch::new("keep-pace");
    let show = dir.path("demo.toml");
    std::fs::write(&show, demo_show()).unwrap();
    let (out, telemetry) = (dir.path("paced.mkv"), dir.path("paced.jsonl"));
    let mut stream = StreamBuilder::new(&show)
        .args([
            "--size",
            "256x144",
            "--clock",
            "12:00",
            "--status-every",
            "1",
        ])
        // Ends by itself should the test fail before it is stopped.
        .args(["--seconds", "150"])
        .args(["-o", out.to_str().unwrap()])
        .args(["--telemetry", telemetry.to_str().unwrap()])
        .env("TWINCAST_FAULT", "slow-render:60")
        .log_to(&dir.path("paced.log"))
        .with_api()
        .start();
    let lowest = |s: &serde_json::Value| s["pace"]["held"].as_f64().is_some_and(|h| h < 0.71);
    let status = stream.wait_status(90, lowest);
    assert_eq!(status["pace"]["glide"], 1.0, "{status}");
    // Behind real time: its frames begin late, in `/status`, `/metrics` and the status line.
    stream.wait_status(30, |s| s["ahead_seconds"].as_f64() < Some(0.0));
    let (code, metrics) = http(&stream.api, "GET", "/metrics", None, "");
    assert_eq!(code, 200, "{metrics}");
    assert!(
        metrics.contains("twincast_pace_held_scale 0.7"),
        "{metrics}"
    );
    stream.logged("pace held 0.70 glide 1.00");
    assert!(metrics.contains("twincast_ahead_seconds "), "{metrics}");
    stream.logged(" | behind ");
    // A level falls at once (`camera::held::pace`): let some frames be drawn at it.
    wait_until("frames drawn smaller", Duration::from_secs(30), || {
        let records = json_lines_so_far(&telemetry);
        let last = records.last().map(|r| r["drawn"]["host_smaller"].as_u64());
        if last.flatten() >= Some(10) {
            Ok(())
        } else {
            Err(last)
        }
    });
    // The run's summary counts the frames drawn smaller, beside those repeated.
    let log = stream.interrupt();
    assert!(
        log.contains("drawn smaller to keep pace (lowest: held 0.70, glide 1.00)"),
        "{log}"
    );
    let records = json_lines_so_far(&telemetry);
    let last = records.last().expect("telemetry");
    assert!(last["pace"]["held"].as_f64() < Some(0.71), "{last}");
    let smaller = last["drawn"]["host_smaller"].as_u64().unwrap_or(0);
    assert!(smaller >= 10, "{last}");
    // The lead (`runtime::lead`) was all of `video.render_ahead_ms` (500), as over any
    // stream's first 30 s; no frame began earlier than it allowed.
    let ms = |r: &serde_json::Value, key: &str| r[key].as_f64().unwrap();
    for r in &records {
        assert_eq!(ms(r, "lead_ms"), 500.0, "{r}");
        assert!(ms(r, "early_ms") <= 500.1, "{r}");
    }
    // What viewers got is the show's picture, at its size, for as long as it ran.
    let streams = probe(&out)["streams"].clone();
    let video = (streams.as_array().into_iter().flatten())
        .find(|s| s["codec_type"] == "video")
        .expect("a video stream");
    let size = (video["width"].as_u64(), video["height"].as_u64());
    assert_eq!(size, (Some(256), Some(144)), "{video}");
}

/// The demo show, its asset paths made absolute so a copy of it can be written anywhere.
fn demo_show() -> String {
    let assets = repo().join("assets");
    let demo = std::fs::read_to_string(assets.join("shows/demo.toml"))
        .unwrap()
        .replace("\"../", &format!("\"{}/", assets.display()));
    assert!(
        demo.contains("shadows = true\n"),
        "the demo lost its shadows"
    );
    demo
}

/// Renders `show` (a show file's text) as `name` at 256×144 and 10 fps for `seconds`:
/// the file written and its log. Always at noon, the demo's English day slot: renders
/// compared with each other must not straddle a change of schedule slot (one run, started
/// at 05:59, spoke Chinese while the next, at 06:00, spoke English).
fn render_small(
    dir: &Scratch,
    show: &str,
    name: &str,
    seconds: &str,
    extra: &[&str],
) -> (std::path::PathBuf, String) {
    let file = dir.path(&format!("{name}.toml"));
    std::fs::write(&file, show).unwrap();
    let out = dir.path(&format!("{name}.mkv"));
    let mut args = vec![
        "render",
        file.to_str().unwrap(),
        "--size",
        "256x144",
        "--fps",
        "10",
        "--bitrate",
        "3000",
        "--seconds",
        seconds,
        "--clock",
        "12:00",
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let log = String::from_utf8_lossy(&run_ok(&args).stderr).into_owned();
    (out, log)
}

/// `bench render`: its figures say where the meshes were batched (on a CPU renderer, on
/// the CPU: `scene::cpu_batching`) and break a frame down by pass, and the raw frames it
/// writes are the scene, drawn (with Bevy's two choices of batching disagreeing, nothing
/// but the clear colour was); drawn without held shots, every timed frame counts as full.
#[test]
fn bench_render_batches_where_the_renderer_is_and_draws_the_scene() {
    let dir = Scratch::new("bench-render");
    let raw = dir.path("frames.rgba");
    let show = fixture("colour_panels.toml");
    let bench = |frames: &str, size: &str, extra: &[&str]| {
        let args = [
            "bench",
            "render",
            show.to_str().unwrap(),
            "--frames",
            frames,
            "--size",
            size,
        ];
        let out = run_ok(&[&args[..], extra].concat());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let stdout = bench("10", "320x180", &["--raw", raw.to_str().unwrap()]);
    let figures = (stdout.lines())
        .find(|l| l.starts_with("render_only "))
        .unwrap_or_else(|| panic!("no render_only figures in:\n{stdout}"));
    assert!(figures.contains(" frames=10 "), "{figures}");
    let on_cpu = figures.contains(", Cpu)\"");
    let batching = if on_cpu {
        " batching=cpu"
    } else {
        " batching=gpu"
    };
    assert!(figures.contains(batching), "want{batching}: {figures}");
    assert!(
        stdout.lines().any(|l| l.starts_with("render_pass pass=")),
        "no per-pass breakdown:\n{stdout}"
    );
    let bytes = std::fs::read(&raw).unwrap();
    let size = 320 * 180 * 4;
    assert_eq!(bytes.len(), 10 * size, "ten 320x180 RGBA frames");
    let rgb = bytes[9 * size..]
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    assert_colour_panels(&(320, 180, rgb), 6.0);
    // Drawn every frame in full, it says so (it said 0 full frames: nothing counted them).
    let stdout = bench("3", "64x36", &["--no-held-shots"]);
    assert!(
        stdout.contains(" frames_full=3 frames_held=0 frames_glide=0 "),
        "{stdout}"
    );
}

/// The colour-panel fixture's backdrop (top middle) and yellow card (left of centre), as
/// written in its scene, in a frame of any size of its 16:9 picture.
fn assert_colour_panels(frame: &(u32, u32, Vec<u8>), tolerance: f64) {
    let at = |v: u32| v * frame.0 / 640;
    let backdrop = patch_mean(frame, at(320), at(40), at(8).max(2));
    assert_colour_near(backdrop, [0x33, 0x66, 0xcc], tolerance, "backdrop");
    let card = patch_mean(frame, at(165), at(180), at(8).max(2));
    assert_colour_near(card, [0xe0, 0xc0, 0x20], tolerance, "yellow card");
}

/// `render.msaa` takes 1, 2, 4 or 8, but a renderer may lack some (lavapipe has 1 and 4):
/// the show draws with the most samples it has up to the count asked for. Before, 2 or 8
/// stopped the renderer on its first frame and `render` wrote an empty file, exiting 0.
#[test]
fn an_msaa_count_the_renderer_lacks_draws_with_one_it_has() {
    let dir = Scratch::new("msaa-fallback");
    let text = std::fs::read_to_string(panel_show_in(&dir, "colour_panels.toml", ""))
        .unwrap()
        .replace("width = 640\nheight = 360", "width = 160\nheight = 90");
    for samples in [2, 8] {
        let show = dir.path(&format!("msaa{samples}.toml"));
        let with = text.replace("msaa = 1", &format!("msaa = {samples}"));
        assert_ne!(with, text, "the fixture's msaa line moved");
        std::fs::write(&show, with).unwrap();
        let out = dir.path(&format!("msaa{samples}.mkv"));
        render_to(&show, 1, &out);
        assert_media(&out, 160, 90, 30, 1.0);
        let (_, _, rgb) = rgb_frame(&out, 15);
        let mean = rgb.iter().map(|&v| v as f64).sum::<f64>() / rgb.len() as f64;
        assert!(
            mean > 20.0,
            "msaa {samples}: the picture is dark ({mean:.1})"
        );
    }
}

/// A shot looks as its camera is set: a cut from a camera without tone mapping to one
/// with it changes the picture's colours, and the cut back restores them. Before, every
/// shot was tone-mapped as the camera on air at start.
#[test]
fn each_shot_has_its_cameras_tone_mapping() {
    let dir = Scratch::new("shot-tonemapping");
    let scene = std::fs::read_to_string(fixture("colour_panels.ron"))
        .unwrap()
        .replace("../../assets/", &format!("{}/assets/", repo().display()));
    let graded = "        (name: \"graded\", position: (0.0, 0.0, 5.0), look_at: (0.0, 0.0, 0.0), fov_degrees: 50.0, tonemapping: AgX),\n    ],";
    let scene = scene.replacen("\n    ],", &format!("\n{graded}"), 1);
    assert!(scene.contains("AgX"), "{scene}");
    std::fs::write(dir.path("panels.ron"), scene).unwrap();
    let show = std::fs::read_to_string(fixture("colour_panels.toml"))
        .unwrap()
        .replace("colour_panels.ron", "panels.ron")
        .replace("width = 640\nheight = 360", "width = 320\nheight = 180")
        + "\n[[segments]]\nkind = \"tour\"\nseconds = 3\nshots = [\
           { camera = \"front\", seconds = 1 }, { camera = \"graded\", seconds = 1 }, \
           { camera = \"front\", seconds = 1 }]\n";
    std::fs::write(dir.path("panels.toml"), show).unwrap();
    let out = dir.path("cuts.mkv");
    render_to(&dir.path("panels.toml"), 3, &out);
    let fps = 30;
    let card = |n: u32| patch_mean(&rgb_frame(&out, n), 82, 90, 4);
    assert_colour_near(card(fps / 2), [0xe0, 0xc0, 0x20], 10.0, "plain, first shot");
    let graded = card(fps + fps / 2);
    let off: f64 = graded
        .iter()
        .zip([0xe0, 0xc0, 0x20])
        .map(|(g, w)| (g - w as f64).abs())
        .sum();
    assert!(off > 30.0, "the graded shot looks plain: {graded:?}");
    assert_colour_near(
        card(2 * fps + fps / 2),
        [0xe0, 0xc0, 0x20],
        10.0,
        "plain again",
    );
}
