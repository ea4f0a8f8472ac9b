//! The rundown in the render loop: the director writes lines, the speaker voices them, the
//! scheduler puts them on the media clock, the audit log records them, and what is on air
//! is handed to the graphics and the camera. Also watches the show file for edits.

use crate::config::CommentsConfig;
use crate::config::ShowConfig;
use crate::media::{MediaClock, SAMPLE_RATE};
use crate::show::audit::{AuditLog, Said};
use crate::show::room::{CommentCounts, CommentGate, clean};
use crate::show::{Director, Jump, OnAir};
use crate::speech::{Origin, Request, ScheduledLine, Scheduler, ScriptLine, Speaker, SpeakerIo};
use crate::watch::FileWatch;
use crossbeam_channel::Sender;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tracing::{debug, info, warn};

/// Drives the show's rundown: one per show, stepped once per rendered frame.
pub struct Rundown {
    pub director: Director,
    scheduler: Scheduler,
    script: Sender<ScriptLine>,
    requests: Sender<Request>,
    _speaker: Speaker,
    audit: Option<AuditLog>,
    reload: Option<Reloader>,
    clock: MediaClock,
    day: DayClock,
    /// The operator has taken over: the script pauses; requests still play.
    pub paused: bool,
    /// Offline (`render`): wait for speech rather than let the picture run ahead of it.
    pub offline: bool,
    /// Which comments get answers.
    comments: CommentGate,
    limits: CommentsConfig,
}

impl Rundown {
    pub fn new(
        show: &ShowConfig,
        clock: MediaClock,
        speaker: Speaker,
        io: SpeakerIo,
        to_mixer: Sender<ScheduledLine>,
        day: DayClock,
    ) -> Self {
        // Two frames of lead cover the hand-off: a line is sent before the frame at `now`
        // is rendered, and the encoder makes that frame's audio only after receiving it.
        let lead = (2.0 / clock.fps as f32).max(0.1);
        let scheduler = Scheduler::new(io.ready, to_mixer, show.voice.pause_seconds, lead)
            .with_requests(io.urgent);
        let c = &show.compliance;
        let audit = c.audit_log.as_ref().and_then(|path| {
            AuditLog::open(path, c.audit_max_mb as u64 * 1024 * 1024, c.audit_keep)
                .map_err(|e| {
                    warn!(
                        "audit log {}: {e}; what the host says is not recorded",
                        path.display()
                    )
                })
                .ok()
        });
        Self {
            director: Director::new(
                show.plan.clone(),
                &show.language,
                show.voice.pause_seconds as f64,
            ),
            scheduler,
            script: io.script,
            requests: io.requests,
            _speaker: speaker,
            audit,
            reload: Reloader::new(show.source.clone()),
            clock,
            day,
            paused: false,
            offline: false,
            comments: CommentGate::new(show.comments.clone()),
            limits: show.comments.clone(),
        }
    }

    /// One frame: write the next line if one is due, schedule what is ready. Returns the
    /// line that was put on the timeline, if any.
    pub fn tick(&mut self, frame: u64) -> Option<ScheduledLine> {
        let now = frame as f64 / self.clock.fps as f64;
        let minute = self.day.minute(now);
        if !self.paused
            && let Some(line) = self.director.next_line(now, minute)
        {
            let _ = self.script.send(line);
        }
        if let Some(reload) = self.reload.as_mut() {
            reload.poll(&mut self.director);
        }
        let samples = self.clock.samples_for_frames(frame);
        if self.offline
            && self.director.has_line_in_flight()
            && self.scheduler.is_free(samples)
            && !self.scheduler.wait_for_ready(Duration::from_secs(60))
        {
            warn!("the speech engine gave no line within 60 s; the render goes on without it");
        }
        let line = self.scheduler.tick(samples)?;
        let start = line.start as f64 / SAMPLE_RATE as f64;
        let end = line.end() as f64 / SAMPLE_RATE as f64;
        match line.line.origin {
            Origin::Script(serial) => {
                if line.line.samples.is_empty() {
                    self.director.skipped(serial);
                }
                self.director.started(serial, start, end, minute);
            }
            Origin::Comment => self.comments.aired(start, end - start),
            _ => {}
        }
        if let Some(audit) = self.audit.as_mut()
            && !line.line.samples.is_empty()
        {
            let on_air = self.director.on_air();
            let at = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
                + (start - now).max(0.0);
            audit.record(&Said {
                at,
                media: start,
                seconds: end - start,
                origin: line.line.origin.label(),
                text: &line.line.text,
                segment: on_air.kind.map(|k| k.label()),
                product: on_air.product.as_ref().map(|p| p.id.as_str()),
            });
        }
        Some(line)
    }

    pub fn on_air(&self) -> &OnAir {
        self.director.on_air()
    }

    pub fn say(&self, text: String, origin: Origin) {
        let _ = self.requests.send(Request {
            text,
            origin,
            voice: None,
        });
    }

    pub fn jump(&mut self, jump: Jump) {
        self.director.request(jump);
    }

    /// Answers a viewer's comment from the FAQ; false when nothing matched or the room's
    /// limits say not now (see [`CommentGate`]). The viewer's name and text are cleaned of
    /// cue and template syntax and cut to length before they go anywhere near a line.
    pub fn comment(&mut self, user: &str, text: &str, now: f64) -> bool {
        let user = match clean(user, self.limits.name_chars) {
            name if name.is_empty() => "friend".to_string(),
            name => name,
        };
        let text = clean(text, self.limits.text_chars);
        let Some(question) = self.director.question(&text) else {
            return false;
        };
        if let Err(why) = self.comments.admit(&user, question, now) {
            debug!("comment from {user:?} not answered now: {why:?}");
            return false;
        }
        let answer = self
            .director
            .answer_to(question, &user, &text, self.day.minute(now));
        info!("comment from {user:?}: {text:?} → {answer:?}");
        self.say(answer, Origin::Comment);
        true
    }

    /// What happened to the comments so far.
    pub fn comment_counts(&self) -> CommentCounts {
        self.comments.counts
    }
}

/// Local time of day for the schedule: minutes since midnight, following the media clock
/// from the wall-clock time the show started (or a time given for tests and rehearsals).
#[derive(Debug, Clone, Copy)]
pub struct DayClock {
    start_minute: f64,
}

impl DayClock {
    pub fn local_now() -> Self {
        Self {
            start_minute: local_minute_of_day(),
        }
    }

    /// Starts at `HH:MM`.
    pub fn starting_at(minute: u32) -> Self {
        Self {
            start_minute: minute as f64,
        }
    }

    pub fn minute(&self, media_seconds: f64) -> u32 {
        ((self.start_minute + media_seconds / 60.0) % (24.0 * 60.0)) as u32
    }
}

fn local_minute_of_day() -> f64 {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as libc::time_t;
    // SAFETY: localtime_r writes only into the tm we pass; both pointers are valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&now, &mut tm).is_null() };
    if ok {
        tm.tm_hour as f64 * 60.0 + tm.tm_min as f64 + tm.tm_sec as f64 / 60.0
    } else {
        ((now as u64 % 86_400) / 60) as f64
    }
}

/// Watches the show file and hands a valid edit to the director (which switches at the
/// next segment). An invalid edit is logged with its location; the show keeps going.
struct Reloader(FileWatch);

impl Reloader {
    /// `None` (with a warning) where the system cannot watch the file.
    fn new(path: PathBuf) -> Option<Self> {
        FileWatch::or_warn(path, "edits to the show file need a restart").map(Self)
    }

    fn poll(&mut self, director: &mut Director) {
        if !self.0.changed() {
            return;
        }
        match ShowConfig::load(&self.0.path) {
            Ok(show) if show.plan.segments.is_empty() && director.has_segments() => warn!(
                "{}: the edited rundown has no segments; the show goes on as it was",
                self.0.path.display()
            ),
            Ok(show) => {
                info!(
                    "{}: changed; the new rundown starts at the next segment (video, audio \
                     and output settings need a restart)",
                    self.0.path.display()
                );
                director.reload(show.plan);
            }
            Err(e) => warn!("{e}; the show goes on as it was"),
        }
    }
}
