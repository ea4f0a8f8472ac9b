//! `twincast bench`: stage-by-stage measurements for `scripts/bench.sh`: figures, never
//! assertions.

use crate::camera::held::HeldShotCount;
use crate::capture::{CaptureRequest, CaptureStatus};
use crate::config::ShowConfig;
use crate::encode::{AudioEncoder, Encoding, VideoEncoder};
use crate::media::{MediaClock, Silence, VideoFrame};
use crate::runtime::{
    FramePacer, Pacing, RunError, StopSignal, adapter_name, build_app_with, encode_settings,
    warm_up,
};
use crate::scene::LoadedScene;
use crate::usage::peak_rss_mib;
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BenchError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Encode(#[from] crate::encode::EncodeError),
    #[error(transparent)]
    Scene(#[from] crate::scene::SceneError),
    #[error(transparent)]
    Voice(#[from] crate::voice::VoiceError),
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// A clip or avatar that cannot be used.
    #[error("{0}")]
    Input(String),
    #[error("--glide: no segment of the show moves its camera (a shot with `move`)")]
    NoCameraMove,
    #[error("--camera: the scene has no camera `{name}` (it has: {known})")]
    NoSuchCamera { name: String, known: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BenchError + '_ {
    move |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One measured figure set, printed as `key=value` pairs on one line.
pub struct Figures {
    pub what: &'static str,
    pub pairs: Vec<(&'static str, String)>,
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.what)?;
        for (k, v) in &self.pairs {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

/// A thread that takes the captured frames, writes them to `raw` if asked and hands
/// their buffers back; it returns how many it took once the capture's sender is gone.
fn count_frames(
    rx: crossbeam_channel::Receiver<VideoFrame>,
    recycle: crossbeam_channel::Sender<Vec<u8>>,
    raw: Option<&Path>,
) -> Result<std::thread::JoinHandle<u64>, BenchError> {
    let mut file = match raw {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(io(path))?,
        )),
        None => None,
    };
    Ok(std::thread::spawn(move || {
        let mut got = 0u64;
        for frame in rx.iter() {
            if let Some(f) = file.as_mut() {
                let _ = f.write_all(&frame.rgba);
            }
            got += 1;
            let _ = recycle.try_send(frame.rgba);
        }
        if let Some(mut f) = file {
            let _ = f.flush();
        }
        got
    }))
}

/// What `bench render` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchShot<'a> {
    /// The opening shot, held.
    Opening,
    /// The scene's camera of this name, held (a close-up draws more of the host).
    Camera(&'a str),
    /// The camera moving as in the show's first camera move.
    Glide,
}

/// Renders and reads back `frames` frames of `shot` without encoding them.
pub fn render_only(
    show: &ShowConfig,
    frames: u64,
    shot: BenchShot,
    raw: Option<&Path>,
) -> Result<Vec<Figures>, BenchError> {
    let scene = LoadedScene::load(&show.scene)?;
    let glide = match shot {
        BenchShot::Glide => Some(first_move(show, &scene).ok_or(BenchError::NoCameraMove)?),
        _ => None,
    };
    let held_at = match shot {
        BenchShot::Camera(name) => Some(scene_camera(&scene, name)?),
        _ => None,
    };
    let (tx, rx) = crossbeam_channel::bounded::<VideoFrame>(4);
    let (recycle_tx, recycle_rx) = crossbeam_channel::bounded::<Vec<u8>>(8);
    let (width, height) = show.render_size();
    let capture = crate::capture::CaptureSpec {
        width,
        height,
        sink: tx,
        recycled: recycle_rx,
    };
    let mut app = build_app_with(show, scene, capture, Vec::new(), |app| {
        app.add_plugins(bevy::render::diagnostic::RenderDiagnosticsPlugin);
    })?;
    let adapter = adapter_name(&app);
    warm_up(&mut app)?;
    let consumer = count_frames(rx, recycle_tx, raw)?;
    // Frames on the media clock as `render` paces them, so what follows that clock (the
    // host's breathing and gaze) moves as it does in `render`.
    let mut pacer = FramePacer::new(
        MediaClock::new(show.video.fps),
        Pacing::AsFastAsPossible,
        None,
    );
    let never = StopSignal::default();
    // Counted by the held-shots plugin; without it (`--no-held-shots`) there is no count,
    // and every frame is drawn in full.
    let drawn = |app: &bevy::app::App| app.world().get_resource::<HeldShotCount>().copied();
    // The bench says no lines, so no segment goes on air and the camera stays where it is
    // put. A glide starts untimed: a camera that moves once is a cut, drawn in full; so
    // does a shot from another camera, its first frame drawing the backdrop.
    if let Some(pose) = &held_at {
        crate::camera::put_on_air_camera(app.world_mut(), pose);
    }
    let untimed = match shot {
        BenchShot::Opening => 0,
        BenchShot::Camera(_) | BenchShot::Glide => 2,
    };
    let mut before = drawn(&app);
    let mut started = Instant::now();
    for i in 0..frames + untimed {
        if i == untimed {
            (before, started) = (drawn(&app), Instant::now());
        }
        if let Some((from, to)) = &glide {
            let t = i as f32 / (frames + untimed).max(1) as f32;
            crate::camera::put_on_air_camera(app.world_mut(), &from.lerp(to, t));
        }
        pacer.render_next(&mut app, &never)?;
    }
    app.world_mut().resource_mut::<CaptureRequest>().frame = None;
    let status = app.world().resource::<CaptureStatus>().clone();
    status.drain(std::time::Duration::from_secs(30));
    let seconds = started.elapsed().as_secs_f64();
    let passes = render_passes(app.world());
    let batching = crate::scene::batching(&app);
    let after = drawn(&app);
    drop(app);
    let got = consumer.join().unwrap_or(0).saturating_sub(untimed);
    let timed = match (before, after) {
        (Some(before), Some(after)) => HeldShotCount {
            full: after.full - before.full,
            held: after.held - before.held,
            glide: after.glide - before.glide,
            smaller: after.smaller - before.smaller,
            reused: after.reused - before.reused,
            patched: after.patched - before.patched,
        },
        _ => HeldShotCount {
            full: got,
            ..Default::default()
        },
    };
    let run = RenderRun {
        frames: got,
        seconds,
        shot: match shot {
            BenchShot::Opening => "held",
            BenchShot::Camera(_) => "camera",
            BenchShot::Glide => "glide",
        },
        timed,
        adapter,
        batching,
    };
    let mut all = vec![run.figures(show)];
    all.extend(passes);
    Ok(all)
}

/// What a `render_only` run measured.
struct RenderRun {
    frames: u64,
    seconds: f64,
    shot: &'static str,
    /// The timed frames, as drawn.
    timed: HeldShotCount,
    adapter: String,
    batching: &'static str,
}

impl RenderRun {
    fn figures(&self, show: &ShowConfig) -> Figures {
        let (w, h) = show.render_size();
        Figures {
            what: "render_only",
            pairs: vec![
                ("size", format!("{w}x{h}")),
                ("frames", self.frames.to_string()),
                ("seconds", format!("{:.2}", self.seconds)),
                ("fps", format!("{:.2}", self.frames as f64 / self.seconds)),
                ("shot", self.shot.to_string()),
                ("held_shots", show.render.held_shots.to_string()),
                ("frames_full", self.timed.full.to_string()),
                ("frames_held", self.timed.held.to_string()),
                ("frames_glide", self.timed.glide.to_string()),
                ("frames_host_smaller", self.timed.smaller.to_string()),
                ("adapter", format!("\"{}\"", self.adapter)),
                ("batching", self.batching.to_string()),
                ("peak_rss_mib", format!("{:.0}", peak_rss_mib())),
            ],
        }
    }
}

/// Per render pass (shadows, opaque, transparent, post-processing, UI, our readback …):
/// the mean GPU and CPU time of the last frames, from Bevy's render diagnostics (GPU times
/// need timestamp queries, which lavapipe and GPUs' Vulkan drivers have). Sorted by GPU
/// time, longest first.
fn render_passes(world: &bevy::prelude::World) -> Vec<Figures> {
    use bevy::diagnostic::DiagnosticsStore;
    let Some(store) = world.get_resource::<DiagnosticsStore>() else {
        return Vec::new();
    };
    let mut passes: std::collections::BTreeMap<String, [Option<f64>; 2]> = Default::default();
    for diagnostic in store.iter() {
        let path = diagnostic.path().as_str();
        let Some(rest) = path.strip_prefix("render/") else {
            continue;
        };
        for (i, suffix) in ["/elapsed_gpu", "/elapsed_cpu"].iter().enumerate() {
            if let Some(pass) = rest.strip_suffix(suffix) {
                passes.entry(pass.to_string()).or_default()[i] = diagnostic.average();
            }
        }
    }
    let mut rows: Vec<(String, [Option<f64>; 2])> = passes.into_iter().collect();
    rows.sort_by(|a, b| b.1[0].unwrap_or(0.0).total_cmp(&a.1[0].unwrap_or(0.0)));
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    rows.into_iter()
        .map(|(pass, [gpu, cpu])| Figures {
            what: "render_pass",
            pairs: vec![("pass", pass), ("gpu_ms", ms(gpu)), ("cpu_ms", ms(cpu))],
        })
        .collect()
}

/// Encodes raw RGBA frames with the show's video settings (and silent audio), discarding
/// the packets: the encoder's own speed.
pub fn encode_only(show: &ShowConfig, raw: &Path) -> Result<Figures, BenchError> {
    let settings = encode_settings(show);
    let frame_bytes = (settings.source_width * settings.source_height * 4) as usize;
    let mut file = std::fs::File::open(raw).map_err(io(raw))?;
    let mut frames = Vec::new();
    loop {
        let mut buf = vec![0u8; frame_bytes];
        match file.read_exact(&mut buf) {
            Ok(()) => frames.push(buf),
            Err(_) => break,
        }
    }
    if frames.is_empty() {
        return Err(BenchError::Input(format!(
            "{}: no {}x{} RGBA frames in it",
            raw.display(),
            settings.source_width,
            settings.source_height
        )));
    }
    let mut encoding = Encoding::new(
        VideoEncoder::new(&settings)?,
        AudioEncoder::new(settings.audio_bitrate_kbps)?,
        Box::new(Silence),
        MediaClock::new(settings.fps),
        (),
    );
    let started = Instant::now();
    let count = frames.len();
    for (i, rgba) in frames.into_iter().enumerate() {
        encoding.push(VideoFrame {
            index: i as u64,
            width: settings.source_width,
            height: settings.source_height,
            rgba,
        })?;
    }
    encoding.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Figures {
        what: "encode_only",
        pairs: vec![
            ("size", format!("{}x{}", settings.width, settings.height)),
            ("frames", count.to_string()),
            ("seconds", format!("{seconds:.2}")),
            ("fps", format!("{:.2}", count as f64 / seconds)),
            ("preset", settings.preset.clone()),
        ],
    })
}

/// Speech synthesis real-time factor (seconds of speech per second of work) and the
/// mixer's cost per second of program audio.
pub fn voice(engine: &str, voice_name: &str) -> Result<Vec<Figures>, BenchError> {
    use crate::media::AudioSource;
    use crate::mix::{MixSettings, ProgramMixer};
    use crate::speech::{Line, ScheduledLine};
    use crate::voice::engine_from_name;
    let err = BenchError::Voice;
    let mut tts = engine_from_name(engine, &Default::default()).map_err(err)?;
    let mut figures = vec![speech_figures("speech", engine, tts.as_mut(), voice_name)?];
    if engine == "espeak" && crate::voice::worker::program().is_some() {
        // The reference: the same library in this process, without the worker's pipe.
        let mut here = crate::voice::EspeakEngine::new().map_err(err)?;
        figures.push(speech_figures(
            "speech_reference",
            "espeak (in process)",
            &mut here,
            voice_name,
        )?);
    }

    let (tx, rx) = crossbeam_channel::bounded(64);
    for i in 0..30u64 {
        let _ = tx.try_send(ScheduledLine {
            start: (1 + i * 4) * 48_000,
            line: std::sync::Arc::new(Line {
                text: "bench".into(),
                samples: vec![0.1; 48_000 * 3],
                visemes: Default::default(),
                stresses: Vec::new(),
                gesture: None,
                effects: Vec::new(),
                emotion: None,
                origin: Default::default(),
            }),
        });
    }
    let settings = MixSettings::default();
    let mut mixer = ProgramMixer::new(Box::new(Silence), Some(rx), settings);
    let mut block = vec![0.0f32; 1600 * 2];
    let seconds_of_audio = 120.0;
    let started = Instant::now();
    for _ in 0..(seconds_of_audio as usize * 30) {
        mixer.fill(&mut block);
    }
    let mix = started.elapsed().as_secs_f64();
    figures.push(Figures {
        what: "mixer",
        pairs: vec![
            ("audio_seconds", format!("{seconds_of_audio:.0}")),
            (
                "ms_per_audio_second",
                format!("{:.3}", mix * 1000.0 / seconds_of_audio),
            ),
        ],
    });
    Ok(figures)
}

/// Seconds of speech per second of work for five sales lines (after one to warm up).
fn speech_figures(
    what: &'static str,
    engine: &str,
    tts: &mut dyn crate::voice::SpeechEngine,
    voice_name: &str,
) -> Result<Figures, BenchError> {
    let err = BenchError::Voice;
    let text = "Welcome to the showroom. Today only, every product ships free, \
                and the first fifty orders get a gift from our factory.";
    tts.synthesize("warm up", voice_name).map_err(err)?;
    let started = Instant::now();
    let mut spoken = 0.0f64;
    for _ in 0..5 {
        spoken += tts.synthesize(text, voice_name).map_err(err)?.duration() as f64;
    }
    let synth = started.elapsed().as_secs_f64();
    Ok(Figures {
        what,
        pairs: vec![
            ("engine", engine.to_string()),
            ("voice", voice_name.to_string()),
            ("speech_seconds", format!("{spoken:.2}")),
            ("work_seconds", format!("{synth:.3}")),
            ("realtime_factor", format!("{:.1}", spoken / synth)),
        ],
    })
}

/// BVH parsing speed on a clip, and what a pose costs per frame: the clip's own forward
/// kinematics, retargeting onto an avatar (what live capture pays every frame), and baking
/// the whole clip.
pub fn mocap(clip: &Path, avatar: &Path) -> Result<Figures, BenchError> {
    use crate::mocap::bvh::BvhClip;
    use crate::mocap::retarget::{self, BakeOptions, BvhSource, Retargeter, Rig};
    let bad = BenchError::Input;
    let text =
        std::fs::read_to_string(clip).map_err(|e| bad(format!("{}: {e}", clip.display())))?;
    let runs = 7;
    let mut parse_seconds = Vec::new();
    let mut parsed = None;
    for _ in 0..runs {
        let t = Instant::now();
        let c = BvhClip::parse(&text).map_err(|(line, reason)| bad(format!("{line}: {reason}")))?;
        parse_seconds.push(t.elapsed().as_secs_f64());
        parsed = Some(c);
    }
    let clip_data = parsed.expect("runs > 0");
    parse_seconds.sort_by(f64::total_cmp);
    let parse = parse_seconds[runs / 2];

    let doc = crate::mocap::skeleton::document(avatar).map_err(|e| bad(e.to_string()))?;
    let rig = Rig::from_document(&doc, 0, &Default::default()).map_err(bad)?;
    let source = BvhSource::new(&clip_data);
    let frames = clip_data.frame_count;

    let t = Instant::now();
    let mut sink = 0.0f32;
    for f in 0..frames {
        sink += clip_data.world_pose(f)[0].0.x;
    }
    let fk = t.elapsed().as_secs_f64() / frames as f64;

    let retargeter = Retargeter::new(&source.rest(), &rig);
    let poses: Vec<_> = (0..frames).map(|f| source.pose(f)).collect();
    let mut locals = Vec::new();
    let t = Instant::now();
    for pose in &poses {
        retargeter.pose(&rig, pose, None, &mut locals);
        sink += locals[0].translation.x;
    }
    let retarget_per_frame = t.elapsed().as_secs_f64() / frames as f64;

    let t = Instant::now();
    let baked = retarget::bake(&clip_data, &rig, BakeOptions { in_place: true });
    let bake = t.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    Ok(Figures {
        what: "mocap",
        pairs: vec![
            ("clip", clip.display().to_string()),
            ("bytes", text.len().to_string()),
            ("joints", clip_data.joints.len().to_string()),
            ("frames", frames.to_string()),
            ("parse_ms", format!("{:.2}", parse * 1e3)),
            (
                "parse_mb_per_s",
                format!("{:.1}", text.len() as f64 / parse / 1e6),
            ),
            ("fk_us_per_frame", format!("{:.2}", fk * 1e6)),
            ("avatar_nodes", rig.nodes.len().to_string()),
            (
                "retarget_us_per_frame",
                format!("{:.2}", retarget_per_frame * 1e6),
            ),
            ("bake_ms", format!("{:.1}", bake * 1e3)),
            ("animated_nodes", baked.animated.len().to_string()),
        ],
    })
}

/// The pose of the scene's camera `name`.
fn scene_camera(scene: &LoadedScene, name: &str) -> Result<crate::camera::Pose, BenchError> {
    let cameras = &scene.description.cameras;
    match cameras.iter().find(|c| c.name == name) {
        Some(camera) => Ok(crate::camera::Pose::of(camera)),
        None => Err(BenchError::NoSuchCamera {
            name: name.to_string(),
            known: cameras
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The show's first camera move: the poses it glides between.
fn first_move(
    show: &ShowConfig,
    scene: &LoadedScene,
) -> Option<(crate::camera::Pose, crate::camera::Pose)> {
    let pose = |name: &str| scene_camera(scene, name).ok();
    show.plan.segments.iter().find_map(|segment| {
        let shots = &segment.shots;
        let to = (1..shots.len()).find(|&i| shots[i].move_seconds > 0.0)?;
        Some((pose(&shots[to - 1].camera)?, pose(&shots[to].camera)?))
    })
}
