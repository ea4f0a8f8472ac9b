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
    run_ok(&[
        "render",
        show.to_str().unwrap(),
        "--seconds",
        "5",
        "--output",
        out.to_str().unwrap(),
    ]);
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

/// Edits to the show file while it streams: a broken one is reported with its line and
/// changes nothing; a good one is on air from the next segment.
#[test]
fn the_show_file_reloads_while_streaming() {
    let dir = Scratch::new("reload");
    let original = std::fs::read_to_string(fixture("shop.toml"))
        .unwrap()
        .replace(
            "scene = \"colour_panels.ron\"",
            &format!(
                "scene = {:?}",
                fixture("colour_panels.ron").to_str().unwrap()
            ),
        )
        // A short loop, so the edited segment comes round soon.
        .replace("countdown = 30", "countdown = 3");
    let audit = dir.path("said.jsonl");
    let with_audit = |text: &str| format!("{text}\n[compliance]\naudit_log = \"said.jsonl\"\n");
    let show = dir.path("shop.toml");
    std::fs::write(&show, with_audit(&original)).unwrap();
    let mut child = twincast()
        .args(["stream", show.to_str().unwrap(), "--seconds", "60"])
        .args(["--output", "null"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let said = || std::fs::read_to_string(&audit).unwrap_or_default();
    let wait_for = |what: &str, seconds: u64| {
        let started = std::time::Instant::now();
        while !said().contains(what) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(seconds),
                "never said {what:?}:\n{}",
                said()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait_for("Welcome to Test Factory.", 30);

    // A typo in a placeholder: refused with its line, the show goes on unchanged.
    let broken = original.replace("Ask me anything.", "Ask me about {prce}.");
    std::fs::write(&show, with_audit(&broken)).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    // A good edit.
    let edited = original.replace("Ask me anything.", "Edited: ask me anything.");
    std::fs::write(&show, with_audit(&edited)).unwrap();
    wait_for("Edited: ask me anything.", 25);
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = broken.lines().position(|l| l.contains("{prce}")).unwrap() + 1;
    assert!(
        stderr.contains(&format!("shop.toml:{line}:")) && stderr.contains("unknown placeholder"),
        "{stderr}"
    );
    assert!(stderr.contains("the show goes on as it was"), "{stderr}");
    assert!(!said().contains("{prce}"));
}
