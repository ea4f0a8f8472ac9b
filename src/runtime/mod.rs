//! Running a show: wiring the stages together and driving them on the media clock.

mod alerts;
mod app;
pub mod bench;
pub(crate) mod host;
mod status;

pub use host::DayClock;

pub use app::{adapter_name, build_app, headless_plugins, warm_up};
pub use status::StopSignal;

use crate::capture::{CaptureRequest, CaptureStatus};
use crate::config::ShowConfig;
use crate::encode::{
    AudioEncoder, AudioSource, EncodeError, EncodeSettings, EncoderThread, Encoding, MusicLoop,
    Silence, VideoEncoder,
};
use crate::media::{MediaClock, VideoFrame};
use crate::mix::{MixSettings, Monitor, ProgramMixer, Speaker};
use crate::output::{OutputError, OutputHandle, OutputSet, OutputTarget};
use crate::presenter::{MediaTime, SpeechTimeline};
use crate::scene::LoadedScene;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use status::Progress;
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{info, warn};

/// Frames that may wait between capture and encoder before the renderer waits.
const FRAME_QUEUE: usize = 4;

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    SceneFile(#[from] crate::scene::SceneError),
    #[error("scene: {0}")]
    Scene(String),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("renderer: {0}")]
    Renderer(String),
    #[error("sound effect {0}")]
    Effect(String),
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
    /// Where to listen, e.g. `0.0.0.0:39539`.
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
    pub telemetry: Option<std::path::PathBuf>,
    /// Play the program on this machine's default audio output too.
    pub monitor: bool,
    /// Drive the host from a VMC sender.
    pub vmc: Option<VmcOptions>,
    /// Serve the control API here (overrides the show file's `[api] listen`).
    pub api: Option<String>,
    /// The local time of day the show starts at, for its schedule (tests, rehearsals).
    pub day: Option<DayClock>,
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
    pub stopped_by_signal: bool,
    pub outputs: Vec<(String, u64)>,
}

/// Runs a show from start to clean stop.
pub fn run(options: RunOptions, stop: &StopSignal) -> Result<RunReport, RunError> {
    let show = &options.show;
    let scene = LoadedScene::load(&show.scene)?;
    let cameras: Vec<String> = scene
        .description
        .cameras
        .iter()
        .map(|c| c.name.clone())
        .collect();
    show.plan.validate(Some(&cameras)).map_err(|p| {
        RunError::Scene(format!(
            "{}: {}: {}",
            show.source.display(),
            p.field,
            p.reason
        ))
    })?;
    let clock = MediaClock::new(show.video.fps);
    // Bound first: a port in use is an error before anything starts.
    let vmc = match &options.vmc {
        Some(v) => Some((
            crate::vmc::VmcReceiver::listen(&v.listen)?,
            v.fallback_after,
        )),
        None => None,
    };
    let live_audio = match &show.takeover.audio_listen {
        Some(addr) => Some(crate::mix::LiveAudio::listen(addr).map_err(|e| {
            RunError::Renderer(format!("takeover audio: cannot listen on {addr}: {e}"))
        })?),
        None => None,
    };
    let twin = (!scene.description.feeds.is_empty()).then(|| crate::twin::TwinFeeds::start(&scene));
    let (api_tx, api_commands) = crossbeam_channel::unbounded();
    let api_status = std::sync::Arc::new(std::sync::Mutex::new(crate::api::ShowStatus {
        show: show.name.clone(),
        ..Default::default()
    }));
    let api = match options.api.as_ref().or(show.api.listen.as_ref()) {
        Some(listen) => {
            let token = std::env::var(&show.api.token_env)
                .ok()
                .filter(|t| !t.is_empty());
            if token.is_none() {
                warn!(
                    "control API: ${} is not set, so calls that change the show are refused",
                    show.api.token_env
                );
            }
            Some(crate::api::ApiServer::start(
                listen,
                crate::api::ApiShared {
                    status: api_status.clone(),
                    commands: api_tx,
                    known: std::sync::Arc::new(std::sync::Mutex::new(crate::api::Known {
                        clips: clip_names(&scene),
                        products: show.plan.products.iter().map(|p| p.id.clone()).collect(),
                        has_flash_sale: show
                            .plan
                            .segments
                            .iter()
                            .any(|s| s.kind == crate::show::SegmentKind::FlashSale),
                        faq: show
                            .plan
                            .faq
                            .iter()
                            .map(|f| f.keywords.iter().map(|k| k.trim().to_lowercase()).collect())
                            .collect(),
                        takeover_ready: vmc.is_some() || live_audio.is_some(),
                    })),
                    token,
                    twin: twin.clone(),
                },
            )?)
        }
        None => {
            drop(api_tx);
            None
        }
    };

    let settings = EncodeSettings::from_show(show);
    let video = VideoEncoder::new(&settings)?;
    let audio = AudioEncoder::new(settings.audio_bitrate_kbps)?;
    let a = &show.audio;
    let music = music_bed(show)?;
    // The host's lines are written by the director, synthesised ahead on their own thread
    // and put on the media-clock timeline in the render loop; the mixer plays them at
    // their sample.
    let (mut host, schedule) = if !show.plan.segments.is_empty() || api.is_some() {
        let effects = load_effects(&a.effects)?;
        let (speaker, io) = Speaker::spawn(
            show.voice.clone(),
            a.normalize.then_some(a.loudness_lufs),
            effects,
        );
        let (to_mixer, schedule) = crossbeam_channel::unbounded();
        let day = options.day.unwrap_or_else(DayClock::local_now);
        let mut host = host::Host::new(show, clock, speaker, io, to_mixer, day);
        host.offline = options.pacing == Pacing::AsFastAsPossible;
        (Some(host), Some(schedule))
    } else {
        (None, None)
    };
    let mut mixer = ProgramMixer::new(music, schedule, mix_settings(show));
    if let Some(live) = &live_audio {
        mixer = mixer.with_live(live.clone());
    }
    let mut source: Box<dyn AudioSource> = Box::new(mixer);
    if options.monitor
        && let Some(monitor) = Monitor::start()
    {
        source = monitor.tap(source);
    }

    let targets = options
        .outputs
        .iter()
        .map(|o| OutputTarget::parse(o))
        .collect::<Result<Vec<_>, _>>()?;
    let encoding = Encoding::new(video, audio, source, clock, ());
    let mut layout = encoding.layout();
    layout.spherical = show.render.vr360;
    let mut handles = Vec::new();
    for target in targets {
        match OutputHandle::start(target, &layout) {
            Ok(h) => handles.push(h),
            Err(e) => {
                OutputSet::new(handles).close();
                return Err(e.into());
            }
        }
    }
    let outputs = OutputSet::new(handles);

    let (frame_tx, frame_rx) = crossbeam_channel::bounded::<VideoFrame>(FRAME_QUEUE);
    let (recycle_tx, recycle_rx) = crossbeam_channel::bounded::<Vec<u8>>(FRAME_QUEUE + 4);
    let mut app = match build_app(show, scene, frame_tx, recycle_rx) {
        Ok(app) => app,
        Err(e) => {
            outputs.close();
            return Err(e);
        }
    };
    if let Some((receiver, fallback_after)) = &vmc {
        app.insert_resource(crate::presenter::LiveCapture {
            state: receiver.state.clone(),
            fallback_after: *fallback_after,
            hold: false,
        });
    }
    let adapter = adapter_name(&app);
    info!("renderer: {adapter}");
    let warm_up = match warm_up(&mut app) {
        Ok(d) => d,
        Err(e) => {
            outputs.close();
            return Err(e);
        }
    };
    info!("scene ready in {:.1} s", warm_up.as_secs_f64());

    let encoder = EncoderThread::spawn(encoding.with_sink(outputs.fanout()), frame_rx, recycle_tx);
    let mut driver = Driver {
        clock,
        pacing: options.pacing,
        total: options.seconds.map(|s| clock.frames_in(s)),
        epoch: Instant::now(),
        next: 0,
        rendered: 0,
    };
    let mut telemetry = match &options.telemetry {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| RunError::Renderer(format!("telemetry {}: {e}", path.display())))?,
        )),
        None => None,
    };
    let mut progress =
        Progress::new(options.pacing, driver.total, options.status_every).with_fps(clock.fps);
    let started = Instant::now();
    let mut api_meter = ApiMeter::new();
    let mut scene_watch = SceneWatch::new(show.scene.clone());
    let mut alerts = alerts::Alerts::start(
        &show.name,
        show.alerts.webhook.as_deref(),
        show.alerts.failing_after_seconds,
    );
    let mut failure = None;
    while !stop.requested() && !driver.done() {
        if encoder.is_finished() {
            break; // it failed; its error comes from finish() below
        }
        if outputs.all_failed() {
            failure = Some(RunError::Output(OutputError::Io {
                url: "all outputs".into(),
                what: "delivery",
                reason: "every output has failed".into(),
            }));
            break;
        }
        if let Some(host) = host.as_mut() {
            if let Some(line) = host.tick(driver.next) {
                app.world_mut()
                    .resource_mut::<SpeechTimeline>()
                    .0
                    .push_back(line);
            }
            app.insert_resource(crate::show::OnAirNow(host.on_air().clone()));
        }
        for command in api_commands.try_iter() {
            apply_command(
                command,
                &mut app,
                host.as_mut(),
                live_audio.as_deref(),
                driver.next as f64 / clock.fps as f64,
            );
        }
        alerts.watch(&outputs);
        scene_watch.poll(&mut app);
        if let Some(twin) = &twin {
            app.insert_resource(crate::twin::TwinNow(twin.snapshot()));
        }
        driver.render_next(&mut app, stop);
        if api.is_some() {
            api_meter.update(
                &api_status,
                &app,
                &driver,
                clock,
                &encoder.stats,
                &outputs,
                vmc.is_some(),
                host.as_ref(),
            );
        }
        if let Some(out) = telemetry.as_mut() {
            use std::io::Write;
            let mouth = *app.world().resource::<crate::presenter::Mouth>();
            let performance = app.world().resource::<crate::presenter::Performance>();
            let pose: serde_json::Map<String, serde_json::Value> = performance
                .pose
                .iter()
                .map(|(bone, p)| {
                    let r = |v: f32| (v * 1000.0).round() / 1000.0;
                    (
                        bone.vrm_name().to_string(),
                        serde_json::json!([r(p.x), r(p.y), r(p.z)]),
                    )
                })
                .collect();
            let mut record = serde_json::json!({
                "frame": driver.next - 1,
                "time": (driver.next - 1) as f64 / clock.fps as f64,
                "mouth": mouth.open,
                "shapes": mouth.shapes,
                "eyes_closed": mouth.eyes_closed,
                "gesture": performance.gesture,
                "pose": pose,
            });
            if vmc.is_some() {
                let live = *app.world().resource::<crate::presenter::LiveStatus>();
                record["live"] = serde_json::json!({
                    "weight": live.weight,
                    "packets": live.packets,
                    "malformed": live.malformed,
                });
            }
            let _ = writeln!(out, "{record}");
        }
        progress.update(
            driver.next,
            driver.rendered,
            driver.behind(),
            &encoder.stats,
            &outputs,
        );
    }
    progress.finish();
    alerts.stopped();
    let stopped_by_signal = stop.requested();
    if stop.forced() {
        outputs.abort();
    }

    // Drain: stop capturing, deliver what is in flight, flush the encoder, close outputs.
    app.world_mut().resource_mut::<CaptureRequest>().frame = None;
    let capture = app.world().resource::<CaptureStatus>().clone();
    if !capture.drain(Duration::from_secs(10)) {
        warn!("some frames were still being read back at shutdown");
    }
    let summary = encoder.finish();
    drop(app);
    let mut report_outputs = Vec::new();
    let bytes: Vec<u64> = outputs
        .outputs
        .iter()
        .map(|o| o.stats.bytes.load(std::sync::atomic::Ordering::Relaxed))
        .collect();
    for ((url, result), bytes) in outputs.close().into_iter().zip(bytes) {
        if let Err(e) = result {
            warn!("{e}");
            failure.get_or_insert(RunError::Output(e));
        }
        report_outputs.push((url, bytes));
    }
    let summary = summary?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(RunReport {
        adapter,
        frames: summary.frames,
        rendered: driver.rendered,
        repeated: summary.repeated,
        media_seconds: summary.frames as f64 / clock.fps as f64,
        wall_seconds: started.elapsed().as_secs_f64(),
        warm_up_seconds: warm_up.as_secs_f64(),
        stopped_by_signal,
        outputs: report_outputs,
    })
}

/// The show's music bed (levelled when the show normalises), or silence.
pub(crate) fn music_bed(show: &ShowConfig) -> Result<Box<dyn AudioSource>, RunError> {
    let a = &show.audio;
    Ok(match &a.music {
        Some(path) if a.normalize => Box::new(MusicLoop::open_levelled(
            path,
            a.loudness_lufs,
            a.music_gain_db,
        )?),
        Some(path) => Box::new(MusicLoop::open(path, a.music_gain_db)?),
        None => Box::new(Silence),
    })
}

/// Decodes the show's sound effects to 48 kHz mono, refusing a bad file at start.
pub(crate) fn load_effects(
    files: &std::collections::BTreeMap<String, std::path::PathBuf>,
) -> Result<std::collections::HashMap<String, std::sync::Arc<[f32]>>, RunError> {
    files
        .iter()
        .map(|(name, path)| {
            let bad =
                |reason: String| RunError::Effect(format!("{name} ({}): {reason}", path.display()));
            let (samples, rate) = crate::voice::wav::read_mono(path).map_err(bad)?;
            let samples = crate::voice::resample_mono(&samples, rate, crate::media::SAMPLE_RATE)
                .map_err(|e| bad(e.to_string()))?;
            Ok((name.clone(), samples.into()))
        })
        .collect()
}

pub(crate) fn mix_settings(show: &ShowConfig) -> MixSettings {
    let a = &show.audio;
    MixSettings {
        duck_db: a.duck_db,
        duck_attack_ms: a.duck_attack_ms,
        duck_release_ms: a.duck_release_ms,
        speech_gain_db: show.voice.speech_gain_db,
        loudness_lufs: a.normalize.then_some(a.loudness_lufs),
        true_peak_dbtp: a.true_peak_dbtp,
    }
}

/// Decides which frame to render next and when.
struct Driver {
    clock: MediaClock,
    pacing: Pacing,
    total: Option<u64>,
    epoch: Instant,
    next: u64,
    rendered: u64,
}

impl Driver {
    fn done(&self) -> bool {
        self.total.is_some_and(|t| self.next >= t)
    }

    /// Frames the renderer is behind the wall clock (always 0 when unpaced).
    fn behind(&self) -> u64 {
        match self.pacing {
            Pacing::RealTime => self
                .clock
                .frame_at(self.epoch.elapsed())
                .saturating_sub(self.next),
            Pacing::AsFastAsPossible => 0,
        }
    }

    fn render_next(&mut self, app: &mut App, stop: &StopSignal) {
        if self.pacing == Pacing::RealTime {
            // Never ahead of the wall clock: wait for the frame's time to come.
            while let Some(wait) = self
                .clock
                .frame_time(self.next)
                .checked_sub(self.epoch.elapsed())
            {
                if wait.is_zero() || stop.requested() {
                    break;
                }
                std::thread::sleep(wait.min(Duration::from_millis(50)));
            }
            // Behind: render the frame that is due now; the encoder repeats the last picture
            // for the skipped ones, so the stream stays real-time and in sync with its audio.
            let due = self.clock.frame_at(self.epoch.elapsed());
            let last = self.total.map_or(u64::MAX, |t| t.saturating_sub(1));
            self.next = self.next.max(due.min(last));
        }
        let time = self.epoch + self.clock.frame_time(self.next);
        app.insert_resource(TimeUpdateStrategy::ManualInstant(time));
        app.insert_resource(MediaTime(self.next as f64 / self.clock.fps as f64));
        app.world_mut().resource_mut::<CaptureRequest>().frame = Some(self.next);
        app.update();
        self.next += 1;
        self.rendered += 1;
    }
}

/// Keeps the control API's view of the show current, with rates over the last second.
struct ApiMeter {
    started: Instant,
    window_start: Instant,
    window_rendered: u64,
    window_bytes: u64,
    fps: f64,
    kbps: f64,
}

impl ApiMeter {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            window_start: Instant::now(),
            window_rendered: 0,
            window_bytes: 0,
            fps: 0.0,
            kbps: 0.0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        status: &std::sync::Mutex<crate::api::ShowStatus>,
        app: &App,
        driver: &Driver,
        clock: MediaClock,
        stats: &crate::encode::EncodeStats,
        outputs: &OutputSet,
        live: bool,
        host: Option<&host::Host>,
    ) {
        use std::sync::atomic::Ordering::Relaxed;
        let bytes = stats.video_bytes.load(Relaxed) + stats.audio_bytes.load(Relaxed);
        let window = self.window_start.elapsed().as_secs_f64();
        if window >= 1.0 {
            self.fps = (driver.rendered - self.window_rendered) as f64 / window;
            self.kbps = (bytes - self.window_bytes) as f64 * 8.0 / 1000.0 / window;
            self.window_start = Instant::now();
            self.window_rendered = driver.rendered;
            self.window_bytes = bytes;
        }
        let world = app.world();
        let now = world.resource::<MediaTime>().0;
        let speaking = world
            .resource::<SpeechTimeline>()
            .0
            .iter()
            .find(|l| l.offset_at(now).is_some())
            .map(|l| l.line.text.clone());
        let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
        s.uptime_seconds = self.started.elapsed().as_secs_f64();
        s.media_seconds = driver.next as f64 / clock.fps as f64;
        s.frames = driver.next;
        s.rendered_frames = driver.rendered;
        s.repeated_frames = stats.repeated.load(Relaxed);
        s.render_fps = self.fps;
        s.bitrate_kbps = self.kbps;
        s.speaking = speaking;
        s.gesture = world
            .resource::<crate::presenter::Performance>()
            .gesture
            .clone();
        s.live_capture_weight =
            live.then(|| world.resource::<crate::presenter::LiveStatus>().weight);
        if let Some(host) = host {
            let on_air = host.on_air();
            s.segment = on_air.kind.map(|k| k.label().to_string());
            s.segment_title = on_air.title.clone();
            s.product = on_air.product.as_ref().map(|p| p.id.clone());
            s.flash_sale_left = on_air.flash_ends.map(|e| (e - now).max(0.0));
            s.takeover = host.paused;
        }
        s.outputs = outputs
            .outputs
            .iter()
            .map(|o| crate::api::OutputStatus {
                url: crate::api::redact(&o.target.url),
                state: format!("{:?}", o.stats.state()),
                dropped_packets: o.stats.dropped.load(Relaxed),
                reconnects: o.stats.reconnects.load(Relaxed),
            })
            .collect();
        s.dropped_packets = s.outputs.iter().map(|o| o.dropped_packets).sum();
        s.reconnects = s.outputs.iter().map(|o| o.reconnects).sum();
    }
}

/// Watches the scene file: a saved edit (from `twincast edit` or by hand) rebuilds the set
/// in the running show; a broken one is logged with its location and changes nothing.
struct SceneWatch(host::FileWatch);

impl SceneWatch {
    fn new(path: std::path::PathBuf) -> Self {
        Self(host::FileWatch::new(path))
    }

    fn poll(&mut self, app: &mut App) {
        if !self.0.changed() {
            return;
        }
        match LoadedScene::load(&self.0.path) {
            Ok(scene) => {
                info!(
                    "{}: changed; the set is rebuilt (cameras, presenter and bindings stay until a restart)",
                    self.0.path.display()
                );
                app.world_mut()
                    .resource_mut::<crate::scene::ShowroomSettings>()
                    .scene = scene;
            }
            Err(e) => warn!("{e}; the scene stays as it was"),
        }
    }
}

/// Carries out one control-API request between frames.
fn apply_command(
    command: crate::api::ApiCommand,
    app: &mut App,
    host: Option<&mut host::Host>,
    live_audio: Option<&crate::mix::LiveAudio>,
    now: f64,
) {
    use crate::api::ApiCommand;
    use crate::show::Jump;
    info!("API: {command:?}");
    match (command, host) {
        (ApiCommand::Gesture { clip, speed }, _) => {
            app.world_mut()
                .resource_mut::<crate::presenter::GestureRequests>()
                .0
                .push(crate::mix::Gesture { clip, speed });
        }
        (_, None) => {}
        (ApiCommand::Say(text), Some(host)) => host.say(text, crate::mix::Origin::Say),
        (ApiCommand::NextSegment, Some(host)) => host.jump(Jump::NextSegment),
        (ApiCommand::Product(id), Some(host)) => host.jump(Jump::Product(id)),
        (ApiCommand::FlashSale { product, seconds }, Some(host)) => {
            host.jump(Jump::FlashSale { product, seconds })
        }
        (ApiCommand::Comment { user, text }, Some(host)) => {
            host.comment(&user, &text, now);
        }
        (ApiCommand::Takeover(on), Some(host)) => {
            host.paused = on;
            if let Some(live) = live_audio {
                live.set_active(on);
            }
            if let Some(mut live) = app
                .world_mut()
                .get_resource_mut::<crate::presenter::LiveCapture>()
            {
                live.hold = on;
            }
            info!(
                "{}",
                if on {
                    "takeover: the script pauses; the host follows live capture"
                } else {
                    "takeover over: the script resumes"
                }
            );
        }
    }
}

/// Every clip the host can play by name: the avatar's own and the scene's mocap clips.
fn clip_names(scene: &LoadedScene) -> Vec<String> {
    let Some(p) = &scene.description.presenter else {
        return Vec::new();
    };
    let mut names =
        crate::mocap::skeleton::animation_names(&scene.asset_path(&p.asset)).unwrap_or_default();
    names.extend(p.clips.iter().map(|c| c.name.clone()));
    names
}
