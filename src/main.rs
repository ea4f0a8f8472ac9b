//! The `twincast` command line. Everything real lives in the library; this file parses
//! arguments, sets up logging and signals, and turns errors into one-line messages.

mod logsink;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use twincast::config::{DEMO_SHOW, ShowConfig, parse_size};
use twincast::runtime::{self, Pacing, RunOptions, RunReport, StopSignal};

#[derive(Parser)]
#[command(
    name = "twincast",
    version,
    about = "Unattended virtual-livestream host: renders a 3D showroom headless, encodes \
             H.264/AAC and streams it to RTMP or records it to a file.",
    long_about = None
)]
struct Cli {
    /// More log output (-v: debug, -vv: trace, including Bevy and wgpu).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Go live: render in real time and push to every output until stopped (Ctrl-C / SIGTERM).
    ///
    /// Outputs come from --output (repeatable) or the show file's [[outputs]]; with neither,
    /// the show is recorded to out/<show>.flv. rtmp:// and rtmps:// URLs are sent as FLV;
    /// files are written by extension (.flv, .mp4, .mkv, .mov).
    Stream(StreamArgs),
    /// Render a fixed length of the show to a file as fast as the machine allows.
    ///
    /// Produces exactly the media `stream` would (same clock, same encoder settings),
    /// without waiting for the wall clock.
    Render(RenderArgs),
    /// Open the showroom in a window: the host idles, the twin's screens are live, and you
    /// walk around (1–9: the scene's cameras; Tab: fly with WASD + mouse, or orbit by
    /// dragging; wheel: zoom; Esc: quit). --size sets the window size.
    Preview(PreviewArgs),
    /// Arrange a scene in a window and save it: click (or `) to select; arrows, PageUp and
    /// PageDown move; Q/E turn; -/= scale; C colour; L/K lights; P adds a prop; Delete
    /// removes; Ctrl+Z/Y undo/redo; Ctrl+S saves (canonical form). A running stream of a
    /// show using this scene rebuilds its set when the file is saved.
    Edit(EditArgs),
    /// Speak a line with a speech engine: writes the WAV and, beside it, the viseme track
    /// (`NAME.visemes.json`: time in seconds, viseme, weight) for checking voices and timing.
    Say(SayArgs),
    /// Internal: serves a speech engine on stdin and stdout for a running show, so that a
    /// crash inside the engine's library ends this process and not the show.
    #[command(hide = true, name = "speech-worker")]
    SpeechWorker { engine: String },
    /// Scene-file tools.
    Scene {
        #[command(subcommand)]
        what: SceneCommand,
    },
    /// Motion-capture tools.
    Mocap {
        #[command(subcommand)]
        what: MocapCommand,
    },
    /// Short videos: one per product and language, from the catalog, in batch.
    ///
    /// Each is an MP4 (H.264 High, AAC, index first for upload) of the host presenting
    /// the product, with its cover (.jpg), captions (.srt, .vtt), title and hashtags
    /// (.txt) beside it. Finished clips are skipped, so a stopped batch goes on where it
    /// stopped. Lines come from the show's [[clips]], else a built-in template.
    Clips(ClipsArgs),
    /// Show-script tools (with the show's language model).
    Script {
        #[command(subcommand)]
        what: ScriptCommand,
    },
    /// Measure parts of the pipeline alone (figures for scripts/bench.sh).
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Args)]
struct StreamArgs {
    #[command(flatten)]
    show: ShowArgs,
    /// Where to send the program; may repeat to go to several places at once.
    #[arg(short, long = "output", value_name = "URL|PATH")]
    outputs: Vec<String>,
    /// Also make program NAME of the show file's [[programs]] from the same world, and
    /// send it here (e.g. vertical=rtmp://…); may repeat.
    #[arg(long = "program-output", value_name = "NAME=URL")]
    program_outputs: Vec<String>,
    /// Stop after this many seconds of media (default: run until stopped).
    #[arg(long, value_name = "N")]
    seconds: Option<f64>,
    /// Seconds between status lines.
    #[arg(long, default_value_t = 5.0, value_name = "S")]
    status_every: f64,
    /// Write a JSON line per frame (frame, media time, mouth openness) to this file.
    #[arg(long, value_name = "PATH")]
    telemetry: Option<PathBuf>,
    /// Also play the program on this machine's default audio output (a warning, not an
    /// error, when there is none).
    #[arg(long)]
    monitor: bool,
    /// Drive the host live from a VMC sender (VSeeFace, Warudo, VMC app …) listening
    /// on this UDP address, e.g. 0.0.0.0:39539.
    #[arg(long, value_name = "ADDR")]
    vmc_listen: Option<String>,
    /// Seconds without VMC packets before the host blends back to her clips.
    #[arg(long, default_value_t = 2.0, value_name = "S")]
    vmc_fallback: f32,
    /// Serve the control API on this address (e.g. 127.0.0.1:8080); mutating calls
    /// need the bearer token in $TWINCAST_API_TOKEN (or the show's `[api] token_env`).
    #[arg(long, value_name = "ADDR")]
    api: Option<String>,
}

#[derive(Args)]
struct RenderArgs {
    #[command(flatten)]
    show: ShowArgs,
    /// Length of media to render.
    #[arg(long, value_name = "N")]
    seconds: f64,
    /// File to write (.flv, .mp4, .mkv, .mov); may repeat. The show file's [[outputs]]
    /// when neither this nor --program-output is given.
    #[arg(short, long = "output", value_name = "PATH")]
    outputs: Vec<String>,
    /// Also make program NAME of the show file's [[programs]] from the same world, and
    /// write it here (e.g. vertical=out/vertical.mp4); may repeat.
    #[arg(long = "program-output", value_name = "NAME=PATH")]
    program_outputs: Vec<String>,
    /// Write a JSON line per frame (frame, media time, mouth openness) to this file.
    #[arg(long, value_name = "PATH")]
    telemetry: Option<PathBuf>,
    /// Draw every frame the slow, full way (full size, MSAA 4× or more, soft shadows), to
    /// compare faster settings against (PSNR).
    #[arg(long)]
    reference: bool,
}

#[derive(Args)]
struct ClipsArgs {
    #[command(flatten)]
    show: ShowArgs,
    /// Products to make clips of (ids, comma-separated); all by default.
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    products: Vec<String>,
    /// Languages (zh, en; comma-separated); the show's by default.
    #[arg(long, value_delimiter = ',', value_name = "LANG,...")]
    languages: Vec<String>,
    /// Shortest and longest clip, seconds: `MIN..MAX`.
    #[arg(long, default_value = "15..60", value_parser = parse_range, value_name = "MIN..MAX")]
    seconds: (f64, f64),
    /// Loudness of the clips (short-video platforms play at about -14 LUFS).
    #[arg(long, default_value_t = -14.0, allow_negative_numbers = true, value_name = "LUFS")]
    loudness: f32,
    /// Folder the clips go to.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
}

fn parse_range(text: &str) -> Result<(f64, f64), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}` is not MIN..MAX"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) if a <= b && b <= 600.0 => Ok((a, b)),
        _ => Err(format!(
            "`{text}` is not MIN..MAX seconds with 0 < MIN <= MAX <= 600"
        )),
    }
}

#[derive(Args)]
struct PreviewArgs {
    #[command(flatten)]
    show: ShowArgs,
    /// Play a script of input (wait N, key Digit2, drag DX DY, screenshot FILE.ppm,
    /// quit), one command a line.
    #[arg(long, value_name = "FILE")]
    commands: Option<PathBuf>,
    /// Run the show itself: the rundown, the voice with lip sync, the graphics and the
    /// camera work, with the program's sound on this machine's speakers.
    #[arg(long)]
    live: bool,
}

#[derive(Args)]
struct EditArgs {
    /// The scene file (RON).
    scene: PathBuf,
    /// Window size.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    size: Option<(u32, u32)>,
    /// Play a script of input and editor commands (select NAME, move DX DY DZ, rotate
    /// DEG, scale F, color #RRGGBB, light F, add PATH, remove, undo, redo, save, plus
    /// wait/key/drag/screenshot/quit as in preview), one a line.
    #[arg(long, value_name = "FILE")]
    commands: Option<PathBuf>,
}

#[derive(Args)]
struct SayArgs {
    /// The text to speak.
    text: String,
    /// Voice name (for eSpeak: en-us, en-gb, cmn, …).
    #[arg(long, default_value = "en-us")]
    voice: String,
    /// Engine: `espeak`, `command:<shell command>` (text on stdin, `{output}` = WAV path),
    /// or `http:<URL>` of an OpenAI-style /v1/audio/speech endpoint (key from
    /// $TWINCAST_TTS_API_KEY).
    #[arg(long, default_value = "espeak")]
    engine: String,
    /// WAV file to write (48 kHz mono).
    #[arg(short, long, value_name = "PATH")]
    output: PathBuf,
}

#[derive(Subcommand)]
enum SceneCommand {
    /// Check a scene file and print it in its canonical form (stable field order, one item a
    /// line, hex colours): the form the editor saves. --write replaces the file (comments are
    /// not kept).
    Fmt {
        file: PathBuf,
        #[arg(long)]
        write: bool,
    },
}

#[derive(Subcommand)]
enum MocapCommand {
    /// Print a BVH clip's skeleton, frames, fps and duration, and the humanoid bone mapping
    /// it would use (against an avatar's skeleton with --avatar). Exits non-zero with
    /// FILE:LINE: reason for a malformed clip.
    Inspect {
        /// The BVH file.
        file: PathBuf,
        /// An avatar (glTF/GLB/VRM) to map the clip onto.
        #[arg(long, value_name = "FILE")]
        avatar: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ScriptCommand {
    /// Ask the show's language model ([llm]) for line variants of each segment, and lines in
    /// each schedule language the file has none in, and write them as a `[[drafts]]`
    /// fragment to review and paste into the show file. Lines the compliance filter would
    /// change are left out (listed as comments).
    Draft {
        /// Show file (TOML) with an [llm] section.
        show: PathBuf,
        /// Where to write the fragment (default: standard output).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Variants per segment and language (default: [llm] variants).
        #[arg(long, value_name = "N")]
        variants: Option<usize>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Render and read back frames without encoding; optionally save them as raw RGBA.
    Render {
        #[command(flatten)]
        show: ShowArgs,
        #[arg(long, value_name = "N")]
        frames: u64,
        /// Write the frames here as raw RGBA (for `bench encode` and ffmpeg).
        #[arg(long, value_name = "PATH")]
        raw: Option<PathBuf>,
        /// Draw every frame in full (`render.held_shots = false`), for comparison.
        #[arg(long)]
        no_held_shots: bool,
        /// Glide the camera through the frames, as the show's first camera move does
        /// (the demo's: from the wide shot to the close-up), instead of holding the shot.
        #[arg(long, conflicts_with = "camera")]
        glide: bool,
        /// Hold this camera of the scene instead of the opening shot, e.g. `closeup`
        /// (where the host fills more of the picture).
        #[arg(long, value_name = "NAME")]
        camera: Option<String>,
    },
    /// Speech synthesis speed and mixer cost.
    Voice {
        #[arg(long, default_value = "espeak")]
        engine: String,
        #[arg(long, default_value = "en-us")]
        voice: String,
    },
    /// BVH parse speed and per-frame pose costs (FK, retargeting, baking).
    Mocap {
        /// BVH clip (default: the largest shipped clip).
        #[arg(long, default_value = "assets/mocap/cmu_12_01_walk.bvh")]
        clip: PathBuf,
        /// Avatar to retarget onto.
        #[arg(long, default_value = "assets/avatars/RobotExpressive.glb")]
        avatar: PathBuf,
    },
    /// Encode raw RGBA frames (from `bench render --raw`) with the show's settings, no output.
    Encode {
        #[command(flatten)]
        show: ShowArgs,
        #[arg(long, value_name = "PATH")]
        raw: PathBuf,
    },
}

#[derive(Args)]
struct ShowArgs {
    /// Show file (TOML). Default: the built-in demo show.
    #[arg(value_name = "SHOW")]
    show: Option<PathBuf>,
    /// Run as this program of the show file's [[programs]] (its size, cameras and
    /// language), e.g. `vertical`.
    #[arg(long, value_name = "NAME")]
    program: Option<String>,
    /// Picture size, e.g. 1280x720.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    size: Option<(u32, u32)>,
    /// Frames per second.
    #[arg(long, value_name = "N")]
    fps: Option<u32>,
    /// Video bitrate in kb/s.
    #[arg(long, value_name = "KBPS")]
    bitrate: Option<u32>,
    /// x264 preset (ultrafast … veryslow).
    #[arg(long, value_name = "NAME")]
    preset: Option<String>,
    /// Render at this fraction of the output size (0.25–1) and scale up when encoding.
    #[arg(long, value_name = "F")]
    render_scale: Option<f32>,
    /// 360° equirectangular video (VR) from the on-air camera's position, with spherical
    /// metadata in MP4/MKV. Needs a 2:1 size; 2048x1024 unless --size says otherwise.
    #[arg(long)]
    vr360: bool,
    /// Start the stream's timestamps this many seconds into the media clock (tests).
    #[arg(long, value_name = "S", default_value_t = 0.0, hide = true)]
    media_start: f64,
    /// Run the show's schedule as if it started at this local time of day (rehearsals).
    #[arg(long, value_name = "HH:MM", value_parser = parse_clock)]
    clock: Option<u32>,
}

fn parse_clock(text: &str) -> Result<u32, String> {
    twincast::config::plan::parse_time_of_day(text)
        .filter(|m| *m < 24 * 60)
        .ok_or_else(|| format!("`{text}` is not a time of day HH:MM"))
}

impl ShowArgs {
    /// Loads the show file and applies command-line overrides (validated again after).
    fn load(&self) -> Result<ShowConfig> {
        let mut show = self.load_file()?;
        if let Some(program) = &self.program {
            show = show.for_program(program)?;
        }
        self.apply(&mut show, true)?;
        Ok(show)
    }

    fn load_file(&self) -> Result<ShowConfig> {
        let path = self.show.clone().unwrap_or_else(demo_show);
        Ok(ShowConfig::load(&path)?)
    }

    /// The programs of a run, from the command line's outputs (`-o URL`,
    /// `--program-output NAME=URL`) or, with neither, the show file's `[[outputs]]`;
    /// with none there either, the default recording, unless `named` outputs are needed.
    fn load_plan(
        &self,
        outputs: Vec<String>,
        program_outputs: &[String],
        named: bool,
    ) -> Result<twincast::config::ProgramPlan> {
        let file = self.load_file()?;
        let mut pairs = Vec::new();
        for pair in program_outputs {
            let Some((name, url)) = pair.split_once('=') else {
                bail!("--program-output {pair}: expected NAME=URL");
            };
            pairs.push((name.to_string(), url.to_string()));
        }
        let (outputs, pairs) = if outputs.is_empty() && pairs.is_empty() {
            if named && file.outputs.is_empty() && file.program_outputs.is_empty() {
                bail!(
                    "render needs a file to write: --output PATH, or [[outputs]] in the show file"
                );
            }
            (file.outputs.clone(), file.program_outputs.clone())
        } else {
            (outputs, pairs)
        };
        let mut plan = file.program_plan(self.program.as_deref(), outputs, &pairs)?;
        self.apply(&mut plan.main, true)?;
        for (other, _) in &mut plan.others {
            self.apply(other, false)?;
        }
        Ok(plan)
    }

    /// The command line's overrides: all of them on the main program; on the programs
    /// beside it, those every picture of a run shares (frame rate, preset, render scale).
    fn apply(&self, show: &mut ShowConfig, main: bool) -> Result<()> {
        if let Some(fps) = self.fps {
            show.video.fps = fps;
        }
        if let Some(preset) = &self.preset {
            show.video.preset = preset.clone();
        }
        if let Some(scale) = self.render_scale {
            show.render.scale = scale;
        }
        if !main {
            return Ok(show.validate()?);
        }
        if self.vr360 {
            show.render.vr360 = true;
            if self.size.is_none() {
                (show.video.width, show.video.height) = (2048, 1024);
            }
        }
        if let Some((w, h)) = self.size {
            show.video.width = w;
            show.video.height = h;
        }
        if let Some(kbps) = self.bitrate {
            show.video.bitrate_kbps = kbps;
        }
        show.validate().context("after command-line overrides")?;
        Ok(())
    }

    /// The `--clock` rehearsal time, in the show's time zone.
    fn day_clock(&self, show: &ShowConfig) -> Option<runtime::DayClock> {
        (self.clock).map(|minute| runtime::DayClock::starting_at(minute, show.zone()))
    }
}

/// The demo show: next to the binary's source tree when run from a checkout, else in ./assets.
fn demo_show() -> PathBuf {
    let local = PathBuf::from(DEMO_SHOW);
    if local.is_file() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(DEMO_SHOW)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = run(cli.command);
    logsink::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "twincast=info,warn,wgpu_hal=error,wgpu_core=error",
        1 => "twincast=debug,info,wgpu_hal=warn",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TWINCAST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(logsink::LogSink)
        .with_target(false)
        .init();
}

fn stop_on_signals() -> Result<StopSignal> {
    let stop = StopSignal::default();
    let handler = stop.clone();
    ctrlc::set_handler(move || {
        if handler.forced() {
            eprintln!("twincast: stopping now");
            std::process::exit(130);
        }
        handler.request();
        if handler.forced() {
            eprintln!("twincast: abandoning network output (press again to quit at once)");
        } else {
            eprintln!("twincast: stopping cleanly (press again to abandon network output)");
        }
    })
    .context("installing the signal handler")?;
    Ok(stop)
}

fn run(command: Command) -> Result<()> {
    if let Ok(me) = std::env::current_exe() {
        twincast::voice::worker::isolate_in(me);
    }
    match command {
        Command::SpeechWorker { engine } => Ok(twincast::voice::worker::serve_stdio(&engine)?),
        Command::Stream(args) => stream(args),
        Command::Render(args) => render(args),
        Command::Clips(args) => clips(args),
        Command::Preview(args) => twincast::preview::run(twincast::preview::PreviewOptions {
            show: args.show.load()?,
            commands: args.commands,
            live: args.live,
        })
        .map_err(Into::into),
        Command::Edit(args) => edit(args),
        Command::Say(args) => say(args),
        Command::Scene {
            what: SceneCommand::Fmt { file, write },
        } => scene_fmt(&file, write),
        Command::Mocap {
            what: MocapCommand::Inspect { file, avatar },
        } => {
            let report = twincast::mocap::inspect(&file, avatar.as_deref())?;
            print!("{}", report.text);
            for warning in &report.warnings {
                tracing::warn!("{warning}");
            }
            Ok(())
        }
        Command::Script {
            what:
                ScriptCommand::Draft {
                    show,
                    output,
                    variants,
                },
        } => script_draft(&show, output.as_deref(), variants),
        Command::Bench { what } => bench(what),
    }
}

/// `script draft`: every segment's variants and missing translations, from the model.
fn script_draft(file: &Path, output: Option<&Path>, variants: Option<usize>) -> Result<()> {
    use twincast::show::{compliance::Filter, host};
    let show = twincast::config::ShowConfig::load(file)?;
    let client = twincast::llm::ChatClient::new(&show.llm)
        .with_context(|| format!("{}: no [llm] url to draft with", file.display()))?;
    let variants = variants.unwrap_or(show.llm.variants).clamp(1, 20);
    let jobs = host::draft_jobs(&show.plan, &show.language, true);
    let filter = Filter::new(&show.compliance);
    let progress = indicatif::ProgressBar::new(jobs.len() as u64);
    let mut ask = |messages: Vec<twincast::llm::Message>| {
        progress.inc(1);
        client
            .chat(&messages, 300 * variants, &mut |_| {})
            .map_err(|e| e.to_string())
    };
    let results = host::draft(&show.plan, &jobs, variants, &filter, &mut ask);
    progress.finish_and_clear();
    let mut drafted = Vec::new();
    for ((segment, language), result) in jobs.iter().zip(results) {
        match result {
            Ok(d) => drafted.push(d),
            Err(e) => tracing::warn!("segment {} ({language}): {e}", segment + 1),
        }
    }
    if drafted.is_empty() {
        anyhow::bail!("the model drafted nothing (see the warnings above)");
    }
    let header = format!(
        "Drafted by {} ({}) for {} on {}.\nReview: delete the lines you do not want, then paste \
         the [[drafts]] tables into the show file.",
        show.llm.model,
        client.url(),
        file.display(),
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC"),
    );
    let text = host::draft_toml(&show.plan, &drafted, &header);
    match output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            let lines: usize = drafted.iter().map(|d| d.lines.len()).sum();
            println!(
                "{lines} lines for {} segments written to {}",
                drafted.len(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn stream(args: StreamArgs) -> Result<()> {
    let plan = args
        .show
        .load_plan(args.outputs, &args.program_outputs, false)?;
    let show = plan.main;
    let day = args.show.day_clock(&show);
    let vmc_fallback = args.vmc_fallback;
    if !(vmc_fallback > 0.0 && vmc_fallback.is_finite()) {
        bail!("--vmc-fallback must be a positive number of seconds");
    }
    let outputs = plan.outputs;
    check_seconds(args.seconds)?;
    let stop = stop_on_signals()?;
    let shown: Vec<String> = outputs
        .iter()
        .map(|o| twincast::output::redact(o))
        .collect();
    tracing::info!("streaming `{}` to {}", show.name, shown.join(", "));
    let options = RunOptions {
        show,
        outputs,
        seconds: args.seconds,
        pacing: Pacing::RealTime,
        status_every: Duration::from_secs_f64(args.status_every.max(0.5)),
        telemetry: args.telemetry,
        monitor: args.monitor,
        vmc: args.vmc_listen.map(|listen| runtime::VmcOptions {
            listen,
            fallback_after: vmc_fallback,
        }),
        api: args.api,
        day,
        media_start: args.show.media_start,
        once: None,
        stills: Vec::new(),
        programs: plan.others,
    };
    print_report(&runtime::run(options, &stop)?);
    Ok(())
}

fn render(args: RenderArgs) -> Result<()> {
    let plan = args
        .show
        .load_plan(args.outputs, &args.program_outputs, true)?;
    let mut show = plan.main;
    let mut others = plan.others;
    if args.reference {
        for show in std::iter::once(&mut show).chain(others.iter_mut().map(|(s, _)| s)) {
            show.render = twincast::config::RenderConfig {
                msaa: show.render.msaa.max(4),
                shadows: true,
                shadow_filter: twincast::config::ShadowFilter::Gaussian,
                lighting: twincast::config::Lighting::Full,
                shadow_cascades: 4,
                scale: 1.0,
                vr360: show.render.vr360,
                held_shots: false,
                glide_scale: 1.0,
                glide_msaa: twincast::config::GlideMsaa::On,
                host_pixels: 1.0,
                keep_pace: false,
            };
        }
    }
    let outputs = plan.outputs;
    let day = args.show.day_clock(&show);
    check_seconds(Some(args.seconds))?;
    let mut every_url = outputs
        .iter()
        .chain(others.iter().flat_map(|(_, urls)| urls));
    if let Some(url) = every_url.find(|o| o.contains("://")) {
        bail!("render writes files as fast as it can; use `twincast stream` for {url}");
    }
    let recording = outputs
        .iter()
        .chain(others.iter().flat_map(|(_, urls)| urls));
    if let Some(recording) = recording.map(PathBuf::from).next() {
        record_said_beside(&mut show, &recording);
    }
    let stop = stop_on_signals()?;
    let options = RunOptions {
        show,
        outputs,
        seconds: Some(args.seconds),
        pacing: Pacing::AsFastAsPossible,
        status_every: Duration::from_secs(10),
        telemetry: args.telemetry,
        monitor: false,
        vmc: None,
        api: None,
        day,
        media_start: args.show.media_start,
        once: None,
        stills: Vec::new(),
        programs: others,
    };
    print_report(&runtime::run(options, &stop)?);
    Ok(())
}

/// A render's record of what its host said goes beside the recording
/// (`out/demo.flv` → `out/demo.said.jsonl`), not into the show's own audit log: that one is
/// the record of what went on air, which a stream of the same show may be writing now.
/// A log the show file names is kept as named.
fn record_said_beside(show: &mut ShowConfig, recording: &Path) {
    if show.audit_log_is_default() {
        let said = recording.with_extension("said.jsonl");
        tracing::info!("what the host says is recorded in {}", said.display());
        show.compliance.audit_log = Some(said);
    }
}

fn clips(args: ClipsArgs) -> Result<()> {
    let show = args.show.load()?;
    let (min_seconds, max_seconds) = args.seconds;
    let options = twincast::clips::ClipOptions {
        products: args.products,
        languages: args.languages,
        min_seconds,
        max_seconds,
        output: args.output,
        loudness_lufs: args.loudness,
    };
    if !(-40.0..=-5.0).contains(&options.loudness_lufs) {
        bail!("--loudness must be between -40 and -5 LUFS");
    }
    let stop = stop_on_signals()?;
    let started = std::time::Instant::now();
    let rows = twincast::clips::run(&show, &options, &stop)?;
    let made: Vec<_> = rows.iter().filter(|r| !r.skipped).collect();
    let media: f64 = made.iter().map(|r| r.seconds).sum();
    let wall = started.elapsed().as_secs_f64();
    print!("{}", twincast::clips::table(&rows));
    println!(
        "{} clips made ({} kept from before): {media:.1} s of video in {wall:.1} s, real-time factor {:.2}",
        made.len(),
        rows.len() - made.len(),
        media / wall.max(1e-9)
    );
    Ok(())
}

fn edit(args: EditArgs) -> Result<()> {
    // The demo show's settings frame the window; the scene is the one being edited.
    let mut show = ShowConfig::load(&demo_show())?;
    show.scene = args.scene.clone();
    show.plan.overlay.enabled = false;
    show.plan.segments.clear();
    if let Some((w, h)) = args.size {
        (show.video.width, show.video.height) = (w, h);
    }
    show.validate()?;
    twincast::editor::run(twincast::editor::EditOptions {
        show,
        scene: args.scene,
        commands: args.commands,
    })?;
    Ok(())
}

fn say(args: SayArgs) -> Result<()> {
    let mut engine = twincast::voice::engine_from_name(&args.engine, &Default::default())?;
    let line = engine.synthesize(&args.text, &args.voice)?;
    let visemes = line.visemes();
    let program = line.to_program_rate()?;
    let output = &args.output;
    twincast::voice::wav::write_wav(output, &program.samples, program.sample_rate)?;
    let track = output.with_extension("visemes.json");
    std::fs::write(&track, visemes.to_json())
        .with_context(|| format!("writing {}", track.display()))?;
    println!(
        "wrote {} ({:.2} s, {} phonemes) and {}",
        output.display(),
        program.duration(),
        line.phonemes.len(),
        track.display()
    );
    Ok(())
}

fn scene_fmt(file: &Path, write: bool) -> Result<()> {
    let scene = twincast::scene::LoadedScene::load(file)?;
    if write {
        scene.save(file)?;
        println!("wrote {}", file.display());
    } else {
        print!("{}", scene.to_ron());
    }
    Ok(())
}

fn bench(what: BenchCommand) -> Result<()> {
    use twincast::bench;
    match what {
        BenchCommand::Render {
            show,
            frames,
            raw,
            no_held_shots,
            glide,
            camera,
        } => {
            let mut show = show.load()?;
            show.render.held_shots &= !no_held_shots;
            let shot = match (glide, &camera) {
                (true, _) => bench::BenchShot::Glide,
                (false, Some(name)) => bench::BenchShot::Camera(name),
                (false, None) => bench::BenchShot::Opening,
            };
            print_lines(bench::render_only(&show, frames, shot, raw.as_deref())?);
        }
        BenchCommand::Voice { engine, voice } => print_lines(bench::voice(&engine, &voice)?),
        BenchCommand::Mocap { clip, avatar } => print_lines([bench::mocap(&clip, &avatar)?]),
        BenchCommand::Encode { show, raw } => {
            print_lines([bench::encode_only(&show.load()?, &raw)?]);
        }
    }
    Ok(())
}

/// Prints figures a line each. A reader that has gone (`| head -1` in a script) ends the
/// list, not the program: `println!` would panic on the closed pipe.
fn print_lines(lines: impl IntoIterator<Item = impl std::fmt::Display>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
}

fn check_seconds(seconds: Option<f64>) -> Result<()> {
    match seconds {
        Some(s) if !(s > 0.0 && s.is_finite()) => {
            bail!("--seconds must be a positive number, not {s}")
        }
        _ => Ok(()),
    }
}

fn print_report(report: &RunReport) {
    let speed = report.media_seconds / report.wall_seconds.max(1e-9);
    // Frames drawn smaller to keep real time (`render.keep_pace`): a slow machine's other
    // price, beside the repeated ones.
    let paced = match report.pace {
        Some(pace) if pace.smaller > 0 => format!(
            ", {} drawn smaller to keep pace (lowest: held {:.2}, glide {:.2})",
            pace.smaller, pace.held.lowest, pace.glide.lowest
        ),
        _ => String::new(),
    };
    eprintln!(
        "{} frames ({:.2} s of media; {} rendered, {} repeated) in {:.2} s: {:.1} fps, real-time factor {:.2}, peak RSS {:.0} MiB, CPU {:.1} cores{paced}{}",
        report.frames,
        report.media_seconds,
        report.rendered,
        report.repeated,
        report.wall_seconds,
        report.frames as f64 / report.wall_seconds.max(1e-9),
        speed,
        twincast::usage::peak_rss_mib(),
        report.cpu_seconds / report.wall_seconds.max(1e-9),
        if report.stopped_by_signal {
            " (stopped by signal)"
        } else {
            ""
        },
    );
    for (url, bytes) in &report.outputs {
        let url = twincast::output::redact(url);
        println!("wrote {url} ({:.2} MB)", *bytes as f64 / 1e6);
    }
}
