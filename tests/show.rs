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

/// Reads a binary PPM (P6) written by [`write_ppm`].
fn read_ppm(path: &Path) -> (u32, u32, Vec<u8>) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while data[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !data[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..at]).to_string());
    }
    assert_eq!(fields[0], "P6");
    let (w, h) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, data[at + 1..].to_vec())
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
