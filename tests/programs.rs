//! Two programs from one world at once: a horizontal English program and a vertical
//! Chinese one, each to its own file (`[[outputs]] program`). Checked as viewers get them:
//! sizes and streams by ffprobe, each graphic where its layout puts it, each card (names,
//! prices in the program's currency) and voice in its program's language (against the
//! same program rendered alone), and the
//! two hosts in step (each line starts at the same moment in both, the shorter waiting).

use crate::common::media::{assert_media, count_pixels, probe, r128, rgb_frame, stream};
use crate::common::{
    RtmpServer, Scratch, StreamBuilder, TOKEN, free_port, http, panel_show_in, run_ok,
    wait_for_stable_file, webhook_event, webhook_receiver,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shop in two markets: English in US dollars (landscape), and Chinese in yuan, as
/// a vertical program and on the same picture.
fn bilingual_show(dir: &Scratch, outputs: &str) -> PathBuf {
    let extra = format!(
        r##"
[[programs]]
name = "vertical"
width = 180
height = 320
language = "zh"
currency = "¥"

[[programs]]
name = "chinese"
width = 320
height = 180
language = "zh"
currency = "¥"

[overlay]
currency = "US$"
{outputs}
"##
    );
    let path = panel_show_in(dir, "shop.toml", &extra);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace("width = 480\nheight = 270", "width = 320\nheight = 180")
        .replace(
            "stock = 50\n",
            "stock = 50\nprices.\"¥\" = { price = 899, flash_price = 699 }\n",
        )
        .replace(
            "points = [\"three speeds\"]\n",
            "points = [\"three speeds\"]\nprices.\"¥\" = { price = 599 }\n",
        )
        .replace(
            "lines = [\"Welcome to {shop}.\", [\"Hello again.\", \"Hi there.\"]]",
            "lines = [\"Welcome to {shop}.\", [\"Hello again.\", \"Hi there.\"]]\n\
             translations.zh = [\"欢迎来到{shop}。\", \"大家好。\"]",
        )
        .replace(
            "lines = [\"The {name}. {points}.\", \"Only {price} yuan.\"]",
            "lines = [\"The {name}. {points}.\", \"Only {price} yuan.\"]\n\
             translations.zh = [\"这是{name}。\", \"只要{price}元，今天下单立刻发货。\"]",
        );
    assert!(
        text.matches("translations.zh").count() == 2 && text.matches("prices.").count() == 2,
        "the fixture changed"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Loudness per 20 ms of the sound (RMS, mono at 8 kHz).
fn envelope(path: &Path) -> Vec<f64> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-ac", "1", "-ar", "8000", "-f", "f32le", "-"])
        .output()
        .unwrap();
    let samples: Vec<f64> = (out.stdout.chunks_exact(4))
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
        .collect();
    (samples.chunks_exact(160))
        .map(|w| (w.iter().map(|s| s * s).sum::<f64>() / 160.0).sqrt())
        .collect()
}

/// Seconds at which speech starts after at least 0.3 s of silence: where lines begin.
fn onsets(envelope: &[f64]) -> Vec<f64> {
    let mut quiet = 15;
    let mut found = Vec::new();
    for (i, &level) in envelope.iter().enumerate() {
        if level > 0.01 {
            if quiet >= 15 {
                found.push(i as f64 * 0.02);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    found
}

/// Pearson correlation of two envelopes over their first `n` windows.
fn correlation(a: &[f64], b: &[f64], n: usize) -> f64 {
    let (a, b) = (&a[..n], &b[..n]);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    cov / (var(a, ma) * var(b, mb)).sqrt()
}

/// Mean absolute difference of two frames of one size in a rectangle (0–255).
fn difference(
    a: &(u32, u32, Vec<u8>),
    b: &(u32, u32, Vec<u8>),
    (xs, ys): (std::ops::Range<u32>, std::ops::Range<u32>),
) -> f64 {
    let mut sum = 0.0;
    let mut count = 0.0;
    for y in ys {
        for x in xs.clone() {
            let i = ((y * a.0 + x) * 3) as usize;
            for c in 0..3 {
                sum += (a.2[i + c] as f64 - b.2[i + c] as f64).abs();
                count += 1.0;
            }
        }
    }
    sum / count
}

#[test]
fn a_vertical_chinese_and_a_horizontal_english_program_from_one_world() {
    let dir = Scratch::new("programs");
    let (main, vertical) = (dir.path("main.mp4"), dir.path("vertical.mp4"));
    let chinese = dir.path("chinese.mp4");
    let output = |path: &Path, program: &str| {
        format!(
            "[[outputs]]\nurl = {:?}\n{program}\n",
            path.to_str().unwrap()
        )
    };
    let outputs = [
        output(&main, ""),
        output(&vertical, "program = \"vertical\""),
        output(&chinese, "program = \"chinese\""),
    ]
    .concat();
    let show = bilingual_show(&dir, &outputs);
    let render = |args: &[&str]| {
        let mut all = vec!["render", show.to_str().unwrap(), "--seconds", "8"];
        all.extend(args);
        String::from_utf8_lossy(&run_ok(&all).stdout).into_owned()
    };
    let report = render(&[]);
    assert!(
        report.contains("vertical.mp4") && report.contains("chinese.mp4"),
        "{report}"
    );
    // The same programs, each alone, to compare with.
    let alone = dir.path("alone.mp4");
    render(&["-o", alone.to_str().unwrap()]);
    let alone_program = |name: &str| {
        let path = dir.path(&format!("alone-{name}.mp4"));
        render(&["--program-output", &format!("{name}={}", path.display())]);
        path
    };
    let (alone_vertical, alone_chinese) = (alone_program("vertical"), alone_program("chinese"));

    // Each file: its picture's size, H.264 and AAC, the whole length.
    let sizes = [
        (&main, (320, 180)),
        (&vertical, (180, 320)),
        (&chinese, (320, 180)),
    ];
    for (path, (w, h)) in sizes {
        let p = probe(path);
        let video = stream(&p, "video");
        assert_eq!(
            (video["width"].as_u64(), video["height"].as_u64()),
            (Some(w), Some(h))
        );
        assert_eq!(video["codec_name"], "h264");
        assert_eq!(stream(&p, "audio")["codec_name"], "aac");
        let seconds: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
        assert!(
            (seconds - 8.0).abs() < 0.2,
            "{}: {seconds} s",
            path.display()
        );
    }

    // At 6 s (the kettle's pitch) each card is where its layout puts it: top right in
    // landscape, lower left in portrait, clear of the phone's bottom fifth.
    let white = |p: [u8; 3]| p.iter().all(|&c| c > 200);
    let landscape = rgb_frame(&main, 90);
    let (card, all) = count_pixels(&landscape, 235..305, 40..75, white);
    assert!(card * 2 > all, "no card at the top right: {card} of {all}");
    let (left, all_left) = count_pixels(&landscape, 10..100, 100..170, white);
    assert!(
        left * 10 < all_left,
        "a card at the lower left: {left} of {all_left}"
    );
    let portrait = rgb_frame(&vertical, 90);
    let (card, all) = count_pixels(&portrait, 10..100, 178..215, white);
    assert!(card * 2 > all, "no card at the lower left: {card} of {all}");
    let (low, all_low) = count_pixels(&portrait, 0..180, 260..320, white);
    assert!(
        low * 20 < all_low,
        "graphics in the bottom zone: {low} of {all_low}"
    );

    // Each card in its program's language: as the program rendered alone shows it.
    // The card's name and price lines, where the two markets differ.
    let card_of_landscape = (232..300, 33..70);
    let card_of_portrait = (5..115, 170..222);
    let same = difference(
        &landscape,
        &rgb_frame(&alone, 90),
        card_of_landscape.clone(),
    );
    assert!(
        same < 1.0,
        "the English card differs from its own program's: {same:.1}"
    );
    let same = difference(&portrait, &rgb_frame(&alone_vertical, 90), card_of_portrait);
    assert!(
        same < 1.0,
        "the Chinese card differs from its own program's: {same:.1}"
    );

    // The Chinese program on the same picture: the set drawn once, its own graphics over
    // it. Its card is the Chinese one, not the English one under the same camera; and the
    // English picture, composed so, is the very picture it has alone (the first second,
    // before the two hosts' lines set different times).
    let shared = rgb_frame(&chinese, 90);
    let same = difference(
        &shared,
        &rgb_frame(&alone_chinese, 90),
        card_of_landscape.clone(),
    );
    assert!(
        same < 1.0,
        "the shared picture's Chinese card differs: {same:.1}"
    );
    let other = difference(&shared, &landscape, card_of_landscape.clone());
    assert!(
        other > 3.0,
        "the two cards on one picture look alike: {other:.1}"
    );
    let whole = (0..320, 0..180);
    let composed = difference(&rgb_frame(&main, 12), &rgb_frame(&alone, 12), whole);
    assert!(
        composed < 1.0,
        "composing changed the picture: {composed:.2}"
    );

    // Each voice in its language: the vertical program's sound is the Chinese program's
    // alone, and nothing like the English one beside it.
    let (heard, heard_vertical) = (envelope(&main), envelope(&vertical));
    let same_voice = correlation(&heard_vertical, &envelope(&alone_vertical), 90);
    let across = correlation(&heard_vertical, &heard, 90);
    assert!(
        same_voice > 0.95,
        "the vertical program is not the Chinese one: {same_voice:.2}"
    );
    assert!(across < 0.6, "the two programs sound alike: {across:.2}");

    // In step: every line starts at the same moment in both programs; the English host,
    // whose lines are shorter, waits for the Chinese one (alone, she would start sooner).
    let (starts, starts_vertical) = (onsets(&heard), onsets(&heard_vertical));
    assert!(starts.len() >= 3, "{starts:?}");
    for (a, b) in starts.iter().zip(&starts_vertical).take(3) {
        assert!(
            (a - b).abs() <= 0.06,
            "lines out of step: {starts:?} vs {starts_vertical:?}"
        );
    }
    let alone_starts = onsets(&envelope(&alone));
    assert!(
        alone_starts[1] + 0.5 < starts[1],
        "the English host did not wait: {alone_starts:?} vs {starts:?}"
    );

    // Each program's own mix at the show's loudness target (−16 LUFS), by FFmpeg's meter.
    for path in [&main, &vertical, &chinese] {
        let (lufs, peak) = r128(path);
        assert!((lufs + 16.0).abs() < 1.5, "{}: {lufs} LUFS", path.display());
        assert!(peak < 0.0, "{}: true peak {peak} dBTP", path.display());
    }
}

/// Live: `stream` sends the vertical Chinese program to an RTMP server (a phone's live
/// room) while recording the English one, both from one world in real time.
#[test]
fn stream_pushes_the_vertical_program_to_rtmp_beside_the_main_one() {
    let dir = Scratch::new("programs-live");
    let server = RtmpServer::start(&dir.0);
    let show = bilingual_show(&dir, "");
    let local = dir.path("english.flv");
    let push = format!("vertical={}", server.url("douyin"));
    run_ok(&[
        "stream",
        show.to_str().unwrap(),
        "--seconds",
        "4",
        "-o",
        local.to_str().unwrap(),
        "--program-output",
        &push,
    ]);
    let recording = server.recording("douyin");
    wait_for_stable_file(&recording, Duration::from_secs(10));
    assert_media(&recording, 180, 320, 15, 4.0);
    assert_media(&local, 320, 180, 15, 4.0);
    let heard = envelope(&recording);
    assert!(
        heard.iter().any(|&level| level > 0.01),
        "the vertical program is silent"
    );
}

/// The outputs of a program beside the main one are watched like the main one's: its
/// platform down for longer than `failing_after_seconds` is on the webhook, key redacted,
/// and on `/status` and `/metrics` under the program's name, while the main program
/// records on.
#[test]
fn a_dead_output_of_a_second_program_is_alerted_and_listed() {
    let dir = Scratch::new("programs-alert");
    let (hook, events) = webhook_receiver();
    let alerts = format!("[alerts]\nwebhook = \"{hook}\"\nfailing_after_seconds = 1.0\n");
    let show = bilingual_show(&dir, &alerts);
    let local = dir.path("english.flv");
    let dead = format!("rtmp://127.0.0.1:{}/live/secret-key", free_port());
    let redacted = dead.replace("secret-key", "…");
    let live = StreamBuilder::new(&show)
        .args(["--seconds", "10", "-o", local.to_str().unwrap()])
        .args(["--program-output", &format!("vertical={dead}")])
        .with_api()
        .start();
    let status = live.wait_status(30, |s| {
        s["outputs"].as_array().is_some_and(|o| o.len() == 2)
    });
    let outputs = &status["outputs"];
    assert_eq!(
        (
            &outputs[0]["program"],
            &outputs[1]["program"],
            &outputs[1]["url"]
        ),
        (&Value::Null, &json!("vertical"), &json!(redacted)),
        "{status}"
    );
    assert_ne!(outputs[1]["state"], "Live", "{status}");
    let (code, metrics) = http(&live.api, "GET", "/metrics", Some(TOKEN), "");
    assert_eq!(code, 200, "{metrics}");
    let up = format!("twincast_output_up{{output=\"{redacted}\",program=\"vertical\"}} 0\n");
    assert!(metrics.contains(&up), "{metrics}");
    let output = live.finish();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_media(&local, 320, 180, 15, 10.0);
    let failing = webhook_event(&events, "output_failing", Duration::from_secs(5));
    assert_eq!(failing["output"], redacted.as_str(), "{stderr}");
}
