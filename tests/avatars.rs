//! Avatars from other tools drawn the way those tools draw them.

use crate::common::*;

/// The generated MToon figure (`tests/fixtures/make_toon_vrm.py`), written as VRM 1.0
/// (`VRMC_materials_mtoon`, plain PBR beneath) and as VRM 0.x (`materialProperties`,
/// unlit beneath), shades toon-wise in the encoded picture: her body's side turned from
/// the lights takes its shade colour, blue, while the side they fall on stays near-white
/// (a PBR renderer draws the far side dark grey, an unlit one white all over), her body
/// has its red outline (2 cm in the world in the 1.0 file, 1.7 % of the picture's height
/// in the 0.x file) on her left side only, as its outline width texture says, her
/// near-black head has its green rim light, and her black sleeve its matcap (white where
/// the surface turns to the camera's right) times its rim texture (magenta above, black
/// below), tiled twice down the sleeve and offset by the file (1.0's KHR_texture_transform
/// on the base colour texture, 0.x's `_MainTex` tiling, with V up), so two bands of
/// magenta, which its UV animation scrolls up the sleeve before the tiling: a third of a
/// second in, the bands stand where the gaps were, two thirds of a second in where they
/// began, and both files show the same rows of it on the way. Her half-transparent green veil
/// of two layers writes depth (1.0's `transparentWithZWrite`, 0.x's TransparentWithZWrite
/// mode), so where its layers overlap it is no brighter than elsewhere; under it a farther
/// cyan layer drawn after a nearer yellow one by their render queue offsets covers it
/// where they overlap (sorted by distance alone, the yellow one covered the cyan). In the 1.0 file a
/// shading shift texture turns the right half of her lit front to shade, so it has fewer
/// lit pixels and more shaded ones than the 0.x file, which has none.
#[test]
fn toon_materials_shade_as_their_files_say() {
    let mut seen = Vec::new();
    for show in ["toon.toml", "toon0.toml"] {
        let dir = Scratch::new(&format!("avatars-{show}"));
        let out = dir.path("toon.mkv");
        render_to(&fixture(show), 1, &out);
        let frame = rgb_frame(&out, 10);
        let places = |frame: &(u32, u32, Vec<u8>), want: &dyn Fn([u8; 3]) -> bool| {
            let pixels = frame.2.chunks_exact(3).enumerate();
            let wanted = pixels.filter(|(_, p)| want([p[0], p[1], p[2]]));
            wanted
                .map(|(i, _)| (i as u32 % frame.0, i as u32 / frame.0))
                .collect::<Vec<_>>()
        };
        let columns = |want: &dyn Fn([u8; 3]) -> bool| -> Vec<u32> {
            places(&frame, want).into_iter().map(|(x, _)| x).collect()
        };
        let spread = |[r, g, b]: [u8; 3]| r.max(g).max(b) - r.min(g).min(b);
        let shade = columns(&|[r, g, b]| b > r.saturating_add(40) && b > g.saturating_add(40));
        let lit = columns(&|px| px.iter().all(|c| *c > 190) && spread(px) < 15);
        let rim = columns(&|[r, g, b]| g > r.saturating_add(40) && g > b.saturating_add(40));
        let outline = columns(&|[r, g, b]| r > g.saturating_add(80) && r > b.saturating_add(80));
        let magenta = |[r, g, b]: [u8; 3]| r > g.saturating_add(80) && b > g.saturating_add(80);
        let matcap = columns(&magenta);
        let (shade, lit, rim, matcap) = (shade.len(), lit.len(), rim.len(), matcap.len());
        assert!(
            shade > 600 && lit > 800 && rim > 500 && outline.len() > 150 && matcap > 200,
            "{show}: {shade} shade-blue, {lit} lit near-white, {rim} rim-green, {} \
             outline-red, {matcap} matcap-magenta pixels of 25600",
            outline.len()
        );
        // Her left is the picture's right (the camera is at her front right).
        let body = columns(&|px| {
            (px[2] > px[0].saturating_add(40) && px[2] > px[1].saturating_add(40))
                || (px.iter().all(|c| *c > 190) && spread(px) < 15)
        });
        let centre = body.iter().sum::<u32>() / body.len().max(1) as u32;
        let right = outline.iter().filter(|x| **x < centre).count();
        assert!(
            right * 10 < outline.len(),
            "{show}: {right} of {} outline pixels on her right, where its width texture is black",
            outline.len()
        );
        // The sleeve's magenta rows: at the start, a third of a second (15 fps) and two
        // thirds in.
        let rows = |frame: &(u32, u32, Vec<u8>)| -> Vec<u32> {
            places(frame, &magenta).iter().map(|p| p.1).collect()
        };
        let (start, third) = (rows(&rgb_frame(&out, 0)), rows(&rgb_frame(&out, 5)));
        let bands = magenta_bands(&start);
        assert_eq!(
            bands.len(),
            2,
            "{show}: the sleeve's magenta bands at the start: {bands:?}"
        );
        let (moved, back) = (magenta_bands(&third), magenta_bands(&rows(&frame)));
        let said =
            format!("bands at the start {bands:?}, a third in {moved:?}, two thirds {back:?}");
        let in_a_band = |row: f64| {
            bands
                .iter()
                .any(|&(a, b)| (a as f64..=b as f64).contains(&row))
        };
        assert!(
            moved.len() >= 2 && moved.iter().all(|&(a, b)| !in_a_band((a + b) as f64 / 2.0)),
            "{show}: a third of a second in, the bands should stand where the gaps were: {said}"
        );
        let near = |x: u32, y: u32| x.abs_diff(y) <= 2;
        assert!(
            back.len() == 2
                && back
                    .iter()
                    .zip(&bands)
                    .all(|(p, q)| near(p.0, q.0) && near(p.1, q.1)),
            "{show}: two thirds of a second in (the tiled texture moved a whole turn), the \
             bands should be back where they began: {said}"
        );
        // The veil, right of her body and below her head (above the layers under it, whose
        // cyan and yellow the picture's chroma blends to green where they meet): one shade
        // of green.
        let greenish = |[r, g, b]: [u8; 3]| g > r.saturating_add(20) && g > b.saturating_add(20);
        let veil = places(&frame, &greenish)
            .into_iter()
            .filter(|(x, y)| *x > 110 && (67..104).contains(y));
        let mut greens: Vec<u8> = veil
            .map(|(x, y)| frame.2[((y * frame.0 + x) * 3 + 1) as usize])
            .collect();
        greens.sort_unstable();
        let median = greens.get(greens.len() / 2).copied().unwrap_or(0);
        let brighter = greens
            .iter()
            .filter(|g| **g > median.saturating_add(15))
            .count();
        assert!(
            greens.len() > 300 && brighter * 50 < greens.len(),
            "{show}: {brighter} of the veil's {} pixels brighter than its green {median}",
            greens.len()
        );
        // Under the veil, the cyan layer drawn last by its queue offset covers the nearer
        // yellow one where they overlap.
        let layer = |want: &dyn Fn([u8; 3]) -> bool| {
            let at = places(&frame, want).into_iter();
            at.filter(|(x, y)| *x > 110 && *y >= 104).count()
        };
        let cyan = layer(&|[r, g, b]| g > r.saturating_add(40) && b > r.saturating_add(40));
        let yellow = layer(&|[r, g, b]| {
            r > b.saturating_add(50) && g > b.saturating_add(50) && r.abs_diff(g) < 30
        });
        assert!(
            yellow > 50 && cyan > yellow,
            "{show}: {cyan} cyan against {yellow} yellow pixels: the cyan layer, last in the \
             render queue, should cover the yellow one"
        );
        let early = rows(&rgb_frame(&out, 2));
        let span = (early.iter().min().copied(), early.iter().max().copied());
        seen.push(((shade, lit), span));
    }
    let (v1, v0) = (seen[0].1, seen[1].1);
    assert_eq!(
        v1, v0,
        "the sleeve's magenta rows two frames in, 1.0 and 0.x: scrolled the same way?"
    );
    let seen: Vec<_> = seen.into_iter().map(|(counts, _)| counts).collect();
    let ((shade1, lit1), (shade0, lit0)) = (seen[0], seen[1]);
    assert!(
        lit1 * 3 < lit0 * 2 && shade1 > shade0 + lit0 / 3,
        "1.0's shading shift texture shades her front's right half: {shade1} shade, {lit1} lit \
         pixels, against the 0.x file's {shade0}, {lit0}"
    );
}

/// A toon outline tinted by the light falling on it (`outlineLightingMixFactor` 1) takes
/// the light of every lamp: lit by a point light alone (no ambient light), her red outline
/// shows red. Tinted by the ambient and directional lights only, it went black there.
#[test]
fn a_toon_outline_takes_the_light_of_every_lamp() {
    let dir = Scratch::new("avatars-toon-lit");
    std::fs::copy(fixture("toon_lit.vrm"), dir.path("toon_lit.vrm")).unwrap();
    let scene = std::fs::read_to_string(fixture("toon_scene.ron")).unwrap();
    let point_only: String = (scene.lines())
        .filter(|l| !l.contains("Directional("))
        .map(|l| l.replace("asset: \"toon.vrm\"", "asset: \"toon_lit.vrm\"") + "\n")
        .collect::<String>()
        .replace(
            "name: \"toon check\",",
            "name: \"toon check\",\n    environment: (ambient_brightness: 0.0),",
        );
    assert!(point_only.contains("toon_lit.vrm") && point_only.contains("ambient_brightness"));
    let show = show_on_scene(&dir, "toon.toml", "toon_scene.ron", "lit", &point_only);
    let out = dir.path("lit.mkv");
    render_to(&show, 1, &out);
    let frame = rgb_frame(&out, 10);
    let red = |[r, g, b]: [u8; 3]| r > g.saturating_add(80) && r > b.saturating_add(80);
    let (outline, _) = count_pixels(&frame, 0..frame.0, 0..frame.1, red);
    assert!(outline > 150, "{outline} outline-red pixels of 25600");
}

/// An avatar exported with straight fingers (the generated jaw avatar's two green fingers
/// on a blue hand, not in its humanoid map) stands with them curled a little toward the
/// palm: in the picture of her left hand from the front, the fingers turn toward her body
/// from the line the hand sets (straight, they carry it on: 0°).
#[test]
fn straight_fingers_curl_at_ease() {
    let dir = Scratch::new("avatars-hands");
    let turn = finger_turns(&dir, "hands.toml", 1)[10];
    assert!(
        turn > 6.0,
        "her fingers turn {turn:.1}° toward her body from the hand's line"
    );
}

/// While she talks her hands open from that curl, a little for the talking posture and
/// more as their arm beats: over a spoken line her fingers' turn from the hand's line is
/// less than at rest on the whole, and much less at a beat (with the hands left at their
/// relaxed curl it was near the rest's: 13.9° on average and 12.3° at the least, against 14.1°).
#[test]
fn hands_open_as_she_talks() {
    let dir = Scratch::new("avatars-hands-talk");
    let turns = finger_turns(&dir, "hands_talk.toml", 5);
    let rest = turns[0];
    let mean = turns.iter().sum::<f64>() / turns.len() as f64;
    let least = turns.iter().copied().fold(f64::MAX, f64::min);
    assert!(
        mean < rest - 1.3 && least < rest - 3.5,
        "her fingers turn {rest:.1}° at rest, {mean:.1}° on average and {least:.1}° at the \
         least over the line: {turns:.1?}"
    );
}

/// Renders the jaw avatar's hands show `show` for `seconds` into `dir`; in each frame, how
/// far (degrees) her left hand's green fingers turn toward her body from the line its
/// blue palm sets, in the picture from the front.
fn finger_turns(dir: &Scratch, show: &str, seconds: u32) -> Vec<f64> {
    let out = dir.path("hands.mkv");
    render_to(&fixture(show), seconds, &out);
    let fingers = pixels_per_frame(&out, |[r, g, b]| {
        g > r.saturating_add(80) && g > b.saturating_add(80)
    });
    let hands = pixels_per_frame(&out, |[r, g, b]| {
        b > r.saturating_add(80) && b > g.saturating_add(80)
    });
    fingers
        .iter()
        .zip(&hands)
        .map(|(f, h)| finger_turn(f, h))
        .collect()
}

/// The fingers' turn from the hand's line, from where their pixels are.
fn finger_turn(fingers: &[(usize, usize)], hand: &[(usize, usize)]) -> f64 {
    assert!(
        fingers.len() > 200 && hand.len() > 200,
        "{} finger, {} hand pixels",
        fingers.len(),
        hand.len()
    );
    let centre = |points: Vec<&(usize, usize)>| {
        let n = points.len().max(1) as f64;
        let sum = (points.iter()).fold((0.0, 0.0), |s, p| (s.0 + p.0 as f64, s.1 + p.1 as f64));
        (sum.0 / n, sum.1 / n)
    };
    let rows = fingers.iter().map(|p| p.1);
    let middle = (rows.clone().min().unwrap_or(0) + rows.max().unwrap_or(0)) / 2;
    let roots = centre(fingers.iter().filter(|p| p.1 < middle).collect());
    let tips = centre(fingers.iter().filter(|p| p.1 >= middle).collect());
    let palm = centre(hand.iter().collect());
    // Angles from straight down, positive toward the picture's right (away from her body).
    let lean = |a: (f64, f64), b: (f64, f64)| (b.0 - a.0).atan2(b.1 - a.1).to_degrees();
    lean(palm, roots) - lean(roots, tips)
}

/// The runs of rows (first, last) holding at least two of `rows` (one entry per
/// pixel), apart where two rows running hold fewer.
fn magenta_bands(rows: &[u32]) -> Vec<(u32, u32)> {
    let mut count = std::collections::BTreeMap::<u32, usize>::new();
    for r in rows {
        *count.entry(*r).or_default() += 1;
    }
    let full: Vec<u32> = count
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|(r, _)| r)
        .collect();
    let mut bands: Vec<(u32, u32)> = Vec::new();
    for r in full {
        match bands.last_mut() {
            Some((_, last)) if r <= *last + 2 => *last = r,
            _ => bands.push((r, r)),
        }
    }
    bands
}

/// A Draco-compressed model (`KHR_draco_mesh_compression`, as Blender's exporter writes
/// it when asked to compress) loads and looks like the plain one: the demo's cake with
/// each primitive's mesh Draco-encoded and its plain vertex data taken out of the file,
/// in place of the cake of the colour-panel scene.
#[test]
fn a_draco_compressed_prop_looks_like_the_plain_one() {
    let dir = Scratch::new("draco-prop");
    let plain = repo().join("assets/props/cakeBirthday.glb");
    std::fs::write(dir.path("cake_draco.glb"), draco_copy(&plain)).unwrap();
    let scene = std::fs::read_to_string(fixture("colour_panels.ron")).unwrap();
    let mut videos = Vec::new();
    for (name, asset) in [("plain", plain), ("draco", dir.path("cake_draco.glb"))] {
        let asset = format!("{:?}", asset.to_str().unwrap());
        let scene = scene.replace("\"../../assets/props/cakeBirthday.glb\"", &asset);
        assert!(scene.contains(&asset));
        let toml = show_on_scene(
            &dir,
            "colour_panels.toml",
            "colour_panels.ron",
            name,
            &scene,
        );
        let video = dir.path(&format!("{name}.mp4"));
        render_to(&toml, 0.5, &video);
        videos.push(video);
    }
    let db = psnr_per_frame(&videos[1], &videos[0]);
    let worst = db.iter().cloned().fold(f64::MAX, f64::min);
    eprintln!(
        "Draco vs plain cake: {worst:.1} dB (worst of {} frames)",
        db.len()
    );
    // Without the cake the picture is 25 dB from the plain one.
    assert!(
        !db.is_empty() && worst > 35.0,
        "Draco vs plain cake: {db:?} dB"
    );
}

/// `file` (a GLB of float attributes and u32 indices) with every primitive's mesh
/// Draco-encoded into a view of its own, and its accessors' plain data left out.
fn draco_copy(file: &std::path::Path) -> Vec<u8> {
    use draco_core::{DataType, EncoderBuffer, EncoderOptions, FaceIndex, GeometryAttributeType};
    use draco_core::{Mesh, MeshEncoder, PointAttribute};
    let bytes = std::fs::read(file).unwrap();
    let (json, bin) = twincast::gltf_doc::split(&bytes).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(json).unwrap();
    let mut blob = bin.unwrap().to_vec();
    // An accessor's 4-byte values (floats or u32), tightly packed.
    let words = |doc: &serde_json::Value, blob: &[u8], a: u64, n: usize| -> Vec<u32> {
        let a = &doc["accessors"][a as usize];
        let view = &doc["bufferViews"][a["bufferView"].as_u64().unwrap() as usize];
        let at = view["byteOffset"].as_u64().unwrap_or(0) + a["byteOffset"].as_u64().unwrap_or(0);
        let count = a["count"].as_u64().unwrap() as usize * n;
        let data = &blob[at as usize..at as usize + 4 * count];
        data.chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    let kinds = [
        ("POSITION", GeometryAttributeType::Position, 3),
        ("NORMAL", GeometryAttributeType::Normal, 3),
        ("TEXCOORD_0", GeometryAttributeType::TexCoord, 2),
    ];
    let meshes = doc["meshes"].as_array().unwrap().len();
    for m in 0..meshes {
        let primitives = doc["meshes"][m]["primitives"].as_array().unwrap().len();
        for p in 0..primitives {
            let primitive = doc["meshes"][m]["primitives"][p].clone();
            let indices = primitive["indices"].as_u64().unwrap();
            assert_eq!(doc["accessors"][indices as usize]["componentType"], 5125);
            let indices = words(&doc, &blob, indices, 1);
            let mut mesh = Mesh::new();
            let mut ids = serde_json::Map::new();
            for (name, kind, n) in kinds {
                let values = words(
                    &doc,
                    &blob,
                    primitive["attributes"][name].as_u64().unwrap(),
                    n,
                );
                let mut attribute = PointAttribute::new();
                attribute.init(kind, n as u8, DataType::Float32, false, values.len() / n);
                for (i, v) in values.iter().enumerate() {
                    attribute.buffer_mut().write(i * 4, &v.to_le_bytes()); // a float's bytes
                }
                let id = mesh.add_attribute(attribute);
                ids.insert(name.into(), mesh.attribute(id).unique_id().into());
            }
            mesh.set_num_faces(indices.len() / 3);
            for (f, t) in indices.chunks_exact(3).enumerate() {
                mesh.set_face(FaceIndex(f as u32), [t[0].into(), t[1].into(), t[2].into()]);
            }
            let mut encoder = MeshEncoder::new();
            encoder.set_mesh(mesh);
            let mut out = EncoderBuffer::new();
            encoder.encode(&EncoderOptions::new(), &mut out).unwrap();
            while blob.len() % 4 != 0 {
                blob.push(0);
            }
            let views = doc["bufferViews"].as_array_mut().unwrap();
            views.push(serde_json::json!({"buffer": 0, "byteOffset": blob.len(), "byteLength": out.data().len()}));
            let view = views.len() - 1;
            blob.extend_from_slice(out.data());
            doc["meshes"][m]["primitives"][p]["extensions"] = serde_json::json!({
                "KHR_draco_mesh_compression": {"bufferView": view, "attributes": ids}});
        }
    }
    // The plain data goes: only the Draco data can draw the cake.
    for a in doc["accessors"].as_array_mut().unwrap() {
        a.as_object_mut().unwrap().remove("bufferView");
    }
    for list in ["extensionsUsed", "extensionsRequired"] {
        doc[list] = serde_json::json!(["KHR_draco_mesh_compression", "KHR_materials_unlit"]);
    }
    doc["buffers"][0]["byteLength"] = serde_json::json!(blob.len());
    twincast::gltf_doc::glb(&doc, &blob)
}
