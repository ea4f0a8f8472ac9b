//! The operator's console: a page served by the control API itself (`GET /`), and the
//! endpoints only it needs — live updates, the preview picture, the last hour's figures,
//! the catalog for its menus, sign-in, reload and alert acknowledgement.
//!
//! The page is three static files built into the binary (no build chain, no CDN). Every
//! button calls the same API a script would, with the token as a bearer header (never a
//! cookie, so there is no cross-site request to forge), so the page adds no second path
//! into the show.

use super::feed::FeedKind;
use super::history::Sample;
use super::{ApiCommand, ApiShared, Known, authorise, error, known, queue, status_body};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;

const INDEX: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");

/// A stream of updates ends after this many (one a second) and the page reconnects, asking
/// for what it missed: the API closes every connection after ten seconds (slow clients must
/// not hold a slot for ever), so updates end cleanly before that.
const UPDATES_PER_CONNECTION: u32 = 8;

/// How long `/preview.jpg` waits for a fresh picture after a pause in asking.
const PREVIEW_WAIT: Duration = Duration::from_millis(1500);

/// The page may load nothing from elsewhere and may not be framed by another site.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; \
                   script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

fn static_file(body: &'static str, kind: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

pub async fn index() -> Response {
    static_file(INDEX, "text/html; charset=utf-8")
}

pub async fn script() -> Response {
    static_file(SCRIPT, "text/javascript; charset=utf-8")
}

pub async fn style() -> Response {
    static_file(STYLE, "text/css; charset=utf-8")
}

/// Whether a read needs the token: everything but the page itself and the two endpoints
/// monitoring tools poll (`/health`, `/metrics`), when `[api] console_requires_token`.
pub fn read_is_guarded(path: &str) -> bool {
    !(path == "/" || path.starts_with("/console/") || path == "/health" || path == "/metrics")
}

/// Sign-in: 204 with the right token, 401 (with the reason) otherwise.
pub async fn auth(State(shared): State<ApiShared>, headers: HeaderMap) -> Response {
    match authorise(&shared, &headers) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// What the console's menus offer: products, clips, and whether a flash sale and a
/// takeover can run.
pub async fn catalog(State(shared): State<ApiShared>) -> Response {
    let known = known(&shared);
    let products: Vec<_> = known
        .products
        .iter()
        .zip(&known.product_names)
        .map(|(id, name)| json!({ "id": id, "name": name }))
        .collect();
    Json(json!({
        "products": products,
        "clips": known.clips,
        // The scene's cameras, then the product close-up (unless a camera has its name).
        "cameras": cameras(&known),
        "flash_sale": known.has_flash_sale,
        "takeover": known.takeover_ready,
    }))
    .into_response()
}

/// The cameras the operator can cut to: the scene's, and the product close-up.
fn cameras(known: &Known) -> Vec<String> {
    let close_up = crate::config::plan::PRODUCT_CAMERA.to_string();
    let mut cameras = known.set.cameras.clone();
    if !cameras.contains(&close_up) {
        cameras.push(close_up);
    }
    cameras
}

/// The number after `name=` in the query, or 0.
fn query_number(uri: &Uri, name: &str) -> u64 {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// One update: the status, feed items after `since`, the open alerts.
fn update(shared: &ApiShared, since: u64) -> (serde_json::Value, u64) {
    let feed = shared.feed.since(since);
    let last = feed.last().map_or(since, |i| i.id);
    let body = json!({
        "status": status_body(shared),
        "feed": feed,
        "alerts": shared.feed.open_alerts(),
        "catalog": shared.known.lock().unwrap_or_else(|e| e.into_inner()).revision,
    });
    (body, last)
}

/// Server-sent events, one a second: `GET /updates?since=<last feed id seen>`.
pub async fn updates(State(shared): State<ApiShared>, uri: Uri) -> Response {
    let since = query_number(&uri, "since");
    let stream =
        futures_util::stream::unfold((shared, since, 0u32), |(shared, since, sent)| async move {
            if sent >= UPDATES_PER_CONNECTION {
                return None;
            }
            if sent > 0 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let (body, last) = update(&shared, since);
            let event = Event::default()
                .event("update")
                .id(last.to_string())
                .retry(Duration::from_millis(500))
                .data(body.to_string());
            Some((Ok::<_, Infallible>(event), (shared, last, sent + 1)))
        });
    let mut response = Sse::new(stream).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    response
}

/// Feed items after `since`, for clients that poll: `GET /feed?since=<id>`.
pub async fn feed(State(shared): State<ApiShared>, uri: Uri) -> Response {
    let since = query_number(&uri, "since");
    Json(json!({ "feed": shared.feed.since(since), "alerts": shared.feed.open_alerts() }))
        .into_response()
}

/// The last hour's figures, a sample every ten seconds.
pub async fn history(State(shared): State<ApiShared>) -> Response {
    Json(json!({ "samples": shared.history.samples() })).into_response()
}

/// Records a sample every [`super::history::SAMPLE_EVERY`], on the API's runtime.
pub async fn sample_history(shared: ApiShared) {
    let mut every = tokio::time::interval(super::history::SAMPLE_EVERY);
    loop {
        every.tick().await;
        shared
            .history
            .record(Sample::of(&shared.status_now(), &shared.feed));
    }
}

/// The program picture, small: `GET /preview.jpg`. The frame's number is in `X-Frame`.
pub async fn preview(State(shared): State<ApiShared>) -> Response {
    let Some(tap) = shared.preview.clone() else {
        return error(StatusCode::NOT_FOUND, "this show has no picture to preview");
    };
    let mut snapshot = tap.want();
    let waited = tokio::time::Instant::now();
    let stale = |s: &Option<std::sync::Arc<crate::encode::preview::Snapshot>>| {
        s.as_ref()
            .is_none_or(|s| s.taken.elapsed() > tap.every() * 3)
    };
    while stale(&snapshot) && waited.elapsed() < PREVIEW_WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
        snapshot = tap.want();
    }
    let Some(snapshot) = snapshot else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no picture yet (the show is starting, or the encoder is stalled)",
        );
    };
    let jpeg = tokio::task::spawn_blocking(move || {
        super::yield_to_the_show();
        let mut out = Vec::new();
        let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75).encode(
            &snapshot.rgb,
            snapshot.width,
            snapshot.height,
            image::ExtendedColorType::Rgb8,
        );
        encoded.map(|()| (out, snapshot.frame))
    })
    .await;
    match jpeg {
        Ok(Ok((bytes, frame))) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::HeaderName::from_static("x-frame"),
                    HeaderValue::from(frame),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("JPEG: {e}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("JPEG: {e}")),
    }
}

/// `POST /reload`: reads the show file now; a valid rundown starts at the next segment,
/// an invalid one (or one whose shots name a camera the scene lacks) is refused with the
/// file's own error (where and what). The answer names what else the edit changed that
/// waits for a restart (`restart_needed`).
pub async fn reload(State(shared): State<ApiShared>) -> Response {
    let Some(path) = shared.show_file.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "this show has no show file to reload",
        );
    };
    let set = (shared.known.lock())
        .unwrap_or_else(|e| e.into_inner())
        .set
        .clone();
    let running = shared.show_text.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        crate::config::ShowConfig::load_edit(&path, &set, &running)
    })
    .await;
    let (show, waiting) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(e)) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    if show.plan.segments.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the show file's rundown has no segments; the show goes on as it was",
        );
    }
    let segments = show.plan.segments.len();
    shared
        .known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .refresh_plan(&show.plan);
    queue(
        &shared,
        ApiCommand::Reload(Box::new(show.plan)),
        json!({
            "reloaded": segments,
            "starts": "at the next segment",
            "restart_needed": waiting,
        }),
    )
}

/// `POST /alerts/{id}/ack`: the alert has been seen.
pub async fn acknowledge(
    State(shared): State<ApiShared>,
    axum::extract::Path(id): axum::extract::Path<u64>,
) -> Response {
    if shared.feed.acknowledge(id) {
        shared
            .feed
            .push(FeedKind::Action, "ack", &format!("alert {id} acknowledged"));
        Json(json!({ "acknowledged": id })).into_response()
    } else {
        error(StatusCode::NOT_FOUND, format!("no open alert {id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_give_numbers_or_zero() {
        let uri: Uri = "/updates?x=1&since=42".parse().unwrap();
        assert_eq!(query_number(&uri, "since"), 42);
        let uri: Uri = "/updates?since=-1".parse().unwrap();
        assert_eq!(query_number(&uri, "since"), 0);
        let uri: Uri = "/updates".parse().unwrap();
        assert_eq!(query_number(&uri, "since"), 0);
    }

    #[test]
    fn the_page_is_open_and_the_show_is_not() {
        assert!(!read_is_guarded("/"));
        assert!(!read_is_guarded("/console/console.js"));
        assert!(!read_is_guarded("/health"));
        assert!(read_is_guarded("/status"));
        assert!(read_is_guarded("/preview.jpg"));
        assert!(read_is_guarded("/updates"));
    }

    #[test]
    fn the_page_loads_only_its_own_files() {
        for needle in ["http://", "https://", "//cdn"] {
            assert!(!INDEX.contains(needle), "index.html refers to {needle}");
            assert!(!SCRIPT.contains(needle), "console.js refers to {needle}");
        }
        assert!(INDEX.contains("/console/console.js"));
        assert!(INDEX.contains("/console/console.css"));
    }
}
