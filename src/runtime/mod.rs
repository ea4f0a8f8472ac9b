//! The orchestrator: builds the show's parts from the show file and drives them on the
//! media clock. [`ShowRun`] is what `stream` and `render` run; [`ShowAudio`] and the app
//! builders are shared with `preview`, `edit` and `bench`.

mod alerts;
mod app;
mod audio;
mod echo;
mod fault;
mod lead;
mod meter;
mod pacer;
mod programs;
mod reload;
mod room;
mod rundown;
mod services;
mod show_run;
mod status;
mod telemetry;
mod watchdog;
pub mod window;

pub use app::{adapter_name, build_app, build_app_with, headless_plugins, warm_up};
pub use audio::{AudioOptions, ShowAudio, encode_settings};
pub use pacer::FramePacer;
pub use rundown::{DayClock, Rundown};
pub use show_run::ShowRun;
pub use status::StopSignal;

use crate::config::ShowConfig;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    SceneFile(#[from] crate::scene::SceneError),
    #[error("scene: {0}")]
    Scene(String),
    #[error(transparent)]
    Encode(#[from] crate::encode::EncodeError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    #[error(transparent)]
    Music(#[from] crate::mix::MusicError),
    /// No graphics adapter, the renderer failed to start, or it stopped on an error of its
    /// own (wgpu's reason).
    #[error("renderer: {0}")]
    Renderer(String),
    #[error("sound effect {0}")]
    Effect(String),
    #[error("{}: cannot write telemetry: {source}", path.display())]
    Telemetry {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: cannot listen on {addr}: {source}")]
    Listen {
        what: &'static str,
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot start the {name} thread: {source}")]
    Thread {
        name: &'static str,
        source: std::io::Error,
    },
    /// An input script (`--commands`) that cannot be read or parsed.
    #[error("{0}")]
    Script(String),
    #[error(transparent)]
    Motion(#[from] crate::presenter::MotionError),
    #[error(transparent)]
    Vmc(#[from] crate::vmc::VmcError),
    #[error(transparent)]
    Api(#[from] crate::api::ApiError),
}

/// Live motion capture over VMC.
#[derive(Debug, Clone)]
pub struct VmcOptions {
    /// Where to listen, e.g. `127.0.0.1:39539`.
    pub listen: String,
    /// Seconds without packets before the host returns to her clips.
    pub fallback_after: f32,
}

/// Whether the loop keeps to the wall clock (`stream`) or runs flat out (`render`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    RealTime,
    AsFastAsPossible,
}

pub struct RunOptions {
    pub show: ShowConfig,
    pub outputs: Vec<String>,
    /// Media length; runs until stopped when `None`.
    pub seconds: Option<f64>,
    pub pacing: Pacing,
    /// Seconds between status lines (stream).
    pub status_every: Duration,
    /// Per-frame record (JSON lines: frame, media time, mouth openness), for checking sync.
    pub telemetry: Option<PathBuf>,
    /// Play the program on this machine's default audio output too.
    pub monitor: bool,
    /// Drive the host from a VMC sender.
    pub vmc: Option<VmcOptions>,
    /// Serve the control API here (overrides the show file's `[api] listen`).
    pub api: Option<String>,
    /// The local time of day the show starts at, for its schedule (tests, rehearsals).
    pub day: Option<DayClock>,
    /// Seconds into the media clock the stream's timestamps start at (0 normally; tests
    /// start near FLV's 2^31 ms wrap to check that no output ever sees it).
    pub media_start: f64,
    /// Play the rundown once and end when it is said (a short video); `seconds` still
    /// caps the length.
    pub once: Option<PlayOnce>,
    /// Pictures to keep as JPEG files: (media second, path).
    pub stills: Vec<(f64, PathBuf)>,
    /// Programs made beside this one from the same world, each with its outputs
    /// (`ShowConfig::program_plan`).
    pub programs: Vec<(ShowConfig, Vec<String>)>,
}

/// How a run that plays its rundown once ends.
#[derive(Debug, Clone, Copy)]
pub struct PlayOnce {
    /// The run lasts at least this long, the picture and music going on after the words.
    pub min_seconds: f64,
    /// Seconds of picture and music after the last line ends.
    pub tail_seconds: f64,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub adapter: String,
    pub frames: u64,
    pub rendered: u64,
    pub repeated: u64,
    pub media_seconds: f64,
    pub wall_seconds: f64,
    pub warm_up_seconds: f64,
    /// Processor time the run used after warm-up, all threads (over `wall_seconds`: the
    /// cores a show keeps busy while it streams).
    pub cpu_seconds: f64,
    pub stopped_by_signal: bool,
    pub outputs: Vec<(String, u64)>,
    /// How the run kept pace (`stream` with held shots): frames drawn smaller, and the
    /// lowest levels.
    pub pace: Option<crate::camera::held::Pace>,
}

/// Runs a show from start to clean stop.
pub fn run(options: RunOptions, stop: &StopSignal) -> Result<RunReport, RunError> {
    let mut show = ShowRun::start(options)?;
    while show.step(stop) {}
    show.shutdown(stop)
}
