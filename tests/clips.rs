//! `twincast clips`: short videos of the catalog in two languages on a vertical program,
//! each checked as an upload page would (size, codecs, index first, length, loudness)
//! and as a viewer sees it (the card where the portrait layout puts it, captions in the
//! clip's language, a cover picture).

use crate::common::media::{count_pixels, probe, r128, rgb_frame, stream};
use crate::common::{Scratch, panel_show_in, run, run_ok};
use std::path::Path;

const PROGRAM: &str = r##"
[[programs]]
name = "vertical"
width = 180
height = 320
language = "zh"

[[clips]]
products = ["kettle"]
title = { en = "{name} at {price} yuan", zh = "{name}｜{price}元" }
hashtags = { en = ["#{name}", "#test factory"], zh = ["#{name}", "#工厂直销"] }
lines = ["[Wave] Our {name}: {points}.", "Only {price} yuan."]
translations.zh = ["我们的{name}：{points}。", "只要{price}元。"]
cover_seconds = 1.5
"##;

/// The top-level boxes of an MP4, in file order.
fn top_boxes(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let mut boxes = Vec::new();
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        boxes.push(String::from_utf8_lossy(&data[at + 4..at + 8]).into_owned());
        if size < 8 {
            break;
        }
        at += size;
    }
    boxes
}

fn has_cjk(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The end of the last cue of a SubRip file, in seconds.
fn last_cue_end(srt: &str) -> f64 {
    let line = srt.lines().rfind(|l| l.contains(" --> ")).expect("a cue");
    let end = line.split(" --> ").nth(1).unwrap();
    let parts: Vec<f64> = end
        .replace(',', ".")
        .split(':')
        .map(|p| p.parse().unwrap())
        .collect();
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
}

fn check_clip(dir: &Path, name: &str, zh: bool) {
    let video = dir.join(format!("{name}.mp4"));
    let p = probe(&video);
    let v = stream(&p, "video");
    assert_eq!(v["codec_name"], "h264", "{name}");
    assert_eq!(v["profile"], "High", "{name}");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(180), Some(320))
    );
    assert_eq!(stream(&p, "audio")["codec_name"], "aac", "{name}");
    let boxes = top_boxes(&video);
    let moov = boxes.iter().position(|b| b == "moov").expect("a moov box");
    let mdat = boxes.iter().position(|b| b == "mdat").expect("an mdat box");
    assert!(moov < mdat, "{name}: the index is not first: {boxes:?}");
    assert!(
        !boxes.iter().any(|b| b == "moof"),
        "{name}: fragmented: {boxes:?}"
    );
    let seconds: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((3.0..=20.2).contains(&seconds), "{name}: {seconds} s");

    let srt = std::fs::read_to_string(dir.join(format!("{name}.srt"))).unwrap();
    let vtt = std::fs::read_to_string(dir.join(format!("{name}.vtt"))).unwrap();
    assert!(vtt.starts_with("WEBVTT\n\n"), "{vtt}");
    assert!(srt.matches(" --> ").count() >= 2, "{name}: {srt}");
    assert_eq!(srt.matches(" --> ").count(), vtt.matches(" --> ").count());
    assert_eq!(
        has_cjk(&srt),
        zh,
        "{name}: captions in the wrong language: {srt}"
    );
    assert!(
        !srt.contains('['),
        "{name}: a stage cue in the captions: {srt}"
    );
    let said_until = last_cue_end(&srt);
    assert!(
        said_until > 1.0 && said_until <= seconds - 1.0,
        "{name}: the words end at {said_until} s of {seconds} s"
    );

    let cover = image::open(dir.join(format!("{name}.jpg"))).expect("a cover picture");
    assert_eq!((cover.width(), cover.height()), (180, 320), "{name}");
    let post = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
    assert!(post.contains('#'), "{name}: no hashtags: {post}");
    let (lufs, peak) = r128(&video);
    assert!(
        (-14.7..=-13.3).contains(&lufs),
        "{name}: {lufs} LUFS, want -14"
    );
    assert!(peak <= 0.0, "{name}: peak {peak} dBFS");
}

#[test]
fn clips_of_the_catalog_in_two_languages_on_a_vertical_program() {
    let dir = Scratch::new("clips");
    let show = panel_show_in(&dir, "shop.toml", PROGRAM);
    let out = dir.path("clips");
    let args = [
        "clips",
        show.to_str().unwrap(),
        "--program",
        "vertical",
        "--languages",
        "zh,en",
        "--seconds",
        "3..20",
        "-o",
        out.to_str().unwrap(),
    ];
    let made = run_ok(&args);
    let table = String::from_utf8_lossy(&made.stdout);
    for name in ["kettle-zh", "kettle-en", "fan-zh", "fan-en"] {
        assert!(table.contains(name), "{name} not in the summary:\n{table}");
        check_clip(&out, name, name.ends_with("zh"));
    }
    assert!(table.contains("LUFS"), "{table}");
    assert!(table.contains("4 clips made"), "{table}");
    assert!(!table.contains("words cut"), "{table}");

    // The template's title and hashtags, filled; spaces cannot be in a hashtag.
    let post = std::fs::read_to_string(out.join("kettle-en.txt")).unwrap();
    assert!(post.starts_with("kettle at 129 yuan\n"), "{post}");
    assert!(post.contains("#kettle #testfactory"), "{post}");
    let post = std::fs::read_to_string(out.join("kettle-zh.txt")).unwrap();
    assert!(post.starts_with("电水壶｜129元\n"), "{post}");

    // The portrait layout: the product card (white) at the lower left, above the
    // captions, clear of the platform's bottom fifth; nothing of it on the right.
    let frame = rgb_frame(&out.join("kettle-en.mp4"), 20);
    let white = |p: [u8; 3]| p.iter().all(|&c| c > 200);
    let (card, all) = count_pixels(&frame, 10..100, 175..215, white);
    assert!(
        card * 2 > all,
        "the card is not at the lower left: {card} of {all} white"
    );
    let (low, all_low) = count_pixels(&frame, 0..180, 260..320, white);
    assert!(
        low * 20 < all_low,
        "graphics in the platform's bottom zone: {low} of {all_low}"
    );
    let (right, all_right) = count_pixels(&frame, 130..175, 100..170, white);
    assert!(
        right * 10 < all_right,
        "the card is on the right: {right} of {all_right}"
    );

    // Run again: every clip is kept, nothing is rendered or rewritten.
    let before = std::fs::metadata(out.join("fan-en.mp4"))
        .unwrap()
        .modified()
        .unwrap();
    let again = run_ok(&args);
    let table = String::from_utf8_lossy(&again.stdout);
    assert!(
        table.contains("0 clips made (4 kept from before)"),
        "{table}"
    );
    let after = std::fs::metadata(out.join("fan-en.mp4"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);

    // A product not in the catalog is refused by name, before anything is made.
    let bad = run(&[
        "clips",
        show.to_str().unwrap(),
        "--products",
        "kettle,nope",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no product `nope`"));
}

/// With a language model, products the show file has no `[[clips]]` for get a script
/// from it: its lines pass the compliance filter and the placeholder check, as drafted
/// rundown lines do, and are said and captioned in the clip's language.
#[test]
fn a_language_model_writes_the_scripts_the_show_file_lacks() {
    let dir = Scratch::new("clips-model");
    let model = crate::common::llm::ModelServer::start(&dir.0);
    let extra = format!("{PROGRAM}\n[llm]\nurl = {:?}\n", model.url("/whole"));
    let show = panel_show_in(&dir, "shop.toml", &extra);
    let out = dir.path("clips");
    let args = [
        "clips",
        show.to_str().unwrap(),
        "--products",
        "fan",
        "--languages",
        "en,zh",
        "--seconds",
        "3..20",
        "-o",
        out.to_str().unwrap(),
    ];
    run_ok(&args);
    let en = std::fs::read_to_string(out.join("fan-en.srt")).unwrap();
    assert!(en.contains("Meet fan, only 89 today!"), "{en}");
    assert!(en.contains("fan: three speeds."), "{en}");
    // The rule breaker ("the best … ever") was refused, the unknown placeholder dropped.
    assert!(
        !en.contains("best") && !en.contains("phone") && !en.contains('{'),
        "{en}"
    );
    let zh = std::fs::read_to_string(out.join("fan-zh.srt")).unwrap();
    assert!(zh.contains("今天的风扇只要89元！"), "{zh}");
    assert!(!zh.contains("最好"), "{zh}");
    // The post keeps the built-in title and hashtags.
    let post = std::fs::read_to_string(out.join("fan-en.txt")).unwrap();
    assert!(post.contains("#fan"), "{post}");
}
