//! One show from start to clean stop: what `stream` and `render` run.

use super::audio::{AudioOptions, ShowAudio, encode_settings};
use super::fault::Fault;
use super::lead::Lead;
use super::meter::{RunView, StatusMeter};
use super::pacer::FramePacer;
use super::programs::{self, OtherProgram};
use super::rundown::{DayClock, Rundown};
use super::services::Services;
use super::status::Progress;
use super::telemetry::Telemetry;
use super::watchdog::Watchdog;
use super::{
    Pacing, RunError, RunOptions, RunReport, StopSignal,
    alerts::{AlertLimits, Alerts, ChoppyLimit},
    app,
};
use crate::capture::{CaptureRequest, CaptureSpec, CaptureStatus};
use crate::config::ShowConfig;
use crate::encode::{AudioEncoder, EncodeSummary, EncoderThread, Encoding, VideoEncoder};
use crate::media::{AudioSource, MediaClock, VideoFrame};
use crate::output::{
    OutputError, OutputHandle, OutputSet, OutputTarget, ProgramOutputs, RecordingOptions,
};
use crate::scene::{LoadedScene, ViewCamera};
use crate::stage::{FrameCost, OnAirNow, ProgramFeeds, SpeechTimeline};
use crate::twin::TwinNow;
use bevy::prelude::*;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Frames that may wait between capture and encoder before the renderer waits.
pub(super) const FRAME_QUEUE: usize = 4;

/// The parts of a running show, owned in one place: the Bevy app, the pacer, the rundown,
/// the services beside the loop, the encoder and the outputs, and what reports on them.
pub struct ShowRun {
    app: App,
    pacer: FramePacer,
    rundown: Option<Rundown>,
    services: Services,
    encoder: EncoderThread,
    outputs: OutputSet,
    telemetry: Option<Telemetry>,
    meter: StatusMeter,
    progress: Progress,
    alerts: Alerts,
    adapter: String,
    warm_up: Duration,
    started: Instant,
    /// Processor time used when the run started (after warm-up).
    cpu_at_start: f64,
    failure: Option<RunError>,
    watchdog: Watchdog,
    fault: Fault,
    once: Option<super::PlayOnce>,
    /// Programs made beside this one from the same world.
    others: Vec<OtherProgram>,
    /// How far ahead frames may be drawn while nobody waits on them.
    lead: Lead,
}

impl ShowRun {
    /// Starts every part; the first frame is rendered by the first [`ShowRun::step`].
    pub fn start(options: RunOptions) -> Result<Self, RunError> {
        let show = &options.show;
        let scene = load_scene(show)?;
        let clock = MediaClock::new(show.video.fps);
        let services = Services::start(show, &scene, &options)?;
        let telemetry = match &options.telemetry {
            Some(path) => Some(Telemetry::create(path, services.vmc.is_some())?),
            None => None,
        };
        let audio = show_audio(show, &options, &services, clock)?;
        let encoding = encoding(show, audio.source, clock)?
            .with_origin(clock.frames_in(options.media_start))
            .with_stills(stills_at(&options, clock));
        let encoding = match &services.preview {
            Some(tap) => encoding.with_preview(tap.clone()),
            None => encoding,
        };
        let mut rundown = audio.rundown;
        if let (Some(rundown), Some(_)) = (rundown.as_mut(), options.once) {
            rundown.play_once();
        }
        if let (Some(rundown), Some(feed)) = (rundown.as_mut(), &services.feed) {
            rundown.feed = Some(feed.clone());
        }
        let (mut others, views) = prepare_others(&options, rundown.as_mut(), clock)?;
        let outputs = match start_outputs(&options.outputs, &encoding, show) {
            Ok(outputs) => outputs,
            Err(e) => {
                others.into_iter().for_each(|o| drop(o.close()));
                return Err(e);
            }
        };
        let (frame_tx, frame_rx) = crossbeam_channel::bounded::<VideoFrame>(FRAME_QUEUE);
        let (recycle_tx, recycle_rx) = crossbeam_channel::bounded::<Vec<u8>>(FRAME_QUEUE + 4);
        let (width, height) = show.render_size();
        let capture = CaptureSpec {
            width,
            height,
            sink: frame_tx,
            recycled: recycle_rx,
        };
        let twin = services.twin.as_ref().map(|t| TwinNow(t.snapshot()));
        let (app, adapter, warm_up) = match start_renderer(show, scene, capture, views, twin) {
            Ok(started) => started,
            Err(e) => {
                outputs.close();
                others.into_iter().for_each(|o| drop(o.close()));
                return Err(e);
            }
        };
        others.iter_mut().for_each(OtherProgram::start_encoder);
        let encoder =
            EncoderThread::spawn(encoding.with_sink(outputs.fanout()), frame_rx, recycle_tx);
        let watched = program_outputs(&outputs, &others);
        let alerts = start_alerts(show, &watched, &encoder, &services);
        if let Some(rundown) = rundown.as_mut() {
            rundown.set_alerts(alerts.sender());
        }
        let mut run = Self {
            encoder,
            alerts,
            pacer: FramePacer::new(clock, options.pacing, options.seconds),
            telemetry,
            // A rundown played once is part of a batch that shows its own progress.
            progress: Progress::new(
                options.pacing,
                (options.seconds.filter(|_| options.once.is_none())).map(|s| clock.frames_in(s)),
                options.status_every,
            ),
            meter: StatusMeter::new(),
            rundown,
            app,
            services,
            outputs,
            adapter,
            warm_up,
            started: Instant::now(),
            cpu_at_start: crate::usage::cpu_seconds(),
            failure: None,
            watchdog: Watchdog::from_env(),
            fault: Fault::from_env(),
            once: options.once,
            others,
            lead: Lead::new(
                Duration::from_millis(show.video.render_ahead_ms.into()),
                show.video.render_ahead_adapts,
            ),
        };
        if let (Some(rundown), Pacing::RealTime) = (run.rundown.as_mut(), options.pacing) {
            rundown.wall_origin = Some(run.pacer.wall_origin());
        }
        run.services.attach(&mut run.app);
        run.watchdog.ready();
        Ok(run)
    }

    /// Renders one frame and does what goes with it; false once the show is over (its
    /// length reached, a stop asked for, the encoder or every output gone).
    pub fn step(&mut self, stop: &StopSignal) -> bool {
        if stop.requested() || self.pacer.done() || self.encoder.is_finished() {
            return false; // a finished encoder failed: its error comes from shutdown()
        }
        if self.said_once() {
            return false;
        }
        if self.outputs.all_failed() {
            self.failure = Some(RunError::Output(OutputError::Io {
                url: "all outputs".into(),
                what: "delivery",
                reason: "every output has failed".into(),
            }));
            return false;
        }
        self.feed_stage();
        let now = self.pacer.now();
        self.fault.strike(now);
        self.services
            .between_frames(&mut self.app, self.rundown.as_mut(), now);
        let lead = self.lead.now();
        self.pacer.ahead = match self.in_step(lead) {
            true => Duration::ZERO,
            false => lead,
        };
        let from = self.pacer.next;
        if let Err(failed) = self.pacer.render_next(&mut self.app, stop) {
            self.failure = Some(failed);
            return false;
        }
        if let Some(cost) = self.app.world().get_resource::<FrameCost>() {
            self.lead.learn(cost, self.pacer.next - from);
        }
        self.report();
        true
    }

    /// Whether the next frame is drawn in step with the clock rather than up to `lead`
    /// ahead: while a person has the host (their voice and motion go out as they come),
    /// and while a line someone waits for (an answer, a `/say`) could start within the
    /// lead, so that it starts when it is ready.
    fn in_step(&self, lead: Duration) -> bool {
        let (rundown, next) = (self.rundown.as_ref(), self.pacer.next);
        let within = lead.as_secs_f64();
        self.services.person_on_air(rundown) || rundown.is_some_and(|r| r.awaits_line(next, within))
    }

    /// Media seconds of the next frame to render.
    pub fn position(&self) -> f64 {
        self.pacer.now()
    }

    /// A rundown played once has been said, and the tail after it has run.
    fn said_once(&self) -> bool {
        let (Some(once), Some(rundown)) = (self.once, self.rundown.as_ref()) else {
            return false;
        };
        rundown
            .ended_at()
            .is_some_and(|end| self.pacer.now() >= (end + once.tail_seconds).max(once.min_seconds))
    }

    /// Steps the rundown and hands its line and what is on air to the world.
    fn feed_stage(&mut self) {
        let Some(rundown) = self.rundown.as_mut() else {
            return;
        };
        let line = rundown.tick(self.pacer.next);
        let world = self.app.world_mut();
        if !self.others.is_empty() {
            let mut feeds = world.get_resource_or_init::<ProgramFeeds>();
            programs::feed(
                &mut feeds,
                &self.others,
                rundown,
                line.as_ref(),
                self.pacer.now(),
            );
        }
        if let Some(line) = line {
            world.resource_mut::<SpeechTimeline>().0.push_back(line);
        }
        self.app.insert_resource(OnAirNow(rundown.on_air().clone()));
    }

    /// After a frame: the API's status, telemetry, the status line or progress bar.
    fn report(&mut self) {
        let outputs = program_outputs(&self.outputs, &self.others);
        if self.services.api.is_some() {
            let view = RunView {
                world: self.app.world(),
                pacer: &self.pacer,
                stats: &self.encoder.stats,
                outputs: &outputs,
                rundown: self.rundown.as_ref(),
                live: self.services.vmc.is_some(),
            };
            self.meter.update(&self.services.status, &view);
        }
        if let Some(telemetry) = self.telemetry.as_mut() {
            telemetry.record(self.app.world(), self.pacer.next - 1, self.pacer.clock.fps);
        }
        self.watchdog
            .tick(self.encoder.stats.frames.load(Ordering::Relaxed));
        self.progress.update(
            self.pacer.next,
            self.pacer.rendered,
            super::meter::bank(self.app.world()),
            super::meter::pace(self.app.world()),
            &self.encoder.stats,
            &outputs,
        );
    }

    /// Stops in order: capture off, frames in flight delivered, encoder flushed, outputs
    /// closed with their trailers. A forced stop (second signal) abandons network I/O.
    pub fn shutdown(mut self, stop: &StopSignal) -> Result<RunReport, RunError> {
        self.watchdog.stopping();
        if let Some(rundown) = self.rundown.as_mut() {
            rundown.finish();
        }
        let Self {
            app,
            pacer,
            outputs,
            encoder,
            progress,
            alerts,
            failure,
            adapter,
            warm_up,
            started,
            cpu_at_start,
            others,
            ..
        } = self;
        progress.finish();
        let pace = app
            .world()
            .get_resource::<crate::camera::held::Pace>()
            .copied();
        if stop.forced() {
            outputs.abort();
            others.iter().for_each(|o| o.outputs.abort());
        }
        let result = drain_and_close(app, encoder, outputs, failure);
        let mut written_by_others = Vec::new();
        for other in others {
            let name = other.name.clone();
            let (summary, written) = other.close();
            info!(
                "program `{name}`: {} frames",
                summary.map_or(0, |s| s.frames)
            );
            written_by_others.extend(written);
        }
        let result = result.map(|(summary, mut outputs)| {
            outputs.extend(written_by_others);
            RunReport {
                adapter,
                frames: summary.frames,
                rendered: pacer.rendered,
                repeated: summary.repeated,
                media_seconds: summary.frames as f64 / pacer.clock.fps as f64,
                wall_seconds: started.elapsed().as_secs_f64(),
                warm_up_seconds: warm_up.as_secs_f64(),
                cpu_seconds: crate::usage::cpu_seconds() - cpu_at_start,
                stopped_by_signal: stop.requested(),
                outputs,
                pace,
            }
        });
        alerts.ended(result.as_ref().err().map(ToString::to_string));
        result
    }
}

/// Capture off, the frames in flight delivered, the encoder flushed, every output closed
/// with its trailer; the encoder's summary and each output's bytes, or the first failure.
fn drain_and_close(
    mut app: App,
    encoder: EncoderThread,
    outputs: OutputSet,
    mut failure: Option<RunError>,
) -> Result<(EncodeSummary, Vec<(String, u64)>), RunError> {
    app.world_mut().resource_mut::<CaptureRequest>().frame = None;
    let capture = app.world().resource::<CaptureStatus>().clone();
    if !capture.drain(Duration::from_secs(10)) {
        warn!("some frames were still being read back at shutdown");
    }
    let summary = encoder.finish();
    drop(app);
    let (written, errors) = close_outputs(outputs);
    for e in errors {
        warn!("{e}");
        failure.get_or_insert(RunError::Output(e));
    }
    let summary = summary?;
    match failure {
        Some(e) => Err(e),
        None => Ok((summary, written)),
    }
}

/// The show's sound: music, effects, speech when it has lines or takes them over the
/// API, and the rundown that says them.
fn show_audio(
    show: &ShowConfig,
    options: &RunOptions,
    services: &Services,
    clock: MediaClock,
) -> Result<ShowAudio, RunError> {
    let audio = AudioOptions {
        clock,
        speaks: !show.plan.segments.is_empty() || services.api.is_some(),
        offline: options.pacing == Pacing::AsFastAsPossible,
        day: (options.day.clone()).unwrap_or_else(|| DayClock::now_in(show.zone())),
        live: services.live_audio.clone(),
        monitor: options.monitor,
    };
    ShowAudio::build(show, audio)
}

/// The stills asked for (`--still`), at their frames.
fn stills_at(options: &RunOptions, clock: MediaClock) -> Vec<(u64, std::path::PathBuf)> {
    (options.stills.iter())
        .map(|(at, path)| (clock.frames_in(*at), path.clone()))
        .collect()
}

/// Alerts on `watched` outputs, the encoder's frames and the twin's feeds, with the
/// show's limits.
fn start_alerts(
    show: &ShowConfig,
    watched: &[ProgramOutputs],
    encoder: &EncoderThread,
    services: &Services,
) -> Alerts {
    let a = &show.alerts;
    let limits = AlertLimits {
        failing_after: Duration::from_secs_f64(a.failing_after_seconds.max(0.5)),
        stalled_after: show.api.stalled_after(),
        choppy: (a.choppy_seconds > 0.0).then(|| ChoppyLimit {
            window: Duration::from_secs_f64(a.choppy_seconds),
            share: a.choppy_repeated_percent / 100.0,
        }),
    };
    Alerts::start(
        &show.name,
        &show.source,
        a.webhook.as_deref(),
        limits,
        watched,
        encoder.stats.clone(),
        services.feed.clone(),
    )
}

/// Every program's outputs, the run's own first (no name), then those beside it: what the
/// alerts, `/status` and the status line report on.
fn program_outputs<'a>(own: &'a OutputSet, others: &'a [OtherProgram]) -> Vec<ProgramOutputs<'a>> {
    std::iter::once((None, own))
        .chain(others.iter().map(|o| (Some(o.name.as_str()), &o.outputs)))
        .collect()
}

/// Closes every output with its trailer: each output's url and the bytes it wrote, and
/// the errors met on the way.
pub(super) fn close_outputs(outputs: OutputSet) -> (Vec<(String, u64)>, Vec<OutputError>) {
    let bytes: Vec<u64> = (outputs.outputs.iter())
        .map(|o| o.stats.bytes.load(Ordering::Relaxed))
        .collect();
    let mut written = Vec::new();
    let mut errors = Vec::new();
    for ((url, result), bytes) in outputs.close().into_iter().zip(bytes) {
        errors.extend(result.err());
        written.push((url, bytes));
    }
    (written, errors)
}

/// The scene, with the rundown's shots checked against its cameras and its products'
/// props against its set pieces.
fn load_scene(show: &ShowConfig) -> Result<LoadedScene, RunError> {
    let scene = LoadedScene::load(&show.scene)?;
    show.plan
        .validate(Some(&scene.description.names()))
        .map_err(|p| {
            RunError::Scene(format!(
                "{}: {}: {}",
                show.source.display(),
                p.field,
                p.reason
            ))
        })?;
    for problem in crate::camera::sight::blocked_shots(&scene.description, &show.plan) {
        warn!("{}: {problem}", show.source.display());
    }
    for line in show.plan.unsaid_lines(&show.text_language) {
        warn!("{}: {line}", show.source.display());
    }
    Ok(scene)
}

pub(super) fn encoding(
    show: &ShowConfig,
    source: Box<dyn AudioSource>,
    clock: MediaClock,
) -> Result<Encoding<()>, RunError> {
    let settings = encode_settings(show);
    let video = VideoEncoder::new(&settings)?;
    let audio = AudioEncoder::new(settings.audio_bitrate_kbps)?;
    Ok(Encoding::new(video, audio, source, clock, ()))
}

/// Opens every output (network ones connect on their own threads).
pub(super) fn start_outputs(
    urls: &[String],
    encoding: &Encoding<()>,
    show: &ShowConfig,
) -> Result<OutputSet, RunError> {
    let targets = urls
        .iter()
        .map(|o| {
            OutputTarget::parse(o).map(|target| OutputTarget {
                faststart: show.recording.faststart,
                ..target
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut layout = encoding.layout();
    layout.spherical = show.render.vr360;
    let r = &show.recording;
    let recording = RecordingOptions {
        segment: (r.segment_minutes > 0.0)
            .then(|| Duration::from_secs_f64(r.segment_minutes * 60.0)),
        keep_bytes: (r.keep_gb > 0.0).then_some((r.keep_gb * 1e9) as u64),
    };
    let mut handles = Vec::new();
    for target in targets {
        match OutputHandle::start(target, &layout, recording.clone()) {
            Ok(h) => handles.push(h),
            Err(e) => {
                OutputSet::new(handles).close();
                return Err(e.into());
            }
        }
    }
    Ok(OutputSet::new(handles))
}

/// The programs beside the main one, set up (outputs started, encoders not yet), with
/// what their cameras need; on an error, those set up so far are closed.
fn prepare_others(
    options: &RunOptions,
    mut rundown: Option<&mut Rundown>,
    clock: MediaClock,
) -> Result<(Vec<OtherProgram>, Vec<(ViewCamera, CaptureSpec)>), RunError> {
    let origin = clock.frames_in(options.media_start);
    let mut others = Vec::new();
    let mut views = Vec::new();
    for (i, other) in options.programs.iter().enumerate() {
        let rundown = rundown.as_deref_mut();
        match OtherProgram::prepare(i + 1, other, &options.show, rundown, clock, origin) {
            Ok((program, view)) => {
                others.push(program);
                views.push(view);
            }
            Err(e) => {
                others
                    .into_iter()
                    .for_each(|o: OtherProgram| drop(o.close()));
                return Err(e);
            }
        }
    }
    Ok((others, views))
}

/// Builds the headless app and loads the scene: the app, the adapter's name, the time taken.
///
/// The twin's figures as its feeds have them now are on the screens from the start: the
/// backdrop warm-up draws shows them, and the first frames need not draw them again.
fn start_renderer(
    show: &ShowConfig,
    scene: LoadedScene,
    capture: CaptureSpec,
    views: Vec<(ViewCamera, CaptureSpec)>,
    twin: Option<TwinNow>,
) -> Result<(App, String, Duration), RunError> {
    let mut app = app::build_app_with(show, scene, capture, views, |_| {})?;
    let adapter = app::adapter_name(&app);
    info!("renderer: {adapter}");
    if let Some(twin) = twin {
        app.insert_resource(twin);
    }
    let warm_up = app::warm_up(&mut app)?;
    let loads = app.world().resource::<crate::scene::GltfLoads>().0;
    info!(
        "scene ready in {:.1} s ({loads} glTF file loads)",
        warm_up.as_secs_f64()
    );
    Ok((app, adapter, warm_up))
}
