//! The live room's events coming in: `POST /events` (a batch in twincast's schema, with
//! the token or a webhook signature), `POST /events/stream` (newline-delimited events on
//! one held connection, for connectors that stay connected) and `POST /events/tiktok`
//! (TikTok-LIVE-Connector's messages). Each source's health (last event, rate, errors) is
//! kept for `/status`.

use super::{ApiCommand, ApiShared, FeedKind, Refusal, authorise, error, guard::Lease, refuse};
use crate::show::events::{MAX_BATCH, Parsed, RoomEvent, from_tiktok};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The header a webhook signs its body with: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-twincast-signature";
/// The longest line of an event stream.
const MAX_LINE: usize = 64 * 1024;

/// How one source of events is doing.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceHealth {
    pub events: u64,
    pub rejected: u64,
    /// Unix seconds of the last event taken.
    pub last_event: Option<f64>,
    /// Events in the last minute.
    pub per_minute: usize,
    pub last_error: Option<String>,
    /// When events came in the last minute, and how many each time.
    #[serde(skip)]
    recent: VecDeque<(f64, usize)>,
}

/// Arrivals remembered per source (a source posting one event a request at 200 a second
/// stays within it for the minute it is counted over).
const MAX_ARRIVALS: usize = 16_384;

/// Every source's health, by name (`events`, `stream`, `tiktok`).
#[derive(Clone, Default)]
pub struct Sources(Arc<Mutex<BTreeMap<String, SourceHealth>>>);

impl Sources {
    fn record(&self, source: &str, parsed: &Parsed) {
        let now = super::feed::unix_now();
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let health = all.entry(source.to_string()).or_default();
        health.events += parsed.accepted as u64;
        health.rejected += parsed.rejected.len() as u64;
        if let Some(r) = parsed.rejected.last() {
            health.last_error = Some(format!("event {}: {}", r.index, r.error));
        }
        if parsed.accepted > 0 {
            health.last_event = Some(now);
            health.recent.push_back((now, parsed.accepted));
        }
        while health.recent.front().is_some_and(|(t, _)| *t < now - 60.0)
            || health.recent.len() > MAX_ARRIVALS
        {
            health.recent.pop_front();
        }
        health.per_minute = health.recent.iter().map(|(_, n)| n).sum();
    }

    fn failed(&self, source: &str, reason: &str) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let health = all.entry(source.to_string()).or_default();
        health.rejected += 1;
        health.last_error = Some(reason.chars().take(200).collect());
    }

    pub fn snapshot(&self) -> BTreeMap<String, SourceHealth> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Whether a POST to `path` may come without the token (it is checked against its
/// signature in the handler instead).
pub(super) fn signed_instead(path: &str, headers: &HeaderMap) -> bool {
    matches!(path, "/events" | "/events/tiktok") && headers.contains_key(SIGNATURE_HEADER)
}

/// The token, or a valid signature of the body with the webhook secret.
fn admit(shared: &ApiShared, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let Some(signature) = headers.get(SIGNATURE_HEADER) else {
        return authorise(shared, headers);
    };
    let Some(secret) = &shared.webhook_secret else {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "signed events need a webhook secret ([events] secret_env names its variable)",
        ));
    };
    let given = signature
        .to_str()
        .ok()
        .and_then(|s| s.trim().strip_prefix("sha256="))
        .and_then(|h| hex::decode(h).ok());
    let Some(given) = given else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "the signature is not `sha256=<hex>`",
        ));
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return Err(refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "bad webhook secret",
        ));
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).map_err(|_| {
        refuse(
            StatusCode::UNAUTHORIZED,
            "the signature does not match the body",
        )
    })
}

/// `POST /events`: `{"events": [...]}`.
pub(super) async fn post(
    State(shared): State<ApiShared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = admit(&shared, &headers, &body) {
        return refused.into_response();
    }
    let items = match batch(&body, "events") {
        Ok(items) => items,
        Err(r) => {
            shared
                .sources
                .failed("events", "a request that is not an event batch");
            return r.into_response();
        }
    };
    let parsed = Parsed::from_items(&items, |v| RoomEvent::parse(v).map(Some));
    deliver(&shared, "events", parsed)
}

/// `POST /events/tiktok`: one TikTok-LIVE-Connector message, or an array of them.
pub(super) async fn tiktok(
    State(shared): State<ApiShared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = admit(&shared, &headers, &body) {
        return refused.into_response();
    }
    let items = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) if items.len() <= MAX_BATCH => items,
        Ok(Value::Array(_)) => return too_many_events().into_response(),
        Ok(one) => vec![one],
        Err(e) => {
            shared.sources.failed("tiktok", &e.to_string());
            return error(StatusCode::BAD_REQUEST, format!("not JSON: {e}"));
        }
    };
    let parsed = Parsed::from_items(&items, from_tiktok);
    deliver(&shared, "tiktok", parsed)
}

fn too_many_events() -> Refusal {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("at most {MAX_BATCH} events a request"),
    )
}

/// The array under `key` of a JSON body.
fn batch(body: &[u8], key: &str) -> Result<Vec<Value>, Refusal> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("not JSON: {e}")))?;
    let Some(Value::Array(items)) = value.get(key).cloned() else {
        return Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the body needs `{key}`: an array of events"),
        ));
    };
    if items.len() > MAX_BATCH {
        return Err(too_many_events());
    }
    Ok(items)
}

/// Hands the taken events to the show (comments also to the console's feed) and answers
/// with what was taken and refused.
fn deliver(shared: &ApiShared, source: &str, parsed: Parsed) -> Response {
    shared.sources.record(source, &parsed);
    for event in &parsed.events {
        if let RoomEvent::Comment { user, text } = event {
            shared.feed.push(FeedKind::Comment, user, text);
        }
    }
    let reply = serde_json::to_value(&parsed).unwrap_or_default();
    if parsed.events.is_empty() {
        return (StatusCode::OK, Json(reply)).into_response();
    }
    match shared.commands.try_send(ApiCommand::Events(parsed.events)) {
        Ok(()) => (StatusCode::ACCEPTED, Json(reply)).into_response(),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the show is busy with earlier requests; try again shortly",
        ),
    }
}

/// `POST /events/stream` (`?format=tiktok` for connector messages): one event per line,
/// for as long as the connector keeps the request open. Events are handed on as each
/// line arrives; the answer at the end says what was taken.
pub(super) async fn stream(
    State(shared): State<ApiShared>,
    ConnectInfo(lease): ConnectInfo<Lease>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(refused) = authorise(&shared, &headers) {
        return refused.into_response();
    }
    let format = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("format="));
    let tiktok = match format {
        None | Some("twincast") => false,
        Some("tiktok") => true,
        Some(other) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("unknown format `{other}` (twincast, tiktok)"),
            );
        }
    };
    lease.hold();
    let source = if tiktok { "stream-tiktok" } else { "stream" };
    let mut chunks = body.into_data_stream();
    let mut pending: Vec<u8> = Vec::new();
    let (mut accepted, mut rejected) = (0usize, 0usize);
    while let Some(chunk) = chunks.next().await {
        let Ok(chunk) = chunk else {
            break;
        };
        pending.extend_from_slice(&chunk);
        let mut items = Vec::new();
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            match serde_json::from_slice::<Value>(&line) {
                Ok(v) => items.push(v),
                Err(_) if line.iter().all(u8::is_ascii_whitespace) => {}
                Err(e) => {
                    rejected += 1;
                    shared
                        .sources
                        .failed(source, &format!("a line is not JSON: {e}"));
                }
            }
        }
        if pending.len() > MAX_LINE {
            shared.sources.failed(source, "a line over 64 KiB");
            return error(StatusCode::PAYLOAD_TOO_LARGE, "a line is over 64 KiB");
        }
        let parsed = if tiktok {
            Parsed::from_items(&items, from_tiktok)
        } else {
            Parsed::from_items(&items, |v| RoomEvent::parse(v).map(Some))
        };
        accepted += parsed.accepted;
        rejected += parsed.rejected.len();
        if !parsed.events.is_empty() || !parsed.rejected.is_empty() {
            let _ = deliver(&shared, source, parsed);
        }
    }
    Json(json!({ "accepted": accepted, "rejected": rejected })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_counts_its_rate_and_errors() {
        let sources = Sources::default();
        let items = vec![
            json!({"type": "like", "user": "a"}),
            json!({"type": "nope"}),
        ];
        let parsed = Parsed::from_items(&items, |v| RoomEvent::parse(v).map(Some));
        sources.record("events", &parsed);
        let health = &sources.snapshot()["events"];
        assert_eq!(
            (health.events, health.rejected, health.per_minute),
            (1, 1, 1)
        );
        assert!(
            health
                .last_error
                .as_deref()
                .unwrap()
                .starts_with("event 1:")
        );
    }
}
