//! `twincast clips`: a short video per product and language, made in batch from the
//! show's catalog, as fast as the machine allows.
//!
//! Each clip is the show cut down to one pitch of one product ([`script::clip_show`]),
//! played once through the same [`ShowRun`] as `render`: the host says the clip's lines
//! with her gestures and lip sync, the card and captions on screen, the music under her.
//! Beside the MP4 (H.264, AAC, index first) each clip gets a cover picture, its captions
//! (SubRip and WebVTT, from the lines as said), and its post's title and hashtags.
//!
//! A clip is written under `.partial/` and moved into place when whole, its summary
//! (`<clip>.json`) last: a batch stopped half way starts again where it stopped, and
//! finished clips are skipped.

mod captions;
mod level;
pub mod script;

use crate::config::ShowConfig;
use crate::config::plan::SetNames;
use crate::mix::MusicLoop;
use crate::runtime::{Pacing, PlayOnce, RunError, RunOptions, ShowRun, StopSignal};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use script::Job;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{info, warn};

/// Picture and music after the last line, so a clip does not end mid-breath.
const TAIL_SECONDS: f64 = 1.5;
/// Where the cover is taken when the template does not say: the card is up and the host
/// is in her first line.
const COVER_SECONDS: f64 = 2.0;

#[derive(Debug, Error)]
pub enum ClipError {
    #[error("{0}")]
    Plan(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("clip {clip}: {source}")]
    Run { clip: String, source: RunError },
    #[error("stopped by a signal; run the same command again to go on")]
    Stopped,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ClipError + '_ {
    move |source| ClipError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What to make.
#[derive(Debug, Clone)]
pub struct ClipOptions {
    /// Product ids; the whole catalog when empty.
    pub products: Vec<String>,
    /// `zh`, `en`; the show's language when empty.
    pub languages: Vec<String>,
    /// A clip lasts at least this long …
    pub min_seconds: f64,
    /// … and at most this long (the script is cut there).
    pub max_seconds: f64,
    pub output: PathBuf,
    /// The clips' loudness target (short-video platforms play at about −14 LUFS).
    pub loudness_lufs: f32,
}

/// One clip of the batch, as the summary table shows it (also `<clip>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipRow {
    pub clip: String,
    pub product: String,
    pub language: String,
    pub seconds: f64,
    pub bytes: u64,
    /// Integrated loudness of the file's sound; `None` if silent.
    pub lufs: Option<f32>,
    pub title: String,
    /// The script was longer than the longest clip: its last words are cut.
    #[serde(default)]
    pub cut: bool,
    /// Made in an earlier run and kept.
    #[serde(skip)]
    pub skipped: bool,
}

/// The batch's clips: each product (in catalog order) in each language.
pub fn jobs(show: &ShowConfig, options: &ClipOptions) -> Result<Vec<Job>, ClipError> {
    let known = |id: &String| show.plan.products.iter().any(|p| &p.id == id);
    if let Some(id) = options.products.iter().find(|id| !known(id)) {
        return Err(ClipError::Plan(format!("no product `{id}` in the catalog")));
    }
    let languages = if options.languages.is_empty() {
        vec![show.language.clone()]
    } else {
        options.languages.clone()
    };
    if let Some(l) = languages
        .iter()
        .find(|l| !matches!(l.as_str(), "zh" | "en"))
    {
        return Err(ClipError::Plan(format!("language `{l}` is not zh or en")));
    }
    let products = (show.plan.products.iter())
        .filter(|p| options.products.is_empty() || options.products.contains(&p.id));
    Ok(products
        .flat_map(|p| languages.iter().map(|l| Job::new(&p.id, l)))
        .collect())
}

/// Makes every clip not already made; the table's rows in batch order.
pub fn run(
    show: &ShowConfig,
    options: &ClipOptions,
    stop: &StopSignal,
) -> Result<Vec<ClipRow>, ClipError> {
    let jobs = jobs(show, options)?;
    let kept: Vec<Option<ClipRow>> = jobs.iter().map(|j| done(&options.output, j)).collect();
    let to_make: Vec<Job> = (jobs.iter().zip(&kept))
        .filter(|(_, kept)| kept.is_none())
        .map(|(job, _)| job.clone())
        .collect();
    let show = &script::with_model_scripts(show, &to_make);
    let set = scene_names(show)?;
    let cameras = &set.cameras;
    // Every clip's script is checked before the first is made: a template without lines
    // in a language fails the batch at once, not an hour in.
    for job in &jobs {
        let clip = script::clip_show(show, job, cameras, Path::new("said.jsonl"))
            .map_err(ClipError::Plan)?;
        (clip.plan.validate(Some(&set))).map_err(|p| {
            ClipError::Plan(format!("clip {}: {}: {}", job.name, p.field, p.reason))
        })?;
    }
    let partial = options.output.join(".partial");
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    let bars = Bars::new(jobs.len());
    let mut rows = Vec::new();
    for (job, kept) in jobs.iter().zip(kept) {
        bars.start(&job.name, options.max_seconds);
        let row = match kept {
            Some(row) => row,
            None => make(show, job, options, cameras, stop, &bars)?,
        };
        bars.finish_clip(&row);
        rows.push(row);
    }
    bars.done();
    Ok(rows)
}

/// A clip finished by an earlier run: its video and summary are both in place.
fn done(dir: &Path, job: &Job) -> Option<ClipRow> {
    let summary = std::fs::read_to_string(dir.join(format!("{}.json", job.name))).ok()?;
    let row: ClipRow = serde_json::from_str(&summary).ok()?;
    dir.join(format!("{}.mp4", job.name))
        .is_file()
        .then_some(ClipRow {
            skipped: true,
            ..row
        })
}

/// The scene's cameras and set pieces, which each clip's plan is checked against.
fn scene_names(show: &ShowConfig) -> Result<SetNames, ClipError> {
    let scene =
        crate::scene::LoadedScene::load(&show.scene).map_err(|e| ClipError::Plan(e.to_string()))?;
    Ok(scene.description.names())
}

/// Where one clip's files are: being made (under `.partial/`), and when done.
struct Paths {
    work: PathBuf,
    out: PathBuf,
    name: String,
}

impl Paths {
    fn new(out: &Path, job: &Job) -> Self {
        Self {
            work: out.join(".partial"),
            out: out.to_path_buf(),
            name: job.name.clone(),
        }
    }
    fn partial(&self, ext: &str) -> PathBuf {
        self.work.join(format!("{}.{ext}", self.name))
    }
    fn done(&self, ext: &str) -> PathBuf {
        self.out.join(format!("{}.{ext}", self.name))
    }
}

/// Renders one clip into `.partial/`, writes its captions and post, brings it to its
/// loudness, then moves it into place (the summary last).
fn make(
    show: &ShowConfig,
    job: &Job,
    options: &ClipOptions,
    cameras: &[String],
    stop: &StopSignal,
    bars: &Bars,
) -> Result<ClipRow, ClipError> {
    let paths = Paths::new(&options.output, job);
    for stale in ["mp4", "jpg", "said.jsonl", "level.mp4"] {
        let _ = std::fs::remove_file(paths.partial(stale));
    }
    let length = render_clip(show, job, options, cameras, &paths, stop, bars)?;
    let cut = write_captions(&paths, job, length)?;
    let post = script::post(show, job);
    let text = format!("{}\n\n{}\n", post.title, post.hashtags.join(" "));
    write(&paths.done("txt"), &text)?;
    let (bytes, lufs) = level_and_place(show, job, options, &paths)?;
    let row = ClipRow {
        clip: job.name.clone(),
        product: job.product.clone(),
        language: job.language.clone(),
        seconds: length,
        bytes,
        lufs,
        title: post.title,
        cut,
        skipped: false,
    };
    let summary = serde_json::to_string_pretty(&row).expect("plain data");
    write(&paths.done("json"), &summary)?;
    Ok(row)
}

/// The clip's show, played once into `.partial/`: its length in seconds.
fn render_clip(
    show: &ShowConfig,
    job: &Job,
    options: &ClipOptions,
    cameras: &[String],
    paths: &Paths,
    stop: &StopSignal,
    bars: &Bars,
) -> Result<f64, ClipError> {
    let mut clip = script::clip_show(show, job, cameras, &paths.partial("said.jsonl"))
        .map_err(ClipError::Plan)?;
    clip.audio.loudness_lufs = options.loudness_lufs;
    clip.audio.normalize = true;
    let template = script::template_for(show, &job.product, &job.language);
    let cover_at = template.cover_seconds.unwrap_or(COVER_SECONDS);
    let run = RunOptions {
        show: clip,
        outputs: vec![paths.partial("mp4").to_string_lossy().into_owned()],
        seconds: Some(options.max_seconds),
        pacing: Pacing::AsFastAsPossible,
        status_every: Duration::from_secs(3600),
        telemetry: None,
        monitor: false,
        vmc: None,
        api: None,
        day: None,
        media_start: 0.0,
        once: Some(PlayOnce {
            min_seconds: options.min_seconds,
            tail_seconds: TAIL_SECONDS,
        }),
        stills: vec![(
            cover_at.min(options.max_seconds - 0.1),
            paths.partial("jpg"),
        )],
        programs: Vec::new(),
    };
    let report = render(run, stop, bars).map_err(|source| ClipError::Run {
        clip: job.name.clone(),
        source,
    })?;
    if report.stopped_by_signal {
        return Err(ClipError::Stopped);
    }
    Ok(report.media_seconds)
}

/// The SubRip and WebVTT captions of the lines as said, cut at the clip's end; whether
/// the script ran past it.
fn write_captions(paths: &Paths, job: &Job, length: f64) -> Result<bool, ClipError> {
    let said = paths.partial("said.jsonl");
    let said_lines = captions::read_said(&said).map_err(io(&said))?;
    let said_until = (said_lines.iter()).fold(0.0f64, |end, s| end.max(s.media + s.seconds));
    let cut = said_until > length + 0.05;
    if cut {
        warn!(
            "clip {}: its script takes {said_until:.1} s, so its last words are cut at {length:.1} s (raise the longest length, or shorten the lines)",
            job.name
        );
    }
    let cues: Vec<_> = captions::cues(&said_lines, captions::max_chars(&job.language))
        .into_iter()
        .filter(|c| c.start < length)
        .map(|c| captions::Cue {
            end: c.end.min(length),
            ..c
        })
        .collect();
    write(&paths.done("srt"), &captions::srt(&cues))?;
    write(&paths.done("vtt"), &captions::vtt(&cues))?;
    let _ = std::fs::remove_file(&said);
    Ok(cut)
}

/// The clip at its loudness target, its cover and video moved into place: its size and
/// loudness as measured on the file.
fn level_and_place(
    show: &ShowConfig,
    job: &Job,
    options: &ClipOptions,
    paths: &Paths,
) -> Result<(u64, Option<f32>), ClipError> {
    let (video, levelled, cover) = (
        paths.partial("mp4"),
        paths.partial("level.mp4"),
        paths.partial("jpg"),
    );
    let audio = &show.audio;
    let (measured, rewritten) = level::to_target(
        &video,
        &levelled,
        options.loudness_lufs,
        audio.true_peak_dbtp,
        audio.bitrate_kbps,
    )
    .map_err(|reason| {
        ClipError::Plan(format!("clip {}: levelling its sound: {reason}", job.name))
    })?;
    // A rewritten clip is measured again as encoded; one left as it was, already was.
    let lufs = if rewritten {
        std::fs::rename(&levelled, &video).map_err(io(&levelled))?;
        MusicLoop::loudness(&video, options.max_seconds + 5.0).unwrap_or(None)
    } else {
        measured
    };
    let bytes = std::fs::metadata(&video).map_err(io(&video))?.len();
    std::fs::rename(&cover, paths.done("jpg")).map_err(io(&cover))?;
    std::fs::rename(&video, paths.done("mp4")).map_err(io(&video))?;
    Ok((bytes, lufs))
}

/// Runs one clip to its end, moving the clip's bar with the media clock.
fn render(
    options: RunOptions,
    stop: &StopSignal,
    bars: &Bars,
) -> Result<crate::runtime::RunReport, RunError> {
    let mut run = ShowRun::start(options)?;
    while run.step(stop) {
        bars.clip.set_position((run.position() * 10.0) as u64);
    }
    run.shutdown(stop)
}

fn write(path: &Path, text: &str) -> Result<(), ClipError> {
    std::fs::write(path, text).map_err(io(path))
}

/// The batch's bar and the current clip's (in tenths of media seconds); hidden when
/// stderr is not a terminal, where a log line per clip says the same.
struct Bars {
    _multi: MultiProgress,
    batch: ProgressBar,
    clip: ProgressBar,
    started: Instant,
}

impl Bars {
    fn new(clips: usize) -> Self {
        let multi = MultiProgress::new();
        let batch = multi.add(ProgressBar::new(clips as u64));
        batch.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} clips, ETA {eta}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        let clip = multi.add(ProgressBar::new(1));
        clip.set_style(
            ProgressStyle::with_template("  {msg:24} [{bar:30}] {percent:>3}% of the longest clip")
                .expect("static template")
                .progress_chars("=> "),
        );
        Self {
            _multi: multi,
            batch,
            clip,
            started: Instant::now(),
        }
    }

    fn start(&self, name: &str, max_seconds: f64) {
        self.clip.set_length((max_seconds * 10.0) as u64);
        self.clip.set_position(0);
        self.clip.set_message(name.to_string());
    }

    fn finish_clip(&self, row: &ClipRow) {
        self.batch.inc(1);
        info!(
            "clip {} {}: {:.1} s, {:.2} MB ({:.0} s into the batch)",
            row.clip,
            if row.skipped {
                "kept from before"
            } else {
                "made"
            },
            row.seconds,
            row.bytes as f64 / 1e6,
            self.started.elapsed().as_secs_f64()
        );
    }

    fn done(&self) {
        self.clip.finish_and_clear();
        self.batch.finish_and_clear();
    }
}

/// The batch's summary: clip, length, size, loudness, title.
pub fn table(rows: &[ClipRow]) -> String {
    let mut out = format!(
        "{:<24} {:>8} {:>9} {:>9}  {}\n",
        "clip", "length", "size", "loudness", "title"
    );
    for row in rows {
        let lufs = row.lufs.map_or("silent".into(), |l| format!("{l:.1} LUFS"));
        out.push_str(&format!(
            "{:<24} {:>6.1} s {:>6.2} MB {:>9}  {}{}{}\n",
            row.clip,
            row.seconds,
            row.bytes as f64 / 1e6,
            lufs,
            row.title,
            if row.skipped { "  (kept)" } else { "" },
            if row.cut {
                "  (words cut at the longest length)"
            } else {
                ""
            },
        ));
    }
    out
}
