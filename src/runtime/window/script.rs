//! Input scripts for window apps: keys, drags, waits, screenshots, and the app's own
//! commands, one a line.

use super::CAMERA_KEYS;
use bevy::input::mouse::AccumulatedMouseMotion;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use std::collections::VecDeque;
use std::path::PathBuf;
use tracing::{info, warn};

/// One step of a preview script.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Do nothing for this many frames.
    Wait(u32),
    /// Press and release a key (`Digit2`, `Tab`, `KeyW`, `Escape` …).
    Key(KeyCode),
    /// Drag with the left button by this many pixels.
    Drag(f32, f32),
    /// Keep a key down (`hold ShiftLeft`) until `release`.
    Hold(KeyCode),
    Release(KeyCode),
    /// Save the window's picture as a binary PPM.
    Screenshot(PathBuf),
    /// A command for the app itself (one of the verbs it named, e.g. the editor's
    /// `select`, `move`, `save`), handed to it as written through [`AppCommands`].
    App(String),
    Quit,
}

/// The app's own commands from a script, in order, for the app to take.
#[derive(Resource, Debug, Default)]
pub struct AppCommands(pub VecDeque<String>);

/// The script being played.
#[derive(Resource, Debug, Default)]
pub struct Script {
    steps: VecDeque<Command>,
    waiting: u32,
    release: Option<KeyCode>,
    release_mouse: bool,
    /// Screenshots asked for and not yet written.
    pending: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Script {
    /// Reads a script: one command a line (`wait 10`, `key Digit2`, `drag 40 0`,
    /// `screenshot out.ppm`, `quit`, or a line starting with one of `app_verbs`); a line
    /// starting with `#` is a comment. Errors name the line.
    pub fn load(path: &std::path::Path, app_verbs: &[&str]) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Self::parse(&text, app_verbs).map_err(|(line, e)| format!("{}:{line}: {e}", path.display()))
    }

    pub fn parse(text: &str, app_verbs: &[&str]) -> Result<Self, (usize, String)> {
        let mut steps = VecDeque::new();
        for (i, line) in text.lines().enumerate() {
            // A line starting with `#` is a comment (`#rrggbb` colours are arguments).
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
            let rest = rest.trim();
            let bad = |e: &str| (i + 1, format!("{e}: `{line}`"));
            steps.push_back(match word {
                "wait" => Command::Wait(rest.parse().map_err(|_| bad("frames expected"))?),
                "key" => Command::Key(key_code(rest).ok_or_else(|| bad("unknown key"))?),
                "hold" => Command::Hold(key_code(rest).ok_or_else(|| bad("unknown key"))?),
                "release" => Command::Release(key_code(rest).ok_or_else(|| bad("unknown key"))?),
                "drag" => {
                    let mut it = rest.split_whitespace().map(str::parse::<f32>);
                    match (it.next(), it.next()) {
                        (Some(Ok(x)), Some(Ok(y))) => Command::Drag(x, y),
                        _ => return Err(bad("two numbers expected")),
                    }
                }
                "screenshot" if !rest.is_empty() => Command::Screenshot(rest.into()),
                "quit" => Command::Quit,
                w if app_verbs.contains(&w) => Command::App(line.to_string()),
                _ => {
                    return Err(bad(
                        "unknown command (wait, key, hold, release, drag, screenshot, quit, or one of the app's)",
                    ));
                }
            });
        }
        Ok(Self {
            steps,
            ..Self::default()
        })
    }
}

fn key_code(name: &str) -> Option<KeyCode> {
    Some(match name {
        "Tab" => KeyCode::Tab,
        "Escape" => KeyCode::Escape,
        "Space" => KeyCode::Space,
        "KeyW" => KeyCode::KeyW,
        "KeyA" => KeyCode::KeyA,
        "KeyS" => KeyCode::KeyS,
        "KeyD" => KeyCode::KeyD,
        "KeyQ" => KeyCode::KeyQ,
        "KeyE" => KeyCode::KeyE,
        "KeyC" => KeyCode::KeyC,
        "KeyP" => KeyCode::KeyP,
        "ArrowLeft" => KeyCode::ArrowLeft,
        "ArrowRight" => KeyCode::ArrowRight,
        "ArrowUp" => KeyCode::ArrowUp,
        "ArrowDown" => KeyCode::ArrowDown,
        "PageUp" => KeyCode::PageUp,
        "PageDown" => KeyCode::PageDown,
        "Delete" => KeyCode::Delete,
        "ShiftLeft" => KeyCode::ShiftLeft,
        "ControlLeft" => KeyCode::ControlLeft,
        "KeyZ" => KeyCode::KeyZ,
        "KeyY" => KeyCode::KeyY,
        d if d.starts_with("Digit") => {
            let n: usize = d[5..].parse().ok()?;
            *CAMERA_KEYS.get(n.checked_sub(1)?)?
        }
        _ => return None,
    })
}

/// Feeds the script into Bevy's input state, after the real input of this frame.
pub(super) fn play_script(
    mut script: ResMut<Script>,
    mut keys: ResMut<ButtonInput<KeyCode>>,
    mut buttons: ResMut<ButtonInput<MouseButton>>,
    mut motion: ResMut<AccumulatedMouseMotion>,
    mut commands: Commands,
    mut exit: MessageWriter<AppExit>,
    mut app_commands: ResMut<AppCommands>,
) {
    if let Some(key) = script.release.take() {
        keys.release(key);
    }
    if std::mem::take(&mut script.release_mouse) {
        buttons.release(MouseButton::Left);
    }
    if script.waiting > 0 {
        script.waiting -= 1;
        return;
    }
    let Some(step) = script.steps.pop_front() else {
        return;
    };
    match step {
        Command::Wait(frames) => script.waiting = frames,
        Command::Key(key) => {
            keys.press(key);
            script.release = Some(key);
        }
        Command::Hold(key) => keys.press(key),
        Command::Release(key) => keys.release(key),
        Command::Drag(x, y) => {
            buttons.press(MouseButton::Left);
            motion.delta = Vec2::new(x, y);
            script.release_mouse = true;
        }
        Command::Screenshot(path) => {
            let pending = script.pending.clone();
            pending.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            commands.spawn(Screenshot::primary_window()).observe(
                move |shot: On<ScreenshotCaptured>| {
                    match write_ppm(&path, &shot.image) {
                        Ok(()) => info!("preview: screenshot {}", path.display()),
                        Err(e) => warn!("preview: screenshot {}: {e}", path.display()),
                    }
                    pending.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                },
            );
        }
        Command::App(line) => app_commands.0.push_back(line),
        Command::Quit => {
            if script.pending.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                // Screenshots still on their way: ask again next frame.
                script.steps.push_front(Command::Quit);
            } else {
                exit.write(AppExit::Success);
            }
        }
    }
}

/// Writes RGB from an 8-bit RGBA or BGRA image.
fn write_ppm(path: &std::path::Path, image: &Image) -> std::io::Result<()> {
    use bevy::render::render_resource::TextureFormat;
    let (w, h) = (image.width(), image.height());
    let bgra = matches!(
        image.texture_descriptor.format,
        TextureFormat::Bgra8Unorm | TextureFormat::Bgra8UnormSrgb
    );
    let data = image.data.as_deref().unwrap_or(&[]);
    let mut out = format!("P6\n{w} {h}\n255\n").into_bytes();
    for px in data.chunks_exact(4).take((w * h) as usize) {
        if bgra {
            out.extend_from_slice(&[px[2], px[1], px[0]]);
        } else {
            out.extend_from_slice(&px[..3]);
        }
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_and_errors_name_the_line() {
        let s = Script::parse(
            "# look around\nwait 5\nkey Digit2\ndrag 40 -3\nscreenshot a.ppm\nsave\nquit\n",
            &["save"],
        )
        .unwrap();
        assert_eq!(
            s.steps,
            [
                Command::Wait(5),
                Command::Key(KeyCode::Digit2),
                Command::Drag(40.0, -3.0),
                Command::Screenshot("a.ppm".into()),
                Command::App("save".into()),
                Command::Quit
            ]
        );
        assert_eq!(Script::parse("wait 1\nkey Digit0", &[]).unwrap_err().0, 2);
        assert_eq!(Script::parse("jump", &[]).unwrap_err().0, 1);
        // An app's verb is only a command for the app that named it.
        assert_eq!(Script::parse("save", &[]).unwrap_err().0, 1);
    }
}
