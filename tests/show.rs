//! The show's graphics in the encoded picture: the product card during a flash sale, its
//! live countdown, and a Chinese caption drawn with real glyphs.

use crate::common::*;
use std::path::Path;

/// The picture's rows and columns of a region, as packed RGB.
fn crop(frame: &(u32, u32, Vec<u8>), x0: u32, y0: u32, w: u32, h: u32) -> Vec<u8> {
    let (fw, _, data) = frame;
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in y0..y0 + h {
        let start = ((y * fw + x0) * 3) as usize;
        out.extend_from_slice(&data[start..start + (w * 3) as usize]);
    }
    out
}

fn count(pixels: &[u8], want: impl Fn(u8, u8, u8) -> bool) -> usize {
    pixels
        .chunks_exact(3)
        .filter(|p| want(p[0], p[1], p[2]))
        .count()
}

fn write_ppm(path: &Path, w: u32, h: u32, pixels: &[u8]) {
    let mut data = format!("P6\n{w} {h}\n255\n").into_bytes();
    data.extend_from_slice(pixels);
    std::fs::write(path, data).unwrap();
}

#[test]
fn flash_sale_card_countdown_and_chinese_captions_are_drawn() {
    let dir = Scratch::new("graphics");
    let out = dir.path("flash.mp4");
    let show = fixture("flash_zh.toml");
    render_to(&show, 5, &out);
    // 480x270: one `vh` is 2.7 px. The card sits right of x≈340 from y≈48 down.
    let early = rgb_frame(&out, 15); // 1 s
    let late = rgb_frame(&out, 45); // 3 s
    let card = |f| crop(f, 340, 48, 128, 110);
    let red = |r: u8, g: u8, b: u8| r > 180 && g < 90 && b < 90;
    let white = |r: u8, g: u8, b: u8| r > 220 && g > 220 && b > 220;
    let (card_early, card_late) = (card(&early), card(&late));
    assert!(
        count(&card_late, red) > 400,
        "no red flash price or banner on the card"
    );
    assert!(count(&card_late, white) > 3000, "no white card");
    // The product's picture (plain green) is on the card.
    let green = |r: u8, g: u8, b: u8| g > 150 && r < 90 && b < 120;
    assert!(
        count(&card_late, green) > 300,
        "no product picture on the card"
    );
    // The countdown ticks: the banner differs between 1 s and 3 s.
    let banner = |f| crop(f, 340, 48, 128, 16);
    assert_ne!(banner(&early), banner(&late), "the countdown did not move");
    assert_ne!(card_early, Vec::<u8>::new());

    // Bottom centre: the caption of the Chinese line, against a reference picture.
    let (x, y, w, h) = (100, 236, 280, 26);
    let caption = crop(&late, x, y, w, h);
    let text = |r: u8, g: u8, b: u8| r > 200 && g > 200 && b > 200;
    assert!(count(&caption, text) > 150, "no caption text at the bottom");
    let reference = repo().join("tests/fixtures/reference/caption_zh.ppm");
    if std::env::var_os("TWINCAST_BLESS").is_some() {
        write_ppm(&reference, w, h, &caption);
        write_ppm(&dir.path("frame.ppm"), late.0, late.1, &late.2);
        eprintln!("wrote {}", reference.display());
        return;
    }
    let (rw, rh, want) = read_ppm(&reference);
    assert_eq!((rw, rh), (w, h));
    let diff: f64 = caption
        .iter()
        .zip(&want)
        .map(|(a, b)| (*a as f64 - *b as f64).abs())
        .sum::<f64>()
        / caption.len() as f64;
    assert!(
        diff < 8.0,
        "caption differs from tests/fixtures/reference/caption_zh.ppm by {diff:.1} per channel"
    );
}

/// Edits to the show and scene files while it streams are checked as at start: a broken
/// placeholder, a shot naming a camera the scene lacks, or a product's `prop` naming no
/// set piece, is refused with its line; a scene that drops a camera the rundown names, or
/// a product's piece, is refused. A good edit is on air from the
/// next segment, and the API knows the product it adds. A camera moved in the scene is on
/// air at once.
#[test]
fn the_show_and_scene_files_reload_while_streaming() {
    let dir = Scratch::new("reload");
    let scene_text = std::fs::read_to_string(fixture("colour_panels.ron"))
        .unwrap()
        .replace("../../assets/", &format!("{}/assets/", repo().display()));
    let scene = dir.path("panels.ron");
    std::fs::write(&scene, &scene_text).unwrap();
    let original = std::fs::read_to_string(fixture("shop.toml"))
        .unwrap()
        .replace("scene = \"colour_panels.ron\"", "scene = \"panels.ron\"")
        // A short loop, so the edited segment comes round soon.
        .replace("countdown = 30", "countdown = 3")
        .replace(
            "lines = [\"Ask me anything.\"]",
            "lines = [\"Ask me anything.\"]\nshots = [{ camera = \"front\", seconds = 5 }]",
        );
    let audit = dir.path("said.jsonl");
    let with_audit = |text: &str| format!("{text}\n[compliance]\naudit_log = \"said.jsonl\"\n");
    let show = dir.path("shop.toml");
    std::fs::write(&show, with_audit(&original)).unwrap();
    let video = dir.path("stream.mkv");
    let mut stream = StreamBuilder::new(&show)
        .args(["--seconds", "90", "--output", video.to_str().unwrap()])
        .stderr(std::fs::File::create(dir.path("stream.log")).unwrap())
        .with_api()
        .start();
    let said = || std::fs::read_to_string(&audit).unwrap_or_default();
    let log = || std::fs::read_to_string(dir.path("stream.log")).unwrap_or_default();
    let wait_for = |what: &str, seconds: u64, text: &dyn Fn() -> String| {
        wait_until(what, std::time::Duration::from_secs(seconds), || {
            if text().contains(what) {
                Ok(())
            } else {
                Err(text())
            }
        })
    };
    wait_for("Welcome to Test Factory.", 30, &said);
    let product = |id: &str| {
        http(
            &stream.api,
            "POST",
            &format!("/product/{id}"),
            Some(TOKEN),
            "",
        )
    };
    assert_eq!(product("lamp").0, 404);

    // A typo in a placeholder, then in a camera's name: each refused with its line.
    let broken = original.replace("Ask me anything.", "Ask me about {prce}.");
    std::fs::write(&show, with_audit(&broken)).unwrap();
    wait_for("unknown placeholder", 10, &log);
    let typo = original.replace("camera = \"front\"", "camera = \"frnt\"");
    std::fs::write(&show, with_audit(&typo)).unwrap();
    wait_for("the scene has no camera `frnt`", 10, &log);
    let (_, feed) = http(&stream.api, "GET", "/feed", Some(TOKEN), "");
    assert!(
        feed.contains("shop.toml: edit refused") && feed.contains("frnt"),
        "{feed}"
    );
    // The console's reload button reads the same file: refused the same way.
    let (code, body) = http(&stream.api, "POST", "/reload", Some(TOKEN), "");
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("the scene has no camera `frnt`"), "{body}");
    // The scene renames the camera the rundown names: refused.
    std::fs::write(&scene, scene_text.replace("\"front\"", "\"side\"")).unwrap();
    wait_for("the scene stays as it was", 10, &log);
    // A product shown by a prop the set has no piece of: refused, naming the pieces.
    let lamp = |prop: &str| {
        format!(
            "[[products]]\nid = \"lamp\"\nname = {{ en = \"lamp\" }}\nprice = 59\n{prop}\n[[segments]]"
        )
    };
    let misplaced = original.replacen("[[segments]]", &lamp("prop = \"cakes\""), 1);
    std::fs::write(&show, with_audit(&misplaced)).unwrap();
    wait_for(
        "the scene has no set piece `cakes` (it has: backdrop",
        10,
        &log,
    );
    // A good edit, with a product the API did not know, and a bitrate and a language read
    // at start only.
    let lamp = lamp("prop = \"cake\"");
    let edited = original
        .replace("Ask me anything.", "Edited: ask me anything.")
        .replacen("[[segments]]", &lamp, 1)
        .replace("bitrate_kbps = 800", "bitrate_kbps = 900")
        .replace("language = \"en\"", "language = \"zh\"");
    std::fs::write(&show, with_audit(&edited)).unwrap();
    wait_for("Edited: ask me anything.", 30, &said);
    let (code, body) = product("lamp");
    assert_eq!(code, 202, "{body}");
    // The console's reload of the same file is taken, naming what waits for a restart.
    let (code, body) = http(&stream.api, "POST", "/reload", Some(TOKEN), "");
    assert_eq!(code, 202, "{body}");
    assert!(
        body.contains(r#""restart_needed":["`language`","[video]"]"#),
        "{body}"
    );
    // The console's menus name the products in the language the show runs in.
    let catalog = get_json(&stream.api, "/catalog").to_string();
    assert!(
        catalog.contains("kettle") && !catalog.contains("电水壶"),
        "{catalog}"
    );
    // The scene drops the piece the lamp is shown by: refused.
    std::fs::write(
        &scene,
        scene_text.replace("(name: \"cake\"", "(name: \"torte\""),
    )
    .unwrap();
    wait_for("no set piece `cake`", 10, &log);
    // The camera turned right, past the yellow card: the picture is all backdrop.
    let turned = scene_text.replace(
        "position: (0.0, 0.0, 5.0), look_at: (0.0, 0.0, 0.0)",
        "position: (10.0, 0.0, 5.0), look_at: (10.0, 0.0, 0.0)",
    );
    std::fs::write(&scene, turned).unwrap();
    wait_for("changed; the set is rebuilt", 10, &log);
    std::thread::sleep(std::time::Duration::from_secs(4));
    // SAFETY: signals our own child process.
    unsafe { libc::kill(stream.child.id() as i32, libc::SIGINT) };
    let status = stream.child.wait().unwrap();
    let log = log();
    assert!(status.success(), "{log}");
    let line = typo.lines().position(|l| l.contains("frnt")).unwrap() + 1;
    assert!(log.contains(&format!("shop.toml:{line}:")), "{log}");
    let line = broken.lines().position(|l| l.contains("{prce}")).unwrap() + 1;
    assert!(log.contains(&format!("shop.toml:{line}:")), "{log}");
    assert!(log.contains("the scene has no camera `front`"), "{log}");
    assert!(
        log.contains("`language`, [video] changed: read at start only"),
        "{log}"
    );
    assert!(!said().contains("{prce}"));

    let yellow = |p: [u8; 3]| p[0] > 180 && p[1] > 150 && p[2] < 90;
    let seconds = duration(&video);
    let first = rgb_frame(&video, 3);
    let last = rgb_frame(&video, (seconds * 15.0) as u32 - 3);
    let (w, h) = (first.0, first.1);
    assert!(count_pixels(&first, 0..w, 0..h, yellow).0 > 1000);
    assert_eq!(count_pixels(&last, 0..w, 0..h, yellow).0, 0);
}

/// A scene edit that stands the presenter between a product camera and its product is
/// warned of while the show streams, as it is at start (`camera::sight`): taken, since
/// the show is the operator's, but named with its segment, shot and camera.
#[test]
fn a_scene_edit_that_hides_a_product_is_warned_of() {
    let dir = Scratch::new("sight-reload");
    let assets = repo().join("assets");
    let absolute = |text: String| text.replace("\"../", &format!("\"{}/", assets.display()));
    let scene = absolute(std::fs::read_to_string(assets.join("scenes/showroom.ron")).unwrap());
    std::fs::write(dir.path("showroom.ron"), &scene).unwrap();
    let show = absolute(std::fs::read_to_string(assets.join("shows/demo.toml")).unwrap())
        .replace(
            &format!("{}/scenes/showroom.ron", assets.display()),
            dir.path("showroom.ron").to_str().unwrap(),
        )
        .replace("width = 1280", "width = 160")
        .replace("height = 720", "height = 90")
        .replace("fps = 30", "fps = 10");
    assert!(show.contains("width = 160") && show.contains("sight-reload"));
    std::fs::write(dir.path("demo.toml"), show).unwrap();
    let mut stream = StreamBuilder::new(&dir.path("demo.toml"))
        .args([
            "--seconds",
            "60",
            "--output",
            dir.path("out.mkv").to_str().unwrap(),
        ])
        .log_to(&dir.path("stream.log"))
        .start();
    stream.logged("scene ready");
    let in_the_way = host_before_the_cake(&scene);
    std::fs::write(dir.path("showroom.ron"), in_the_way).unwrap();
    stream.logged("the set is rebuilt");
    let text = stream.interrupt();
    let warned = text.lines().find(|l| {
        l.contains("showroom.ron: segment")
            && l.contains("camera `cake`")
            && l.contains("the presenter stands between the camera and")
    });
    assert!(warned.is_some(), "{text}");
}
