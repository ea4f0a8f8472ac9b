//! The show director: walks the rundown on the media clock and writes the host's next line.
//!
//! It keeps exactly one scripted line in flight (being synthesised, or waiting for the
//! scheduler), so what it writes is current when it is said — a countdown read out, the
//! product just switched by the operator — while speech is still ready in time. What is
//! on screen changes when a line of a new segment *starts playing*, not when it is written,
//! so the graphics and the camera cut with the voice.

use super::stock::StockLedger;
use crate::config::plan::{
    LineSpec, Product, ScheduleEntry, Segment, SegmentKind, Shot, ShowPlan, Unfilled, fill_checked,
    parse_time_of_day,
};
use crate::speech::ScriptLine;
use std::collections::VecDeque;

/// What the operator asked for, applied at the next line.
#[derive(Debug, Clone, PartialEq)]
pub enum Jump {
    NextSegment,
    Product(String),
    FlashSale {
        product: Option<String>,
        seconds: Option<f64>,
    },
}

/// What the graphics and the camera show now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OnAir {
    /// Bumped on every segment change (camera shots restart).
    pub generation: u64,
    pub segment: Option<usize>,
    pub kind: Option<SegmentKind>,
    pub title: Option<String>,
    pub product: Option<Product>,
    /// Whether the product card is up: pitches, flash sales, and segments about a product.
    pub card: bool,
    /// Media time the segment went on air.
    pub since: f64,
    /// Flash sale: media time the countdown reaches zero.
    pub flash_ends: Option<f64>,
    pub language: String,
    /// The segment's camera shots, or the operator's cut ([`Director::cut_to`]).
    pub shots: Vec<Shot>,
    /// Media time the shots started: the segment's start, or the operator's cut.
    pub shots_since: f64,
    /// "Lily just bought 2": shown over the picture until `until` (media seconds).
    pub ticker: Option<Ticker>,
}

/// A short notice over the picture (a viewer's order), until a media time.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticker {
    pub text: String,
    pub until: f64,
}

/// How long the "just bought" notice stays up.
const TICKER_SECONDS: f64 = 6.0;

/// A program beside the main one as the director writes for it: its language, and its
/// catalog's prices and currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Market {
    pub language: String,
    pub currency: String,
    pub products: Vec<Product>,
}

impl Market {
    /// `product` as this market sells it (its prices), or as it is when the market's
    /// catalog lacks it. The rest (its stock, lowered by orders) is the product's own.
    fn priced(&self, product: Option<&Product>) -> Option<Product> {
        let mut priced = product?.clone();
        if let Some(own) = self.products.iter().find(|p| p.id == priced.id) {
            priced.price = own.price;
            priced.flash_price = own.flash_price;
        }
        Some(priced)
    }
}

/// Where a written line came from, remembered until it starts playing.
#[derive(Debug, Clone)]
struct Written {
    serial: u64,
    segment: usize,
    product: Option<String>,
}

/// The most operator jumps that wait for the next line.
pub const MAX_JUMPS: usize = 8;

pub struct Director {
    plan: ShowPlan,
    /// A reloaded plan, switched to at the next segment.
    pending: Option<ShowPlan>,
    default_language: String,
    segment: usize,
    line: usize,
    /// Loops through the rundown so far: picks line variants and the product rotation.
    pass: u64,
    product_override: Option<String>,
    countdown_override: Option<f64>,
    /// Operators' jumps not applied yet, in the order asked (at most [`MAX_JUMPS`]).
    jumps: std::collections::VecDeque<Jump>,
    /// The product on air sold out: its segment ends before the next line, unless an
    /// operator's jump has already left it.
    sold_out_on_air: bool,
    /// Media time the current segment went on air (its first line started).
    segment_start: Option<f64>,
    serial: u64,
    in_flight: Option<u64>,
    /// When the line in flight will start, at the earliest (the last one's end + pause).
    next_start: f64,
    pause: f64,
    written: VecDeque<Written>,
    on_air: OnAir,
    /// Lines the language model drafted while the show runs, by segment and language.
    drafted: std::collections::HashMap<(usize, String), Vec<String>>,
    /// Play the rundown once, then write no more lines (a short video's script).
    once: bool,
    ended: bool,
    /// The programs beside the main one in other markets, whose hosts say each line too.
    echo_markets: Vec<Market>,
    /// The last written line in each of those languages (`None` where it has no text).
    echoes: Vec<Option<String>>,
    /// Lines skipped for a product that lacks what they say (segment, line, language,
    /// product), each warned of once.
    skipped: std::collections::HashSet<(usize, usize, String, Option<String>)>,
    /// The stock left after orders, carried into a reloaded catalog.
    stock: StockLedger,
    /// Whether an order changed `stock` since [`Director::stock_to_keep`] last took it.
    stock_changed: bool,
    /// What was ordered of each product of the waiting catalog since it was written: a
    /// product it counts afresh (restocked, or new) takes these off its figure.
    ordered_while_waiting: std::collections::BTreeMap<String, u32>,
}

impl Director {
    /// `language`: `zh` or `en`, for names and translations outside scheduled windows.
    pub fn new(mut plan: ShowPlan, language: &str, pause_seconds: f64) -> Self {
        let mut stock = StockLedger::default();
        stock.carry(&mut plan.products);
        Self {
            plan,
            stock,
            stock_changed: false,
            ordered_while_waiting: Default::default(),
            pending: None,
            default_language: language.to_string(),
            segment: 0,
            line: 0,
            pass: 0,
            product_override: None,
            countdown_override: None,
            jumps: Default::default(),
            sold_out_on_air: false,
            segment_start: None,
            serial: 0,
            in_flight: None,
            next_start: 0.0,
            pause: pause_seconds,
            written: VecDeque::new(),
            drafted: Default::default(),
            once: false,
            ended: false,
            echo_markets: Vec::new(),
            echoes: Vec::new(),
            skipped: Default::default(),
            on_air: OnAir {
                language: language.to_string(),
                ..OnAir::default()
            },
        }
    }

    pub fn plan(&self) -> &ShowPlan {
        &self.plan
    }

    /// Goes on from the stock `ledger` kept (by an earlier run): the catalog's products
    /// whose file figures it counted from have what it says is left.
    pub fn keep_stock(&mut self, ledger: StockLedger) {
        self.stock = ledger;
        self.stock.carry(&mut self.plan.products);
        let products = &self.plan.products;
        if let Some(on_card) = self.on_air.product.as_mut() {
            let kept = products.iter().find(|p| p.id == on_card.id);
            on_card.stock = kept.and_then(|p| p.stock);
        }
    }

    /// The stock ledger, when an order changed it since the last call: to be written.
    pub fn stock_to_keep(&mut self) -> Option<&StockLedger> {
        std::mem::take(&mut self.stock_changed).then_some(&self.stock)
    }

    pub fn on_air(&self) -> &OnAir {
        &self.on_air
    }

    /// Whether a written line is waiting to be said.
    pub fn has_line_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Whether there is anything to direct.
    pub fn is_active(&self) -> bool {
        !self.plan.segments.is_empty() && !self.ended
    }

    /// Plays the rundown once: after its last segment no more lines are written.
    pub fn play_once(&mut self) {
        self.once = true;
    }

    /// Each line is written for these markets too (their language, prices and currency),
    /// for programs that say it in step with the main one (see [`Director::take_echoes`]).
    pub fn echo_in(&mut self, markets: Vec<Market>) {
        self.echo_markets = markets;
    }

    /// The line last written by [`Director::next_line`], in each echo language, once.
    pub fn take_echoes(&mut self) -> Vec<Option<String>> {
        std::mem::take(&mut self.echoes)
    }

    /// What is on air, as a program in `market` shows it: the same segment, product and
    /// countdown, with names, prices and the title of that market.
    pub fn on_air_in(&self, market: &Market) -> OnAir {
        let mut on_air = self.on_air.clone();
        let language = market.language.as_str();
        on_air.language = market.language.clone();
        on_air.product = market.priced(on_air.product.as_ref());
        let segment = on_air.segment.and_then(|i| self.plan.segments.get(i));
        on_air.title = segment.and_then(|s| s.title.as_ref()).map(|t| {
            self.fill_priced(
                t.text(language),
                (on_air.product.as_ref(), &market.currency),
                language,
                (on_air.flash_ends, on_air.since),
                None,
            )
        });
        on_air
    }

    /// Whether a rundown played once has come to its end (its last line was put on air).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Takes effect at the next segment, so a segment is never cut mid-sentence by an edit.
    /// The graphics (`[overlay]`, its currency with them) are read at start and stay: the
    /// host says prices as the product card shows them.
    pub fn reload(&mut self, mut plan: ShowPlan) {
        plan.overlay = self.plan.overlay.clone();
        // Orders since an earlier waiting edit count against a figure this one keeps.
        let figure = |plan: &ShowPlan, id: &str| {
            (plan.products.iter().find(|p| p.id == id)).and_then(|p| p.stock)
        };
        let earlier = self.pending.take();
        self.ordered_while_waiting.retain(|id, _| {
            earlier
                .as_ref()
                .is_some_and(|e| figure(e, id) == figure(&plan, id))
        });
        self.pending = Some(plan);
    }

    /// The rundown on air, and the reloaded one waiting for the next segment: what a
    /// scene edit must still have the cameras for.
    pub fn plans(&self) -> impl Iterator<Item = &ShowPlan> {
        std::iter::once(&self.plan).chain(self.pending.as_ref())
    }

    /// Queues an operator's jump for the next line. Jumps asked within one line apply in
    /// turn, so "next segment" pressed twice skips two; beyond [`MAX_JUMPS`] waiting, the
    /// oldest is dropped (a stuck button or a script in a loop cannot pile them up).
    pub fn request(&mut self, jump: Jump) {
        if self.jumps.len() == MAX_JUMPS {
            let dropped = self.jumps.pop_front();
            tracing::warn!("{MAX_JUMPS} operator jumps waiting: {dropped:?} dropped");
        }
        self.jumps.push_back(jump);
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.plan.products.iter().find(|p| p.id == id)
    }

    pub fn has_flash_sale(&self) -> bool {
        self.plan
            .segments
            .iter()
            .any(|s| s.kind == SegmentKind::FlashSale)
    }

    /// The next line to synthesise, when none is in flight and the rundown has one now.
    /// `now`: media seconds; `minute`: local minutes since midnight (for the schedule).
    pub fn next_line(&mut self, now: f64, minute: u32) -> Option<ScriptLine> {
        if self.in_flight.is_some() || !self.is_active() {
            return None;
        }
        let when = now.max(self.next_start);
        // Each turn either writes a line, waits, or moves on a segment; a rundown of
        // segments that all have nothing to say ends the search after one round.
        for _ in 0..=self.plan.segments.len() {
            let mut jumped = false;
            while let Some(jump) = self.jumps.pop_front() {
                jumped |= self.apply(jump, now);
            }
            if std::mem::take(&mut self.sold_out_on_air) && !jumped {
                self.advance(now);
                continue;
            }
            let window = self.window(minute).cloned();
            let language = window
                .as_ref()
                .and_then(|w| w.language.clone())
                .unwrap_or_else(|| self.default_language.clone());
            let segment = self.plan.segments[self.segment].clone();
            if self.line == 0 && self.segment_start.is_none() && self.is_sold_out(&segment) {
                self.advance(now);
                continue;
            }
            let lines = lines_for(&segment, &language);
            let countdown = self.countdown_override.or(segment.countdown);
            if let Some(countdown) = countdown {
                if self.segment_start.is_some_and(|s| when >= s + countdown) {
                    self.advance(now);
                    continue;
                }
                if lines.is_empty() {
                    self.enter_silent(now, minute);
                    return None;
                }
            } else if self.line >= lines.len() {
                if lines.is_empty() {
                    self.enter_silent(now, minute);
                }
                let start = self.segment_start.unwrap_or(now);
                if now < start + segment.seconds {
                    return None;
                }
                self.advance(now);
                continue;
            }
            let index = self.line % lines.len();
            self.line += 1;
            let template = &self.template(&segment, &language, index);
            let product = self.product_for(self.segment, minute).cloned();
            // The countdown starts with the segment's first line: this one, if none yet.
            let ends = countdown.map(|c| self.segment_start.unwrap_or(when) + c);
            let currency = &self.plan.overlay.currency;
            let filled = self.try_fill_priced(
                template,
                (product.as_ref(), currency),
                &language,
                (ends, when),
                None,
            );
            let text = match filled {
                Ok(text) => text,
                Err(unfilled) => {
                    self.skip_line((index, &language), product.as_ref(), &unfilled);
                    self.enter_silent(now, minute);
                    continue;
                }
            };
            self.echoes = self.echoes_of(&segment, index, product.as_ref(), (ends, when));
            self.note_written(product.map(|p| p.id));
            return Some(ScriptLine {
                text,
                voice: window.and_then(|w| w.voice),
                serial: self.serial,
            });
        }
        None
    }

    /// Line `index` of `segment` in each other market's language and prices, where the
    /// segment has lines there and the product can fill it (else `None`: not said there).
    fn echoes_of(
        &self,
        segment: &Segment,
        index: usize,
        product: Option<&Product>,
        (ends, when): (Option<f64>, f64),
    ) -> Vec<Option<String>> {
        (self.echo_markets.iter())
            .map(|market| {
                let other = market.language.as_str();
                let count = lines_for(segment, other).len();
                let template = (count > 0).then(|| self.template(segment, other, index % count))?;
                let priced = market.priced(product);
                let product = (priced.as_ref(), market.currency.as_str());
                (self
                    .try_fill_priced(&template, product, other, (ends, when), None)
                    .ok())
                .filter(|t| !t.trim().is_empty())
            })
            .collect()
    }

    /// A line of the current segment (about `product`) is on its way: the next serial in
    /// flight, and a note of it among the last few written.
    fn note_written(&mut self, product: Option<String>) {
        self.serial += 1;
        self.in_flight = Some(self.serial);
        self.written.push_back(Written {
            serial: self.serial,
            segment: self.segment,
            product,
        });
        if self.written.len() > 8 {
            self.written.pop_front();
        }
    }

    /// Lines the model drafted for segment `index` in `language` (filtered), said in turn
    /// with the file's own from now on.
    pub fn add_drafted(&mut self, index: usize, language: &str, lines: Vec<String>) {
        if index < self.plan.segments.len() && !lines.is_empty() {
            self.drafted.insert((index, language.to_string()), lines);
        }
    }

    /// The template of line `index` of `segment`: the file's own on even passes, a drafted
    /// one (approved `[[drafts]]`, then the model's live ones) on odd passes, and always a
    /// drafted one where the file has no lines in `language`.
    fn template(&self, segment: &Segment, language: &str, index: usize) -> String {
        let lines = lines_for(segment, language);
        let variants = lines[index].variants();
        let pass = self.pass as usize;
        let drafted: Vec<&String> = (self.plan.drafts.iter())
            .filter(|d| d.segment == self.segment + 1 && d.language == language)
            .flat_map(|d| &d.lines)
            .chain(
                self.drafted
                    .get(&(self.segment, language.to_string()))
                    .into_iter()
                    .flatten(),
            )
            .collect();
        if drafted.is_empty() {
            return variants[pass % variants.len()].clone();
        }
        let speaks = language == self.default_language
            || segment
                .translations
                .get(language)
                .is_some_and(|l| !l.is_empty());
        let pick = |round: usize| drafted[(round * lines.len() + index) % drafted.len()].clone();
        match (speaks, pass % 2) {
            (false, _) => pick(pass),
            (true, 1) => pick(pass / 2),
            _ => variants[(pass / 2) % variants.len()].clone(),
        }
    }

    /// A line (ours, by `serial`) started playing at media time `start` and ends at `end`.
    pub fn started(&mut self, serial: u64, start: f64, end: f64, minute: u32) {
        if self.in_flight == Some(serial) {
            self.in_flight = None;
            self.next_start = end + self.pause;
        }
        let Some(written) = self.written.iter().find(|w| w.serial == serial).cloned() else {
            return;
        };
        let changed = self.on_air.segment != Some(written.segment)
            || self.on_air.product.as_ref().map(|p| &p.id) != written.product.as_ref();
        if written.segment == self.segment && self.segment_start.is_none() {
            self.segment_start = Some(start);
        }
        if changed || self.on_air.generation == 0 {
            self.show_segment(written.segment, written.product.as_deref(), start, minute);
        }
    }

    /// A viewer ordered `quantity` of product `id` at media time `now`: its stock goes
    /// down at once (on the card too), a "just bought" notice goes up, and a flash sale of
    /// it that sells out ends at its next line. The stock left, or `None` for a product not
    /// in the catalog (stock not counted stays `Some(None)`).
    ///
    /// A product of a catalog edit waiting for the next segment is counted too: against
    /// the edit's figure when it gives a new one (or adds the product), so the order is
    /// not lost when the edit takes over; for a product only the edit has, the stock left
    /// is that figure's.
    pub fn sold(&mut self, id: &str, quantity: u32, user: &str, now: f64) -> Option<Option<u32>> {
        let language = self.on_air.language.clone();
        let waiting = (self.pending.as_ref())
            .and_then(|plan| plan.products.iter().find(|p| p.id == id))
            .cloned();
        if waiting.is_some() {
            let ordered = self
                .ordered_while_waiting
                .entry(id.to_string())
                .or_default();
            *ordered = ordered.saturating_add(quantity);
        }
        let on_air = self.plan.products.iter_mut().find(|p| p.id == id);
        let (mut left, name) = match on_air {
            Some(product) => {
                if let Some(stock) = product.stock.as_mut() {
                    *stock = stock.saturating_sub(quantity);
                    self.stock_changed |= self.stock.sold(id, *stock);
                }
                (product.stock, product.name.get(&language).to_string())
            }
            None => (None, waiting.as_ref()?.name.get(&language).to_string()),
        };
        // A restock (or a product added) waiting to take over is what there is to sell.
        if let Some(product) = waiting.filter(|p| !self.stock.carries(p)) {
            left = self.waiting_left(&product);
        }
        if let Some(on_card) = self.on_air.product.as_mut().filter(|p| p.id == id) {
            on_card.stock = left;
        }
        let text = if language == "zh" {
            format!("{user} 刚刚买了 {quantity} 件 {name}")
        } else {
            format!("{user} just bought {quantity} × {name}")
        };
        self.on_air.ticker = Some(Ticker {
            text,
            until: now + TICKER_SECONDS,
        });
        if left == Some(0) {
            self.sold_out(id);
        }
        Some(left)
    }

    /// Whether `segment` is about a product of its own that has none left (it is passed
    /// by until the file restocks it).
    fn is_sold_out(&self, segment: &Segment) -> bool {
        segment
            .product
            .as_deref()
            .is_some_and(|id| self.none_left(id))
    }

    /// The stock of each product that counts it, as an operator's jump would find it: a
    /// reloaded catalog waiting for the next segment is read (with what orders left), so a
    /// product it restocks or adds can be picked at once, as the jump takes that catalog.
    pub fn stock(&self) -> std::collections::BTreeMap<String, u32> {
        let left = |p: &Product| Some((p.id.clone(), self.waiting_left(p)?));
        match &self.pending {
            Some(plan) => plan.products.iter().filter_map(left).collect(),
            None => (self.plan.products.iter())
                .filter_map(|p| Some((p.id.clone(), p.stock?)))
                .collect(),
        }
    }

    /// What product `p` of the waiting catalog will have when it takes over: what orders
    /// left, when the ledger counts it from the same figure; else its figure less what was
    /// ordered since the edit was written.
    fn waiting_left(&self, p: &Product) -> Option<u32> {
        if self.stock.carries(p) {
            return self.stock.left_of(p);
        }
        let ordered = self.ordered_while_waiting.get(&p.id).copied().unwrap_or(0);
        Some(p.stock?.saturating_sub(ordered))
    }

    /// Whether product `id` counts its stock and has none left.
    pub fn none_left(&self, id: &str) -> bool {
        self.product(id).is_some_and(Product::has_none_left)
    }

    /// Product `id` has none left: the rotation passes it by from now on, and a segment
    /// about it (a pitch, its flash sale) ends at its next line, as does the operator's
    /// choice of it.
    fn sold_out(&mut self, id: &str) {
        if self.product_override.as_deref() == Some(id) {
            self.product_override = None;
        }
        if self.on_air.product.as_ref().is_some_and(|p| p.id == id) {
            tracing::info!("{id} sold out while on air: the rundown moves on");
            self.sold_out_on_air = true;
        }
    }

    /// The line the speaker could not say (engine failure): the rundown moves on.
    pub fn skipped(&mut self, serial: u64) {
        if self.in_flight == Some(serial) {
            self.in_flight = None;
        }
    }

    /// An answer to a viewer's comment from the FAQ table, if a keyword matches.
    pub fn answer(&self, user: &str, comment: &str, minute: u32) -> Option<String> {
        let question = self.question(comment)?;
        Some(self.answer_to(question, user, comment, minute))
    }

    /// The FAQ entry (its index) a comment asks about, if any.
    pub fn question(&self, comment: &str) -> Option<usize> {
        let lower = comment.to_lowercase();
        self.plan.faq.iter().position(|f| {
            f.keywords
                .iter()
                .map(|k| k.trim().to_lowercase())
                .any(|k| !k.is_empty() && lower.contains(&k))
        })
    }

    /// The answer of FAQ entry `question` to `user`'s comment, filled for now.
    pub fn answer_to(&self, question: usize, user: &str, comment: &str, minute: u32) -> String {
        let faq = &self.plan.faq[question];
        let language = self.language(minute);
        let product = self
            .on_air
            .product
            .clone()
            .or_else(|| self.product_for(self.segment, minute).cloned());
        self.fill(
            faq.answer.text(&language),
            product.as_ref(),
            &language,
            self.on_air.flash_ends,
            self.next_start,
            Some((user, comment)),
        )
    }

    fn language(&self, minute: u32) -> String {
        self.window(minute)
            .and_then(|w| w.language.clone())
            .unwrap_or_else(|| self.default_language.clone())
    }

    fn window(&self, minute: u32) -> Option<&ScheduleEntry> {
        self.plan.schedule.iter().find(|w| {
            let (Some(from), Some(to)) = (parse_time_of_day(&w.from), parse_time_of_day(&w.to))
            else {
                return false;
            };
            if from <= to {
                (from..to).contains(&minute)
            } else {
                minute >= from || minute < to
            }
        })
    }

    /// The product of segment `index` now: its own, the operator's, or the rotation's
    /// (which passes sold-out products by).
    fn product_for(&self, index: usize, minute: u32) -> Option<&Product> {
        let segment = self.plan.segments.get(index)?;
        if let Some(id) = segment.product.as_ref().or(self.product_override.as_ref()) {
            return self.product(id);
        }
        let on_sale = |p: &&Product| !p.has_none_left();
        let window: Vec<&Product> = match self.window(minute) {
            Some(w) if !w.products.is_empty() => (w.products.iter())
                .filter_map(|id| self.product(id))
                .filter(on_sale)
                .collect(),
            _ => self.plan.products.iter().filter(on_sale).collect(),
        };
        (!window.is_empty()).then(|| window[(self.pass as usize) % window.len()])
    }

    /// An operator's jump enters a segment, so a reloaded plan waiting for one takes
    /// over first (a product the edit added can be pitched at once). Whether it entered
    /// one (a pick of a sold-out product does not, nor a flash sale the rundown lacks).
    fn apply(&mut self, jump: Jump, now: f64) -> bool {
        self.take_pending(now);
        let picked = match &jump {
            Jump::Product(id) => Some(id.as_str()),
            Jump::FlashSale { product, .. } => product.as_deref(),
            Jump::NextSegment => None,
        };
        if let Some(id) = picked.filter(|id| self.none_left(id)) {
            tracing::warn!("{id} is sold out: not pitched (raise its `stock` in the show file)");
            return false;
        }
        let find = |kind: SegmentKind, segments: &[Segment]| {
            segments
                .iter()
                .position(|s| s.kind == kind && s.product.is_none())
        };
        let target = match jump {
            Jump::NextSegment => (self.segment + 1) % self.plan.segments.len(),
            Jump::Product(id) => {
                self.product_override = Some(id);
                find(SegmentKind::Pitch, &self.plan.segments).unwrap_or(self.segment)
            }
            Jump::FlashSale { product, seconds } => {
                if product.is_some() {
                    self.product_override = product;
                }
                self.countdown_override = seconds;
                let Some(at) = self
                    .plan
                    .segments
                    .iter()
                    .position(|s| s.kind == SegmentKind::FlashSale)
                else {
                    return false;
                };
                at
            }
        };
        let keep_countdown = self.countdown_override;
        self.enter(target);
        self.countdown_override = keep_countdown;
        true
    }

    fn advance(&mut self, now: f64) {
        let mut next = self.segment + 1;
        if next >= self.plan.segments.len() {
            if self.once {
                self.ended = true;
                return;
            }
            next = 0;
            self.pass += 1;
            self.product_override = None;
        }
        if self.take_pending(now) && next >= self.plan.segments.len() {
            next = 0;
        }
        self.enter(next);
    }

    /// Puts the reloaded plan on air, if there is one (a segment is being entered).
    fn take_pending(&mut self, now: f64) -> bool {
        let Some(mut plan) = self.pending.take() else {
            return false;
        };
        tracing::info!("show file reloaded: the new rundown takes over at {now:.1} s");
        // What orders left, unless the edit gave a product a new figure (restocked) or
        // added it: then its figure less what was ordered since the edit.
        let left: Vec<Option<u32>> = plan.products.iter().map(|p| self.waiting_left(p)).collect();
        self.stock.carry(&mut plan.products);
        for (p, left) in plan.products.iter_mut().zip(left) {
            if let Some(left) = left.filter(|left| p.stock != Some(*left)) {
                p.stock = Some(left);
                self.stock_changed |= self.stock.sold(&p.id, left);
            }
        }
        self.ordered_while_waiting.clear();
        self.plan = plan;
        // Drafted while running for the old rundown's segments; the file's approved
        // `[[drafts]]` come with the new plan.
        self.drafted.clear();
        // Its lines are numbered anew: a skipped one is warned of again.
        self.skipped.clear();
        true
    }

    fn enter(&mut self, segment: usize) {
        self.segment = segment.min(self.plan.segments.len().saturating_sub(1));
        self.line = 0;
        self.segment_start = None;
        self.countdown_override = None;
    }

    /// A segment without lines goes on air at once.
    fn enter_silent(&mut self, now: f64, minute: u32) {
        if self.segment_start.is_none() {
            self.segment_start = Some(now);
            let product = self.product_for(self.segment, minute).map(|p| p.id.clone());
            self.show_segment(self.segment, product.as_deref(), now, minute);
        }
    }

    fn show_segment(&mut self, index: usize, product: Option<&str>, start: f64, minute: u32) {
        let language = self.language(minute);
        let Some(segment) = self.plan.segments.get(index) else {
            return;
        };
        let product = product.and_then(|id| self.product(id)).cloned();
        let countdown = if index == self.segment {
            self.countdown_override.or(segment.countdown)
        } else {
            segment.countdown
        };
        let since = if index == self.segment {
            self.segment_start.unwrap_or(start)
        } else {
            start
        };
        let title = segment.title.as_ref().map(|t| {
            self.fill(
                t.text(&language),
                product.as_ref(),
                &language,
                countdown.map(|c| since + c),
                start,
                None,
            )
        });
        self.on_air = OnAir {
            generation: self.on_air.generation + 1,
            segment: Some(index),
            kind: Some(segment.kind),
            title,
            card: product.is_some()
                && (segment.product.is_some()
                    || matches!(segment.kind, SegmentKind::Pitch | SegmentKind::FlashSale)),
            product,
            since,
            flash_ends: countdown.map(|c| since + c),
            language,
            shots: segment.shots.clone(),
            shots_since: since,
            ticker: self.on_air.ticker.take(),
        };
    }

    /// The operator cuts to `camera` (a scene camera, or the product close-up) at `now`:
    /// it holds until the segment changes, when the next segment's shots take over.
    pub fn cut_to(&mut self, camera: String, now: f64) {
        self.on_air.shots = vec![Shot {
            camera,
            seconds: 86_400.0,
            move_seconds: 0.0,
        }];
        self.on_air.shots_since = now;
        // The camera's direction starts again from where it is.
        self.on_air.generation += 1;
    }

    /// `template` filled for product `id` in `language`, as the rundown would say it
    /// now (a short video's title and hashtags).
    pub fn fill_for(&self, template: &str, id: &str, language: &str) -> String {
        self.fill(template, self.product(id), language, None, 0.0, None)
    }

    fn fill(
        &self,
        template: &str,
        product: Option<&Product>,
        language: &str,
        ends: Option<f64>,
        when: f64,
        comment: Option<(&str, &str)>,
    ) -> String {
        let currency = &self.plan.overlay.currency;
        self.fill_priced(
            template,
            (product, currency),
            language,
            (ends, when),
            comment,
        )
    }

    /// A line of this segment the product on air cannot fill is not said (a half sentence
    /// is worse than none); the operator is told once per line, language and product, the
    /// line named by its field as the load check names it (`segments[1].translations.zh[2]`).
    fn skip_line(&mut self, at: (usize, &str), product: Option<&Product>, unfilled: &Unfilled) {
        let (index, language) = at;
        let id = product.map(|p| p.id.clone());
        let key = (self.segment, index, language.to_string(), id.clone());
        if self.skipped.insert(key) {
            let segment = &self.plan.segments[self.segment];
            let field = format!(
                "segments[{}].{}[{index}]",
                self.segment,
                segment.lines_in(language).1
            );
            let why = crate::config::plan::unsaid_line(&field, &unfilled.missing, id.as_deref());
            tracing::warn!("{why}");
        }
    }

    /// [`Director::fill`] for a product priced in `currency` (a market of its own).
    fn fill_priced(
        &self,
        template: &str,
        product: (Option<&Product>, &str),
        language: &str,
        clock: (Option<f64>, f64),
        comment: Option<(&str, &str)>,
    ) -> String {
        match self.try_fill_priced(template, product, language, clock, comment) {
            Ok(text) | Err(Unfilled { text, .. }) => text,
        }
    }

    /// [`Director::fill_priced`], or what the product lacks for it (`{stock}` of a product
    /// without stock, `{points}` of one without selling points).
    fn try_fill_priced(
        &self,
        template: &str,
        (product, currency): (Option<&Product>, &str),
        language: &str,
        (ends, when): (Option<f64>, f64),
        comment: Option<(&str, &str)>,
    ) -> Result<String, Unfilled> {
        let pass = self.pass as usize;
        fill_checked(template, &|name| {
            Some(match name {
                "shop" => self.plan.shop.text(language).to_string(),
                "currency" => currency.to_string(),
                "count" => self.plan.products.len().to_string(),
                "countdown" => {
                    let left = ends.map_or(0.0, |e| (e - when).max(0.0)).round() as u64;
                    spoken_duration(left, language == "zh")
                }
                "user" => comment?.0.to_string(),
                "comment" => comment?.1.to_string(),
                _ => product?.value(name, language, pass)?,
            })
        })
    }
}

fn lines_for<'a>(segment: &'a Segment, language: &str) -> &'a [LineSpec] {
    segment.lines_in(language).0
}

/// `75` → "1 minute 15 seconds" / "1分15秒".
fn spoken_duration(seconds: u64, zh: bool) -> String {
    let (m, s) = (seconds / 60, seconds % 60);
    match (zh, m, s) {
        (true, 0, s) => format!("{s}秒"),
        (true, m, 0) => format!("{m}分钟"),
        (true, m, s) => format!("{m}分{s}秒"),
        (false, 0, s) => format!("{s} second{}", if s == 1 { "" } else { "s" }),
        (false, m, 0) => format!("{m} minute{}", if m == 1 { "" } else { "s" }),
        (false, m, s) => format!(
            "{m} minute{} {s} second{}",
            if m == 1 { "" } else { "s" },
            if s == 1 { "" } else { "s" }
        ),
    }
}

/// `MM:SS` (or `H:MM:SS`) left until `ends`, for the on-screen countdown.
pub fn clock_text(seconds_left: f64) -> String {
    let s = seconds_left.max(0.0).ceil() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests;
