//! `twincast edit SCENE`: arrange the showroom in a window and save it back to its file.
//!
//! The scene description is the document: every edit changes it (with undo and redo) and
//! the set is rebuilt from it, so what is on screen is always what will be saved, and the
//! saved file is the canonical, diff-friendly form. A running `stream` watching the same
//! file picks the saved scene up.
//!
//! Click a shape or prop to select it (` cycles); Shift+drag slides it over the floor. Arrows move it, PageUp /
//! PageDown lift it, Q / E turn it, `-` / `=` scale it, C cycles its colour (shapes), L / K
//! brighten / dim the lights, P adds a prop from the scene's `props` folder, Delete removes,
//! Ctrl+Z / Ctrl+Y undo and redo, Ctrl+S saves. The same edits can be scripted.

use crate::config::ShowConfig;
use crate::presenter::{HostAvatar, PreparedMotion, Redress};
use crate::runtime::RunError;
use crate::runtime::window::{AppCommands, WindowInput, window_app};
use crate::scene::{
    LightSpec, LoadedScene, ModelFilesWatch, PropSpec, Rgb, SceneDescription, SetPiece,
    ShowroomSettings, TransformSpec,
};
use bevy::picking::mesh_picking::MeshPickingPlugin;
use bevy::prelude::*;
use std::path::{Path, PathBuf};
use tracing::{info, warn};

pub struct EditOptions {
    pub show: ShowConfig,
    pub scene: PathBuf,
    pub commands: Option<PathBuf>,
}

/// The editor's commands, as typed in an input script (`move 0 0 0.5`, `save`, …).
const EDIT_VERBS: [&str; 11] = [
    "select", "move", "rotate", "scale", "color", "light", "add", "remove", "undo", "redo", "save",
];

pub fn run(options: EditOptions) -> Result<(), RunError> {
    let scene = LoadedScene::load(&options.scene)?;
    let title = format!("twincast edit — {}", options.scene.display());
    let input = WindowInput {
        script: options.commands.as_deref(),
        app_verbs: &EDIT_VERBS,
    };
    let mut app = window_app(&options.show, scene.clone(), input, &title)?;
    app.add_plugins(MeshPickingPlugin)
        .insert_resource(Editor::new(scene))
        .add_systems(Startup, spawn_inspector)
        .add_systems(
            Update,
            (
                edit_from_keys,
                edit_from_script,
                drag_selection,
                draw_selection,
                update_inspector,
                reload_saved_props,
                redress_her_when_saved,
            )
                .chain(),
        )
        .add_observer(select_on_click);
    info!(
        "edit: click or Tab to select; arrows / PageUp / PageDown move, Q/E turn, -/= scale, \
         C colour, L/K lights, P add prop, Delete remove, Ctrl+Z/Y undo/redo, Ctrl+S save"
    );
    app.run();
    Ok(())
}

/// The document and its history.
#[derive(Resource)]
pub struct Editor {
    doc: LoadedScene,
    undo: Vec<SceneDescription>,
    redo: Vec<SceneDescription>,
    selected: Option<String>,
    /// What the inspector says about the last action.
    message: String,
}

/// Colours C cycles through.
const PALETTE: [&str; 6] = [
    "#d62839", "#1d9a6c", "#1d5fa8", "#f4f1ec", "#3d3d44", "#e0c020",
];

impl Editor {
    pub fn new(doc: LoadedScene) -> Self {
        Self {
            doc,
            undo: Vec::new(),
            redo: Vec::new(),
            selected: None,
            message: String::new(),
        }
    }

    /// Names of what can be selected, in scene order: shapes, props, then the presenter.
    fn objects(&self) -> Vec<String> {
        let d = &self.doc.description;
        d.shapes
            .iter()
            .map(|s| s.name.clone())
            .chain(d.props.iter().map(|p| p.name.clone()))
            .chain(d.presenter.iter().map(|p| p.name.clone()))
            .collect()
    }

    fn transform_of<'a>(d: &'a mut SceneDescription, name: &str) -> Option<&'a mut TransformSpec> {
        if let Some(s) = d.shapes.iter_mut().find(|s| s.name == name) {
            return Some(&mut s.transform);
        }
        if let Some(p) = d.props.iter_mut().find(|p| p.name == name) {
            return Some(&mut p.transform);
        }
        (d.presenter.as_mut())
            .filter(|p| p.name == name)
            .map(|p| &mut p.transform)
    }

    /// Carries out one command (as a script writes it); `Ok(true)` when the scene changed:
    /// selection, undo, redo and save here, the commands that change the scene in
    /// `change`, undone whole where they fail or leave a number that draws nothing.
    pub fn apply(&mut self, line: &str) -> Result<bool, String> {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        match verb {
            "select" => {
                let name = rest.join(" ");
                if !self.objects().contains(&name) {
                    return Err(format!("no shape, prop or presenter named `{name}`"));
                }
                self.message = format!("selected {name}");
                self.selected = Some(name);
                return Ok(false);
            }
            "undo" => {
                let Some(previous) = self.undo.pop() else {
                    return Err("nothing to undo".into());
                };
                self.redo
                    .push(std::mem::replace(&mut self.doc.description, previous));
                self.message = "undone".into();
                return Ok(true);
            }
            "redo" => {
                let Some(next) = self.redo.pop() else {
                    return Err("nothing to redo".into());
                };
                self.undo
                    .push(std::mem::replace(&mut self.doc.description, next));
                self.message = "redone".into();
                return Ok(true);
            }
            "save" => {
                self.doc.save(&self.doc.path).map_err(|e| e.to_string())?;
                self.message = format!("saved {}", self.doc.path.display());
                info!("edit: {}", self.message);
                return Ok(false);
            }
            _ => {}
        }
        let before = self.doc.description.clone();
        let changed = self.change(verb, &rest, line).and_then(|()| {
            // A change that would make the scene unloadable is not made.
            match self.doc.bad_number() {
                Some((field, reason)) => Err(format!("`{line}` not done: {field}: {reason}")),
                None => Ok(()),
            }
        });
        if let Err(e) = changed {
            self.doc.description = before;
            return Err(e);
        }
        if self.doc.description == before {
            return Ok(false);
        }
        self.undo.push(before);
        self.redo.clear();
        Ok(true)
    }

    /// Carries out a command that changes the scene; on an error the caller puts the scene
    /// back as it was, so a command is done whole or not at all.
    fn change(&mut self, verb: &str, rest: &[&str], line: &str) -> Result<(), String> {
        let number = |i: usize| -> Result<f32, String> {
            rest.get(i)
                .and_then(|w| w.parse::<f32>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("`{line}`: a finite number expected"))
        };
        match verb {
            "move" | "rotate" | "scale" => self.transform_selected(verb, &number),
            "color" => self.colour_selected(rest.first().copied().unwrap_or("")),
            "light" => self.scale_lights(number(0)?),
            "add" => self.add_prop(PathBuf::from(rest.join(" "))),
            "remove" => self.remove_selected(),
            _ => Err(format!("unknown command `{verb}`")),
        }
    }

    fn selected(&self) -> Result<String, String> {
        self.selected.clone().ok_or("select something first".into())
    }

    /// `move X Y Z` (metres), `rotate DEGREES` (about the vertical), `scale FACTOR` the
    /// selection, with `number(i)` the command's i-th number.
    fn transform_selected(
        &mut self,
        verb: &str,
        number: &dyn Fn(usize) -> Result<f32, String>,
    ) -> Result<(), String> {
        let name = self.selected()?;
        let d = &mut self.doc.description;
        let t = Self::transform_of(d, &name).ok_or("selection is gone")?;
        self.message = match verb {
            "move" => {
                for axis in 0..3 {
                    t.translation[axis] += number(axis)?;
                }
                format!("moved {name}")
            }
            "rotate" => {
                t.rotation_degrees[1] = (t.rotation_degrees[1] + number(0)?).rem_euclid(360.0);
                format!("turned {name}")
            }
            _ => {
                let f = number(0)?;
                if !(f > 0.0 && f.is_finite()) {
                    return Err(format!("scale {f} is not positive"));
                }
                t.scale = t.scale.map(|s| s * f);
                format!("scaled {name}")
            }
        };
        Ok(())
    }

    /// `color #RRGGBB`: the selected shape's colour (props keep their materials).
    fn colour_selected(&mut self, hex: &str) -> Result<(), String> {
        let name = self.selected()?;
        let rgb = Rgb::from_hex(hex)?;
        let d = &mut self.doc.description;
        let shape = d.shapes.iter_mut().find(|s| s.name == name).ok_or(format!(
            "`{name}` is not a shape; only shapes have a colour here"
        ))?;
        shape.material.color = rgb;
        self.message = format!("{name} is {}", rgb.to_hex());
        Ok(())
    }

    /// `light FACTOR`: every light brighter or dimmer together.
    fn scale_lights(&mut self, f: f32) -> Result<(), String> {
        if !(f > 0.0 && f.is_finite()) {
            return Err(format!("factor {f} is not positive"));
        }
        for light in &mut self.doc.description.lights {
            match light {
                LightSpec::Directional { illuminance, .. } => *illuminance *= f,
                LightSpec::Point { intensity, .. } | LightSpec::Spot { intensity, .. } => {
                    *intensity *= f
                }
            }
        }
        self.message = format!("lights ×{f}");
        Ok(())
    }

    /// `add PATH`: a prop from a model file (relative to the scene file) at the origin,
    /// named after the file and numbered, and selected.
    fn add_prop(&mut self, asset: PathBuf) -> Result<(), String> {
        if !self.doc.asset_path(&asset).is_file() {
            return Err(format!(
                "{} does not exist (paths are relative to the scene file)",
                asset.display()
            ));
        }
        let stem = asset
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "prop".into());
        let taken = self.objects();
        let name = (1..)
            .map(|n| format!("{stem} {n}"))
            .find(|n| !taken.contains(n))
            .unwrap_or(stem);
        self.doc.description.props.push(PropSpec {
            name: name.clone(),
            asset,
            scene: 0,
            transform: TransformSpec::default(),
        });
        self.message = format!("added {name}");
        self.selected = Some(name);
        Ok(())
    }

    /// `remove`: the selected shape or prop, and the twin's bindings to it (the presenter
    /// is taken out in the scene's file, not here).
    fn remove_selected(&mut self) -> Result<(), String> {
        let name = self.selected()?;
        let d = &mut self.doc.description;
        if d.presenter.as_ref().is_some_and(|p| p.name == name) {
            return Err(format!(
                "`{name}` is the presenter: she is moved, turned and scaled here, and \
                 taken out of the scene in its file"
            ));
        }
        d.shapes.retain(|s| s.name != name);
        d.props.retain(|p| p.name != name);
        d.bindings.retain(|b| b.target != name);
        self.message = format!("removed {name}");
        self.selected = None;
        Ok(())
    }
}

fn publish(editor: &Editor, settings: &mut ShowroomSettings) {
    settings.scene = editor.doc.clone();
}

fn run_command(editor: &mut Editor, settings: &mut ShowroomSettings, line: &str) {
    match editor.apply(line) {
        Ok(true) => publish(editor, settings),
        Ok(false) => {}
        Err(e) => {
            warn!("edit: {e}");
            editor.message = e;
        }
    }
}

fn edit_from_script(
    mut queue: ResMut<AppCommands>,
    mut editor: ResMut<Editor>,
    mut settings: ResMut<ShowroomSettings>,
) {
    while let Some(line) = queue.0.pop_front() {
        info!("edit: {line}");
        run_command(&mut editor, &mut settings, &line);
    }
}

/// A prop whose file is saved again (from a modelling tool) while the editor is open is
/// shown as saved, as a running show does ([`ModelFilesWatch`]).
fn reload_saved_props(
    mut props: Local<ModelFilesWatch>,
    editor: Res<Editor>,
    mut settings: ResMut<ShowroomSettings>,
) {
    if editor.is_changed() {
        props.follow(editor.doc.prop_files());
    }
    if let Some(file) = props.changed_file() {
        info!("edit: {}: changed; the set is rebuilt", file.display());
        settings.set_changed();
    }
}

/// The presenter's avatar or clip saved again while the editor is open puts her on stage
/// again from it, as a running show does; a save that cannot be shown is named and she
/// stays as she was.
fn redress_her_when_saved(
    mut commands: Commands,
    mut her: Local<ModelFilesWatch>,
    editor: Res<Editor>,
) {
    if editor.is_changed() {
        her.follow(editor.doc.presenter_files());
    }
    let Some(file) = her.changed_file() else {
        return;
    };
    match PreparedMotion::prepare_again(&editor.doc) {
        Ok(motion) => {
            info!(
                "edit: {}: changed; the presenter is put on stage again",
                file.display()
            );
            commands.insert_resource(Redress(motion));
        }
        Err(e) => warn!(
            "edit: {}: {e}; the presenter stays as she was",
            file.display()
        ),
    }
}

/// Props the P key can add: glTF files in the `props` folder next to the scene's folder.
fn prop_files(scene: &Path) -> Vec<PathBuf> {
    let Some(dir) = scene.parent() else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("../props"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "glb" || e == "gltf"))
        .filter_map(|p| p.file_name().map(|f| PathBuf::from("../props").join(f)))
        .collect();
    files.sort();
    files
}

fn edit_from_keys(
    keys: Res<ButtonInput<KeyCode>>,
    mut editor: ResMut<Editor>,
    mut settings: ResMut<ShowroomSettings>,
    mut next_prop: Local<usize>,
    mut next_colour: Local<usize>,
) {
    let ctrl = keys.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]);
    let step = if keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]) {
        1.0
    } else {
        0.1
    };
    let mut commands: Vec<String> = Vec::new();
    let mut press = |key: KeyCode, command: String| {
        if keys.just_pressed(key) {
            commands.push(command);
        }
    };
    if ctrl {
        press(KeyCode::KeyZ, "undo".into());
        press(KeyCode::KeyY, "redo".into());
        press(KeyCode::KeyS, "save".into());
    } else {
        press(KeyCode::ArrowLeft, format!("move {} 0 0", -step));
        press(KeyCode::ArrowRight, format!("move {step} 0 0"));
        press(KeyCode::ArrowUp, format!("move 0 0 {}", -step));
        press(KeyCode::ArrowDown, format!("move 0 0 {step}"));
        press(KeyCode::PageUp, format!("move 0 {step} 0"));
        press(KeyCode::PageDown, format!("move 0 {} 0", -step));
        press(KeyCode::KeyQ, "rotate 15".into());
        press(KeyCode::KeyE, "rotate -15".into());
        press(KeyCode::Equal, "scale 1.1".into());
        press(KeyCode::Minus, "scale 0.9090909".into());
        press(KeyCode::KeyL, "light 1.25".into());
        press(KeyCode::KeyK, "light 0.8".into());
        press(KeyCode::Delete, "remove".into());
        if keys.just_pressed(KeyCode::KeyC) {
            *next_colour = (*next_colour + 1) % PALETTE.len();
            commands.push(format!("color {}", PALETTE[*next_colour]));
        }
        if keys.just_pressed(KeyCode::KeyP) {
            let files = prop_files(&editor.doc.path);
            if let Some(file) = files.get(*next_prop % files.len().max(1)) {
                *next_prop += 1;
                commands.push(format!("add {}", file.display()));
            }
        }
    }
    if keys.just_pressed(KeyCode::Backquote) {
        let objects = editor.objects();
        let next = editor
            .selected
            .as_ref()
            .and_then(|s| objects.iter().position(|o| o == s))
            .map_or(0, |i| (i + 1) % objects.len().max(1));
        if let Some(name) = objects.get(next) {
            commands.push(format!("select {name}"));
        }
    }
    for command in commands {
        run_command(&mut editor, &mut settings, &command);
    }
}

/// Shift + left-drag slides the selection over the floor, in the view's directions, at a
/// rate that keeps it under the pointer at its distance. The whole drag is one undo step.
fn drag_selection(
    keys: Res<ButtonInput<KeyCode>>,
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<bevy::input::mouse::AccumulatedMouseMotion>,
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    camera: Query<(&GlobalTransform, &Projection), With<crate::scene::ActiveCamera>>,
    mut pieces: Query<(&Name, &mut Transform), Selectable>,
    mut editor: ResMut<Editor>,
    mut settings: ResMut<ShowroomSettings>,
    mut dragged: Local<Option<Vec3>>,
) {
    let shift = keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
    let held = shift && buttons.pressed(MouseButton::Left);
    let Some(selected) = editor.selected.clone() else {
        return;
    };
    if !held {
        if let Some(total) = dragged.take()
            && total.length() > 1e-4
        {
            run_command(
                &mut editor,
                &mut settings,
                &format!("move {} 0 {}", total.x, total.z),
            );
        }
        return;
    }
    let (Ok(window), Ok((eye, projection))) = (windows.single(), camera.single()) else {
        return;
    };
    let Some((_, mut transform)) = pieces.iter_mut().find(|(n, _)| n.as_str() == selected) else {
        return;
    };
    let fov = match projection {
        Projection::Perspective(p) => p.fov,
        _ => 1.0,
    };
    let distance = eye.translation().distance(transform.translation).max(0.1);
    let per_pixel = 2.0 * distance * (fov / 2.0).tan() / window.height().max(1.0);
    let flat = |v: Vec3| Vec3::new(v.x, 0.0, v.z).normalize_or_zero();
    let step =
        (flat(*eye.right()) * motion.delta.x - flat(*eye.forward()) * motion.delta.y) * per_pixel;
    transform.translation += step;
    *dragged.get_or_insert(Vec3::ZERO) += step;
}

/// What a click, a drag and the gizmo find: the set's pieces and the presenter.
type Selectable = Or<(With<SetPiece>, With<HostAvatar>)>;

/// A click on a set piece (or any part of a prop, or of the presenter) selects it.
fn select_on_click(
    click: On<Pointer<Click>>,
    parents: Query<&ChildOf>,
    pieces: Query<&Name, Selectable>,
    mut editor: ResMut<Editor>,
) {
    let mut entity = click.entity;
    loop {
        if let Ok(name) = pieces.get(entity) {
            let name = name.to_string();
            editor.message = format!("selected {name}");
            editor.selected = Some(name);
            return;
        }
        match parents.get(entity) {
            Ok(parent) => entity = parent.parent(),
            Err(_) => return,
        }
    }
}

/// Axes and a box around the selection.
fn draw_selection(
    editor: Res<Editor>,
    pieces: Query<(&Name, &GlobalTransform), Selectable>,
    mut gizmos: Gizmos,
) {
    let Some(selected) = &editor.selected else {
        return;
    };
    for (name, transform) in &pieces {
        if name.as_str() == selected {
            gizmos.axes(*transform, 0.6);
            gizmos.cube(*transform, Color::srgb(1.0, 0.8, 0.1));
        }
    }
}

#[derive(Component)]
struct Inspector;

fn spawn_inspector(mut commands: Commands) {
    commands
        .spawn((
            Node {
                position_type: PositionType::Absolute,
                left: Val::Px(8.0),
                bottom: Val::Px(8.0),
                padding: UiRect::all(Val::Px(8.0)),
                max_width: Val::Percent(60.0),
                ..default()
            },
            BackgroundColor(Color::BLACK.with_alpha(0.7)),
        ))
        .with_child((
            Inspector,
            Text::new(""),
            TextFont::from_font_size(13.0),
            TextColor(Color::WHITE),
        ));
}

fn update_inspector(editor: Res<Editor>, mut text: Query<&mut Text, With<Inspector>>) {
    if !editor.is_changed() {
        return;
    }
    let mut d = editor.doc.description.clone();
    let detail = editor
        .selected
        .as_deref()
        .and_then(|name| {
            let t = Editor::transform_of(&mut d, name)?;
            Some(format!(
                "{name}\nposition {:.2} {:.2} {:.2}\nturn {:.0}°  scale {:.2}",
                t.translation[0],
                t.translation[1],
                t.translation[2],
                t.rotation_degrees[1],
                t.scale[0]
            ))
        })
        .unwrap_or_else(|| "nothing selected (click, or ` to cycle)".into());
    let status = format!(
        "{detail}\n{}\nundo {} · redo {}",
        editor.message,
        editor.undo.len(),
        editor.redo.len()
    );
    for mut t in &mut text {
        t.0 = status.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn editor() -> Editor {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/scenes/showroom.ron");
        Editor::new(LoadedScene::load(&path).unwrap())
    }

    #[test]
    fn edits_change_the_document_and_undo_redo_restore_it() {
        let mut e = editor();
        let original = e.doc.description.clone();
        assert!(e.apply("move 1 0 0").is_err(), "nothing selected");
        e.apply("select cake").unwrap();
        assert!(e.apply("move 0.5 0 -0.25").unwrap());
        assert!(e.apply("rotate 30").unwrap());
        let cake = |e: &Editor| {
            e.doc
                .description
                .props
                .iter()
                .find(|p| p.name == "cake")
                .unwrap()
                .transform
                .clone()
        };
        let near = |a: [f32; 3], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        let moved = cake(&e);
        assert!(near(moved.translation, [-2.1, 0.9, -0.9]), "{moved:?}");
        assert_eq!(moved.rotation_degrees[1], 60.0);
        e.apply("undo").unwrap();
        e.apply("undo").unwrap();
        assert_eq!(e.doc.description, original);
        e.apply("redo").unwrap();
        assert!(near(cake(&e).translation, [-2.1, 0.9, -0.9]));
        assert!(e.apply("undo").is_ok());
        assert!(e.apply("select nothing here").is_err());
        assert!(e.apply("color #zz0000").is_err());
        e.apply("select back wall").unwrap();
        e.apply("color #112233").unwrap();
        e.apply("add ../props/alien.glb").unwrap();
        assert!(e.doc.description.props.iter().any(|p| p.name == "alien 1"));
        assert!(e.apply("add ../props/missing.glb").is_err());
    }

    #[test]
    fn the_presenter_is_moved_turned_and_scaled_but_not_removed() {
        let mut e = editor();
        let host = |e: &Editor| e.doc.description.presenter.clone().unwrap().transform;
        let before = host(&e);
        e.apply("select host").unwrap();
        assert!(e.apply("move 0.5 0 0").unwrap());
        assert!(e.apply("rotate 90").unwrap());
        assert!(e.apply("scale 2").unwrap());
        let after = host(&e);
        assert!((after.translation[0] - before.translation[0] - 0.5).abs() < 1e-5);
        assert_eq!(after.scale, before.scale.map(|s| s * 2.0));
        let err = e.apply("remove").unwrap_err();
        assert!(err.contains("presenter"), "{err}");
        assert!(e.doc.description.presenter.is_some());
        assert!(e.apply("color #ff0000").is_err(), "she has no colour here");
        e.apply("undo").unwrap();
        e.apply("undo").unwrap();
        e.apply("undo").unwrap();
        assert_eq!(host(&e), before);
    }

    #[test]
    fn a_command_is_done_whole_or_not_at_all() {
        let mut e = editor();
        e.apply("select cake").unwrap();
        let before = e.doc.description.clone();
        // The first axis would move before the second number is found wanting.
        assert!(e.apply("move 1 x 0").is_err());
        assert!(e.apply("move 1 inf 0").is_err());
        // Each step is finite; the sum is not, which the scene would refuse at load.
        let err = e
            .apply("move 3e38 0 0")
            .and_then(|_| e.apply("move 3e38 0 0"));
        assert!(err.unwrap_err().contains("props[0].transform.translation"));
        e.apply("undo").unwrap();
        assert_eq!(e.doc.description, before);
        assert!(
            e.apply("undo").is_err(),
            "the refused commands left nothing to undo"
        );
    }
}
