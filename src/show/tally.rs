//! The room's activity per product per minute, for the factory's planning: live order
//! volume by time slot is what drives its production schedule. Totals feed `/metrics`;
//! each finished minute becomes JSON lines in one file per hour (`2026-11-30T21.jsonl`,
//! the show's local time), which a planning sheet or script reads as it is.

use super::events::RoomEvent;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use tracing::warn;

/// One product's activity in one minute.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub orders: u64,
    pub units: u64,
    pub gifts: u64,
    pub gift_value: f64,
    pub likes: u64,
    pub comments: u64,
    pub follows: u64,
    pub shares: u64,
    pub enters: u64,
}

impl Counts {
    /// All products' counts added up.
    pub fn sum_of(by_product: &BTreeMap<String, Counts>) -> Counts {
        by_product.values().fold(Counts::default(), |mut all, c| {
            all.orders += c.orders;
            all.units += c.units;
            all.gifts += c.gifts;
            all.gift_value += c.gift_value;
            all.likes += c.likes;
            all.comments += c.comments;
            all.follows += c.follows;
            all.shares += c.shares;
            all.enters += c.enters;
            all
        })
    }

    fn add(&mut self, event: &RoomEvent) {
        match event {
            RoomEvent::Order { quantity, .. } => {
                self.orders += 1;
                self.units += *quantity as u64;
            }
            RoomEvent::Gift { count, value, .. } => {
                self.gifts += *count as u64;
                self.gift_value += value;
            }
            RoomEvent::Like { count, .. } => self.likes += *count as u64,
            RoomEvent::Comment { .. } => self.comments += 1,
            RoomEvent::Follow { .. } => self.follows += 1,
            RoomEvent::Share { .. } => self.shares += 1,
            RoomEvent::Enter { .. } => self.enters += 1,
        }
    }
}

/// A row of the hourly file.
#[derive(Serialize)]
struct Row<'a> {
    /// The minute, local time (`2026-11-30T21:05+08:00`).
    minute: &'a str,
    /// The product ordered, or on air when it happened; empty when none was.
    product: &'a str,
    #[serde(flatten)]
    counts: &'a Counts,
}

/// Products tracked at most (further ids count under "other"): orders name products, and
/// a hostile source must not grow the table without bound.
const MAX_PRODUCTS: usize = 256;

pub struct Tally {
    dir: Option<PathBuf>,
    /// The minute being counted (`2026-11-30T21:05+08:00`) and its counts by product.
    minute: String,
    current: BTreeMap<String, Counts>,
    /// Since the show started, by product: what `/metrics` exports.
    pub totals: BTreeMap<String, Counts>,
}

impl Tally {
    /// Writes hourly files into `dir` (none when `None`).
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            minute: String::new(),
            current: BTreeMap::new(),
            totals: BTreeMap::new(),
        }
    }

    /// Counts `event` for `product` in the minute `local` (RFC 3339 local time); a new
    /// minute writes the last one out first.
    pub fn record(&mut self, event: &RoomEvent, product: Option<&str>, local: &str) {
        self.roll(local);
        let mut product = product.unwrap_or("").to_string();
        if !self.totals.contains_key(&product) && self.totals.len() >= MAX_PRODUCTS {
            product = "other".into();
        }
        self.current.entry(product.clone()).or_default().add(event);
        self.totals.entry(product).or_default().add(event);
    }

    /// The minute being counted, by product.
    pub fn this_minute(&self) -> &BTreeMap<String, Counts> {
        &self.current
    }

    /// Writes the finished minute out once `local` is in a later one.
    pub fn roll(&mut self, local: &str) {
        let minute = local.get(..16).unwrap_or(local);
        if minute == self.minute.get(..16).unwrap_or(&self.minute) {
            return;
        }
        self.flush();
        // Keep the offset: `2026-11-30T21:05` + `+08:00`.
        let offset = local.get(19..).unwrap_or("");
        self.minute = format!("{minute}{offset}");
    }

    /// Writes the minute being counted (at a roll, and when the show stops).
    pub fn flush(&mut self) {
        let current = std::mem::take(&mut self.current);
        let Some(dir) = &self.dir else {
            return;
        };
        if current.is_empty() {
            return;
        }
        let hour = self.minute.get(..13).unwrap_or("unknown").replace(':', "-");
        let path = dir.join(format!("{hour}.jsonl"));
        let mut text = String::new();
        for (product, counts) in &current {
            let row = Row {
                minute: &self.minute,
                product,
                counts,
            };
            if let Ok(json) = serde_json::to_string(&row) {
                text.push_str(&json);
                text.push('\n');
            }
        }
        let written = std::fs::create_dir_all(dir).and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?
                .write_all(text.as_bytes())
        });
        if let Err(e) = written {
            warn!("room tally {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_written_per_product_into_hourly_files() {
        let dir = std::env::temp_dir().join(format!("twincast-tally-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut t = Tally::new(Some(dir.clone()));
        let order = RoomEvent::Order {
            user: "a".into(),
            product: "kettle".into(),
            quantity: 2,
        };
        let like = RoomEvent::Like {
            user: "b".into(),
            count: 5,
        };
        t.record(&order, Some("kettle"), "2026-11-30T21:05:10+08:00");
        t.record(&like, Some("teacup"), "2026-11-30T21:05:50+08:00");
        t.record(&order, Some("kettle"), "2026-11-30T21:06:01+08:00");
        t.flush();
        let text = std::fs::read_to_string(dir.join("2026-11-30T21.jsonl")).unwrap();
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert_eq!(rows[0]["minute"], "2026-11-30T21:05+08:00");
        assert_eq!(rows[0]["product"], "kettle");
        assert_eq!(rows[0]["units"], 2);
        assert_eq!(rows[1]["likes"], 5);
        assert_eq!(rows[2]["minute"], "2026-11-30T21:06+08:00");
        assert_eq!(t.totals["kettle"].units, 4);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
