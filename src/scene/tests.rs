use super::*;

fn parse(text: &str) -> Result<LoadedScene, SceneError> {
    LoadedScene::parse(Path::new("/nowhere/room.ron"), text)
}

const MINIMAL: &str = r##"(
    cameras: [(name: "wide", position: (0.0, 1.6, 5.0), look_at: (0.0, 1.0, 0.0))],
    shapes: [(name: "floor", shape: Plane(width: 10.0, depth: 8.0), material: (color: "#808080"))],
)"##;

#[test]
fn minimal_scene_parses_with_defaults() {
    let scene = parse(MINIMAL).unwrap();
    let d = &scene.description;
    assert_eq!(d.cameras[0].fov_degrees, 50.0);
    assert_eq!(d.shapes[0].material.color, Rgb([128.0 / 255.0; 3]));
    assert_eq!(d.environment, Environment::default());
    assert!(d.shapes[0].cast_shadows);
    assert!(
        !scene.to_ron().contains("cast_shadows"),
        "the default is not written"
    );
    // A floor left out of the shadow maps, and saved so.
    let text = MINIMAL.replace(
        "(color: \"#808080\")",
        "(color: \"#808080\"), cast_shadows: false",
    );
    let floor = parse(&text).unwrap();
    assert!(!floor.description.shapes[0].cast_shadows);
    assert!(floor.to_ron().contains("cast_shadows: false"));
}

#[test]
fn bad_colour_is_located() {
    let text = MINIMAL.replace("#808080", "grey");
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.starts_with("/nowhere/room.ron:3:"), "{err}");
    assert!(err.contains("colour `grey`"), "{err}");
}

#[test]
fn unknown_field_is_located() {
    let text = MINIMAL.replace("look_at:", "lookat:");
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.starts_with("/nowhere/room.ron:2:"), "{err}");
    assert!(err.contains("lookat"), "{err}");
}

#[test]
fn missing_prop_file_is_named() {
    let text = MINIMAL.replace(
        "shapes:",
        "props: [(name: \"cake\", asset: \"cake.glb\")],\n    shapes:",
    );
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.contains("props[0].asset"), "{err}");
    assert!(err.contains("/nowhere/cake.glb"), "{err}");
}

#[test]
fn scene_without_camera_is_refused() {
    let err = parse("(cameras: [])").unwrap_err().to_string();
    assert!(err.contains("at least one camera"), "{err}");
}

#[test]
fn nonpositive_sizes_and_bad_spots_are_refused() {
    let text = MINIMAL.replace("width: 10.0", "width: -1.0");
    assert!(
        parse(&text)
            .unwrap_err()
            .to_string()
            .contains("shapes[0].shape")
    );
    let text = MINIMAL.replace(
        "shapes:",
        "lights: [Spot(position: (0.0, 3.0, 0.0), look_at: (0.0, 0.0, 0.0), color: \"#ffffff\", intensity: 1000.0, inner_angle_degrees: 40.0, outer_angle_degrees: 20.0)],\n    shapes:",
    );
    assert!(parse(&text).unwrap_err().to_string().contains("lights[0]"));
}

#[test]
fn hex_colours_round_trip() {
    for hex in ["#000000", "#ffffff", "#12ab9f"] {
        assert_eq!(Rgb::from_hex(hex).unwrap().to_hex(), hex);
    }
    assert!(Rgb::from_hex("12ab9f").is_err());
    assert!(Rgb::from_hex("#12ab9").is_err());
}

/// Every scene the project ships or tests with: load → save → load is the same scene, and
/// saving is deterministic (saving the reloaded scene gives the same text).
#[test]
fn every_scene_round_trips_through_its_canonical_form() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["assets/scenes", "tests/fixtures"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "ron") {
                continue;
            }
            let scene = LoadedScene::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let text = scene.to_ron();
            let again = LoadedScene::parse(&path, &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(again.description, scene.description, "{}", path.display());
            assert_eq!(
                again.to_ron(),
                text,
                "{} is not saved deterministically",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} scenes found");
}

#[test]
fn numbers_that_draw_nothing_are_refused_by_field() {
    let with = |from: &str, to: &str| {
        let text = MINIMAL.replace(from, to);
        parse(&text).unwrap_err().to_string()
    };
    let err = with("(0.0, 1.6, 5.0)", "(inf, 1.6, 5.0)");
    assert!(
        err.contains("cameras[0].position: [inf, 1.6, 5.0] is not three finite numbers"),
        "{err}"
    );
    let err = with(
        "material:",
        "transform: (scale: (1.0, 0.0, 1.0)), material:",
    );
    assert!(err.contains("shapes[0].transform.scale"), "{err}");
    let err = with(
        "material:",
        "transform: (translation: (NaN, 0.0, 0.0)), material:",
    );
    assert!(err.contains("shapes[0].transform.translation"), "{err}");
    let err = with(
        "(color: \"#808080\")",
        "(color: \"#808080\", roughness: 2.0)",
    );
    assert!(
        err.contains("shapes[0].material.roughness: 2 is outside 0..=1"),
        "{err}"
    );
    let lights = |light: &str| with("shapes:", &format!("lights: [{light}],\n    shapes:"));
    let err = lights(
        r##"Directional(color: "#ffffff", illuminance: inf, from: (0.0, 5.0, 5.0), look_at: (0.0, 0.0, 0.0))"##,
    );
    assert!(
        err.contains("lights[0].illuminance: inf is not a finite number >= 0"),
        "{err}"
    );
    let err = lights(
        r##"Directional(color: "#ffffff", illuminance: 900.0, from: (0.0, 5.0, 5.0), look_at: (0.0, 5.0, 5.0))"##,
    );
    assert!(err.contains("lights[0].look_at: equals `from`"), "{err}");
    let err = lights(r##"Point(position: (0.0, 2.0, 0.0), color: "#ffffff", intensity: -5.0)"##);
    assert!(err.contains("lights[0].intensity"), "{err}");
    let err = lights(
        r##"Spot(position: (0.0, 2.0, 0.0), look_at: (0.0, 0.0, 0.0), color: "#ffffff", intensity: 5.0, range: 0.0)"##,
    );
    assert!(err.contains("lights[0].range"), "{err}");
    // Mirrored (a negative scale) is a picture, and the minimal scene still is.
    parse(&MINIMAL.replace(
        "material:",
        "transform: (scale: (-1.0, 1.0, 1.0)), material:",
    ))
    .unwrap();
}

#[test]
fn a_breeze_is_read_and_its_bad_numbers_refused_by_field() {
    let robot = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/avatars/RobotExpressive.glb");
    let with = |wind: &str| {
        MINIMAL.replace(
            "shapes:",
            &format!("presenter: (name: \"host\", asset: {robot:?}, {wind}),\n    shapes:"),
        )
    };
    let scene = parse(&with("wind: (strength: 0.5, toward: (1.0, 0.0, 0.0))")).unwrap();
    let wind = scene.description.presenter.as_ref().unwrap().wind.unwrap();
    assert_eq!((wind.strength, wind.toward), (0.5, [1.0, 0.0, 0.0]));
    // The editor saves it back as it was.
    let again = parse(&scene.to_ron()).unwrap();
    assert_eq!(again.description, scene.description);
    let err = parse(&with("wind: (strength: 9.0, toward: (1.0, 0.0, 0.0))")).unwrap_err();
    assert!(err.to_string().contains("presenter.wind.strength"), "{err}");
    let err = parse(&with("wind: (strength: 1.0, toward: (0.0, 0.0, 0.0))")).unwrap_err();
    assert!(err.to_string().contains("presenter.wind.toward"), "{err}");
}
