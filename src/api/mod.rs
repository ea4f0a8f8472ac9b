//! The control API: HTTP on the show's own process (axum on a small tokio runtime of its
//! own thread), so an operator or a script can see how the show is doing and steer it.
//!
//! Reads are open; mutating calls need `Authorization: Bearer <token>`, the token coming
//! from an environment variable. Requests never touch the render loop directly: they are
//! queued as [`ApiCommand`]s, which the loop takes between frames, so a slow or hostile
//! client cannot stall the picture.

mod console;
mod events;
mod feed;
mod guard;
mod health;
mod history;
mod metrics;

pub use events::{SIGNATURE_HEADER, SourceHealth, Sources};
pub use feed::{Feed, FeedKind, unix_now};
pub use health::{HealthLimits, Liveness};
pub use history::History;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crossbeam_channel::Sender;
use serde::{Deserialize, Serialize};
use serde_json::json;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("control API: cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// What a request asks the show to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiCommand {
    /// Speak this line next (it may carry a cue: `[Wave] Hello`).
    Say(String),
    /// Play this clip now.
    Gesture { clip: String, speed: f32 },
    /// Move on to the next segment of the rundown.
    NextSegment,
    /// Pitch this product now.
    Product(String),
    /// Cut to this camera (a scene camera or `product`, the close-up of the product on
    /// air) until the segment changes.
    Camera(String),
    /// Start a flash sale (of this product, for this long) now.
    FlashSale {
        product: Option<String>,
        seconds: Option<f64>,
    },
    /// A viewer's comment that matched the FAQ: the host answers it next.
    Comment { user: String, text: String },
    /// A person takes over the host (live capture and microphone), or hands back.
    Takeover(bool),
    /// The show file was read again and is valid: its rundown starts at the next segment.
    Reload(Box<crate::config::plan::ShowPlan>),
    /// Events from the live room (checked), in arrival order.
    Events(Vec<crate::show::events::RoomEvent>),
}

impl ApiCommand {
    /// What the console's feed says the operator did.
    fn describe(&self) -> String {
        match self {
            ApiCommand::Say(text) => format!("say: {text}"),
            ApiCommand::Gesture { clip, .. } => format!("gesture: {clip}"),
            ApiCommand::NextSegment => "next segment".into(),
            ApiCommand::Product(id) => format!("product: {id}"),
            ApiCommand::Camera(name) => format!("camera: {name}"),
            ApiCommand::FlashSale { product, seconds } => format!(
                "flash sale: {}{}",
                product.as_deref().unwrap_or("current product"),
                seconds.map(|s| format!(", {s:.0} s")).unwrap_or_default()
            ),
            ApiCommand::Comment { user, text } => format!("answer {user}: {text}"),
            ApiCommand::Takeover(on) => format!("takeover {}", if *on { "on" } else { "off" }),
            ApiCommand::Reload(plan) => {
                format!("show file reloaded ({} segments)", plan.segments.len())
            }
            ApiCommand::Events(events) => format!("{} room events", events.len()),
        }
    }
}

/// What requests are checked against, so unknown names are refused with a reason.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Clip names the host can play.
    pub clips: Vec<String>,
    pub products: Vec<String>,
    /// The products' names (in the show's language), in the order of `products`.
    pub product_names: Vec<String>,
    pub has_flash_sale: bool,
    /// The FAQ's keywords, lower case, one list per answer.
    pub faq: Vec<Vec<String>>,
    /// Whether a takeover has what it needs (a VMC listener).
    pub takeover_ready: bool,
    /// Whether comments the FAQ does not answer go to a language model.
    pub has_model: bool,
    /// The scene's cameras and set pieces, which a reloaded rundown's shots and
    /// products' props must name.
    pub set: crate::config::plan::SetNames,
    /// The products that name a `prop`, which the product close-up can frame.
    pub framed: Vec<String>,
    /// Counts the catalogs taken (at start, then each reload), so the console knows to
    /// fetch its menus again.
    pub revision: u64,
    /// The language the show runs in (set at start; an edit of it waits for a restart),
    /// which the products' names are given in.
    pub language: String,
}

impl Known {
    /// The names that come from the show file's plan: products, flash sale, FAQ.
    pub fn refresh_plan(&mut self, plan: &crate::config::plan::ShowPlan) {
        let language = self.language.as_str();
        self.revision += 1;
        self.products = plan.products.iter().map(|p| p.id.clone()).collect();
        let framed = plan.products.iter().filter(|p| p.prop.is_some());
        self.framed = framed.map(|p| p.id.clone()).collect();
        self.product_names = plan
            .products
            .iter()
            .map(|p| p.name.get(language).to_string())
            .collect();
        self.has_flash_sale = plan
            .segments
            .iter()
            .any(|s| s.kind == crate::config::plan::SegmentKind::FlashSale);
        self.faq = plan
            .faq
            .iter()
            .map(|f| f.keywords.iter().map(|k| k.trim().to_lowercase()).collect())
            .collect();
    }

    /// Why the product close-up cannot frame the product on air (`on_air`): none is, or
    /// it names no `prop`. (A prop the set lacks is refused at start and on edits.)
    pub fn unframed(&self, on_air: Option<&str>) -> Option<String> {
        let Some(id) = on_air else {
            return Some("no product is on air to frame".into());
        };
        (!self.framed.iter().any(|f| f == id))
            .then(|| format!("product `{id}` on air names no `prop` to frame"))
    }

    /// Whether a comment would get an answer from the FAQ.
    pub fn answers(&self, comment: &str) -> bool {
        let lower = comment.to_lowercase();
        self.faq
            .iter()
            .flatten()
            .any(|k| !k.is_empty() && lower.contains(k.as_str()))
    }
}

/// One output as `/status` and `/metrics` report it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct OutputStatus {
    /// The program it carries: `None` for this run's own picture (`status.program`), a
    /// name for a program made beside it (`[[programs]]`).
    pub program: Option<String>,
    pub url: String,
    pub state: String,
    pub dropped_packets: u64,
    pub reconnects: u64,
    /// Bits per second sent to this output over the last second.
    pub kbps: f64,
}

/// Which picture this run makes (`--program`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct ProgramStatus {
    pub name: Option<String>,
    pub width: u32,
    pub height: u32,
    pub language: String,
}

/// [`ShowStatus::pace`].
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct PaceStatus {
    pub held: f64,
    pub glide: f64,
}

impl Default for PaceStatus {
    fn default() -> Self {
        Self {
            held: 1.0,
            glide: 1.0,
        }
    }
}

/// The show as of the last frame, written by the render loop.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ShowStatus {
    pub show: String,
    /// The program this run is: its name (`null` for the show's own), size and language.
    pub program: ProgramStatus,
    /// Programs made beside it from the same world (`[[outputs]] program`).
    pub programs: Vec<ProgramStatus>,
    /// The show's local time (RFC 3339 with offset) and time zone, as its schedule sees them.
    pub local_time: Option<String>,
    pub timezone: Option<String>,
    pub uptime_seconds: f64,
    pub media_seconds: f64,
    pub frames: u64,
    pub rendered_frames: u64,
    pub repeated_frames: u64,
    pub render_fps: f64,
    /// The fraction of their planned sides held frames and glides are drawn at to keep
    /// pace with real time (`render.keep_pace`; 1 when they keep it as planned).
    pub pace: PaceStatus,
    /// How long before its time on the wall clock the last frame began, in `stream`: what
    /// frames drawn early have banked against slow ones (up to `video.render_ahead_ms`; 0
    /// while drawn in step), negative when the renderer is behind.
    pub ahead_seconds: f64,
    /// How long before its time the last frame was allowed to begin: what the stream's
    /// recent frames needed banked (up to `video.render_ahead_ms`; all of it with
    /// `video.render_ahead_adapts = false`; 0 while drawn in step).
    pub lead_seconds: f64,
    pub bitrate_kbps: f64,
    pub speaking: Option<String>,
    pub gesture: Option<String>,
    pub live_capture_weight: Option<f32>,
    /// Rundown position: segment kind, its on-screen title, the product on the card.
    pub segment: Option<String>,
    pub segment_title: Option<String>,
    pub product: Option<String>,
    /// The product's name, its price as the card shows it (the flash price during a
    /// flash sale), and its stock.
    pub product_name: Option<String>,
    pub price: Option<String>,
    pub stock: Option<u32>,
    /// Seconds left in a running flash sale.
    pub flash_sale_left: Option<f64>,
    /// A person has taken over the host.
    pub takeover: bool,
    pub dropped_packets: u64,
    pub reconnects: u64,
    pub outputs: Vec<OutputStatus>,
    /// Comments answered, and those dropped by the room's limits (by reason).
    pub comments: crate::show::room::CommentCounts,
    /// The room's events, thank-yous, per-product activity, the model and the filter.
    pub room: crate::show::room::RoomCounts,
}

/// What the server shares with the render loop.
#[derive(Clone)]
pub struct ApiShared {
    pub status: Arc<Mutex<ShowStatus>>,
    pub commands: Sender<ApiCommand>,
    /// Names requests may use, for refusing unknown ones with a reason.
    pub known: Arc<Mutex<Known>>,
    pub token: Option<String>,
    /// The scene's data feeds, for `POST /twin/{feed}` and `/status`.
    pub twin: Option<crate::twin::TwinFeeds>,
    /// What `/health` has seen of the stream.
    pub liveness: Arc<Mutex<health::Liveness>>,
    /// The console's feed (lines said, alerts, comments, actions) and figures over time.
    pub feed: Feed,
    pub history: History,
    /// The small copy of the program picture for `/preview.jpg`.
    pub preview: Option<Arc<crate::encode::preview::PreviewTap>>,
    /// The show file, for `POST /reload`.
    pub show_file: Option<std::path::PathBuf>,
    /// The show file's text the show started from, so a reload can say what in an edit
    /// waits for a restart.
    pub show_text: Arc<str>,
    /// Whether reads other than the page, `/health` and `/metrics` need the token too.
    pub guard_reads: bool,
    /// The secret webhooks sign event batches with (`[events] secret_env`).
    pub webhook_secret: Option<String>,
    /// How each source of room events is doing.
    pub sources: Sources,
}

impl ApiShared {
    /// A copy of the show's status as of the last frame (the lock held only to copy it).
    fn status_now(&self) -> ShowStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The running server; stops when dropped.
pub struct ApiServer {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ApiServer {
    pub fn start(listen: &str, shared: ApiShared) -> Result<Self, ApiError> {
        let bind_error = |source| ApiError::Bind {
            addr: listen.to_string(),
            source,
        };
        // Bound here, on the caller's thread, so a port in use is an error before the show.
        let listener = std::net::TcpListener::bind(listen).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(bind_error)?;
        let sampler = console::sample_history(shared.clone());
        let app = router(shared).into_make_service_with_connect_info::<guard::Lease>();
        let thread = std::thread::Builder::new()
            .name("api".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::spawn(sampler);
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("control API: {e}");
                            return;
                        }
                    };
                    let listener = guard::GuardedListener::new(
                        listener,
                        guard::MAX_CONNECTIONS,
                        guard::CONNECTION_LIFETIME,
                    );
                    let served = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                    if let Err(e) = served {
                        tracing::error!("control API stopped: {e}");
                    }
                });
            })
            .map_err(bind_error)?;
        tracing::info!("control API on http://{addr}");
        Ok(Self {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
}

/// Lowers this thread's priority (nice 10; Linux keeps it per thread), for work that may
/// wait when the machine has no CPU to spare: the console's JPEGs. The API's own thread
/// keeps its priority, so `/health` and the buttons answer promptly on a busy machine.
pub(crate) fn yield_to_the_show() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only changes the scheduling of the thread whose id is given.
    unsafe {
        let tid = libc::gettid();
        if libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10) != 0 {
            tracing::debug!("control API: cannot lower its thread's priority");
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(shared: ApiShared) -> axum::Router {
    axum::Router::new()
        .route("/health", get(health))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/say", post(say))
        .route("/gesture", post(gesture))
        .route("/segment/next", post(next_segment))
        .route("/product/{id}", post(product))
        .route("/camera/{name}", post(camera))
        .route("/flash-sale", post(flash_sale))
        .route("/comments", post(comment))
        .route("/takeover", post(takeover))
        .route("/twin/{feed}", post(twin_push))
        .route("/events", post(events::post))
        .route("/events/stream", post(events::stream))
        .route("/events/tiktok", post(events::tiktok))
        .route("/", get(console::index))
        .route("/console/console.js", get(console::script))
        .route("/console/console.css", get(console::style))
        .route("/auth", get(console::auth))
        .route("/catalog", get(console::catalog))
        .route("/updates", get(console::updates))
        .route("/feed", get(console::feed))
        .route("/history", get(console::history))
        .route("/preview.jpg", get(console::preview))
        .route("/reload", post(console::reload))
        .route("/alerts/{id}/ack", post(console::acknowledge))
        .fallback(not_found)
        // The token is checked before any body is read, and bodies are capped.
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            token_before_body,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}

/// The largest request body read (a twin feed's document is the largest legitimate one).
const MAX_BODY_BYTES: usize = 1 << 20;

/// Every POST needs the token, checked here before the handler reads (and parses) the
/// body, so a stranger can make the server read nothing but headers.
async fn token_before_body(
    State(shared): State<ApiShared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let signed = events::signed_instead(request.uri().path(), request.headers());
    let guarded = (request.method() == axum::http::Method::POST && !signed)
        || (shared.guard_reads && console::read_is_guarded(request.uri().path()));
    if guarded && let Err(refused) = authorise(&shared, request.headers()) {
        return refused.into_response();
    }
    next.run(request).await
}

fn error(code: StatusCode, reason: impl Into<String>) -> Response {
    (code, Json(json!({ "error": reason.into() }))).into_response()
}

/// A request refused before it is handled (no token, a bad body): the status and the
/// reason the caller reads as `{"error": …}`. The preambles return this rather than a
/// `Response` (128 bytes, four times its size), so their results stay small.
#[derive(Debug)]
pub(super) struct Refusal {
    code: StatusCode,
    reason: String,
}

pub(super) fn refuse(code: StatusCode, reason: impl Into<String>) -> Refusal {
    Refusal {
        code,
        reason: reason.into(),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.code, self.reason)
    }
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint (GET /, /health, /status, /metrics, /updates, /feed, /history, \
         /preview.jpg, /catalog, /auth; POST /say, /gesture, /segment/next, /product/{id}, \
         /flash-sale, /comments, /events, /events/stream, /events/tiktok, /takeover, /reload, \
         /alerts/{id}/ack, /twin/{feed})",
    )
}

async fn health(State(shared): State<ApiShared>) -> Response {
    let status = shared.status_now();
    let mut liveness = shared.liveness.lock().unwrap_or_else(|e| e.into_inner());
    match liveness.check(&status, std::time::Instant::now()) {
        Ok(body) => Json(body).into_response(),
        Err(body) => (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response(),
    }
}

async fn status(State(shared): State<ApiShared>) -> Response {
    Json(status_body(&shared)).into_response()
}

/// What `/status` answers (and each console update carries): the show as of the last
/// frame, the twin's values, the process's memory and the alerts nobody has seen.
fn status_body(shared: &ApiShared) -> serde_json::Value {
    let status = shared.status_now();
    let mut body = serde_json::to_value(status).unwrap_or_default();
    if let Some(twin) = &shared.twin {
        let feeds: std::collections::BTreeMap<_, _> = twin.snapshot().into_iter().collect();
        body["twin"] = serde_json::to_value(feeds).unwrap_or_default();
    }
    body["rss_bytes"] = json!(metrics::resident_bytes());
    body["alerts_open"] = json!(shared.feed.open_alerts().len());
    body["events_per_minute"] = json!(shared.feed.events_per_minute());
    body["event_sources"] = serde_json::to_value(shared.sources.snapshot()).unwrap_or_default();
    body
}

async fn twin_push(
    State(shared): State<ApiShared>,
    headers: HeaderMap,
    axum::extract::Path(feed): axum::extract::Path<String>,
    payload: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let doc = match authorised_body(&shared, &headers, payload) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let Some(twin) = &shared.twin else {
        return error(StatusCode::NOT_FOUND, "the scene has no data feeds");
    };
    if !twin.api_feeds().contains(&feed) {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no API feed `{feed}` in the scene (it has: {})",
                twin.api_feeds().join(", ")
            ),
        );
    }
    match twin.push(&feed, doc) {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({ "feed": feed }))).into_response(),
        Err(reason) => error(StatusCode::UNPROCESSABLE_ENTITY, reason),
    }
}

async fn metrics(State(shared): State<ApiShared>) -> Response {
    let s = shared.status_now();
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::exposition(&s, metrics::resident_bytes()),
    )
        .into_response()
}

/// Mutating calls need the configured bearer token.
fn authorise(shared: &ApiShared, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(token) = &shared.token else {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "no API token is configured (set the variable named by [api] token_env)",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(refuse(StatusCode::UNAUTHORIZED, "wrong bearer token")),
        None => Err(refuse(
            StatusCode::UNAUTHORIZED,
            "this call needs `Authorization: Bearer <token>`",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, Refusal> {
    payload
        .map(|Json(v)| v)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, e.body_text()))
}

/// The preamble of a mutating call with a JSON body: the token first (so a stranger
/// learns nothing about the body's shape), then the body.
fn authorised_body<T>(
    shared: &ApiShared,
    headers: &HeaderMap,
    payload: Result<Json<T>, JsonRejection>,
) -> Result<T, Refusal> {
    authorise(shared, headers)?;
    body(payload)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SayRequest {
    text: String,
}

async fn say(
    State(shared): State<ApiShared>,
    headers: HeaderMap,
    payload: Result<Json<SayRequest>, JsonRejection>,
) -> Response {
    let request = match authorised_body(&shared, &headers, payload) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let text = request.text.trim();
    if text.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "`text` is empty");
    }
    if text.chars().count() > 2000 {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "`text` is over 2000 characters",
        );
    }
    queue(
        &shared,
        ApiCommand::Say(text.to_string()),
        json!({ "queued": text }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GestureRequest {
    clip: String,
    #[serde(default = "one")]
    speed: f32,
}

fn one() -> f32 {
    1.0
}

async fn gesture(
    State(shared): State<ApiShared>,
    headers: HeaderMap,
    payload: Result<Json<GestureRequest>, JsonRejection>,
) -> Response {
    let request = match authorised_body(&shared, &headers, payload) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    if !(request.speed > 0.0 && request.speed <= 10.0) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("`speed` {} is outside (0, 10]", request.speed),
        );
    }
    let clips = known(&shared).clips;
    if !clips.contains(&request.clip) {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "the host has no clip `{}` (she has: {})",
                request.clip,
                clips.join(", ")
            ),
        );
    }
    let reply = json!({ "playing": request.clip, "speed": request.speed });
    let command = ApiCommand::Gesture {
        clip: request.clip,
        speed: request.speed,
    };
    queue(&shared, command, reply)
}

fn known(shared: &ApiShared) -> Known {
    shared
        .known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// Hands a command to the render loop. The queue is bounded: when the loop is that far
/// behind, the request is refused (503) rather than held in memory.
fn queue(shared: &ApiShared, command: ApiCommand, reply: serde_json::Value) -> Response {
    let what = command.describe();
    match shared.commands.try_send(command) {
        Ok(()) => {
            shared.feed.push(FeedKind::Action, "api", &what);
            (StatusCode::ACCEPTED, Json(reply)).into_response()
        }
        Err(crossbeam_channel::TrySendError::Full(_)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the show is busy with earlier requests; try again shortly",
        ),
        Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "the show is stopping")
        }
    }
}

async fn next_segment(State(shared): State<ApiShared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorise(&shared, &headers) {
        return r.into_response();
    }
    queue(
        &shared,
        ApiCommand::NextSegment,
        json!({ "next": "segment" }),
    )
}

fn unknown_product(id: &str, known: &Known) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no product `{id}` in the catalog (it has: {})",
            known.products.join(", ")
        ),
    )
}

async fn product(
    State(shared): State<ApiShared>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    if let Err(r) = authorise(&shared, &headers) {
        return r.into_response();
    }
    let known = known(&shared);
    if !known.products.contains(&id) {
        return unknown_product(&id, &known);
    }
    if let Some(refusal) = sold_out(&shared, &id) {
        return refusal;
    }
    queue(
        &shared,
        ApiCommand::Product(id.clone()),
        json!({ "product": id }),
    )
}

/// 409 for a product the room has bought out (as the last status has it): the host
/// does not pitch it until the show file restocks it.
fn sold_out(shared: &ApiShared, id: &str) -> Option<Response> {
    let status = shared.status.lock().unwrap_or_else(|e| e.into_inner());
    (status.room.stock.get(id) == Some(&0)).then(|| {
        let reason = format!("product `{id}` is sold out; raise its `stock` in the show file");
        error(StatusCode::CONFLICT, reason)
    })
}

/// Cuts to a scene camera, or to `product` (the close-up of the product on air), until
/// the segment changes.
async fn camera(
    State(shared): State<ApiShared>,
    headers: HeaderMap,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    if let Err(r) = authorise(&shared, &headers) {
        return r.into_response();
    }
    let known = known(&shared);
    let close_up = crate::config::plan::PRODUCT_CAMERA;
    let cameras = &known.set.cameras;
    if name == close_up && !cameras.contains(&name) {
        let status = shared.status.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(reason) = known.unframed(status.product.as_deref()) {
            return error(StatusCode::CONFLICT, reason);
        }
    } else if !cameras.contains(&name) {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "the scene has no camera `{name}` (it has: {}; and `{close_up}`)",
                cameras.join(", ")
            ),
        );
    }
    queue(
        &shared,
        ApiCommand::Camera(name.clone()),
        json!({ "camera": name }),
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FlashSaleRequest {
    product: Option<String>,
    seconds: Option<f64>,
}

async fn flash_sale(
    State(shared): State<ApiShared>,
    headers: HeaderMap,
    payload: Result<Json<FlashSaleRequest>, JsonRejection>,
) -> Response {
    if let Err(r) = authorise(&shared, &headers) {
        return r.into_response();
    }
    let request = match payload {
        Ok(Json(r)) => r,
        // No body at all: the current product, the rundown's countdown.
        Err(JsonRejection::MissingJsonContentType(_)) => FlashSaleRequest::default(),
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let known = known(&shared);
    if !known.has_flash_sale {
        return error(
            StatusCode::CONFLICT,
            "the rundown has no flash_sale segment to run",
        );
    }
    if let Some(id) = &request.product
        && !known.products.contains(id)
    {
        return unknown_product(id, &known);
    }
    if let Some(refusal) = request
        .product
        .as_deref()
        .and_then(|id| sold_out(&shared, id))
    {
        return refusal;
    }
    if let Some(s) = request.seconds
        && !(1.0..=86_400.0).contains(&s)
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("`seconds` {s} is outside 1..=86400"),
        );
    }
    let reply = json!({ "flash_sale": { "product": request.product, "seconds": request.seconds } });
    queue(
        &shared,
        ApiCommand::FlashSale {
            product: request.product,
            seconds: request.seconds,
        },
        reply,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentRequest {
    #[serde(default)]
    user: String,
    text: String,
}

async fn comment(
    State(shared): State<ApiShared>,
    headers: HeaderMap,
    payload: Result<Json<CommentRequest>, JsonRejection>,
) -> Response {
    let request = match authorised_body(&shared, &headers, payload) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let text = request.text.trim();
    if text.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "`text` is empty");
    }
    if text.chars().count() > 500 || request.user.chars().count() > 64 {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "`text` is over 500 characters or `user` over 64",
        );
    }
    shared
        .feed
        .push(FeedKind::Comment, request.user.trim(), text);
    let known = known(&shared);
    if !known.answers(text) && !known.has_model {
        return (StatusCode::OK, Json(json!({ "answered": false }))).into_response();
    }
    queue(
        &shared,
        ApiCommand::Comment {
            user: request.user.trim().to_string(),
            text: text.to_string(),
        },
        json!({ "answered": true }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TakeoverRequest {
    on: bool,
}

async fn takeover(
    State(shared): State<ApiShared>,
    headers: HeaderMap,
    payload: Result<Json<TakeoverRequest>, JsonRejection>,
) -> Response {
    let request = match authorised_body(&shared, &headers, payload) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    if request.on && !known(&shared).takeover_ready {
        return error(
            StatusCode::CONFLICT,
            "a takeover needs live capture (stream --vmc-listen) or a live audio input \
             ([takeover] audio_listen)",
        );
    }
    queue(
        &shared,
        ApiCommand::Takeover(request.on),
        json!({ "takeover": request.on }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::redact;

    #[test]
    fn metrics_are_prometheus_text_with_escaped_labels() {
        let status = ShowStatus {
            frames: 30,
            outputs: vec![
                OutputStatus {
                    url: "rtmp://x/\"a\"".into(),
                    state: "Live".into(),
                    dropped_packets: 2,
                    reconnects: 1,
                    ..Default::default()
                },
                OutputStatus {
                    program: Some("vertical".into()),
                    url: "rtmp://y/app/…".into(),
                    state: "Reconnecting".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let text = metrics::exposition(&status, Some(4096));
        assert!(
            text.contains("twincast_resident_memory_bytes 4096"),
            "{text}"
        );
        assert!(text.contains("# TYPE twincast_frames counter\n"), "{text}");
        assert!(text.contains("\ntwincast_frames_total 30\n"), "{text}");
        assert!(
            text.contains("twincast_output_up{output=\"rtmp://x/\\\"a\\\"\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("twincast_output_reconnects_total{output=\"rtmp://x/\\\"a\\\"\"} 1"));
        // A program's output beside this run's own is labelled with the program.
        assert!(
            text.contains("twincast_output_up{output=\"rtmp://y/app/…\",program=\"vertical\"} 0\n"),
            "{text}"
        );
    }

    #[test]
    fn stream_keys_are_not_shown() {
        assert_eq!(
            redact("rtmp://live.example.com/app/SECRET"),
            "rtmp://live.example.com/app/…"
        );
        assert_eq!(redact("out/demo.flv"), "out/demo.flv");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
