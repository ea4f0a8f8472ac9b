//! The scene's numbers checked before anything is built: a position that is not finite, a
//! scale of zero or a negative light puts nothing on screen (Bevy draws NaN as nothing),
//! so the designer is told which field, not shown a black picture.

use super::{BindingShow, LightSpec, LoadedScene, TransformSpec};

/// The first field of `scene` whose number makes no picture: its path and why.
pub(super) fn first_bad_number(scene: &LoadedScene) -> Option<(String, String)> {
    let d = &scene.description;
    let mut bad = Vec::new();
    at_least(
        &mut bad,
        "environment.ambient_brightness",
        d.environment.ambient_brightness,
        0.0,
    );
    for (i, c) in d.cameras.iter().enumerate() {
        point(&mut bad, format!("cameras[{i}].position"), c.position);
        point(&mut bad, format!("cameras[{i}].look_at"), c.look_at);
        finite(
            &mut bad,
            format!("cameras[{i}].exposure_ev100"),
            c.exposure_ev100,
        );
    }
    for (i, light) in d.lights.iter().enumerate() {
        light_numbers(&mut bad, &format!("lights[{i}]"), light);
    }
    for (i, s) in d.shapes.iter().enumerate() {
        transform(&mut bad, &format!("shapes[{i}].transform"), &s.transform);
        let m = &s.material;
        for (name, v) in [("roughness", m.roughness), ("metallic", m.metallic)] {
            if !(0.0..=1.0).contains(&v) {
                bad.push((
                    format!("shapes[{i}].material.{name}"),
                    format!("{v} is outside 0..=1"),
                ));
            }
        }
        at_least(
            &mut bad,
            format!("shapes[{i}].material.emissive_strength"),
            m.emissive_strength,
            0.0,
        );
    }
    for (i, p) in d.props.iter().enumerate() {
        transform(&mut bad, &format!("props[{i}].transform"), &p.transform);
    }
    if let Some(p) = &d.presenter {
        transform(&mut bad, "presenter.transform", &p.transform);
    }
    for (i, b) in d.bindings.iter().enumerate() {
        binding_numbers(&mut bad, &format!("bindings[{i}].show"), &b.show);
    }
    bad.into_iter().next()
}

type Bad = Vec<(String, String)>;

fn finite(bad: &mut Bad, field: impl Into<String>, v: f32) {
    if !v.is_finite() {
        bad.push((field.into(), format!("{v} is not a finite number")));
    }
}

fn at_least(bad: &mut Bad, field: impl Into<String>, v: f32, min: f32) {
    if !(v.is_finite() && v >= min) {
        bad.push((field.into(), format!("{v} is not a finite number >= {min}")));
    }
}

fn point(bad: &mut Bad, field: String, p: [f32; 3]) {
    if p.iter().any(|v| !v.is_finite()) {
        bad.push((field, format!("{p:?} is not three finite numbers")));
    }
}

/// Two points that give a direction: finite and apart.
fn direction(bad: &mut Bad, at: &str, (from, from_name): ([f32; 3], &str), to: [f32; 3]) {
    point(bad, format!("{at}.{from_name}"), from);
    point(bad, format!("{at}.look_at"), to);
    if from == to {
        bad.push((
            format!("{at}.look_at"),
            format!("equals `{from_name}`: no direction"),
        ));
    }
}

fn transform(bad: &mut Bad, at: &str, t: &TransformSpec) {
    point(bad, format!("{at}.translation"), t.translation);
    point(bad, format!("{at}.rotation_degrees"), t.rotation_degrees);
    if t.scale.iter().any(|v| !v.is_finite() || *v == 0.0) {
        bad.push((
            format!("{at}.scale"),
            format!("{:?} needs three finite numbers, none 0", t.scale),
        ));
    }
}

fn light_numbers(bad: &mut Bad, at: &str, light: &LightSpec) {
    match *light {
        LightSpec::Directional {
            illuminance,
            from,
            look_at,
            ..
        } => {
            at_least(bad, format!("{at}.illuminance"), illuminance, 0.0);
            direction(bad, at, (from, "from"), look_at);
        }
        LightSpec::Point {
            position,
            intensity,
            range,
            ..
        } => {
            point(bad, format!("{at}.position"), position);
            at_least(bad, format!("{at}.intensity"), intensity, 0.0);
            at_least(bad, format!("{at}.range"), range, f32::MIN_POSITIVE);
        }
        LightSpec::Spot {
            position,
            look_at,
            intensity,
            range,
            ..
        } => {
            direction(bad, at, (position, "position"), look_at);
            at_least(bad, format!("{at}.intensity"), intensity, 0.0);
            at_least(bad, format!("{at}.range"), range, f32::MIN_POSITIVE);
        }
    }
}

fn binding_numbers(bad: &mut Bad, at: &str, show: &BindingShow) {
    match *show {
        BindingShow::Text { size, .. } => {
            at_least(bad, format!("{at}.size"), size, f32::MIN_POSITIVE)
        }
        BindingShow::Spin {
            degrees_per_unit, ..
        } => finite(bad, format!("{at}.degrees_per_unit"), degrees_per_unit),
        BindingShow::Animation { speed_per_unit, .. } => {
            finite(bad, format!("{at}.speed_per_unit"), speed_per_unit)
        }
        BindingShow::Color { .. } | BindingShow::Visible => {}
    }
}
