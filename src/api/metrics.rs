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
        "pace_held_scale",
        "Fraction of their planned sides held frames are drawn at to keep real time.",
        s.pace.held,
    );
    gauge(
        &mut registry,
        "pace_glide_scale",
        "Fraction of their planned sides glides are drawn at to keep real time.",
        s.pace.glide,
    );
    gauge(
        &mut registry,
        "ahead_seconds",
        "Seconds before its time the last frame began (negative: late).",
        s.ahead_seconds,
    );
    gauge(
        &mut registry,
        "lead_seconds",
        "Seconds before its time the last frame was allowed to begin.",
        s.lead_seconds,
    );
    gauge(
        &mut registry,
        "bitrate_kbps",
        "Encoded bitrate, recently.",
        s.bitrate_kbps,
    );
    per_output(&mut registry, &s.outputs);
    room(&mut registry, &s.room);
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
        // An output of a program beside this run's own picture carries its name.
        let mut labels = vec![("output", o.url.clone())];
        labels.extend(o.program.clone().map(|p| ("program", p)));
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

/// The live room: events by kind, activity per product (what the factory plans by), the
/// model's requests by outcome, and the compliance filter's work.
fn room(registry: &mut Registry, room: &crate::show::room::RoomCounts) {
    let events = Family::<Labels, Counter>::default();
    for (kind, n) in &room.events {
        events
            .get_or_create(&vec![("kind", kind.clone())])
            .inc_by(*n);
    }
    registry.register("room_events", "Live-room events taken, by kind.", events);
    let per_product =
        |name: &str, help: &str, value: &dyn Fn(&crate::show::tally::Counts) -> u64| {
            let family = Family::<Labels, Counter>::default();
            for (product, counts) in &room.products {
                family
                    .get_or_create(&vec![("product", product.clone())])
                    .inc_by(value(counts));
            }
            (name.to_string(), help.to_string(), family)
        };
    for (name, help, family) in [
        per_product("product_orders", "Orders, by product.", &|c| c.orders),
        per_product("product_units", "Units ordered, by product.", &|c| c.units),
        per_product(
            "product_gifts",
            "Gifts while the product was on air.",
            &|c| c.gifts,
        ),
        per_product(
            "product_likes",
            "Likes while the product was on air.",
            &|c| c.likes,
        ),
        per_product(
            "product_comments",
            "Comments while the product was on air.",
            &|c| c.comments,
        ),
    ] {
        registry.register(name, help, family);
    }
    let stock = Family::<Labels, Gauge>::default();
    for (product, left) in &room.stock {
        (stock.get_or_create(&vec![("product", product.clone())])).set(*left as i64);
    }
    registry.register(
        "product_stock",
        "Stock left, by product that counts it.",
        stock,
    );
    let lines = Family::<Labels, Counter>::default();
    lines
        .get_or_create(&vec![("action", "rewritten".into())])
        .inc_by(room.rewritten);
    lines
        .get_or_create(&vec![("action", "skipped".into())])
        .inc_by(room.skipped);
    registry.register(
        "compliance_lines",
        "Lines the compliance filter changed.",
        lines,
    );
    if let Some(llm) = &room.llm {
        let requests = Family::<Labels, Counter>::default();
        for (result, n) in [
            ("answered", llm.answered),
            ("failed", llm.failed),
            ("busy", llm.busy),
            ("held", llm.held),
        ] {
            requests
                .get_or_create(&vec![("result", result.into())])
                .inc_by(n);
        }
        registry.register(
            "llm_requests",
            "Questions to the language model, by outcome.",
            requests,
        );
    }
}
