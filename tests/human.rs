//! The generated VRM human (`tests/fixtures/make_human_vrm.py`: VRoid names, no clips, eye
//! bones with `lookAt`, hair on `VRMC_springBone` chains) speaking a line to a camera 25°
//! to her left: she looks at it, her hair sways, her arms beat with the speech.

use crate::common::*;
use serde_json::Value;

fn point(v: &Value) -> [f64; 3] {
    [0, 1, 2].map(|i| v[i].as_f64().unwrap_or(f64::NAN))
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f64>().sqrt()
}

fn range(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min)
}

#[test]
fn a_vrm_human_looks_at_the_camera_sways_and_beats_while_speaking() {
    let dir = Scratch::new("human");
    let video = dir.path("human.mp4");
    let telemetry = dir.path("human.jsonl");
    let out = render_with(
        &fixture("human.toml"),
        8,
        &video,
        &["--telemetry", telemetry.to_str().unwrap()],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("2 eye bones"), "{log}");
    assert!(log.contains("3 spring chains, 3 colliders"), "{log}");
    assert_media(&video, 240, 240, 15, 8.0);
    let frames: Vec<Value> = std::fs::read_to_string(&telemetry)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(frames.len(), 120);

    // Gaze: once her head has turned (the first second), her eyes point at the camera
    // within a few degrees while she looks at it; straight ahead they would be 25° off.
    let at_camera: Vec<f64> = frames[15..]
        .iter()
        .filter(|f| f["gaze"]["at"] == "camera")
        .map(|f| f["gaze"]["off_camera"].as_f64().unwrap())
        .collect();
    assert!(
        at_camera.len() > 60,
        "{} frames at the camera",
        at_camera.len()
    );
    let mut sorted = at_camera.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    assert!(median < 6.0, "eyes {median}° off the camera (median)");
    // Her head followed part of the way, towards her left where the camera is.
    let yaw = frames[60]["gaze"]["head"][0].as_f64().unwrap();
    assert!((5.0..=22.0).contains(&yaw), "head yaw {yaw}°");
    // Saccades: new fixations, and the eyes land somewhere new each time.
    let fixations = frames.last().unwrap()["gaze"]["fixations"]
        .as_u64()
        .unwrap();
    assert!(fixations >= 2, "{fixations} fixations in 8 s");
    assert!(
        range(at_camera.iter().cloned()) > 0.5,
        "the eyes never moved"
    );

    // Spring bones: the ponytail and both locks hang from the head, stay on it and sway.
    for f in &frames {
        let springs = f["springs"].as_array().unwrap();
        assert_eq!(springs.len(), 3, "{f}");
        let head = point(&f["pose"]["head"]);
        for tip in springs {
            let tip = point(tip);
            assert!(tip.iter().all(|c| c.is_finite()), "{f}");
            assert!(distance(tip, head) < 0.45, "a spring tip flew off: {f}");
            assert!(tip[1] < head[1] + 0.1, "a spring tip stands up: {f}");
        }
    }
    let ponytail = range(frames.iter().map(|f| point(&f["springs"][0])[0]));
    assert!(
        ponytail > 0.004,
        "the ponytail never moved sideways ({ponytail} m)"
    );

    // The talking body: while the line is said her hands come up and beat; the mouth
    // shapes move too (VRM-bound morphs).
    let speaking: Vec<&Value> = frames
        .iter()
        .filter(|f| f["shapes"].as_f64().unwrap() > 0.05)
        .collect();
    assert!(speaking.len() > 40, "{} speaking frames", speaking.len());
    let rest = point(&frames[0]["pose"]["rightHand"])[1];
    let lifted = speaking
        .iter()
        .map(|f| point(&f["pose"]["rightHand"])[1].max(point(&f["pose"]["leftHand"])[1]) - rest)
        .fold(f64::MIN, f64::max);
    assert!(
        lifted > 0.03,
        "hands lifted at most {lifted} m while speaking"
    );
    let beat = range(speaking.iter().map(|f| point(&f["pose"]["rightHand"])[1]));
    assert!(beat > 0.02, "the right hand moved {beat} m while speaking");
    let on_stress = beats_on_stresses(&frames, &video);

    // The picture: her region changes between the start and mid-line (head, arms, mouth).
    let (w, _, first) = rgb_frame(&video, 0);
    let (_, _, later) = rgb_frame(&video, 60);
    let changed = (0..first.len() / 3)
        .filter(|i| {
            let x = (*i as u32) % w;
            (60..180).contains(&x)
                && (0..3).any(|c| (first[i * 3 + c] as i32 - later[i * 3 + c] as i32).abs() > 30)
        })
        .count();
    assert!(changed > 200, "{changed} pixels changed");
    eprintln!(
        "gaze {median:.1}° off the camera (median), head yaw {yaw:.1}°, {fixations} fixations; \
         ponytail {:.1} cm across; hands up {:.1} cm, beat {:.1} cm; beats on a stress {on_stress}",
        ponytail * 100.0,
        lifted * 100.0,
        beat * 100.0
    );
}

/// An optimised export of the same human (`make_packed_vrm.py`: meshopt-compressed
/// streams, quantized positions and normals, a WebP texture, all required) loads and
/// looks like the plain file.
#[test]
fn an_optimised_vrm_loads_and_looks_like_the_plain_one() {
    let dir = Scratch::new("human-packed");
    let scene = std::fs::read_to_string(fixture("human_scene.ron")).unwrap();
    let mut videos = Vec::new();
    for model in ["human.vrm", "human_packed.vrm"] {
        let name = model.trim_end_matches(".vrm");
        let asset = fixture(model);
        let scene = scene.replace("\"human.vrm\"", &format!("{:?}", asset.to_str().unwrap()));
        let toml = show_on_scene(&dir, "human.toml", "human_scene.ron", name, &scene);
        let video = dir.path(&format!("{name}.mp4"));
        render_to(&toml, 1, &video);
        videos.push(video);
    }
    let db = psnr_per_frame(&videos[1], &videos[0]);
    let worst = db.iter().cloned().fold(f64::MAX, f64::min);
    eprintln!(
        "optimised vs plain: {worst:.1} dB (worst of {} frames)",
        db.len()
    );
    assert!(
        db.len() == 15 && worst > 35.0,
        "optimised vs plain: {db:?} dB"
    );
}

/// The beats land on the stressed syllables of the encoded voice: at nearly every peak of
/// her hands' height while she speaks (a beat's stroke), the sound within the next frame
/// is about the loudest within 0.3 s either side. Beats drawn on a rhythm of their own
/// land there about a third of the time (syllables come every few frames). Returns how
/// many beats did, of how many.
fn beats_on_stresses(frames: &[Value], video: &std::path::Path) -> String {
    let hands: Vec<f64> = frames
        .iter()
        .map(|f| point(&f["pose"]["leftHand"])[1] + point(&f["pose"]["rightHand"])[1])
        .collect();
    let speaking: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i]["shapes"].as_f64().unwrap() > 0.05)
        .collect();
    let (first, last) = (speaking[0], speaking[speaking.len() - 1]);
    let strokes: Vec<usize> = (first.max(3)..last.min(hands.len() - 4))
        .filter(|&i| {
            let around = hands[i - 3..=i + 3]
                .iter()
                .copied()
                .fold(f64::MAX, f64::min);
            hands[i] >= hands[i - 1] && hands[i] > hands[i + 1] && hands[i] - around > 0.01
        })
        .collect();
    let audio = audio_level_per_frame(video, 48_000 / 15);
    let level = |from: usize, to: usize| {
        audio[from.min(audio.len())..(to + 1).min(audio.len())]
            .iter()
            .copied()
            .fold(0.0, f64::max)
    };
    let on = strokes
        .iter()
        .filter(|&&i| level(i, i + 1) >= 0.9 * level(i.saturating_sub(4), i + 5))
        .count();
    assert!(strokes.len() >= 4, "{} beats: {strokes:?}", strokes.len());
    assert!(
        on * 4 >= strokes.len() * 3,
        "only {on} of the beats at frames {strokes:?} land on a stressed syllable"
    );
    format!("{on} of {}", strokes.len())
}

/// Mean column of her hair's pixels (dark brown) in the top 150 rows of each frame.
fn hair_column_per_frame(video: &std::path::Path) -> Vec<f64> {
    let hair = |[r, g, b]: [u8; 3]| {
        let (r, g, b) = (r as i32, g as i32, b as i32);
        (51..170).contains(&r) && r - b > 30 && g < r - 15 && r + g + b < 400
    };
    pixels_per_frame(video, hair)
        .iter()
        .map(|at| {
            let top: Vec<usize> = at
                .iter()
                .filter(|(_, y)| *y < 150)
                .map(|(x, _)| *x)
                .collect();
            top.iter().sum::<usize>() as f64 / top.len().max(1) as f64
        })
        .collect()
}

/// A breeze in the scene (`presenter.wind`, toward her left) blows her hair that way in
/// the picture, and its gusts keep it moving, where still air leaves it hanging.
#[test]
fn a_breeze_blows_her_hair_in_the_picture() {
    let dir = Scratch::new("breeze");
    std::fs::copy(fixture("human.vrm"), dir.path("human.vrm")).unwrap();
    let scene = std::fs::read_to_string(fixture("human_scene.ron")).unwrap();
    let windy = scene.replace(
        "asset: \"human.vrm\")",
        "asset: \"human.vrm\", wind: (strength: 1.0, toward: (1.0, 0.0, 0.0)))",
    );
    assert_ne!(windy, scene);
    let mut columns = Vec::new();
    for (name, scene) in [("calm", &scene), ("windy", &windy)] {
        let show = show_on_scene(&dir, "human.toml", "human_scene.ron", name, scene);
        let video = dir.path(&format!("{name}.mkv"));
        render_to(&show, 5, &video);
        columns.push(hair_column_per_frame(&video)[5..].to_vec());
    }
    let (calm, windy) = (&columns[0], &columns[1]);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let spread = |v: &[f64]| {
        v.iter().copied().fold(f64::MIN, f64::max) - v.iter().copied().fold(f64::MAX, f64::min)
    };
    assert!(
        mean(windy) > mean(calm) + 2.0,
        "hair at column {:.1} in the breeze, {:.1} in still air",
        mean(windy),
        mean(calm)
    );
    assert!(
        spread(windy) > spread(calm) + 2.0,
        "hair moves over {:.1} columns in the breeze, {:.1} in still air",
        spread(windy),
        spread(calm)
    );
}

/// Her ponytail hangs as it will from the first frame: its spring chain settles under
/// her first pose before it is drawn, so the picture from behind her shows it still in
/// the first half second. Built in its modelled shape and left to swing, it swung 14
/// columns of 240 and back in the first four frames.
#[test]
fn her_hair_hangs_still_from_the_first_frame() {
    let dir = Scratch::new("hair-settled");
    std::fs::copy(fixture("human.vrm"), dir.path("human.vrm")).unwrap();
    let scene = std::fs::read_to_string(fixture("human_scene.ron")).unwrap();
    let behind = scene
        .replace(
            "(name: \"side\", position: (0.68, 1.42, 1.46), look_at: (0.0, 1.3, 0.0), fov_degrees: 40.0",
            "(name: \"behind\", position: (0.0, 1.35, -1.3), look_at: (0.0, 1.2, 0.0), fov_degrees: 35.0",
        )
        .replace("Point(position: (1.0, 2.2, 2.5)", "Point(position: (0.5, 2.2, -2.5)");
    assert_ne!(behind, scene);
    let show = show_on_scene(&dir, "human.toml", "human_scene.ron", "behind", &behind);
    let video = dir.path("behind.mkv");
    render_to(&show, 1, &video);
    // Her ponytail's brown (in her shade too) below her head, down her back.
    let ponytail = |[r, g, b]: [u8; 3]| {
        r > b.saturating_add(15) && r > g.saturating_add(10) && (61..200).contains(&r)
    };
    let columns: Vec<f64> = pixels_per_frame(&video, ponytail)
        .iter()
        .map(|at| {
            let below: Vec<usize> = (at.iter())
                .filter(|(_, y)| (60..120).contains(y))
                .map(|(x, _)| *x)
                .collect();
            assert!(below.len() > 300, "{} ponytail pixels", below.len());
            below.iter().sum::<usize>() as f64 / below.len() as f64
        })
        .collect();
    let first = &columns[..8];
    let spread = range(first.iter().copied());
    assert!(
        spread < 2.0,
        "her ponytail moved over {spread:.1} columns in the first half second: {first:.1?}"
    );
}
