use crate::common::*;
use std::process::Command;

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va.sqrt() * vb.sqrt())
}

/// Renders `show` speaking for 8 s and checks the per-frame `field` of its telemetry
/// against the encoded audio: it rises within one frame of the first speech onset, tracks
/// the speech envelope, and is at rest whenever the voice has been silent a while and is
/// not about to start.
fn check_lip_sync(show: &str, field: &str, fps: u32) -> Vec<serde_json::Value> {
    // Named by show: several tests check the same field at once.
    let dir = Scratch::new(&format!("lipsync-{show}"));
    let (out, frames) = render_with_telemetry(&fixture(show), 8, &dir, "line");
    let mouth: Vec<f64> = frames.iter().map(|f| f[field].as_f64().unwrap()).collect();
    assert_eq!(mouth.len(), 8 * fps as usize);
    let audio = audio_level_per_frame(&out, 48_000 / fps);
    assert!(
        audio.len() + 1 >= mouth.len(),
        "{} audio frames",
        audio.len()
    );

    let speech_onset = audio
        .iter()
        .position(|v| *v > 0.01)
        .expect("no speech in the audio");
    let mouth_onset = mouth
        .iter()
        .position(|v| *v > 0.05)
        .expect("the mouth never moved");
    assert!(
        speech_onset.abs_diff(mouth_onset) <= 1,
        "{field}: speech starts at frame {speech_onset}, the mouth at frame {mouth_onset}"
    );
    let r = correlation(&mouth, &audio);
    assert!(r > 0.4, "{field}: mouth and voice correlate at only {r:.2}");
    // Silent a while, and the next frame silent too (the mouth moves a little before the
    // voice, as in natural speech).
    let mut checked = 0;
    for i in 2..mouth.len().min(audio.len()).saturating_sub(1) {
        if audio[i - 2..=i + 1].iter().all(|v| *v < 0.001) {
            assert!(
                mouth[i] < 0.05,
                "{field}: open ({}) in silence at frame {i}",
                mouth[i]
            );
            checked += 1;
        }
    }
    assert!(
        checked > 5,
        "the line never paused ({checked} silent frames)"
    );
    frames
}

/// The robot has no mouth shapes: its mouth openness (shown as a nod) follows the voice.
/// Its line is cued `[Wave]`: the wave starts with each line and hands back to idle.
#[test]
fn mouth_follows_the_encoded_voice() {
    let frames = check_lip_sync("speech.toml", "mouth", 15);
    let gesture: Vec<Option<&str>> = frames.iter().map(|f| f["gesture"].as_str()).collect();
    let starts: Vec<usize> = (1..gesture.len())
        .filter(|&i| gesture[i] == Some("Wave") && gesture[i - 1].is_none())
        .collect();
    let speech: Vec<usize> = (1..frames.len())
        .filter(|&i| {
            frames[i]["mouth"].as_f64() > Some(0.05)
                && frames[..i]
                    .iter()
                    .rev()
                    .take(10)
                    .all(|f| f["mouth"].as_f64() < Some(0.05))
        })
        .collect();
    assert_eq!(starts.len(), 2, "waves started at {starts:?}");
    for (wave, line) in starts.iter().zip(&speech) {
        assert!(
            wave.abs_diff(*line) <= 1,
            "wave at frame {wave}, line at frame {line}"
        );
    }
    // Between the waves the host is back in idle.
    assert!(
        gesture[starts[0]..starts[1]].contains(&None),
        "never returned to idle"
    );
}

/// A face with VRM-style mouth shapes: the morph weights set on the mesh follow the voice.
#[test]
fn mouth_shapes_follow_the_encoded_voice() {
    check_lip_sync("mouth.toml", "shapes", 15);
}

/// A VRM 1.0 face whose targets have meaningless names: its extension's expression
/// bindings drive the mouth in sync, and its eyes blink every 2–6 s.
#[test]
fn vrm_expressions_speak_and_blink() {
    let frames = check_lip_sync("vrm.toml", "shapes", 15);
    let eyes: Vec<f64> = frames
        .iter()
        .map(|f| f["eyes_closed"].as_f64().unwrap())
        .collect();
    let blinks = eyes
        .windows(2)
        .filter(|w| w[0] < 0.5 && w[1] >= 0.5)
        .count();
    assert!(
        (1..=4).contains(&blinks),
        "{blinks} blinks in 8 s: {eyes:?}"
    );
    let open = eyes.iter().filter(|e| **e < 0.01).count();
    assert!(open > eyes.len() * 3 / 4, "eyes closed too often");
}

/// The same face as a binary `.vrm` file: loaded, bound and speaking like the `.gltf`.
#[test]
fn vrm_files_load_and_speak() {
    check_lip_sync("vrm_binary.toml", "shapes", 15);
}

/// Mean brightness of each decoded frame (the face is lit, the room dark: the wider the
/// mouth opens, the more face there is).
fn picture_per_frame(path: &std::path::Path) -> Vec<f64> {
    let p = probe(path);
    let v = stream(&p, "video");
    let size = (v["width"].as_u64().unwrap() * v["height"].as_u64().unwrap()) as usize;
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("running ffmpeg");
    out.stdout
        .chunks_exact(size)
        .map(|f| f.iter().map(|&y| y as f64).sum::<f64>() / size as f64)
        .collect()
}

/// Correlation of the picture `lag` frames later with the sound: a mouth `k` frames late
/// correlates best at `lag = k`, one that leads at a negative lag.
fn correlation_at(picture: &[f64], audio: &[f64], lag: i32) -> f64 {
    let pairs: Vec<(f64, f64)> = (0..audio.len() as i32)
        .filter_map(|i| {
            Some((
                *picture.get(usize::try_from(i + lag).ok()?)?,
                audio[i as usize],
            ))
        })
        .collect();
    let (p, a): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
    correlation(&p, &a)
}

/// Lip sync as the viewer gets it: the face's mouth in the encoded picture against the
/// encoded sound, by cross-correlation, at the two frame rates platforms use. Natural
/// speech opens the mouth a little before the sound; a mouth after it is noticed from
/// about 45 ms (ITU-R BT.1359), so the picture must lead or be level, within one frame.
#[test]
fn the_mouth_in_the_picture_leads_or_meets_the_sound() {
    let dir = Scratch::new("lipsync-pixels");
    for fps in [25u32, 30] {
        let out = dir.path(&format!("face-{fps}.mkv"));
        render_with(
            &fixture("mouth.toml"),
            8,
            &out,
            &["--fps", &fps.to_string()],
        );
        let picture = picture_per_frame(&out);
        let audio = audio_level_per_frame(&out, 48_000 / fps);
        assert!(
            picture.len() >= 8 * fps as usize - 1,
            "{} frames",
            picture.len()
        );
        let lags: Vec<(i32, f64)> = (-4..=4)
            .map(|lag| (lag, correlation_at(&picture, &audio, lag)))
            .collect();
        let (best, r) = lags
            .iter()
            .copied()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        // Between frames: the peak of a parabola through the best lag and its neighbours.
        let at = |lag: i32| lags[(lag + 4).clamp(0, 8) as usize].1;
        let curve = at(best - 1) - 2.0 * at(best) + at(best + 1);
        let lag = best as f64 + (at(best - 1) - at(best + 1)) / (2.0 * curve);
        eprintln!("{fps} fps: picture against sound {lag:+.2} frames; by lag {lags:.3?}");
        assert!(
            r > 0.5,
            "{fps} fps: the mouth hardly follows the voice: {lags:.3?}"
        );
        assert!(
            (-1..=0).contains(&best) && (-1.0..=0.25).contains(&lag),
            "{fps} fps: the mouth is {lag:+.2} frames after the sound: {lags:.3?}"
        );
    }
}

/// The row (from the top) of the middle of each decoded frame's strongly red pixels, and
/// how many there are.
fn red_per_frame(path: &std::path::Path) -> Vec<(f64, usize)> {
    let red = |px: [u8; 3]| px[0] as i32 > px[1] as i32 + 100;
    pixels_per_frame(path, red)
        .iter()
        .map(|at| {
            let rows = at.iter().map(|(_, y)| *y).sum::<usize>();
            (rows as f64 / at.len().max(1) as f64, at.len())
        })
        .collect()
}

/// An avatar with a jaw bone and no mouth shapes speaks with the jaw, and it opens down,
/// in the picture: a VRM 0.x file (she faces −Z in it, turned to the camera by the
/// scene) whose jaw, a red block under her head, is a bone named `Chin`, known only from
/// the humanoid map's `jaw`. The block drops with the voice, and is back up in silence.
#[test]
fn a_jaw_bone_opens_down_with_the_voice() {
    let fps = 15;
    let dir = Scratch::new("jaw");
    let out = dir.path("jaw.mkv");
    render_to(&fixture("jaw.toml"), 8, &out);
    let red = red_per_frame(&out);
    let audio = audio_level_per_frame(&out, 48_000 / fps);
    assert!(red.len() >= 8 * fps as usize - 1, "{} frames", red.len());
    assert!(
        red.iter().all(|(_, n)| *n > 200),
        "the jaw left the picture"
    );
    let rows: Vec<f64> = red.iter().map(|(row, _)| *row).collect();
    let r = correlation(&rows, &audio);
    assert!(
        r > 0.4,
        "the jaw follows the voice at only {r:.2}: {rows:.1?}"
    );
    let mean = |frames: Vec<f64>| frames.iter().sum::<f64>() / frames.len().max(1) as f64;
    let mut loud: Vec<f64> = audio.clone();
    loud.sort_by(f64::total_cmp);
    let threshold = loud[loud.len() * 3 / 4];
    let open = mean(
        (0..rows.len().min(audio.len()))
            .filter(|&i| audio[i] >= threshold)
            .map(|i| rows[i])
            .collect(),
    );
    let shut = mean(
        (2..rows.len().min(audio.len()))
            .filter(|&i| audio[i - 2..=i].iter().all(|a| *a < 0.001))
            .map(|i| rows[i])
            .collect(),
    );
    assert!(
        open > shut + 2.5,
        "the jaw is at row {open:.1} in the loudest frames, {shut:.1} in silence (down is more)"
    );
}

/// A line cued `[happy]` puts the VRM face's happy expression on while it is said (read
/// back from the morph weights), eased in and out, and the expression's `overrideMouth =
/// blend` lets the mouth shapes fade as it comes on; the plain line before has no emotion.
#[test]
fn emotion_cues_make_faces() {
    let dir = Scratch::new("emotion");
    let (_, frames) = render_with_telemetry(&fixture("vrm_happy.toml"), 10, &dir, "happy");
    let field = |f: &serde_json::Value, k: &str| f[k].as_f64().unwrap();
    let happy: Vec<f64> = frames.iter().map(|f| field(f, "expression")).collect();
    let shapes: Vec<f64> = frames.iter().map(|f| field(f, "shapes")).collect();
    let on = happy
        .iter()
        .position(|h| *h > 0.6)
        .unwrap_or_else(|| panic!("never happy: {happy:?}"));
    let first_speech = shapes.iter().position(|s| *s > 0.05).unwrap();
    // The plain first line speaks with a neutral face.
    assert!(first_speech < on, "{first_speech} {on}");
    assert!(
        happy[..first_speech + 10].iter().all(|h| *h < 0.01),
        "{happy:?}"
    );
    assert_eq!(frames[on]["emotion"], "happy");
    // While happy, the mouth still speaks, but blended down; then the face relaxes again.
    let loudest = |range: &[f64]| range.iter().copied().fold(0.0, f64::max);
    let plain = loudest(&shapes[first_speech..first_speech + 15]);
    let while_happy = loudest(&shapes[on..(on + 45).min(shapes.len())]);
    assert!(
        while_happy > 0.02 && while_happy < plain * 0.5,
        "{plain} {while_happy}"
    );
    let off = on
        + happy[on..]
            .iter()
            .position(|h| *h < 0.1)
            .expect("happy to the end");
    assert!(happy[off..].iter().any(|h| *h < 0.05), "{happy:?}");
}

/// A prop with mouth shapes (a second face in the set) stays still while the host speaks:
/// only her own face is driven.
#[test]
fn only_the_hosts_face_speaks() {
    let dir = Scratch::new("prop-face");
    let scene = std::fs::read_to_string(fixture("mouth_scene.ron"))
        .unwrap()
        .replace(
            "presenter: (name: \"face\", asset: \"mouth.gltf\"),",
            &format!(
                "props: [(name: \"face\", asset: {:?})],\n    presenter: (name: \"host\", \
                 asset: {:?}, transform: (translation: (1.0, 0.0, 0.0), scale: (0.3, 0.3, 0.3))),",
                fixture("mouth.gltf"),
                repo().join("assets/avatars/RobotExpressive.glb")
            ),
        );
    assert!(scene.contains("props: [(name: \"face\""), "{scene}");
    std::fs::write(dir.path("scene.ron"), scene).unwrap();
    let show = std::fs::read_to_string(fixture("mouth.toml"))
        .unwrap()
        .replace("mouth_scene.ron", dir.path("scene.ron").to_str().unwrap());
    std::fs::write(dir.path("show.toml"), show).unwrap();
    let (_, frames) = render_with_telemetry(&dir.path("show.toml"), 4, &dir, "line");
    let field = |f: &serde_json::Value, k: &str| f[k].as_f64().unwrap();
    assert!(frames.iter().any(|f| field(f, "mouth") > 0.05), "she spoke");
    let shapes: Vec<f64> = frames.iter().map(|f| field(f, "shapes")).collect();
    assert!(
        shapes.iter().all(|s| *s == 0.0),
        "the prop's face moved: {shapes:?}"
    );
}
