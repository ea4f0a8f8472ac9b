//! `--telemetry FILE`: one JSON line per rendered frame with what the host's face and body
//! did (mouth openness, shapes, eyes, gesture, pose, live capture), for checking lip sync
//! and motion against the encoded program, and what each frame cost the loop in wall time
//! (with `drawn`, how a run's frames were drawn: `scripts/frame-costs.py` sums them up).

use super::RunError;
use crate::presenter::{Eyes, Gaze, LiveStatus, Mood, Mouth, Performance};
use bevy::prelude::*;
use serde_json::{Map, Value, json};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

pub struct Telemetry {
    out: BufWriter<std::fs::File>,
    /// Whether live capture runs (its weight and packet counts are recorded too).
    live: bool,
    /// When the last record was written: a frame's cost is the time between two.
    last: Option<Instant>,
}

impl Telemetry {
    pub fn create(path: &Path, live: bool) -> Result<Self, RunError> {
        let file = std::fs::File::create(path).map_err(|source| RunError::Telemetry {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            out: BufWriter::new(file),
            live,
            last: None,
        })
    }

    /// Records the frame just rendered.
    pub fn record(&mut self, world: &World, frame: u64, fps: u32) {
        let mouth = world.resource::<Mouth>();
        let performance = world.resource::<Performance>();
        let now = Instant::now();
        // Wall time since the last record: rendering, readback and what goes between
        // frames. The first has none; in `stream`, which waits for the wall clock when
        // ahead of it, the wait is included.
        let frame_ms = self
            .last
            .replace(now)
            .map(|last| (now - last).as_secs_f64() * 1000.0);
        let mut record = json!({
            "frame": frame,
            "frame_ms": frame_ms.map(|ms| (ms * 10.0).round() / 10.0),
            "time": frame as f64 / fps as f64,
            "mouth": mouth.open,
            "shapes": mouth.shapes,
            "eyes_closed": world.resource::<Eyes>().closed,
            "emotion": world.resource::<Mood>().emotion.map(|e| e.name()),
            "expression": world.resource::<Mood>().shown,
            "gesture": performance.gesture,
            "pose": pose(performance),
            "gaze": gaze(world.resource::<Gaze>()),
            "springs": performance.springs.iter().map(|p| [r3(p.x), r3(p.y), r3(p.z)]).collect::<Vec<_>>(),
        });
        if let Some(count) = world.get_resource::<crate::camera::held::HeldShotCount>() {
            // Frames drawn in full, held and gliding so far (`camera::held`), and of the
            // held ones those with the host drawn smaller (`render.host_pixels`), those
            // starting a shot on a kept backdrop and those drawing twin screens again.
            record["drawn"] = json!({
                "full": count.full,
                "held": count.held,
                "glide": count.glide,
                "host_smaller": count.smaller,
                "reused": count.reused,
                "patched": count.patched,
            });
        }
        if let Some(cost) = world.get_resource::<crate::stage::FrameCost>() {
            // In `stream`: the frame's own cost (`frame_ms` less any wait for the clock),
            // how long before its time it began (negative: late) and how long before it was
            // allowed to (`runtime::lead`).
            let tenths = |ms: f32| (f64::from(ms) * 10.0).round() / 10.0;
            record["cost_ms"] = json!(tenths(cost.ms));
            record["early_ms"] = json!(tenths(cost.early_ms));
            record["lead_ms"] = json!(tenths(cost.lead_ms));
        }
        if world.contains_resource::<crate::camera::held::Pace>() {
            // The sides held frames and glides are drawn at to keep pace (`stream`).
            record["pace"] = json!(super::meter::pace(world));
        }
        if self.live {
            let live = world.resource::<LiveStatus>();
            record["live"] = json!({
                "weight": live.weight,
                "packets": live.packets,
                "malformed": live.malformed,
            });
        }
        let _ = writeln!(self.out, "{record}");
    }
}

/// Rounded to a thousandth (millimetres, for positions in metres).
fn r3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

/// What she looks at, how far her eyes point from the camera (degrees) and her head's
/// turn after her gaze (yaw, pitch).
fn gaze(gaze: &Gaze) -> Value {
    json!({
        "at": gaze.at.name(),
        "off_camera": r3(gaze.off_camera),
        "head": [r3(gaze.head.x), r3(gaze.head.y)],
        "fixations": gaze.fixations,
    })
}

/// Each posed bone's direction, rounded to a thousandth, by its VRM name.
fn pose(performance: &Performance) -> Map<String, Value> {
    let r = r3;
    performance
        .pose
        .iter()
        .map(|(bone, p)| (bone.vrm_name().to_string(), json!([r(p.x), r(p.y), r(p.z)])))
        .collect()
}
