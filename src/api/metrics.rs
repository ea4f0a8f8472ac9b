//! `/metrics`: the status in the OpenMetrics text format, written by `prometheus-client`
//! from a snapshot of [`ShowStatus`]. Metric names are `twincast_*`; counters end in
//! `_total`, per-output families carry an `output` label with the redacted URL.

use super::{OutputStatus, ShowStatus};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type FloatGauge = Gauge<f64, AtomicU64>;
type Labels = Vec<(&'static str, String)>;

/// The exposition of one status snapshot.
pub fn exposition(s: &ShowStatus, resident_bytes: Option<u64>) -> String {
    let mut registry = Registry::with_prefix("twincast");
    if let Some(bytes) = resident_bytes {
        gauge(
            &mut registry,
            "resident_memory_bytes",
            "Memory the process holds (RSS).",
            bytes as f64,
        );
    }
    gauge(
        &mut registry,
        "uptime_seconds",
        "Seconds since the show started.",
        s.uptime_seconds,
    );
    gauge(
        &mut registry,
        "media_seconds",
        "Position on the media clock.",
        s.media_seconds,
    );
    counter(
        &mut registry,
        "frames",
        "Frames put on the media clock.",
        s.frames,
    );
    counter(
        &mut registry,
        "rendered_frames",
        "Frames actually drawn.",
        s.rendered_frames,
    );
    counter(
        &mut registry,
        "repeated_frames",
        "Frames repeated because rendering fell behind.",
        s.repeated_frames,
    );
    gauge(
        &mut registry,
        "render_fps",
        "Frames drawn per second, recently.",
        s.render_fps,
    );
    gauge(
        &mut registry,
        "bitrate_kbps",
        "Encoded bitrate, recently.",
        s.bitrate_kbps,
    );
    per_output(&mut registry, &s.outputs);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &registry);
    out
}

/// The process's resident memory, from `/proc/self/statm` (Linux; `None` elsewhere).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(1) as u64)
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let gauge = FloatGauge::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let counter: Counter = Counter::default();
    counter.inc_by(value);
    registry.register(name, help, counter);
}

fn per_output(registry: &mut Registry, outputs: &[OutputStatus]) {
    let up = Family::<Labels, Gauge>::default();
    let dropped = Family::<Labels, Counter>::default();
    let reconnects = Family::<Labels, Counter>::default();
    for o in outputs {
        let labels = vec![("output", o.url.clone())];
        up.get_or_create(&labels).set((o.state == "Live") as i64);
        dropped.get_or_create(&labels).inc_by(o.dropped_packets);
        reconnects.get_or_create(&labels).inc_by(o.reconnects);
    }
    registry.register("output_up", "1 while the output is live.", up);
    registry.register(
        "output_dropped_packets",
        "Packets an output dropped (queue full or reconnecting).",
        dropped,
    );
    registry.register(
        "output_reconnects",
        "Times an output reconnected.",
        reconnects,
    );
}
