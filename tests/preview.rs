//! `twincast preview` in a real window on a virtual X display (Xvfb), driven by a script of
//! key presses and drags through Bevy's input, checked by screenshots.

use crate::common::*;

fn centre(path: &std::path::Path) -> [f64; 3] {
    let picture = read_ppm(path);
    let (w, h) = (picture.0, picture.1);
    patch_mean(&picture, w / 2, h / 2, 6)
}

#[test]
fn preview_opens_a_window_and_follows_scripted_input() {
    let dir = Scratch::new("preview");
    let script = dir.path("script.txt");
    let shot = |n: &str| dir.path(&format!("{n}.ppm"));
    std::fs::write(
        &script,
        format!(
            "wait 10\nscreenshot {}\nkey Digit2\nwait 3\nscreenshot {}\ndrag 300 0\nwait 3\nscreenshot {}\nquit\n",
            shot("first").display(),
            shot("east").display(),
            shot("turned").display()
        ),
    )
    .unwrap();
    let out = on_virtual_display(&[
        "preview",
        fixture("six_walls.toml").to_str().unwrap(),
        "--size",
        "320x180",
        "--commands",
        script.to_str().unwrap(),
    ]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("preview: camera 2: east"), "{log}");
    // The first camera looks at the magenta front wall; key 2 turns to the red east wall;
    // dragging orbits away from it.
    assert_colour_near(
        centre(&shot("first")),
        [0xe0, 0x20, 0xe0],
        12.0,
        "first camera",
    );
    assert_colour_near(centre(&shot("east")), [0xe0, 0x20, 0x20], 12.0, "camera 2");
    let turned = centre(&shot("turned"));
    assert!(
        (turned[1] - 0x20 as f64).abs() > 60.0 || (turned[2] - 0x20 as f64).abs() > 60.0,
        "the drag did not turn the view: {turned:?}"
    );
}

/// `preview --live` plays the show itself in the window: the flash-sale card and the
/// caption of the line being said are on screen, and the line is voiced.
#[test]
fn live_preview_plays_the_show_in_the_window() {
    let dir = Scratch::new("preview-live");
    let script = dir.path("script.txt");
    // Several pictures a second or so apart: a loaded machine may catch one between two
    // lines, when no caption is up.
    let shots: Vec<_> = (0..4).map(|i| dir.path(&format!("live{i}.ppm"))).collect();
    let mut commands = String::from("wait 40\n");
    for shot in &shots {
        commands.push_str(&format!("screenshot {}\nwait 15\n", shot.display()));
    }
    commands.push_str("quit\n");
    std::fs::write(&script, commands).unwrap();
    let out = on_virtual_display(&[
        "preview",
        fixture("flash_zh.toml").to_str().unwrap(),
        "--live",
        "--size",
        "480x270",
        "--commands",
        script.to_str().unwrap(),
    ]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("speaking at"), "{log}");
    let seen: Vec<(u32, u32)> = shots
        .iter()
        .map(|shot| {
            let picture = read_ppm(shot);
            let (red, _) = count_pixels(&picture, 340..468, 48..158, |[r, g, b]| {
                r > 180 && g < 90 && b < 90
            });
            let (caption, _) =
                count_pixels(&picture, 100..380, 236..262, |p| p.iter().all(|c| *c > 200));
            (red, caption)
        })
        .collect();
    assert!(
        seen.iter().any(|(red, _)| *red > 400),
        "no flash-sale card in any picture (red pixels: {seen:?})"
    );
    assert!(
        seen.iter().any(|(_, caption)| *caption > 150),
        "no caption in any picture (text pixels: {seen:?})"
    );
}

/// The twin's screens draw in a window too: the demo's banner is red with the shop's name,
/// not the black of a texture never drawn (what a lost first draw used to leave).
#[test]
fn preview_draws_the_twins_screens() {
    let dir = Scratch::new("preview-screens");
    let script = dir.path("script.txt");
    let shot = dir.path("screens.ppm");
    std::fs::write(
        &script,
        format!("wait 12\nscreenshot {}\nquit\n", shot.display()),
    )
    .unwrap();
    let out = on_virtual_display(&[
        "preview",
        repo().join("assets/shows/demo.toml").to_str().unwrap(),
        "--size",
        "480x270",
        "--commands",
        script.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (red, n) = count_pixels(&read_ppm(&shot), 150..330, 52..60, |[r, g, b]| {
        r > 120 && r / 2 > g && r / 2 > b
    });
    assert!(
        red * 2 > n,
        "the banner is not drawn: {red} of {n} pixels red; its log:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
