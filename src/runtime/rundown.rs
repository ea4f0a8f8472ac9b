//! The rundown in the render loop: the director writes lines, the speaker voices them, the
//! scheduler puts them on the media clock, the audit log records them, and what is on air
//! is handed to the graphics and the camera. Also watches the show file for edits.

use super::alerts::AlertSender;
use super::echo::Echo;
use super::room::{Drafting, ModelHost};
use crate::config::CommentsConfig;
use crate::config::ShowConfig;
use crate::media::{MediaClock, SAMPLE_RATE};
use crate::show::audit::{AuditLog, Filtered, Said};
use crate::show::compliance::{Filter, Verdict};
use crate::show::events::RoomEvent;
use crate::show::reactions::Reactions;
use crate::show::room::{CommentCounts, CommentGate, RoomCounts, clean};
use crate::show::stock::StockLedger;
use crate::show::tally::{Counts, Tally};
use crate::show::{Director, Jump, Market, OnAir, host};
use crate::speech::{Origin, Request, ScheduledLine, Scheduler, ScriptLine, Speaker, SpeakerIo};
use crossbeam_channel::Sender;
use std::time::Duration;
use tracing::{debug, info, warn};

/// Drives the show's rundown: one per show, stepped once per rendered frame.
pub struct Rundown {
    pub director: Director,
    scheduler: Scheduler,
    script: Sender<ScriptLine>,
    requests: Sender<Request>,
    /// Lines someone waits for ([`Origin::is_awaited`]: answers, `/say`) asked for and not
    /// yet on the timeline, and where the last one put there starts (samples).
    unsaid: usize,
    asked_start: Option<u64>,
    _speaker: Speaker,
    audit: Option<AuditLog>,
    clock: MediaClock,
    day: DayClock,
    /// The operator has taken over: the script pauses; requests still play.
    pub paused: bool,
    /// Offline (`render`): wait for speech rather than let the picture run ahead of it.
    pub offline: bool,
    /// In `stream`: the wall clock (Unix seconds) at which media time 0 was due, so the
    /// audit log says when a line reached the stream, not when it was drawn (up to
    /// `video.render_ahead_ms` before).
    pub wall_origin: Option<f64>,
    /// Which comments get answers.
    comments: CommentGate,
    /// Media seconds of the frame last stepped.
    last_now: f64,
    limits: CommentsConfig,
    /// The console's feed, which shows each line as it goes on air (with the API).
    pub feed: Option<crate::api::Feed>,
    /// Every line passes it before synthesis.
    filter: Filter,
    /// The room's events: thank-yous, the tally per product and minute, the counts.
    reactions: Reactions,
    tally: Tally,
    room: RoomCounts,
    /// Where the stock left after orders is kept, and whether the last write failed
    /// (warned once until one succeeds).
    stock_file: Option<std::path::PathBuf>,
    stock_unwritten: bool,
    /// Where a product selling out is raised, so someone restocks it.
    alerts: Option<AlertSender>,
    /// Events taken in the current second of media time, for `[events] per_second`.
    rate: (u64, u32),
    per_second: u32,
    /// The language model, when the show has one, and the lines it drafts ahead.
    model: Option<ModelHost>,
    drafting: Option<Drafting>,
    /// Media seconds at which the last line put on the timeline ends.
    last_end: f64,
    /// Programs speaking other languages in step, and their lines put on the timeline
    /// since [`Rundown::take_echoed`] (program index among them, line).
    echoes: Vec<Echo>,
    echoed: Vec<(usize, ScheduledLine)>,
    /// Where the longest scripted line of the programs in step ends, and the pause after
    /// it (samples).
    step_end: u64,
    pause: u64,
}

impl Rundown {
    pub fn new(
        show: &ShowConfig,
        clock: MediaClock,
        speaker: Speaker,
        io: SpeakerIo,
        to_mixer: Sender<ScheduledLine>,
        day: DayClock,
    ) -> Self {
        let scheduler = Scheduler::new(io.ready, to_mixer, show.voice.pause_seconds, lead(clock))
            .with_requests(io.urgent);
        let c = &show.compliance;
        let audit = c.audit_log.as_ref().and_then(|path| {
            AuditLog::open(path, c.audit_max_mb as u64 * 1024 * 1024, c.audit_keep)
                .map_err(|e| {
                    warn!(
                        "audit log {}: {e}; what the host says is not recorded",
                        path.display()
                    )
                })
                .ok()
        });
        let mut director = Director::new(
            show.plan.clone(),
            &show.language,
            show.voice.pause_seconds as f64,
        );
        if let Some(path) = &show.events.stock_file {
            match StockLedger::read(path) {
                Ok(ledger) => director.keep_stock(ledger),
                Err(e) => warn!("{e}; the stock is counted from the show file's figures"),
            }
        }
        Self {
            director,
            stock_file: show.events.stock_file.clone(),
            stock_unwritten: false,
            alerts: None,
            scheduler,
            script: io.script,
            requests: io.requests,
            unsaid: 0,
            asked_start: None,
            _speaker: speaker,
            audit,
            clock,
            day,
            paused: false,
            offline: false,
            wall_origin: None,
            comments: CommentGate::new(show.comments.clone()),
            last_now: 0.0,
            limits: show.comments.clone(),
            feed: None,
            filter: Filter::new(&show.compliance),
            reactions: Reactions::new(show.reactions.clone()),
            tally: Tally::new(show.events.tally_dir.clone()),
            room: RoomCounts::default(),
            rate: (0, 0),
            per_second: show.events.per_second,
            model: ModelHost::start(&show.llm),
            drafting: Drafting::start(show),
            last_end: 0.0,
            echoes: Vec::new(),
            echoed: Vec::new(),
            step_end: 0,
            pause: (show.voice.pause_seconds.max(0.0) * SAMPLE_RATE as f32) as u64,
        }
    }

    /// The index of the echo for `market`, if there is one already.
    pub fn echo_of(&self, market: &Market) -> Option<usize> {
        self.echoes.iter().position(|e| e.market == *market)
    }

    /// Lines for `market` in step with this one, voiced by `speaker` and sent to
    /// `to_mixer`; returns the echo's index (see [`Rundown::take_echoed`]).
    pub fn add_echo(
        &mut self,
        market: Market,
        speaker: Speaker,
        io: SpeakerIo,
        to_mixer: Sender<ScheduledLine>,
    ) -> usize {
        let lead = lead(self.clock);
        (self.echoes).push(Echo::new(market, speaker, io, to_mixer, lead));
        let markets = self.echoes.iter().map(|e| e.market.clone()).collect();
        self.director.echo_in(markets);
        self.echoes.len() - 1
    }

    /// Another program hears echo `index`'s lines too (a second program in its market).
    pub fn echo_also_to(&mut self, index: usize, to_mixer: Sender<ScheduledLine>) {
        if let Some(echo) = self.echoes.get_mut(index) {
            echo.also_to(to_mixer);
        }
    }

    /// A program saying the same lines beside this one: they go to `to_mixer` too.
    pub fn also_to(&mut self, to_mixer: Sender<ScheduledLine>) {
        self.scheduler.also_to(to_mixer);
    }

    /// Lines of the echoes put on the timeline since the last call, with the index of
    /// their echo.
    pub fn take_echoed(&mut self) -> Vec<(usize, ScheduledLine)> {
        std::mem::take(&mut self.echoed)
    }

    /// What is on air for a program in `market`.
    pub fn on_air_in(&self, market: &Market) -> OnAir {
        self.director.on_air_in(market)
    }

    /// Sends the line just written in each echo language to its program, screened.
    fn write_echoes(&mut self, serial: u64, now: f64) {
        for (i, text) in self.director.take_echoes().into_iter().enumerate() {
            let Some(text) = text.and_then(|t| self.screen(&t, "script", now)) else {
                continue;
            };
            if let Some(echo) = self.echoes.get_mut(i) {
                echo.write(serial, text, now);
            }
        }
    }

    /// Schedules the main line and the echoes' lines in step: the main scripted line
    /// waits for theirs to be ready, they start with it, and the next waits for the
    /// longest of them.
    fn schedule_in_step(&mut self, samples: u64, now: f64) -> Option<ScheduledLine> {
        let offline = self.offline && self.scheduler.is_free(samples);
        self.scheduler.hold = false;
        for echo in &mut self.echoes {
            self.scheduler.hold |= echo.holds(now, offline);
        }
        let line = self.scheduler.tick(samples);
        if let Some(line) = &line
            && let Origin::Script(serial) = line.line.origin
        {
            self.echoes.iter_mut().for_each(|e| e.release(serial));
            self.step_end = self.step_end.max(line.end());
        }
        for (i, echo) in self.echoes.iter_mut().enumerate() {
            if let Some(echoed) = echo.tick(samples) {
                self.step_end = self.step_end.max(echoed.end());
                self.echoed.push((i, echoed));
            }
        }
        if !self.echoes.is_empty() {
            self.scheduler.floor = self.step_end + self.pause;
        }
        line
    }

    /// Plays the rundown once (a short video): no more lines after its last segment.
    pub fn play_once(&mut self) {
        self.director.play_once();
    }

    /// When a rundown played once is over: the media second its last line ends.
    pub fn ended_at(&self) -> Option<f64> {
        (self.director.ended() && !self.director.has_line_in_flight()).then_some(self.last_end)
    }

    /// Where the model's failures and products selling out are raised as alerts.
    pub fn set_alerts(&mut self, alerts: AlertSender) {
        if let Some(model) = self.model.as_mut() {
            model.alerts = Some(alerts.clone());
        }
        self.alerts = Some(alerts);
    }

    /// One frame: write the next line if one is due, schedule what is ready. Returns the
    /// line that was put on the timeline, if any.
    pub fn tick(&mut self, frame: u64) -> Option<ScheduledLine> {
        let now = frame as f64 / self.clock.fps as f64;
        let minute = self.day.minute(now);
        if !self.paused
            && let Some(mut line) = self.director.next_line(now, minute)
        {
            match self.screen(&line.text, "script", now) {
                Some(text) => {
                    line.text = text;
                    let serial = line.serial;
                    let _ = self.script.send(line);
                    self.write_echoes(serial, now);
                }
                None => {
                    self.director.take_echoes();
                    self.director.skipped(line.serial);
                }
            }
        }
        self.room_tick(frame, now);
        let samples = self.clock.samples_for_frames(frame);
        if self.offline
            && self.director.has_line_in_flight()
            && self.scheduler.is_free(samples)
            && !self.scheduler.wait_for_ready(Duration::from_secs(60))
        {
            warn!("the speech engine gave no line within 60 s; the render goes on without it");
        }
        let line = self.schedule_in_step(samples, now)?;
        if line.line.origin.is_awaited() {
            self.unsaid = self.unsaid.saturating_sub(1);
            self.asked_start = self.asked_start.max(Some(line.start));
        }
        let start = line.start as f64 / SAMPLE_RATE as f64;
        let end = line.end() as f64 / SAMPLE_RATE as f64;
        self.last_end = self.last_end.max(end);
        match line.line.origin {
            Origin::Script(serial) => {
                if line.line.samples.is_empty() {
                    self.director.skipped(serial);
                }
                self.director.started(serial, start, end, minute);
            }
            Origin::Comment => self.comments.aired(start, end - start),
            Origin::Model | Origin::Holding => self.comments.airtime(start, end - start),
            _ => {}
        }
        if let Some(feed) = &self.feed
            && !line.line.samples.is_empty()
        {
            feed.push(
                crate::api::FeedKind::Said,
                line.line.origin.label(),
                &line.line.text,
            );
        }
        if let Some(audit) = self.audit.as_mut()
            && !line.line.samples.is_empty()
        {
            let on_air = self.director.on_air();
            let at = match self.wall_origin {
                Some(origin) => origin + start,
                None => crate::api::unix_now() + (start - now).max(0.0),
            };
            audit.record(&Said {
                at,
                local: &local_stamp(&self.day.at(start)),
                media: start,
                seconds: end - start,
                origin: line.line.origin.label(),
                text: &line.line.text,
                segment: on_air.kind.map(|k| k.label()),
                product: on_air.product.as_ref().map(|p| p.id.as_str()),
            });
        }
        Some(line)
    }

    /// The show's local time `now` (media seconds) and its zone's name, for `/status`.
    pub fn local_time(&self, now: f64) -> (String, String) {
        (local_stamp(&self.day.at(now)), self.day.zone_name())
    }

    pub fn on_air(&self) -> &OnAir {
        self.director.on_air()
    }

    /// Says `text` ahead of the script, once it passes the compliance filter; false when
    /// the filter kept it off air.
    pub fn say(&mut self, text: String, origin: Origin) -> bool {
        let Some(text) = self.screen(&text, origin.label(), self.last_now) else {
            if origin == Origin::Comment {
                // The answer the room's limits were holding a place for will not come.
                self.comments.finished();
            }
            return false;
        };
        let sent = self.requests.send(Request {
            text,
            origin,
            voice: None,
        });
        self.unsaid += usize::from(sent.is_ok() && origin.is_awaited());
        true
    }

    /// Whether, at `frame`, a line someone waits for (an answer owed to a viewer, a
    /// `/say`) could start within `within` seconds (one is on its way and nothing on the
    /// timeline keeps it back longer), or has been put on the timeline and not begun.
    /// `stream` then renders in step with the clock, so that such a line starts when it is
    /// ready, not after the frames drawn ahead (`video.render_ahead_ms`); behind a longer
    /// line the lead costs it nothing.
    pub fn awaits_line(&self, frame: u64, within: f64) -> bool {
        let now = self.clock.samples_for_frames(frame);
        let owed = self.unsaid > 0 || self.comments.waiting() > 0;
        let within = (within.max(0.0) * SAMPLE_RATE as f64) as u64;
        let coming = owed && self.scheduler.free_within(now, within);
        coming || self.asked_start.is_some_and(|start| now <= start)
    }

    /// The compliance filter's verdict on a line: its text as it may be said, or `None`.
    /// Whatever it changed goes to the audit log with the rule.
    fn screen(&mut self, text: &str, origin: &str, now: f64) -> Option<String> {
        let (after, changes, filtered) = match self.filter.check(text) {
            Verdict::Clean => return Some(text.to_string()),
            Verdict::Rewritten { text, changes } => (Some(text), changes, "rewritten"),
            Verdict::Skipped { changes } => (None, changes, "skipped"),
        };
        if after.is_some() {
            self.room.rewritten += 1;
        } else {
            self.room.skipped += 1;
        }
        info!(
            "compliance: {filtered} {origin} line {text:?} → {after:?} ({:?})",
            changes
        );
        if let Some(audit) = self.audit.as_mut() {
            audit.record(&Filtered {
                at: crate::api::unix_now(),
                local: &local_stamp(&self.day.at(now)),
                filtered,
                origin,
                before: text,
                after: after.as_deref(),
                changes: &changes,
            });
        }
        after
    }

    pub fn jump(&mut self, jump: Jump) {
        self.director.request(jump);
    }

    /// Answers a viewer's comment from the FAQ; false when nothing matched or the room's
    /// limits say not now (see [`CommentGate`]). The viewer's name and text are cleaned of
    /// cue and template syntax and cut to length before they go anywhere near a line.
    pub fn comment(&mut self, user: &str, text: &str, now: f64) -> bool {
        let user = self
            .viewer_name(user)
            .unwrap_or_else(|| "friend".to_string());
        let text = clean(text, self.limits.text_chars);
        if self.filter.is_abusive(&text) {
            self.comments.counts.abusive += 1;
            debug!("comment from {user:?} not read out: abusive words");
            return false;
        }
        let Some(question) = self.director.question(&text) else {
            return self.ask_the_model(&user, &text, now);
        };
        if let Err(why) = self.comments.admit(&user, question, now) {
            debug!("comment from {user:?} not answered now: {why:?}");
            return false;
        }
        let answer = self
            .director
            .answer_to(question, &user, &text, self.day.minute(now));
        info!("comment from {user:?}: {text:?} → {answer:?}");
        self.say(answer, Origin::Comment)
    }

    /// A question no FAQ entry answers goes to the model (when there is one), within the
    /// room's limits; one answer per repeated question.
    fn ask_the_model(&mut self, user: &str, text: &str, now: f64) -> bool {
        if self.model.is_none() {
            return false;
        }
        if let Err(why) = self.comments.admit(user, question_key(text), now) {
            debug!("question from {user:?} not answered now: {why:?}");
            return false;
        }
        let language = self.director.on_air().language.clone();
        let messages = host::reply_messages(&self.director, user, text, &language);
        let asked = self
            .model
            .as_mut()
            .is_some_and(|m| m.ask(messages, user, &language));
        if !asked {
            self.comments.finished();
            return false;
        }
        info!("comment from {user:?}: {text:?} → asked the language model");
        true
    }

    /// The room's events, in arrival order: comments are answered, orders lower the stock,
    /// the rest are thanked in batches; all are counted per product and minute.
    pub fn events(&mut self, events: Vec<RoomEvent>, now: f64) {
        let local = local_stamp(&self.day.at(now));
        for event in events {
            let second = now as u64;
            if self.rate.0 != second {
                self.rate = (second, 0);
            }
            if self.rate.1 >= self.per_second {
                self.room.over_rate += 1;
                continue;
            }
            self.rate.1 += 1;
            *self
                .room
                .events
                .entry(event.kind().to_string())
                .or_default() += 1;
            let on_air = self
                .director
                .on_air()
                .product
                .as_ref()
                .map(|p| p.id.clone());
            let product = match &event {
                RoomEvent::Order { product, .. } => Some(product.clone()),
                _ => on_air,
            };
            if self.take(&event, now) {
                self.tally.record(&event, product.as_deref(), &local);
            }
        }
        self.write_stock();
    }

    /// Tells whoever watches the show that `product` is sold out: the host stops pitching
    /// it until its `stock` in the show file is raised.
    fn alert_sold_out(&self, product: &str) {
        let detail = format!(
            "product `{product}` is sold out: the host no longer pitches it; raise its `stock` \
             in the show file to sell it again"
        );
        warn!("{detail}");
        if let Some(alerts) = &self.alerts {
            alerts.raise("sold_out", &detail);
        }
    }

    /// Writes the stock ledger when orders changed it (once per batch of events).
    fn write_stock(&mut self) {
        let Some(path) = &self.stock_file else { return };
        let Some(ledger) = self.director.stock_to_keep() else {
            return;
        };
        match ledger.write(path) {
            Ok(()) => self.stock_unwritten = false,
            Err(e) if !self.stock_unwritten => {
                warn!("{e}; a restart would count the stock from the show file's figures");
                self.stock_unwritten = true;
            }
            Err(_) => {}
        }
    }

    /// Acts on one event; false for one that counts for nothing (an order of a product
    /// not in the catalog, kept out of the tally so a bad source cannot fill it).
    fn take(&mut self, event: &RoomEvent, now: f64) -> bool {
        let name = self.viewer_name(event.user());
        match event {
            RoomEvent::Comment { user, text } => {
                self.comment(user, text, now);
            }
            RoomEvent::Order {
                product, quantity, ..
            } => {
                let who = name.unwrap_or_else(|| "friend".into());
                let was_out = self.director.none_left(product);
                match self.director.sold(product, *quantity, &who, now) {
                    Some(left) => {
                        info!("order: {who} bought {quantity} × {product} (stock left: {left:?})");
                        if left == Some(0) && !was_out {
                            self.alert_sold_out(product);
                        }
                    }
                    None => {
                        self.room.unknown_products += 1;
                        debug!("order for {product:?}, which is not in the catalog (counted)");
                        return false;
                    }
                }
            }
            _ => {
                let language = self.director.on_air().language.clone();
                self.reactions.push(event, name.as_deref(), now, &language);
            }
        }
        true
    }

    /// A viewer's name as it may be read out: cleaned, and `None` when abusive or empty.
    fn viewer_name(&self, user: &str) -> Option<String> {
        let name = clean(user, self.limits.name_chars);
        (!name.is_empty() && !self.filter.is_abusive(&name)).then_some(name)
    }

    /// Per frame: thank-yous that are due, the model's sentences and holding lines, and
    /// the tally's minute.
    fn room_tick(&mut self, frame: u64, now: f64) {
        self.last_now = now;
        if frame.is_multiple_of(self.clock.fps.max(1) as u64) {
            self.tally.roll(&local_stamp(&self.day.at(now)));
        }
        let language = self.director.on_air().language.clone();
        if !self.paused
            && let Some(line) = self.reactions.due(now, &language)
            && self.say(line, Origin::Reaction)
        {
            self.room.thanks += 1;
        }
        if let Some(drafting) = &self.drafting {
            for d in drafting.ready() {
                info!(
                    "language model: {} lines drafted for segment {} ({})",
                    d.lines.len(),
                    d.segment + 1,
                    d.language
                );
                self.director.add_drafted(d.segment, &d.language, d.lines);
            }
        }
        let Some(model) = self.model.as_mut() else {
            return;
        };
        let news = model.poll();
        for _ in 0..news.finished {
            self.comments.finished();
        }
        for (line, origin) in news.lines {
            self.say(line, origin);
        }
    }

    /// What the room did, for `/status` and `/metrics`.
    pub fn room_counts(&self) -> RoomCounts {
        let mut room = self.room.clone();
        room.llm = self.model.as_ref().map(|m| m.counts.clone());
        room.products = self.tally.totals.clone();
        room.stock = self.director.stock();
        room
    }

    /// The room's figures as a twin feed document: totals, this minute, by product.
    pub fn room_document(&self) -> serde_json::Value {
        serde_json::json!({
            "total": Counts::sum_of(&self.tally.totals),
            "this_minute": Counts::sum_of(self.tally.this_minute()),
            "products": self.tally.totals,
        })
    }

    /// Writes the tally's last minute (the show is stopping).
    pub fn finish(&mut self) {
        self.tally.flush();
    }

    /// What happened to the comments so far.
    pub fn comment_counts(&self) -> CommentCounts {
        self.comments.counts
    }
}

/// How far ahead of the frame being rendered a line may start. Two frames cover the
/// hand-off: a line is sent before the frame at `now` is rendered, and the encoder makes
/// that frame's audio only after receiving it.
fn lead(clock: MediaClock) -> f32 {
    (2.0 / clock.fps as f32).max(0.1)
}

/// The room's limits key a question by its words (case, spaces and punctuation aside),
/// kept apart from the FAQ's entry numbers.
fn question_key(text: &str) -> usize {
    let words: String = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    (crate::voice::fnv1a(words.bytes()) as usize) | (1 << 48)
}

/// Local time for the schedule, in the show's time zone: the instant the show started (or
/// the one `--clock` names), advanced by the media clock. Local times are computed by the
/// zone's own rules, so a run across midnight or a daylight-saving change keeps the
/// schedule on the clock people in that zone read.
#[derive(Debug, Clone)]
pub struct DayClock {
    start: jiff::Timestamp,
    zone: jiff::tz::TimeZone,
}

impl DayClock {
    pub fn now_in(zone: jiff::tz::TimeZone) -> Self {
        Self {
            start: jiff::Timestamp::now(),
            zone,
        }
    }

    /// Starts today (in `zone`) at `minute` past midnight: rehearsals with `--clock`.
    pub fn starting_at(minute: u32, zone: jiff::tz::TimeZone) -> Self {
        let today = jiff::Timestamp::now()
            .to_zoned_datetime(zone.clone())
            .date();
        Self::on(today, minute, zone)
    }

    /// Starts on `date` at `minute` past midnight, local time in `zone`.
    pub fn on(date: jiff::civil::Date, minute: u32, zone: jiff::tz::TimeZone) -> Self {
        let minute = minute % (24 * 60);
        let time = jiff::civil::Time::constant((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        let start = (date.to_datetime(time).to_zoned_datetime(zone.clone()))
            .map_or_else(|_| jiff::Timestamp::now(), |z| z.timestamp());
        Self { start, zone }
    }

    /// The local date and time `media_seconds` into the show.
    pub fn at(&self, media_seconds: f64) -> jiff::ZonedDateTime {
        let since = jiff::SignedDuration::from_secs_f64(media_seconds.clamp(0.0, 1e10));
        let now = self.start.checked_add(since).unwrap_or(self.start);
        now.to_zoned_datetime(self.zone.clone())
    }

    /// Minutes since local midnight, `media_seconds` into the show.
    pub fn minute(&self, media_seconds: f64) -> u32 {
        let local = self.at(media_seconds);
        local.hour() as u32 * 60 + local.minute() as u32
    }

    /// The zone's IANA name (`Asia/Shanghai`), or its offset where it has none.
    pub fn zone_name(&self) -> String {
        match self.zone.iana_name() {
            Some(name) => name.to_string(),
            None => self.at(0.0).strftime("UTC%:z").to_string(),
        }
    }
}

/// A local time as `/status` and the audit log give it: RFC 3339 with the zone's offset.
pub fn local_stamp(local: &jiff::ZonedDateTime) -> String {
    local.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use jiff::tz::TimeZone;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    /// A line someone waits for (here `/say`) draws the stream in step from when it is
    /// asked for until its first frame; a thank-you does not.
    #[test]
    fn a_line_asked_for_is_awaited_until_it_begins() {
        let dir = std::env::temp_dir().join(format!("twincast-awaits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("room.ron"), "").unwrap(); // checked to exist, not read
        let text = "scene = \"room.ron\"\n[voice]\nengine = \"no-such-engine\"\n\
                    [compliance]\naudit = false\n[events]\ntally = false\n";
        let show = ShowConfig::parse(&dir.join("show.toml"), text).unwrap();
        // No engine: every line comes back silent, at once.
        let (speaker, io) = Speaker::spawn(show.voice.clone(), None, Default::default());
        let (to_mixer, _heard) = crossbeam_channel::unbounded();
        let clock = MediaClock::new(30);
        let day = DayClock::starting_at(0, TimeZone::UTC);
        let mut rundown = Rundown::new(&show, clock, speaker, io, to_mixer, day);
        assert!(!rundown.awaits_line(0, 0.5));
        rundown.say("Thanks for the roses!".into(), Origin::Reaction);
        assert!(!rundown.awaits_line(0, 0.5), "a thank-you keeps the lead");
        rundown.say("Back in a minute.".into(), Origin::Say);
        let mut frame = 0;
        let start = loop {
            assert!(rundown.awaits_line(frame, 0.5), "frame {frame}");
            frame += 1;
            assert!(frame < 200, "the line never came back");
            match rundown.tick(frame) {
                Some(line) if line.line.origin == Origin::Say => break line.start,
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let first = (frame..)
            .find(|f| clock.samples_for_frames(*f) > start)
            .unwrap();
        assert!(
            first > frame,
            "the line starts after the frame that put it on"
        );
        assert!((frame..first).all(|f| rundown.awaits_line(f, 0.5)));
        assert!(!rundown.awaits_line(first, 0.5));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_day_clock_crosses_midnight_in_the_shows_zone() {
        let clock = DayClock::on(date(2026, 11, 29), 23 * 60 + 50, zone("Asia/Shanghai"));
        assert_eq!(clock.minute(0.0), 23 * 60 + 50);
        assert_eq!(clock.minute(10.0 * 60.0), 0);
        assert_eq!(clock.minute(70.0 * 60.0), 60);
        // 00:00 in Shanghai is 16:00 UTC the day before, whatever this machine's zone.
        assert_eq!(local_stamp(&clock.at(600.0)), "2026-11-30T00:00:00+08:00");
        assert_eq!(
            clock.at(600.0).timestamp().to_string(),
            "2026-11-29T16:00:00Z"
        );
        assert_eq!(clock.zone_name(), "Asia/Shanghai");
    }

    #[test]
    fn the_day_clock_follows_daylight_saving_changes() {
        let new_york = zone("America/New_York");
        // Spring forward (2026-03-08, 02:00 → 03:00): three hours after 23:30 it is 03:30.
        let spring = DayClock::on(date(2026, 3, 7), 23 * 60 + 30, new_york.clone());
        assert_eq!(spring.minute(2.0 * 3600.0), 60 + 30);
        assert_eq!(spring.minute(3.0 * 3600.0), 3 * 60 + 30);
        assert_eq!(
            local_stamp(&spring.at(3.0 * 3600.0)),
            "2026-03-08T03:30:00-04:00"
        );
        // Fall back (2026-11-01, 02:00 → 01:00): 01:30 comes twice, an hour apart.
        let fall = DayClock::on(date(2026, 11, 1), 30, new_york);
        assert_eq!(fall.minute(3600.0), 90);
        assert_eq!(fall.minute(2.0 * 3600.0), 90);
        assert_eq!(
            local_stamp(&fall.at(2.0 * 3600.0)),
            "2026-11-01T01:30:00-05:00"
        );
        assert_eq!(fall.minute(3.0 * 3600.0), 2 * 60 + 30);
    }

    #[test]
    fn a_rehearsal_clock_starts_at_its_time_of_day() {
        let clock = DayClock::starting_at(3 * 60, zone("Europe/Berlin"));
        assert_eq!(clock.minute(0.0), 180);
        assert_eq!(clock.minute(59.0), 180);
        assert_eq!(clock.minute(61.0), 181);
        // 24:00 is midnight.
        assert_eq!(DayClock::starting_at(24 * 60, TimeZone::UTC).minute(0.0), 0);
    }
}
