//! What the console's feed shows: the lines that went on air (as the audit log has them),
//! alerts as they are raised, the live room's comments and the operator's actions, each
//! numbered so a page that reconnects asks only for what it has not seen.
//!
//! Bounded like everything a running show keeps: the last [`FEED_LENGTH`] items and the
//! last [`OPEN_ALERTS`] unacknowledged alerts; older ones live in the audit log, the
//! webhook's receiver and the process log.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Items kept for pages that connect late or reconnect.
pub const FEED_LENGTH: usize = 200;
/// Alerts kept until someone acknowledges them.
pub const OPEN_ALERTS: usize = 50;
/// The longest text an item carries (a viewer's comment is capped earlier, at 500).
const MAX_TEXT: usize = 600;

/// What an item is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    /// A line went on air (also written to the audit log).
    Said,
    /// An alert (also sent to the webhook).
    Alert,
    /// A viewer's comment arrived.
    Comment,
    /// Someone steered the show through the API.
    Action,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedItem {
    pub id: u64,
    /// Wall clock, seconds since the Unix epoch.
    pub at: f64,
    pub kind: FeedKind,
    /// For alerts: the event's name (`output_down`, `stream_stalled`…); for lines: their
    /// origin (`script`, `say`, `comment`…); for comments: the user.
    pub label: String,
    pub text: String,
}

/// An alert waiting for someone to see it. One per event and output: an alert raised
/// again (an output still failing) replaces the last one and counts.
#[derive(Debug, Clone, Serialize)]
pub struct OpenAlert {
    pub id: u64,
    pub at: f64,
    pub event: String,
    pub output: Option<String>,
    pub detail: String,
    /// Times raised since last acknowledged.
    pub count: u32,
}

/// The feed, shared by the render loop, the alert watcher and the API thread.
#[derive(Clone, Default)]
pub struct Feed(Arc<Mutex<FeedState>>);

#[derive(Default)]
struct FeedState {
    next_id: u64,
    items: VecDeque<FeedItem>,
    open: VecDeque<OpenAlert>,
    /// Arrival times of viewer events (comments), for the events-per-minute figure.
    events: VecDeque<f64>,
}

impl Feed {
    fn state(&self) -> std::sync::MutexGuard<'_, FeedState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Raises an alert: in the feed, and open until acknowledged. Its open alert's id.
    pub fn alert(&self, event: &str, output: Option<&str>, detail: &str) -> u64 {
        let text = match output {
            Some(o) => format!("{o}: {detail}"),
            None => detail.to_string(),
        };
        let id = self.push(FeedKind::Alert, event, &text);
        let mut s = self.state();
        let (event, output) = (clip(event, 64), output.map(|o| clip(o, MAX_TEXT)));
        // Raised again, it keeps its id: an operator acknowledging what the page showed a
        // moment ago acknowledges it, however often it was raised meanwhile.
        let (mut count, mut open_id) = (1, id);
        s.open.retain(|a| {
            let same = a.event == event && a.output == output;
            if same {
                (count, open_id) = (a.count + 1, a.id);
            }
            !same
        });
        s.open.push_back(OpenAlert {
            id: open_id,
            at: unix_now(),
            event,
            output,
            detail: clip(detail, MAX_TEXT),
            count,
        });
        if s.open.len() > OPEN_ALERTS {
            s.open.pop_front();
        }
        open_id
    }

    /// Adds an item (alerts go through [`Feed::alert`], which also keeps them open).
    pub fn push(&self, kind: FeedKind, label: &str, text: &str) -> u64 {
        let at = unix_now();
        let mut s = self.state();
        s.next_id += 1;
        let id = s.next_id;
        let text = clip(text, MAX_TEXT);
        if kind == FeedKind::Comment {
            s.events.push_back(at);
            while s.events.front().is_some_and(|t| *t < at - 60.0) {
                s.events.pop_front();
            }
        }
        s.items.push_back(FeedItem {
            id,
            at,
            kind,
            label: clip(label, 64),
            text,
        });
        if s.items.len() > FEED_LENGTH {
            s.items.pop_front();
        }
        id
    }

    /// Items after `since` (oldest first); all that are kept when `since` is 0.
    pub fn since(&self, since: u64) -> Vec<FeedItem> {
        let s = self.state();
        s.items.iter().filter(|i| i.id > since).cloned().collect()
    }

    /// Alerts nobody has acknowledged yet, oldest first.
    pub fn open_alerts(&self) -> Vec<OpenAlert> {
        self.state().open.iter().cloned().collect()
    }

    /// Marks an alert seen; false when there is no such open alert.
    pub fn acknowledge(&self, id: u64) -> bool {
        let mut s = self.state();
        let before = s.open.len();
        s.open.retain(|a| a.id != id);
        s.open.len() != before
    }

    /// Viewer events in the last minute.
    pub fn events_per_minute(&self) -> usize {
        let now = unix_now();
        self.state()
            .events
            .iter()
            .filter(|t| **t >= now - 60.0)
            .count()
    }
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// At most `max` characters, whole characters, control characters as spaces.
fn clip(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_keeps_the_newest_items_and_numbers_them() {
        let feed = Feed::default();
        for n in 0..FEED_LENGTH + 10 {
            feed.push(FeedKind::Said, "script", &format!("line {n}"));
        }
        let all = feed.since(0);
        assert_eq!(all.len(), FEED_LENGTH);
        assert_eq!(all[0].text, "line 10");
        let last = all.last().unwrap().id;
        assert!(feed.since(last).is_empty());
        assert_eq!(feed.since(last - 2).len(), 2);
    }

    #[test]
    fn alerts_stay_open_until_acknowledged() {
        let feed = Feed::default();
        feed.push(FeedKind::Said, "script", "hello");
        let id = feed.alert("output_failing", Some("rtmp://x/…"), "down for 2 s");
        feed.alert("output_failing", Some("rtmp://y/…"), "down for 2 s");
        let again = feed.alert("output_failing", Some("rtmp://x/…"), "down for 4 s");
        // The same alert again replaces the last one, keeps its id and counts; another
        // output's stays.
        assert_eq!(again, id);
        let open = feed.open_alerts();
        assert_eq!(open.len(), 2);
        assert_eq!((open[1].id, open[1].count), (id, 2));
        assert_eq!(open[1].detail, "down for 4 s");
        assert_eq!(feed.since(0).len(), 4, "each raise is in the feed");
        assert!(feed.acknowledge(open[0].id));
        assert!(!feed.acknowledge(id + 10));
        assert!(feed.acknowledge(id));
        assert!(feed.open_alerts().is_empty());
        assert!(!feed.acknowledge(id));
        // Raised once more after that, it is a new alert.
        let new = feed.alert("output_failing", Some("rtmp://x/…"), "down for 6 s");
        assert_ne!(new, id);
        assert_eq!(feed.open_alerts()[0].count, 1);
    }

    #[test]
    fn text_is_clipped_and_control_characters_blanked() {
        let feed = Feed::default();
        feed.push(FeedKind::Comment, "bob\n", &"好".repeat(1000));
        let item = &feed.since(0)[0];
        assert_eq!(item.label, "bob ");
        assert_eq!(item.text.chars().count(), MAX_TEXT);
        assert_eq!(feed.events_per_minute(), 1);
    }
}
