//! The show file: what an operator edits to say what goes on air and where it goes.
//!
//! A show file is TOML. Unknown keys are refused rather than ignored, because a typo in a
//! file that runs unattended all night must fail at start, not silently do nothing.
//! Relative paths in the file are resolved against the file's own folder, so a show folder
//! can be copied around as a whole.

mod checks;
mod error;
pub mod plan;
mod program;
mod room;

pub use error::{ConfigError, Located};
pub use program::{ClipTemplate, ProgramConfig, ProgramPlan};
pub use room::{ComplianceRule, EventsConfig, LlmConfig, ReactionsConfig, RuleAction};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The show the binary runs when none is named: ships in `assets/`.
pub const DEMO_SHOW: &str = "assets/shows/demo.toml";

/// A whole show file, after validation; paths are absolute.
#[derive(Debug, Clone, PartialEq)]
pub struct ShowConfig {
    /// The file this came from (for messages).
    pub source: PathBuf,
    pub name: String,
    pub scene: PathBuf,
    /// Camera (by name) the stream shows; the scene's first camera when `None`.
    pub camera: Option<String>,
    pub video: VideoConfig,
    pub audio: AudioConfig,
    pub voice: VoiceConfig,
    pub render: RenderConfig,
    /// `[[outputs]]` without a `program`: the run's own picture.
    pub outputs: Vec<String>,
    /// `[[outputs]]` with one: (program, url), in file order.
    pub program_outputs: Vec<(String, String)>,
    pub api: ApiConfig,
    /// Catalog, rundown, schedule, FAQ and graphics.
    pub plan: plan::ShowPlan,
    /// `zh` or `en`: names and translations used outside scheduled windows.
    pub language: String,
    /// The language of text the file gives once (its `language` key): untranslated lines
    /// are in it. A program that speaks another language changes `language`, not this.
    pub text_language: String,
    /// IANA time zone of the schedule, `--clock`, the audit log and `/status` (e.g.
    /// `Asia/Shanghai`); the machine's own when `None`. Checked at load.
    pub timezone: Option<String>,
    pub compliance: ComplianceConfig,
    pub alerts: AlertsConfig,
    pub takeover: TakeoverConfig,
    pub comments: CommentsConfig,
    pub recording: RecordingConfig,
    pub llm: LlmConfig,
    pub events: EventsConfig,
    pub reactions: ReactionsConfig,
    /// The same show framed for other screens (`[[programs]]`), chosen with `--program`.
    pub programs: Vec<ProgramConfig>,
    /// The program this show was made into by [`ShowConfig::for_program`], if any.
    pub program: Option<String>,
    /// Short-video templates (`[[clips]]`) for `twincast clips`.
    pub clips: Vec<ClipTemplate>,
}

/// How recordings (file outputs) are kept (`[recording]`). A recording is never
/// overwritten: a name that is taken gets the start time added.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    /// Start a new file every this many minutes (at a keyframe), each named for its start
    /// time, so a night is a set of playable files; 0 keeps one file.
    pub segment_minutes: f64,
    /// Delete a recording's oldest files while its files take more than this (GB); 0 keeps
    /// everything.
    pub keep_gb: f64,
    /// MP4/MOV written whole with its index at the front (`+faststart`), as upload pages
    /// expect, instead of fragment by fragment. A process killed mid-file leaves nothing
    /// playable, so `clips` sets it and live recordings should not.
    pub faststart: bool,
}

/// How the host answers the live room's comments (`[comments]`): limits that keep a busy
/// or hostile room from crowding out the rundown or exhausting memory.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommentsConfig {
    /// Seconds before the same viewer is answered again.
    pub per_user_seconds: f64,
    /// Answers at most this many comments a minute, whoever asks.
    pub per_minute: u32,
    /// Seconds before the same question (FAQ entry) is answered again.
    pub repeat_seconds: f64,
    /// Share (0–1) of each minute that answers may take from the script.
    pub max_share: f32,
    /// Answers that may wait to be said; more comments are dropped (and counted).
    pub max_waiting: usize,
    /// Viewer names and comment text are cut to these many characters before use.
    pub name_chars: usize,
    pub text_chars: usize,
}

impl Default for CommentsConfig {
    fn default() -> Self {
        Self {
            per_user_seconds: 30.0,
            per_minute: 6,
            repeat_seconds: 60.0,
            max_share: 0.3,
            max_waiting: 2,
            name_chars: 24,
            text_chars: 200,
        }
    }
}

/// What a person taking over the host (`POST /takeover`) brings: their motion comes over
/// VMC (`stream --vmc-listen`), their voice as raw PCM over UDP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TakeoverConfig {
    /// UDP address for s16le 48 kHz mono PCM, e.g. `127.0.0.1:5004`.
    pub audio_listen: Option<String>,
    /// Senders (IP addresses) besides this machine that may send the takeover voice and
    /// VMC motion; anything else is dropped unread.
    pub allow: Vec<String>,
    /// The host is handed back to the script after this many seconds without a voice or
    /// VMC packet during a takeover (the operator's tool died); 0 never.
    pub idle_seconds: f64,
}

impl Default for TakeoverConfig {
    fn default() -> Self {
        Self {
            audio_listen: None,
            allow: Vec::new(),
            idle_seconds: 30.0,
        }
    }
}

/// What platforms ask of virtual presenters besides the on-screen label.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {
    /// Keep a record of everything the host says (JSON lines), rotated at `audit_max_mb`,
    /// keeping `audit_keep` old files.
    pub audit: bool,
    /// Where: relative to the show file's folder; `out/<show>.said.jsonl` in that folder
    /// when absent (so the record stays with the show, whatever the working directory).
    pub audit_log: Option<PathBuf>,
    pub audit_max_mb: u32,
    pub audit_keep: u32,
    /// The built-in rules (China's Advertising Law's absolute, medical and guarantee
    /// claims, and their English equivalents) apply unless this is false.
    pub default_rules: bool,
    /// Words whose clause is left out of a line.
    pub forbidden: Vec<String>,
    /// Words rewritten: `{ "最好" = "很好" }`.
    pub replace: BTreeMap<String, String>,
    /// Rules with their own action (`rewrite`, `drop_clause`, `skip_line`).
    pub rules: Vec<ComplianceRule>,
    /// Viewer text with any of these (besides a built-in list) is never read out.
    pub abuse: Vec<String>,
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        Self {
            audit: true,
            audit_log: None,
            audit_max_mb: 20,
            audit_keep: 10,
            default_rules: true,
            forbidden: Vec::new(),
            replace: BTreeMap::new(),
            rules: Vec::new(),
            abuse: Vec::new(),
        }
    }
}

/// Where to call when an output drops, comes back, or keeps failing, or the picture
/// stutters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Receives a JSON POST per event. Off when absent.
    pub webhook: Option<String>,
    /// An output down this long (seconds) raises `output_failing`, again every as long.
    pub failing_after_seconds: f64,
    /// The window (seconds) over which repeated frames are counted for `picture_choppy`;
    /// 0 turns that alert off.
    pub choppy_seconds: f64,
    /// `picture_choppy` when at least this share (percent) of the window's frames repeat
    /// the picture before them (rendering fell behind); `picture_smooth` once a window has
    /// under a quarter of it.
    pub choppy_repeated_percent: f64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            webhook: None,
            failing_after_seconds: 60.0,
            choppy_seconds: 60.0,
            choppy_repeated_percent: 20.0,
        }
    }
}

/// The control API: off unless `listen` is set here or `--api` is given.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address to serve on, e.g. `127.0.0.1:8080`.
    pub listen: Option<String>,
    /// Environment variable holding the bearer token mutating calls need. Without a token
    /// they are refused: the token is never written in the show file.
    pub token_env: String,
    /// `/health` answers 503 after this many seconds without a new encoded frame…
    pub health_stalled_seconds: f64,
    /// …or without any live output.
    pub health_offline_seconds: f64,
    /// Whether the console's reads (`/status`, `/updates`, `/preview.jpg`…) need the token
    /// as well as its buttons. Unset: yes when the API listens beyond this machine.
    pub console_requires_token: Option<bool>,
}

impl ApiConfig {
    /// How long without a new encoded frame before `/health` says `stalled` (and the
    /// `stream_stalled` alert goes out); at least a second.
    pub fn stalled_after(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.health_stalled_seconds.max(1.0))
    }

    /// Whether reads need the token when the API listens on `listen`: as configured, else
    /// whenever the address is not a loopback one (names other than `localhost` count as
    /// beyond this machine).
    pub fn reads_need_token(&self, listen: &str) -> bool {
        self.console_requires_token.unwrap_or_else(|| {
            let loopback = match listen.parse::<std::net::SocketAddr>() {
                Ok(addr) => addr.ip().is_loopback(),
                Err(_) => listen.starts_with("localhost:"),
            };
            !loopback
        })
    }

    /// How long without a live output before `/health` says `offline`; at least a second.
    pub fn offline_after(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.health_offline_seconds.max(1.0))
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: None,
            token_env: "TWINCAST_API_TOKEN".into(),
            health_stalled_seconds: 8.0,
            health_offline_seconds: 120.0,
            console_requires_token: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoConfig {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Target (and, with CBR, maximum) video bitrate.
    pub bitrate_kbps: u32,
    /// VBV buffer in seconds of bitrate; 2–3 s is what platforms recommend.
    pub buffer_seconds: f32,
    /// x264 preset: ultrafast … veryslow.
    pub preset: String,
    /// x264 tune; `zerolatency` suits live output. Empty for none.
    pub tune: String,
    pub keyframe_seconds: f32,
    pub b_frames: u32,
    /// Encoder name, e.g. `libx264` or `h264_nvenc`.
    pub encoder: String,
    /// Encoder threads; 0: the encoder's own choice for this machine (x264: about 1.5 a
    /// core, as the ffmpeg command line and OBS leave it). 1 spends a little less CPU per
    /// frame, for many shows on one machine (1.1 cores a show against 1.2, eight at once
    /// on a 16-core GPU machine), and encodes slower (73 fps against 115 at 720p, 2 cores).
    pub threads: u32,
    /// In `stream`, the most the renderer may run ahead of the wall clock, 0–2000 ms: a
    /// frame drawn early banks its spare time for a slow one after it, as playout servers
    /// keep a few frames buffered, where a renderer held to the clock loses it waiting and
    /// repeats a picture when a slow frame comes. What the live room and the API change
    /// reaches the stream up to that much later. While a person has the host (a takeover,
    /// or live motion capture arriving) frames are drawn in step with the clock, so their
    /// voice and motion go out as they come; so they are while an answer or a `/say` is
    /// owed and could start, so that a line that takes longer than the lead to write (the
    /// language model's) starts when it is ready.
    pub render_ahead_ms: u32,
    /// Whether the lead is only what the stream's recent frames needed (the peak of their
    /// running overrun lately, a quarter more and a frame; `runtime::lead`), so that where
    /// frames have headroom the room's answers and the API's changes are not held back by
    /// a bank nothing draws on; false keeps all of `render_ahead_ms` all the time.
    pub render_ahead_adapts: bool,
}

impl Default for VideoConfig {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 30,
            bitrate_kbps: 2500,
            buffer_seconds: 2.0,
            preset: "veryfast".into(),
            tune: "zerolatency".into(),
            keyframe_seconds: 2.0,
            b_frames: 0,
            encoder: "libx264".into(),
            threads: 0,
            render_ahead_ms: 500,
            render_ahead_adapts: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioConfig {
    pub bitrate_kbps: u32,
    /// Music bed, looped; silence when absent.
    pub music: Option<PathBuf>,
    /// Music bed level in dB: relative to `loudness_lufs` when `normalize` is on (the file
    /// is measured at start), else a plain gain on the file.
    pub music_gain_db: f32,
    /// Ride the program to `loudness_lufs` (EBU R128) under `true_peak_dbtp`.
    pub normalize: bool,
    pub loudness_lufs: f32,
    pub true_peak_dbtp: f32,
    /// Music gain while the host speaks, and how fast it dips and comes back.
    pub duck_db: f32,
    pub duck_attack_ms: f32,
    pub duck_release_ms: f32,
    /// Sound effects by name (`chime = "sfx/chime.wav"`), cued from lines as `[+chime]`.
    pub effects: std::collections::BTreeMap<String, PathBuf>,
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self {
            bitrate_kbps: 128,
            music: None,
            music_gain_db: -6.0,
            normalize: true,
            loudness_lufs: -16.0,
            true_peak_dbtp: -1.0,
            duck_db: -12.0,
            duck_attack_ms: 40.0,
            duck_release_ms: 400.0,
            effects: Default::default(),
        }
    }
}

/// What the host says, and with which engine.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    /// `espeak`, or `command:<shell command>` (text on stdin, `{output}`: WAV to write).
    pub engine: String,
    pub voice: String,
    /// Spoken in turn, forever. None: the host is silent.
    pub lines: Vec<String>,
    pub pause_seconds: f32,
    pub speech_gain_db: f32,
    /// For `http:` engines: the model name, the environment variable with the API key, and
    /// how long one line may take.
    pub model: String,
    pub api_key_env: String,
    pub timeout_seconds: f32,
    /// Synthesised lines are kept here (default: ~/.cache/twincast/tts), up to `cache_mb`
    /// (0: no cache).
    pub cache_dir: Option<PathBuf>,
    pub cache_mb: u32,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        Self {
            engine: "espeak".into(),
            voice: "en-us".into(),
            lines: Vec::new(),
            pause_seconds: 4.0,
            speech_gain_db: 0.0,
            model: "tts-1".into(),
            api_key_env: "TWINCAST_TTS_API_KEY".into(),
            timeout_seconds: 20.0,
            cache_dir: None,
            cache_mb: 256,
        }
    }
}

/// Render quality knobs that matter most on a CPU rasterizer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RenderConfig {
    /// MSAA samples: 1 (off), 2, 4 or 8.
    pub msaa: u32,
    /// Whether lights that ask for shadows get them.
    pub shadows: bool,
    /// How shadow edges are filtered: `gaussian` (soft, Bevy's default), `hardware2x2`
    /// (one 2×2 comparison: harder edges, 13 % less time per frame on lavapipe at 720p,
    /// 51.5 dB against the soft ones), or `auto`: `hardware2x2` on a CPU renderer,
    /// `gaussian` on a GPU.
    pub shadow_filter: ShadowFilter,
    /// `full`: Bevy's lighting; `lean`: the lights a showroom uses through Bevy's own BRDF,
    /// without the paths it does not (point and spot light shadows, soft shadows,
    /// transmission, environment maps…), which lavapipe pays for even when they are off
    /// (`scene::lean_lighting`); `auto`: lean on a CPU renderer, full on a GPU.
    pub lighting: Lighting,
    /// The key light's shadow cascades, 1–4 (0: `auto`, one on a CPU renderer, where each
    /// cascade is a depth pass over the set every frame, and Bevy's four on a GPU). They
    /// reach as far as the set does from its cameras.
    pub shadow_cascades: u32,
    /// Fraction of the output size the scene is rendered at (0.25–1). The encoder scales
    /// the picture up to the output size; on a CPU renderer 0.5 draws a quarter of the pixels.
    pub scale: f32,
    /// 360° equirectangular video (2:1 picture) instead of the camera's view.
    pub vr360: bool,
    /// While a shot holds, draw the set once and each frame only the host's part of the
    /// picture over it (`camera::held`). Off draws every frame in full (`--reference`).
    pub held_shots: bool,
    /// With held shots, the fraction of the picture's size a camera move (a glide) is
    /// drawn at and stretched to the picture, 0.25–1 (0: `auto`: on a CPU renderer, where
    /// a frame costs its pixels, 0.5 but never fewer pixels than 640×360; 1 on a GPU).
    /// The graphics stay sharp; the set and host are softer while the camera moves. Cuts
    /// and held shots are drawn in full.
    pub glide_scale: f32,
    /// With held shots, whether a glide is drawn with `msaa`'s samples (`on`) or one
    /// (`off`); `auto`: off on a CPU renderer, where MSAA 4× made a glide a third dearer
    /// and its picture 0.2–0.3 dB closer to `render --reference` (stretched over the
    /// picture, a glide's edges are as soft either way), on on a GPU. Held shots and cuts
    /// keep `msaa`.
    pub glide_msaa: GlideMsaa,
    /// With held shots, the most pixels the host's layer is drawn with, as a fraction of
    /// the picture's, 0.05–1: a larger rectangle of her (a close-up) is drawn smaller, never
    /// under 0.7 of its sides, and stretched over its place (0: `auto`: on a CPU renderer,
    /// where her pixels are most of a held frame, 0.15 of the picture or of 1280×720's
    /// pixels, whichever is more; 1 on a GPU). 1 always draws her at the picture's pixels.
    pub host_pixels: f32,
    /// With held shots, in `stream`: while held frames or glides cost more than real time
    /// allows, draw the host's layer or the glide with fewer pixels (a step at a time, down
    /// to 0.7 of the sides above), and with more again once they cost less, rather than
    /// repeat pictures (`camera::held::pace`). `render` always draws as planned.
    pub keep_pace: bool,
}

/// `render.shadow_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShadowFilter {
    #[default]
    Auto,
    Gaussian,
    #[serde(rename = "hardware2x2")]
    Hardware2x2,
}

/// `render.glide_msaa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlideMsaa {
    #[default]
    Auto,
    Off,
    On,
}

/// `render.lighting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lighting {
    #[default]
    Auto,
    Full,
    Lean,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            msaa: 4,
            shadows: true,
            shadow_filter: ShadowFilter::Auto,
            lighting: Lighting::Auto,
            shadow_cascades: 0,
            scale: 1.0,
            vr360: false,
            held_shots: true,
            glide_scale: 0.0,
            glide_msaa: GlideMsaa::Auto,
            host_pixels: 0.0,
            keep_pace: true,
        }
    }
}

impl ShowConfig {
    /// Size of the rendered picture: the output size times `render.scale`, kept even.
    pub fn render_size(&self) -> (u32, u32) {
        let scaled = |v: u32| (((v as f32 * self.render.scale) / 2.0).round() as u32 * 2).max(16);
        (scaled(self.video.width), scaled(self.video.height))
    }

    /// Whether the audit log is the one the show keeps by default (`out/<show>.said.jsonl`
    /// beside its file), rather than one the file names.
    pub fn audit_log_is_default(&self) -> bool {
        self.compliance.audit_log.as_deref() == Some(&kept_beside(&self.source, ".said.jsonl"))
    }
}

/// Where a show keeps a file of its run when its show file names none:
/// `out/<show><suffix>` in the show file's folder, absolute.
fn kept_beside(show_file: &Path, suffix: &str) -> PathBuf {
    let stem = show_file.file_stem().unwrap_or_default().to_string_lossy();
    let dir = show_file.parent().unwrap_or(Path::new(""));
    let joined = dir.join(format!("out/{stem}{suffix}"));
    std::path::absolute(&joined).unwrap_or(joined)
}

impl ShowFile {
    /// Every path the file names made absolute against the show file's folder (so files
    /// handed to Bevy's asset server are found whatever the working directory), and each
    /// file a run keeps put where the file says, else beside it (`kept_beside`); none
    /// where it is switched off.
    fn resolve_paths(&mut self, show_file: &Path) {
        let dir = show_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let resolve = |p: &Path| {
            let joined = dir.join(p);
            std::path::absolute(&joined).unwrap_or(joined)
        };
        self.scene = resolve(&self.scene);
        let named = [
            &mut self.audio.music,
            &mut self.voice.cache_dir,
            &mut self.overlay.logo,
            &mut self.overlay.font,
        ];
        let images = self.products.iter_mut().map(|p| &mut p.image);
        for file in named.into_iter().chain(images) {
            *file = file.as_deref().map(resolve);
        }
        for file in self.audio.effects.values_mut() {
            *file = resolve(file);
        }
        let kept = |on: bool, given: Option<&Path>, suffix: &str| {
            on.then(|| given.map_or_else(|| kept_beside(show_file, suffix), resolve))
        };
        let c = &mut self.compliance;
        c.audit_log = kept(c.audit, c.audit_log.as_deref(), ".said.jsonl");
        let e = &mut self.events;
        e.tally_dir = kept(e.tally, e.tally_dir.as_deref(), "-room");
        e.stock_file = kept(e.keep_stock, e.stock_file.as_deref(), ".stock.json");
    }
}

/// The file as written; turned into [`ShowConfig`] by [`ShowConfig::load`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowFile {
    name: Option<String>,
    scene: PathBuf,
    camera: Option<String>,
    #[serde(default)]
    video: VideoConfig,
    #[serde(default)]
    audio: AudioConfig,
    #[serde(default)]
    voice: VoiceConfig,
    #[serde(default)]
    render: RenderConfig,
    #[serde(default)]
    outputs: Vec<OutputEntry>,
    #[serde(default)]
    api: ApiConfig,
    language: Option<String>,
    timezone: Option<String>,
    #[serde(default)]
    shop: plan::Localized<String>,
    #[serde(default)]
    products: Vec<plan::Product>,
    #[serde(default)]
    segments: Vec<plan::Segment>,
    #[serde(default)]
    schedule: Vec<plan::ScheduleEntry>,
    #[serde(default)]
    faq: Vec<plan::Faq>,
    #[serde(default)]
    drafts: Vec<plan::Draft>,
    #[serde(default)]
    overlay: plan::OverlayConfig,
    #[serde(default)]
    compliance: ComplianceConfig,
    #[serde(default)]
    alerts: AlertsConfig,
    #[serde(default)]
    takeover: TakeoverConfig,
    #[serde(default)]
    comments: CommentsConfig,
    #[serde(default)]
    recording: RecordingConfig,
    #[serde(default)]
    llm: LlmConfig,
    #[serde(default)]
    events: EventsConfig,
    #[serde(default)]
    reactions: ReactionsConfig,
    #[serde(default)]
    programs: Vec<ProgramConfig>,
    #[serde(default)]
    clips: Vec<ClipTemplate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputEntry {
    url: String,
    /// The program this output carries (`[[programs]]`); the run's own when absent.
    #[serde(default)]
    program: Option<String>,
}

impl ShowConfig {
    /// Reads, parses and validates a show file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse(path, &read(path)?)
    }

    /// The show file read again while the show runs: checked as at start, and its shots
    /// against the scene's `cameras`, which only the running show knows, so an edit is
    /// refused for what start refuses, naming its line. With it, what else the edit
    /// changed against `running` (the text the show started from) that waits for a
    /// restart ([`needs_restart`]).
    pub fn load_edit(
        path: &Path,
        set: &plan::SetNames,
        running: &str,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let text = read(path)?;
        let show = Self::parse(path, &text)?;
        (show.plan.validate(Some(set))).map_err(|p| ConfigError::plan(path, &text, p))?;
        Ok((show, needs_restart(running, &text)))
    }

    /// Parses show-file text; `path` is used for messages and to resolve relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let mut file: ShowFile =
            toml::from_str(text).map_err(|e| ConfigError::parse(path, text, &e))?;
        file.resolve_paths(path);
        let config = Self::from_file(path, file);
        config.validate()?;
        config
            .plan
            .validate(None)
            .and_then(|()| {
                config
                    .plan
                    .check_languages(&config.language, config.llm.url.is_some())
            })
            .map_err(|p| ConfigError::plan(path, text, p))?;
        Ok(config)
    }

    /// The show `file` (its paths resolved) read from `path`, not yet checked.
    fn from_file(path: &Path, file: ShowFile) -> Self {
        let name = file.name.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "show".into())
        });
        let voice = file.voice;
        let language = file.language.unwrap_or_else(|| {
            let zh = ["cmn", "zh", "yue"]
                .iter()
                .any(|p| voice.voice.starts_with(p));
            if zh { "zh" } else { "en" }.to_string()
        });
        let mut segments = file.segments;
        if segments.is_empty() && !voice.lines.is_empty() {
            segments.push(plan::Segment::said_in_turn(&voice.lines));
        }
        let plan = plan::ShowPlan {
            shop: file.shop,
            products: file.products,
            segments,
            schedule: file.schedule,
            faq: file.faq,
            overlay: file.overlay,
            drafts: file.drafts,
        };
        ShowConfig {
            source: path.to_path_buf(),
            name,
            scene: file.scene,
            camera: file.camera,
            video: file.video,
            audio: file.audio,
            voice,
            render: file.render,
            outputs: (file.outputs.iter())
                .filter(|o| o.program.is_none())
                .map(|o| o.url.clone())
                .collect(),
            program_outputs: (file.outputs.into_iter())
                .filter_map(|o| Some((o.program?, o.url)))
                .collect(),
            api: file.api,
            plan,
            text_language: language.clone(),
            language,
            timezone: file.timezone,
            compliance: file.compliance,
            alerts: file.alerts,
            takeover: file.takeover,
            comments: file.comments,
            recording: file.recording,
            llm: file.llm,
            events: file.events,
            reactions: file.reactions,
            programs: file.programs,
            clips: file.clips,
            program: None,
        }
    }

    /// Checks values that parse but cannot work (`checks`, one function per part of the
    /// file). Runs again after CLI overrides.
    pub fn validate(&self) -> Result<(), ConfigError> {
        checks::validate(self).map_err(|(field, reason)| ConfigError::Invalid {
            path: self.source.clone(),
            field,
            reason,
        })
    }

    /// The show's time zone: `timezone`, or the machine's (UTC where it has none).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        self.timezone
            .as_deref()
            .and_then(|name| jiff::tz::TimeZone::get(name).ok())
            .unwrap_or_else(|| jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC))
    }

    /// Where `stream` records when neither the file nor the command line names an output.
    pub fn default_output(&self) -> String {
        let stem = self
            .source
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "show".into());
        format!("out/{stem}.flv")
    }
}

/// A show file's text.
fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The show file's top-level keys a running show takes from an edit (the catalog, the
/// rundown and what the host says); every other one is read once, at start.
const RELOADED: [&str; 6] = ["shop", "products", "segments", "schedule", "faq", "drafts"];

/// What an edit of a show file changed that a running show reads only at start, as the
/// file spells it (`[video]`, `[[outputs]]`, `scene`), so the operator is told what waits
/// for a restart rather than believing it on air. `running` is the text the show started
/// from; text that does not parse as TOML changes nothing here.
pub fn needs_restart(running: &str, edited: &str) -> Vec<String> {
    let (Ok(before), Ok(after)) = (
        running.parse::<toml::Table>(),
        edited.parse::<toml::Table>(),
    ) else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !RELOADED.contains(&k.as_str()) && before.get(*k) != after.get(*k))
        .map(|k| match before.get(k).or(after.get(k)) {
            Some(toml::Value::Table(_)) => format!("[{k}]"),
            Some(toml::Value::Array(a)) if a.iter().all(toml::Value::is_table) => {
                format!("[[{k}]]")
            }
            _ => format!("`{k}`"),
        })
        .collect()
}

impl ConfigError {
    /// A problem of the rundown in show file `path`, at its line where it can be found.
    fn plan(path: &Path, text: &str, p: plan::PlanProblem) -> Self {
        match locate(text, &p) {
            Some(at) => ConfigError::InvalidAt {
                path: path.to_path_buf(),
                at,
                field: p.field,
                reason: p.reason,
            },
            None => ConfigError::Invalid {
                path: path.to_path_buf(),
                field: p.field,
                reason: p.reason,
            },
        }
    }
}

/// Where in the show file a plan problem is: its needle, searched from the start of its
/// table (the n-th `[[schedule]]`, say) when it names one, or that table's header.
fn locate(text: &str, problem: &plan::PlanProblem) -> Option<Located> {
    let from = match problem.section {
        Some((header, n)) => {
            text.match_indices(header)
                .filter(|(at, _)| *at == 0 || text[..*at].ends_with('\n'))
                .nth(n)?
                .0
        }
        None => 0,
    };
    let offset = match &problem.needle {
        Some(needle) => from + text[from..].find(needle.as_str())?,
        None if problem.section.is_some() => from,
        None => return None,
    };
    Some(Located::from_offset(text, offset))
}

/// Parses `WxH`, as given on the command line.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{text}` is not WIDTHxHEIGHT"))?;
    let w = w
        .trim()
        .parse()
        .map_err(|_| format!("bad width in `{text}`"))?;
    let h = h
        .trim()
        .parse()
        .map_err(|_| format!("bad height in `{text}`"))?;
    Ok((w, h))
}

#[cfg(test)]
mod tests;
