//! Avatars from other tools drawn the way those tools draw them.

use crate::common::*;

/// The generated MToon figure (`tests/fixtures/make_toon_vrm.py`), written as VRM 1.0
/// (`VRMC_materials_mtoon`, plain PBR beneath) and as VRM 0.x (`materialProperties`,
/// unlit beneath), shades toon-wise in the encoded picture: her body's side turned from
/// the lights takes its shade colour, blue, while the side they fall on stays near-white
/// (a PBR renderer draws the far side dark grey, an unlit one white all over), her body
/// has its red outline (2 cm in the world in the 1.0 file, 1.7 % of the picture's height
/// in the 0.x file), her near-black head has its green rim light, and her black sleeve
/// its matcap (white where the surface turns to the camera's right) times its rim texture
/// (magenta).
#[test]
fn toon_materials_shade_as_their_files_say() {
    for show in ["toon.toml", "toon0.toml"] {
        let dir = Scratch::new(&format!("avatars-{show}"));
        let out = dir.path("toon.mkv");
        run_ok(&[
            "render",
            fixture(show).to_str().unwrap(),
            "--seconds",
            "1",
            "--output",
            out.to_str().unwrap(),
        ]);
        let frame = rgb_frame(&out, 10);
        let count =
            |want: &dyn Fn([u8; 3]) -> bool| count_pixels(&frame, 0..frame.0, 0..frame.1, want).0;
        let spread = |[r, g, b]: [u8; 3]| r.max(g).max(b) - r.min(g).min(b);
        let shade = count(&|[r, g, b]| b > r.saturating_add(40) && b > g.saturating_add(40));
        let lit = count(&|px| px.iter().all(|c| *c > 190) && spread(px) < 15);
        let rim = count(&|[r, g, b]| g > r.saturating_add(40) && g > b.saturating_add(40));
        let outline = count(&|[r, g, b]| r > g.saturating_add(80) && r > b.saturating_add(80));
        let matcap = count(&|[r, g, b]| r > g.saturating_add(80) && b > g.saturating_add(80));
        assert!(
            shade > 600 && lit > 800 && rim > 500 && outline > 300 && matcap > 300,
            "{show}: {shade} shade-blue, {lit} lit near-white, {rim} rim-green, \
             {outline} outline-red, {matcap} matcap-magenta pixels of 25600"
        );
    }
}

/// An avatar exported with straight fingers (the generated jaw avatar's two green fingers
/// on a blue hand, not in its humanoid map) stands with them curled a little toward the
/// palm: in the picture of her left hand from the front, the fingers turn toward her body
/// from the line the hand sets (straight, they carry it on: 0°).
#[test]
fn straight_fingers_curl_at_ease() {
    let dir = Scratch::new("avatars-hands");
    let out = dir.path("hands.mkv");
    run_ok(&[
        "render",
        fixture("hands.toml").to_str().unwrap(),
        "--seconds",
        "1",
        "--output",
        out.to_str().unwrap(),
    ]);
    let frame = rgb_frame(&out, 10);
    let (mut fingers, mut hand) = (Vec::new(), Vec::new());
    for (i, px) in frame.2.chunks_exact(3).enumerate() {
        let at = ((i as u32 % frame.0) as f64, (i as u32 / frame.0) as f64);
        let [r, g, b] = [px[0], px[1], px[2]];
        if g > r.saturating_add(80) && g > b.saturating_add(80) {
            fingers.push(at);
        } else if b > r.saturating_add(80) && b > g.saturating_add(80) {
            hand.push(at);
        }
    }
    assert!(
        fingers.len() > 200 && hand.len() > 200,
        "{} finger, {} hand pixels",
        fingers.len(),
        hand.len()
    );
    let centre = |points: Vec<&(f64, f64)>| {
        let n = points.len().max(1) as f64;
        let sum = points
            .iter()
            .fold((0.0, 0.0), |s, p| (s.0 + p.0, s.1 + p.1));
        (sum.0 / n, sum.1 / n)
    };
    let rows: Vec<f64> = fingers.iter().map(|p| p.1).collect();
    let middle = (rows.iter().copied().fold(f64::MAX, f64::min)
        + rows.iter().copied().fold(f64::MIN, f64::max))
        / 2.0;
    let roots = centre(fingers.iter().filter(|p| p.1 < middle).collect());
    let tips = centre(fingers.iter().filter(|p| p.1 >= middle).collect());
    let palm = centre(hand.iter().collect());
    // Angles from straight down, positive toward the picture's right (away from her body).
    let lean = |a: (f64, f64), b: (f64, f64)| (b.0 - a.0).atan2(b.1 - a.1).to_degrees();
    let turn = lean(palm, roots) - lean(roots, tips);
    assert!(
        turn > 6.0,
        "her fingers turn {turn:.1}° toward her body from the hand's line (hand {:.1}°, fingers {:.1}°)",
        lean(palm, roots),
        lean(roots, tips)
    );
}
