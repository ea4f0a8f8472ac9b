//! `twincast preview`: the showroom in a window, for a marketer walking a client through
//! it on a laptop. The host idles and gestures, the twin's screens show live data, and the
//! viewer moves freely: orbit (drag to turn, wheel to zoom), fly (Tab; WASD + mouse), and
//! the number keys jump to the scene's cameras.
//!
//! `--commands FILE` plays a script of input (keys, waits, screenshots) through the same
//! input paths as a person's, so the window can be driven and checked under Xvfb.

use crate::config::ShowConfig;
use crate::runtime::RunError;
use crate::runtime::window::{WindowInput, window_app};
use crate::scene::LoadedScene;
use std::path::PathBuf;
use tracing::info;

mod live;

pub struct PreviewOptions {
    pub show: ShowConfig,
    /// Run the show itself (rundown, voice, graphics, camera work, sound), not just the room.
    pub live: bool,
    /// A script of input to play (see [`crate::runtime::window::Command`]).
    pub commands: Option<PathBuf>,
}

/// Opens the window and runs until it is closed (or the script says `quit`).
pub fn run(options: PreviewOptions) -> Result<(), RunError> {
    let scene = LoadedScene::load(&options.show.scene)?;
    let title = format!("twincast preview — {}", options.show.name);
    let input = WindowInput {
        script: options.commands.as_deref(),
        app_verbs: &[],
    };
    let mut app = window_app(&options.show, scene, input, &title)?;
    if options.live {
        live::add_show(&mut app, &options.show)?;
    }
    info!("preview: 1–9 scene cameras, Tab fly/orbit, drag to turn, wheel to zoom, Esc quits");
    app.run();
    Ok(())
}
