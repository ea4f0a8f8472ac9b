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
