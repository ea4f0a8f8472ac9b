//! What runs beside the render loop and talks to it between frames: the control API, the
//! twin's data feeds, live capture over VMC, the takeover voice, and the watches on the
//! show and scene files.

use super::reload::{SceneWatch, ShowWatch, Told};
use super::rundown::Rundown;
use super::{RunError, RunOptions};
use crate::api::{
    ApiCommand, ApiServer, ApiShared, Feed, HealthLimits, History, Known, Liveness, ShowStatus,
};
use crate::config::ShowConfig;
use crate::encode::preview::PreviewTap;
use crate::mix::LiveAudio;
use crate::net::Senders;
use crate::presenter::LiveCapture;
use crate::scene::LoadedScene;
use crate::show::Jump;
use crate::show::events::RoomEvent;
use crate::speech::{Gesture, Origin};
use crate::stage::GestureRequests;
use crate::twin::{TwinFeeds, TwinNow};
use crate::vmc::VmcReceiver;
use bevy::prelude::*;
use crossbeam_channel::Receiver;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{info, warn};

/// API requests that may wait for the render loop; more are refused with 503.
const COMMAND_QUEUE: usize = 256;

pub struct Services {
    /// The control API and what it shares with the loop.
    pub api: Option<ApiServer>,
    pub status: Arc<Mutex<ShowStatus>>,
    /// The console's feed and its preview picture (fed by the loop, the alerts and the
    /// encoder), present with the API.
    pub feed: Option<Feed>,
    pub preview: Option<Arc<PreviewTap>>,
    commands: Receiver<ApiCommand>,
    pub twin: Option<TwinFeeds>,
    /// Live capture, and the seconds without packets before the clips take over again.
    pub vmc: Option<(VmcReceiver, f32)>,
    pub live_audio: Option<Arc<LiveAudio>>,
    show_watch: Option<ShowWatch>,
    scene_watch: Option<SceneWatch>,
    /// During a takeover: the packet counts last seen and when they last moved.
    takeover: Option<(u64, std::time::Instant)>,
    takeover_idle: Option<Duration>,
    /// The media second the room's figures last went to the `room` twin feed.
    room_fed: f64,
}

/// The takeover's listeners, where the run asks for them: live VMC capture (with how
/// long without packets before the host goes back to her own motion) and live audio, each
/// taking packets only from the show's allowed senders.
fn listen_for_takeover(
    show: &ShowConfig,
    options: &RunOptions,
) -> Result<(Option<(VmcReceiver, f32)>, Option<Arc<LiveAudio>>), RunError> {
    // Checked at load: every entry is an address.
    let senders = Senders::parse(&show.takeover.allow).unwrap_or_default();
    let vmc = match &options.vmc {
        Some(v) => Some((
            VmcReceiver::listen(&v.listen, senders.clone())?,
            v.fallback_after,
        )),
        None => None,
    };
    let live_audio = match &show.takeover.audio_listen {
        Some(addr) => {
            Some(
                LiveAudio::listen(addr, senders).map_err(|source| RunError::Listen {
                    what: "takeover audio",
                    addr: addr.clone(),
                    source,
                })?,
            )
        }
        None => None,
    };
    Ok((vmc, live_audio))
}

/// When `/health` calls the show stalled and offline.
fn health_limits(show: &ShowConfig) -> HealthLimits {
    HealthLimits {
        stalled_after: show.api.stalled_after(),
        offline_after: show.api.offline_after(),
    }
}

impl Services {
    /// Binds every listener first, so a port in use is an error before anything starts.
    pub fn start(
        show: &ShowConfig,
        scene: &LoadedScene,
        options: &RunOptions,
    ) -> Result<Self, RunError> {
        let (vmc, live_audio) = listen_for_takeover(show, options)?;
        let twin = (!scene.description.feeds.is_empty()).then(|| TwinFeeds::start(scene));
        let status = Arc::new(Mutex::new(ShowStatus {
            show: show.name.clone(),
            program: program_status(show),
            programs: options
                .programs
                .iter()
                .map(|(p, _)| program_status(p))
                .collect(),
            ..Default::default()
        }));
        let (tx, commands) = crossbeam_channel::bounded(COMMAND_QUEUE);
        let listen = options.api.as_ref().or(show.api.listen.as_ref());
        let feed = listen.map(|_| Feed::default());
        // A picture a second: enough for an operator, nothing for the encoder.
        let preview = listen.map(|_| Arc::new(PreviewTap::new(Duration::from_secs(1))));
        // The show file as it started: what later edits are compared with.
        let running: Arc<str> = std::fs::read_to_string(&show.source)
            .unwrap_or_default()
            .into();
        let known = listen.map(|_| {
            let takeover_ready = vmc.is_some() || live_audio.is_some();
            Arc::new(Mutex::new(known_names(show, scene, takeover_ready)))
        });
        let api = match listen {
            Some(listen) => {
                let shared = ApiShared {
                    status: status.clone(),
                    commands: tx,
                    known: known.clone().unwrap_or_default(),
                    token: api_token(show),
                    twin: twin.clone(),
                    liveness: Arc::new(Mutex::new(Liveness::new(health_limits(show)))),
                    feed: feed.clone().unwrap_or_default(),
                    history: History::default(),
                    preview: preview.clone(),
                    show_file: Some(show.source.clone()).filter(|p| p.is_file()),
                    show_text: running.clone(),
                    guard_reads: show.api.reads_need_token(listen),
                    webhook_secret: webhook_secret(show),
                    sources: Default::default(),
                };
                Some(ApiServer::start(listen, shared)?)
            }
            None => None,
        };
        let told = Told {
            known,
            feed: feed.clone(),
        };
        Ok(Self {
            api,
            status,
            feed,
            preview,
            commands,
            twin: twin.clone(),
            vmc,
            live_audio,
            // A rundown played once (a short video) is not the show file on disk.
            show_watch: (options.once.is_none())
                .then(|| ShowWatch::new(&show.source, running, told.clone()))
                .flatten(),
            scene_watch: SceneWatch::new(show.scene.clone(), scene, twin.clone(), told),
            takeover: None,
            room_fed: -1.0,
            takeover_idle: (show.takeover.idle_seconds > 0.0)
                .then(|| Duration::from_secs_f64(show.takeover.idle_seconds)),
        })
    }

    /// Hands live capture to the presenter (when a VMC listener runs).
    pub fn attach(&self, app: &mut App) {
        if let Some((receiver, fallback_after)) = &self.vmc {
            app.insert_resource(LiveCapture {
                state: receiver.state.clone(),
                fallback_after: *fallback_after,
                hold: false,
            });
        }
    }

    /// Between frames: carries out API requests, rebuilds an edited set, and hands the
    /// twin's latest values to the world.
    pub fn between_frames(&mut self, app: &mut App, mut rundown: Option<&mut Rundown>, now: f64) {
        for command in self.commands.try_iter() {
            apply_command(
                command,
                app,
                rundown.as_deref_mut(),
                self.live_audio.as_deref(),
                now,
            );
        }
        if let (Some(watch), Some(rundown)) = (self.show_watch.as_mut(), rundown.as_deref_mut()) {
            watch.poll(app, rundown);
        }
        if let Some(rundown) = rundown.as_deref_mut() {
            self.hand_back_when_idle(app, rundown);
            self.feed_the_room_screen(rundown, now);
        }
        if let Some(watch) = self.scene_watch.as_mut() {
            watch.poll(app, rundown.as_deref());
        }
        if let Some(twin) = &self.twin {
            app.insert_resource(TwinNow(twin.snapshot()));
        }
    }
}

impl Services {
    /// The room's figures on the showroom's screens: a scene with an `Api` feed named
    /// `room` gets them once a second (bind `room.total.orders`, `room.products.kettle.units`,
    /// `room.this_minute.likes`, … like any feed).
    fn feed_the_room_screen(&mut self, rundown: &Rundown, now: f64) {
        let Some(twin) = &self.twin else {
            return;
        };
        if now.floor() == self.room_fed || !twin.api_feeds().iter().any(|f| f == ROOM_FEED) {
            return;
        }
        self.room_fed = now.floor();
        if let Err(e) = twin.push(ROOM_FEED, rundown.room_document()) {
            warn!("twin feed `{ROOM_FEED}`: {e}");
        }
    }

    /// Whether a person has the host: a takeover, their voice on air, or live motion
    /// capture still arriving (within the seconds after which her clips take over again).
    /// The loop then renders in step with the wall clock ([`super::pacer::FramePacer::ahead`]).
    pub fn person_on_air(&self, rundown: Option<&Rundown>) -> bool {
        let voice = (self.live_audio.as_ref()).is_some_and(|l| l.active.load(Relaxed));
        let motion = self.vmc.as_ref().is_some_and(|(receiver, fallback_after)| {
            let pose = receiver.state.pose.lock();
            let pose = pose.unwrap_or_else(|e| e.into_inner());
            pose.drives(*fallback_after, false)
        });
        rundown.is_some_and(|r| r.paused) || voice || motion
    }

    /// Voice and VMC packets received so far.
    fn takeover_packets(&self) -> u64 {
        let vmc = self
            .vmc
            .as_ref()
            .map_or(0, |(r, _)| r.state.packets.load(Relaxed));
        let voice = self
            .live_audio
            .as_ref()
            .map_or(0, |l| l.packets.load(Relaxed));
        vmc + voice
    }

    /// A takeover whose person went quiet (no voice, no motion for `[takeover]
    /// idle_seconds`: their tool died, the network dropped) hands the host back.
    fn hand_back_when_idle(&mut self, app: &mut App, rundown: &mut Rundown) {
        if !rundown.paused {
            self.takeover = None;
            return;
        }
        let Some(idle) = self.takeover_idle else {
            return;
        };
        let packets = self.takeover_packets();
        let now = std::time::Instant::now();
        let (seen, moved_at) = *self.takeover.get_or_insert((packets, now));
        if packets != seen {
            self.takeover = Some((packets, now));
        } else if now.duration_since(moved_at) >= idle {
            warn!(
                "takeover: no voice or motion for {:.0} s; the host goes back to the script",
                idle.as_secs_f64()
            );
            takeover(app, rundown, self.live_audio.as_deref(), false);
            self.takeover = None;
        }
    }
}

/// The scene's feed (kind `Api`) that the room's figures are pushed to.
const ROOM_FEED: &str = "room";

/// The token that mutating API calls need, from the variable `[api] token_env` names.
fn api_token(show: &ShowConfig) -> Option<String> {
    let token = std::env::var(&show.api.token_env)
        .ok()
        .filter(|t| !t.is_empty());
    if token.is_none() {
        warn!(
            "control API: ${} is not set, so calls that change the show are refused",
            show.api.token_env
        );
    }
    token
}

/// The secret signed event batches are checked with, from `[events] secret_env`.
fn webhook_secret(show: &ShowConfig) -> Option<String> {
    let name = show.events.secret_env.as_deref()?;
    let secret = std::env::var(name).ok().filter(|s| !s.is_empty());
    if secret.is_none() {
        warn!("events: ${name} is not set, so signed webhooks are refused");
    }
    secret
}

/// The names API requests are checked against.
fn known_names(show: &ShowConfig, scene: &LoadedScene, takeover_ready: bool) -> Known {
    let mut known = Known {
        clips: clip_names(scene),
        set: scene.description.names(),
        language: show.language.clone(),
        takeover_ready,
        has_model: show.llm.url.is_some(),
        ..Default::default()
    };
    known.refresh_plan(&show.plan);
    known
}

/// Every clip the host can play by name: the avatar's own and the scene's mocap clips.
fn clip_names(scene: &LoadedScene) -> Vec<String> {
    let Some(p) = &scene.description.presenter else {
        return Vec::new();
    };
    let mut names =
        crate::mocap::skeleton::animation_names(&scene.asset_path(&p.asset)).unwrap_or_default();
    names.extend(p.clips.iter().map(|c| c.name.clone()));
    names
}

/// Carries out one control-API request between frames.
fn apply_command(
    command: ApiCommand,
    app: &mut App,
    rundown: Option<&mut Rundown>,
    live_audio: Option<&LiveAudio>,
    now: f64,
) {
    info!("API: {command:?}");
    match (command, rundown) {
        (ApiCommand::Gesture { clip, speed }, _) => {
            app.world_mut()
                .resource_mut::<GestureRequests>()
                .0
                .push(Gesture { clip, speed });
        }
        (_, None) => {}
        (ApiCommand::Say(text), Some(r)) => {
            r.say(text, Origin::Say);
        }
        (ApiCommand::Events(events), Some(r)) => r.events(events, now),
        (ApiCommand::NextSegment, Some(r)) => r.jump(Jump::NextSegment),
        (ApiCommand::Product(id), Some(r)) => r.jump(Jump::Product(id)),
        (ApiCommand::Camera(name), Some(r)) => r.director.cut_to(name, now),
        (ApiCommand::FlashSale { product, seconds }, Some(r)) => {
            r.jump(Jump::FlashSale { product, seconds })
        }
        (ApiCommand::Comment { user, text }, Some(r)) => {
            r.events(vec![RoomEvent::Comment { user, text }], now);
        }
        (ApiCommand::Takeover(on), Some(r)) => takeover(app, r, live_audio, on),
        (ApiCommand::Reload(plan), Some(r)) => r.director.reload(*plan),
    }
}

/// A person takes the host over (the script pauses, live capture and voice lead) or
/// hands back.
fn takeover(app: &mut App, rundown: &mut Rundown, live_audio: Option<&LiveAudio>, on: bool) {
    rundown.paused = on;
    if let Some(live) = live_audio {
        live.set_active(on);
    }
    if let Some(mut live) = app.world_mut().get_resource_mut::<LiveCapture>() {
        live.hold = on;
    }
    info!(
        "{}",
        if on {
            "takeover: the script pauses; the host follows live capture"
        } else {
            "takeover over: the script resumes"
        }
    );
}

/// A program as `/status` shows it: name, picture size, language.
fn program_status(show: &ShowConfig) -> crate::api::ProgramStatus {
    crate::api::ProgramStatus {
        name: show.program.clone(),
        width: show.video.width,
        height: show.video.height,
        language: show.language.clone(),
    }
}
