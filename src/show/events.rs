//! The live room's events in one schema, whatever platform they come from: comments,
//! gifts, likes, follows, entrances, shares and orders. Everything here arrives from the
//! network, so each event is checked and bounded before the show sees it; a bad one is
//! refused with its reason and the rest of its batch still counts.
//!
//! Platforms' own formats come in through adapters ([`from_tiktok`]) that map them onto
//! this schema.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event of the live room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RoomEvent {
    Comment {
        user: String,
        text: String,
    },
    Gift {
        user: String,
        gift: String,
        #[serde(default = "one")]
        count: u32,
        /// What the gifts are worth in all (the platform's unit, e.g. diamonds).
        #[serde(default)]
        value: f64,
    },
    Like {
        user: String,
        #[serde(default = "one")]
        count: u32,
    },
    Follow {
        user: String,
    },
    Enter {
        user: String,
    },
    Share {
        user: String,
    },
    Order {
        user: String,
        product: String,
        #[serde(default = "one")]
        quantity: u32,
    },
}

fn one() -> u32 {
    1
}

/// The longest name and comment kept; longer ones are refused, not cut, so a connector
/// that sends something odd hears about it.
pub const MAX_USER_CHARS: usize = 64;
pub const MAX_TEXT_CHARS: usize = 500;
/// Events taken in one request.
pub const MAX_BATCH: usize = 500;

impl RoomEvent {
    /// The event's kind, as `/metrics` and the tally name it.
    pub fn kind(&self) -> &'static str {
        match self {
            RoomEvent::Comment { .. } => "comment",
            RoomEvent::Gift { .. } => "gift",
            RoomEvent::Like { .. } => "like",
            RoomEvent::Follow { .. } => "follow",
            RoomEvent::Enter { .. } => "enter",
            RoomEvent::Share { .. } => "share",
            RoomEvent::Order { .. } => "order",
        }
    }

    pub fn user(&self) -> &str {
        match self {
            RoomEvent::Comment { user, .. }
            | RoomEvent::Gift { user, .. }
            | RoomEvent::Like { user, .. }
            | RoomEvent::Follow { user }
            | RoomEvent::Enter { user }
            | RoomEvent::Share { user }
            | RoomEvent::Order { user, .. } => user,
        }
    }

    /// One event from JSON, checked: known type, fields of the right kind and size.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let event: RoomEvent = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        event.check()?;
        Ok(event)
    }

    fn check(&self) -> Result<(), String> {
        let long = |what: &str, s: &str, max: usize| {
            if s.chars().count() > max {
                Err(format!("`{what}` is over {max} characters"))
            } else {
                Ok(())
            }
        };
        long("user", self.user(), MAX_USER_CHARS)?;
        match self {
            RoomEvent::Comment { text, .. } => {
                long("text", text, MAX_TEXT_CHARS)?;
                if text.trim().is_empty() {
                    return Err("`text` is empty".into());
                }
            }
            RoomEvent::Gift {
                gift, count, value, ..
            } => {
                long("gift", gift, MAX_USER_CHARS)?;
                if !(1..=1_000_000).contains(count) {
                    return Err(format!("`count` {count} is outside 1..=1000000"));
                }
                if !(value.is_finite() && *value >= 0.0 && *value < 1e12) {
                    return Err(format!("`value` {value} is not a sum of money"));
                }
            }
            RoomEvent::Like { count, .. } if !(1..=1_000_000).contains(count) => {
                return Err(format!("`count` {count} is outside 1..=1000000"));
            }
            RoomEvent::Order {
                product, quantity, ..
            } => {
                long("product", product, MAX_USER_CHARS)?;
                if !(1..=10_000).contains(quantity) {
                    return Err(format!("`quantity` {quantity} is outside 1..=10000"));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A batch's outcome: what was taken, and each refused event's index and reason.
#[derive(Debug, Default, Serialize)]
pub struct Parsed {
    #[serde(skip)]
    pub events: Vec<RoomEvent>,
    pub accepted: usize,
    pub ignored: usize,
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Serialize)]
pub struct Rejected {
    pub index: usize,
    pub error: String,
}

impl Parsed {
    /// Parses `items` with `parse`, which may also ignore an item (`Ok(None)`: a streak
    /// still running, a message kind the show has no use for).
    pub fn from_items(
        items: &[Value],
        parse: impl Fn(&Value) -> Result<Option<RoomEvent>, String>,
    ) -> Self {
        let mut parsed = Parsed::default();
        for (index, item) in items.iter().enumerate() {
            match parse(item) {
                Ok(Some(event)) => parsed.events.push(event),
                Ok(None) => parsed.ignored += 1,
                Err(error) => parsed.rejected.push(Rejected { index, error }),
            }
        }
        parsed.accepted = parsed.events.len();
        parsed
    }
}

/// One message of [TikTok-LIVE-Connector](https://github.com/zerodytrash/TikTok-Live-Connector)
/// as a forwarder sends it: `{"event": "gift", "data": {...}}`, `data` being the library's
/// event object (its README documents each). Users are named by `nickname`, else
/// `uniqueId` (at the top of `data`, or under `data.user` in version 2). A gift streak
/// (`giftType` 1) is counted once, at its end (`repeatEnd`); `diamondCount` is per gift.
pub fn from_tiktok(message: &Value) -> Result<Option<RoomEvent>, String> {
    let event = message.get("event").and_then(Value::as_str).ok_or(
        "a TikTok message needs `event` (chat, gift, like, follow, share, member, social)",
    )?;
    let data = message.get("data").ok_or("a TikTok message needs `data`")?;
    let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_string);
    let number = |key: &str| data.get(key).and_then(Value::as_f64);
    let user = tiktok_user(data);
    let event = match event {
        "chat" => RoomEvent::Comment {
            user,
            text: text("comment").ok_or("chat without `comment`")?,
        },
        "gift" => {
            let streaking = number("giftType") == Some(1.0)
                && data.get("repeatEnd").and_then(Value::as_bool) == Some(false);
            if streaking {
                return Ok(None);
            }
            let count = number("repeatCount").unwrap_or(1.0).clamp(1.0, 1e6) as u32;
            RoomEvent::Gift {
                user,
                gift: text("giftName").unwrap_or_else(|| "gift".into()),
                count,
                value: number("diamondCount").unwrap_or(0.0).max(0.0) * count as f64,
            }
        }
        "like" => RoomEvent::Like {
            user,
            count: number("likeCount").unwrap_or(1.0).clamp(1.0, 1e6) as u32,
        },
        "follow" => RoomEvent::Follow { user },
        "share" => RoomEvent::Share { user },
        "member" => RoomEvent::Enter { user },
        "social" => {
            let kind = text("displayType").unwrap_or_default();
            if kind.contains("follow") {
                RoomEvent::Follow { user }
            } else if kind.contains("share") {
                RoomEvent::Share { user }
            } else {
                return Ok(None);
            }
        }
        // roomUser, questionNew, linkMicBattle, envelope, …: nothing the host reacts to.
        _ => return Ok(None),
    };
    event.check()?;
    Ok(Some(event))
}

fn tiktok_user(data: &Value) -> String {
    let holder = data.get("user").filter(|u| u.is_object()).unwrap_or(data);
    ["nickname", "uniqueId"]
        .iter()
        .filter_map(|k| holder.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .chars()
        .take(MAX_USER_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_checked_one_by_one() {
        let items = vec![
            json!({"type": "gift", "user": "Lily", "gift": "Rose", "count": 3, "value": 3}),
            json!({"type": "order", "user": "Chen", "product": "kettle"}),
            json!({"type": "comment", "user": "x", "text": ""}),
            json!({"type": "dance", "user": "x"}),
            json!({"type": "like", "user": "x", "count": 0}),
            json!({"type": "comment", "user": "x".repeat(65), "text": "hi"}),
            json!("not an object"),
        ];
        let parsed = Parsed::from_items(&items, |v| RoomEvent::parse(v).map(Some));
        assert_eq!(parsed.accepted, 2);
        assert_eq!(
            parsed.events[1],
            RoomEvent::Order {
                user: "Chen".into(),
                product: "kettle".into(),
                quantity: 1
            }
        );
        let reasons: Vec<_> = parsed.rejected.iter().map(|r| r.index).collect();
        assert_eq!(reasons, vec![2, 3, 4, 5, 6]);
        assert!(
            parsed.rejected[1].error.contains("unknown variant"),
            "{:?}",
            parsed.rejected
        );
    }

    /// Messages as TikTok-LIVE-Connector's README documents them (tests/fixtures/events).
    #[test]
    fn tiktok_connector_messages_map_onto_the_schema() {
        let text = include_str!("../../tests/fixtures/events/tiktok.jsonl");
        let items: Vec<Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let parsed = Parsed::from_items(&items, from_tiktok);
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let kinds: Vec<_> = parsed.events.iter().map(RoomEvent::kind).collect();
        assert_eq!(
            kinds,
            [
                "comment", "gift", "gift", "like", "follow", "share", "enter", "comment"
            ]
        );
        assert_eq!(
            parsed.events[1],
            RoomEvent::Gift {
                user: "Lily".into(),
                gift: "Rose".into(),
                count: 5,
                value: 5.0
            }
        );
        assert_eq!(parsed.events[2].user(), "chen_wei");
        // The streak's running messages are ignored; the room-user count too.
        assert_eq!(parsed.ignored, 3);
        assert_eq!(parsed.events[7].user(), "Mia");
    }
}
