//! Keeps the control API's view of the show (`/status`, `/metrics`) current, with rates
//! over the last second.

use super::pacer::FramePacer;
use super::rundown::Rundown;
use crate::api::{OutputStatus, ShowStatus};
use crate::encode::EncodeStats;
use crate::output::{ProgramOutputs, every_output, redact};
use crate::presenter::{LiveStatus, Performance};
use crate::stage::{MediaTime, SpeechTimeline};
use bevy::prelude::*;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// Rendered frames and bytes per second, measured over windows of a second.
pub struct StatusMeter {
    started: Instant,
    window_start: Instant,
    window_rendered: u64,
    window_bytes: u64,
    fps: f64,
    kbps: f64,
    /// Per output, every program's in turn: bytes at the window's start, and the rate over
    /// the last window.
    output_bytes: Vec<u64>,
    output_kbps: Vec<f64>,
}

/// What one status update reads.
pub struct RunView<'a> {
    pub world: &'a World,
    pub pacer: &'a FramePacer,
    pub stats: &'a EncodeStats,
    /// Every program's outputs: this run's own first (no name), then those beside it.
    pub outputs: &'a [ProgramOutputs<'a>],
    pub rundown: Option<&'a Rundown>,
    /// Whether live capture runs.
    pub live: bool,
}

impl StatusMeter {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            window_start: Instant::now(),
            window_rendered: 0,
            window_bytes: 0,
            fps: 0.0,
            kbps: 0.0,
            output_bytes: Vec::new(),
            output_kbps: Vec::new(),
        }
    }

    pub fn update(&mut self, status: &std::sync::Mutex<ShowStatus>, run: &RunView) {
        self.measure(run.pacer.rendered, run.stats, run.outputs);
        let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
        s.uptime_seconds = self.started.elapsed().as_secs_f64();
        s.render_fps = self.fps;
        s.bitrate_kbps = self.kbps;
        s.media_seconds = run.pacer.now();
        s.frames = run.pacer.next;
        s.rendered_frames = run.pacer.rendered;
        s.repeated_frames = run.stats.repeated.load(Relaxed);
        let bank = bank(run.world);
        (s.ahead_seconds, s.lead_seconds) = (bank.ahead, bank.lead);
        read_world(&mut s, run.world, run.live);
        if let Some(rundown) = run.rundown {
            read_rundown(&mut s, rundown, run.world.resource::<MediaTime>().0);
        }
        read_outputs(&mut s, run.outputs, &self.output_kbps);
    }

    fn measure(&mut self, rendered: u64, stats: &EncodeStats, outputs: &[ProgramOutputs]) {
        let bytes = stats.video_bytes.load(Relaxed) + stats.audio_bytes.load(Relaxed);
        let window = self.window_start.elapsed().as_secs_f64();
        if window >= 1.0 {
            self.fps = (rendered - self.window_rendered) as f64 / window;
            self.kbps = (bytes - self.window_bytes) as f64 * 8.0 / 1000.0 / window;
            let sent: Vec<u64> = every_output(outputs)
                .map(|(_, o)| o.stats.bytes.load(Relaxed))
                .collect();
            self.output_kbps = sent
                .iter()
                .enumerate()
                .map(|(i, now)| {
                    let then = self.output_bytes.get(i).copied().unwrap_or(0);
                    now.saturating_sub(then) as f64 * 8.0 / 1000.0 / window
                })
                .collect();
            self.output_bytes = sent;
            self.window_start = Instant::now();
            self.window_rendered = rendered;
            self.window_bytes = bytes;
        }
    }
}

/// The line being said, the gesture, and the live-capture weight.
fn read_world(s: &mut ShowStatus, world: &World, live: bool) {
    let now = world.resource::<MediaTime>().0;
    s.speaking = world
        .resource::<SpeechTimeline>()
        .0
        .iter()
        .find(|l| l.offset_at(now).is_some())
        .map(|l| l.line.text.clone());
    s.gesture = world.resource::<Performance>().gesture.clone();
    s.live_capture_weight = live.then(|| world.resource::<LiveStatus>().weight);
    s.pace = pace(world);
}

/// The levels held frames and glides keep pace at, to the hundredth (they move by
/// twentieths; 1 without held shots).
pub(super) fn pace(world: &World) -> crate::api::PaceStatus {
    let hundredths = |scale: f32| (scale as f64 * 100.0).round() / 100.0;
    world
        .get_resource::<crate::camera::held::Pace>()
        .map_or_else(Default::default, |p| crate::api::PaceStatus {
            held: hundredths(p.held.scale),
            glide: hundredths(p.glide.scale),
        })
}

/// What frames drawn early have banked against slow ones, in seconds to the millisecond
/// (`stream`; 0 where the loop keeps no pace).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Bank {
    /// How long before its time the last frame began (negative: late).
    pub ahead: f64,
    /// How long before its time it was allowed to begin ([`super::lead`], up to
    /// `video.render_ahead_ms`; 0 while drawn in step).
    pub lead: f64,
}

pub(super) fn bank(world: &World) -> Bank {
    let seconds = |ms: f32| f64::from(ms).round() / 1000.0;
    world
        .get_resource::<crate::stage::FrameCost>()
        .map_or_else(Bank::default, |c| Bank {
            ahead: seconds(c.early_ms),
            lead: seconds(c.lead_ms),
        })
}

/// Where the rundown is: segment, product, flash sale, takeover.
fn read_rundown(s: &mut ShowStatus, rundown: &Rundown, now: f64) {
    let on_air = rundown.on_air();
    s.segment = on_air.kind.map(|k| k.label().to_string());
    s.segment_title = on_air.title.clone();
    s.product = on_air.product.as_ref().map(|p| p.id.clone());
    s.flash_sale_left = on_air.flash_ends.map(|e| (e - now).max(0.0));
    let overlay = &rundown.director.plan().overlay;
    let product = on_air.product.as_ref();
    s.product_name = product.map(|p| p.name.get(&on_air.language).to_string());
    s.price = product.map(|p| {
        let flash = s.flash_sale_left.is_some();
        overlay.price(p.flash_price.filter(|_| flash).unwrap_or(p.price))
    });
    s.stock = product.and_then(|p| p.stock);
    s.takeover = rundown.paused;
    s.comments = rundown.comment_counts();
    s.room = rundown.room_counts();
    let (local, zone) = rundown.local_time(now);
    s.local_time = Some(local);
    s.timezone = Some(zone);
}

fn read_outputs(s: &mut ShowStatus, outputs: &[ProgramOutputs], kbps: &[f64]) {
    s.outputs = every_output(outputs)
        .enumerate()
        .map(|(i, (program, o))| OutputStatus {
            program: program.map(str::to_owned),
            kbps: kbps.get(i).copied().unwrap_or(0.0),
            url: redact(&o.target.url),
            state: format!("{:?}", o.stats.state()),
            dropped_packets: o.stats.dropped.load(Relaxed),
            reconnects: o.stats.reconnects.load(Relaxed),
        })
        .collect();
    s.dropped_packets = s.outputs.iter().map(|o| o.dropped_packets).sum();
    s.reconnects = s.outputs.iter().map(|o| o.reconnects).sum();
}
