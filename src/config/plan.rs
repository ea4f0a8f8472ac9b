//! The show as an operator writes it: a product catalog, a rundown of segments, a schedule
//! by time of day, and a table of answers to viewers' questions. Plain serde data, checked
//! once at load (and again on every hot reload) so a typo is found before it goes on air.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Everything in the show file that says what goes on air, as opposed to how it is encoded.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShowPlan {
    /// The shop's name, for `{shop}` and the logo badge.
    pub shop: Localized<String>,
    pub products: Vec<Product>,
    /// Played in order, then from the top again, forever.
    pub segments: Vec<Segment>,
    /// Changes by time of day (local time): which products, which language and voice.
    pub schedule: Vec<ScheduleEntry>,
    /// Answers to viewers' comments, by keyword.
    pub faq: Vec<Faq>,
    pub overlay: OverlayConfig,
    /// Lines a language model drafted and a person approved (`twincast script draft`).
    pub drafts: Vec<Draft>,
}

/// Approved drafted lines of one segment in one language (`[[drafts]]`): said in turn
/// with the segment's own, or instead of them where the segment has none in `language`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// The segment, counted from 1 as in the rundown.
    pub segment: usize,
    pub language: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    pub name: Names,
    pub price: f64,
    /// Price during a flash sale; the card shows the regular price struck through.
    pub flash_price: Option<f64>,
    /// Selling points, for `{points}` and `{point}`: a list, or a list per language.
    #[serde(default)]
    pub points: Localized<Vec<String>>,
    #[serde(default)]
    pub stock: Option<u32>,
    /// The scene prop that shows this product (for the camera's close-up and the card).
    #[serde(default)]
    pub prop: Option<String>,
    /// A picture for the product card, relative to the show file.
    #[serde(default)]
    pub image: Option<std::path::PathBuf>,
    /// Its prices in other currencies, by the sign a program shows (`[[programs]]
    /// currency`): `prices."US$" = { price = 17.99, flash_price = 13.99 }`.
    #[serde(default)]
    pub prices: std::collections::BTreeMap<String, MarketPrice>,
}

impl Product {
    /// The placeholders a product fills (the others are the show's, the segment's or a
    /// comment's).
    pub const PLACEHOLDERS: [&'static str; 8] = [
        "name",
        "name_zh",
        "name_en",
        "price",
        "flash_price",
        "points",
        "point",
        "stock",
    ];

    /// The value of product placeholder `name` in `language` (`{point}` the `pass`-th
    /// selling point, in turn), or `None` when this product has none: no `stock`, no
    /// selling points in that language. The one place that decides it, for the line said
    /// and for the check at load that names the lines a product cannot fill.
    pub fn value(&self, name: &str, language: &str, pass: usize) -> Option<String> {
        let amount = |v: f64| price_text("", v);
        let points = || self.points.get(language).filter(|p| !p.is_empty());
        Some(match name {
            "name" => self.name.get(language).to_string(),
            "name_zh" => self.name.get("zh").to_string(),
            "name_en" => self.name.get("en").to_string(),
            "price" => amount(self.price),
            "flash_price" => amount(self.flash_price.unwrap_or(self.price)),
            "points" => points()?.join(if language == "zh" { "，" } else { ", " }),
            "point" => {
                let points = points()?;
                points[pass % points.len()].clone()
            }
            "stock" => self.stock?.to_string(),
            _ => return None,
        })
    }

    /// Whether it counts its stock and has none left: sold out until the file restocks it.
    pub fn has_none_left(&self) -> bool {
        self.stock == Some(0)
    }

    /// The first placeholder of `template` this product has no value for in `language`
    /// (the show's and the segment's placeholders always have one).
    pub fn cannot_fill(&self, template: &str, language: &str) -> Option<String> {
        let value = |name: &str| match Self::PLACEHOLDERS.contains(&name) {
            true => self.value(name, language, 0),
            false => Some(String::new()),
        };
        fill_checked(template, &value).err().map(|u| u.missing)
    }
}

/// A product's price (and flash-sale price) in one currency.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketPrice {
    pub price: f64,
    #[serde(default)]
    pub flash_price: Option<f64>,
}

/// Text given once (in the show's `language`) or per language: `"…"` or
/// `{ en = "…", zh = "…" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Localized<T> {
    Same(T),
    ByLanguage(BTreeMap<String, T>),
}

impl<T: Default> Default for Localized<T> {
    fn default() -> Self {
        Localized::Same(T::default())
    }
}

impl<T> From<T> for Localized<T> {
    fn from(value: T) -> Self {
        Localized::Same(value)
    }
}

impl<T> Localized<T> {
    /// The version in `language`; else English, else any (the check at load makes sure a
    /// scheduled language is there).
    pub fn get(&self, language: &str) -> Option<&T> {
        match self {
            Localized::Same(value) => Some(value),
            Localized::ByLanguage(map) => map
                .get(language)
                .or_else(|| map.get("en"))
                .or_else(|| map.values().next()),
        }
    }

    /// Whether there is a version in `language`, when text given once is in `base`.
    pub fn has(&self, language: &str, base: &str) -> bool {
        match self {
            Localized::Same(_) => language == base,
            Localized::ByLanguage(map) => map.contains_key(language),
        }
    }

    /// Every version, for checks.
    pub fn all(&self) -> Vec<&T> {
        match self {
            Localized::Same(value) => vec![value],
            Localized::ByLanguage(map) => map.values().collect(),
        }
    }
}

impl From<&str> for Localized<String> {
    fn from(value: &str) -> Self {
        Localized::Same(value.to_string())
    }
}

impl Localized<String> {
    /// The version in `language`, or "".
    pub fn text(&self, language: &str) -> &str {
        self.get(language).map_or("", String::as_str)
    }
}

/// A name in Chinese and English; either may be missing, not both.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    #[serde(default)]
    pub zh: Option<String>,
    #[serde(default)]
    pub en: Option<String>,
}

impl Names {
    /// The name in `language` (`zh` or anything else for English), or the other one.
    pub fn get(&self, language: &str) -> &str {
        let (first, second) = if language == "zh" {
            (&self.zh, &self.en)
        } else {
            (&self.en, &self.zh)
        };
        first.as_deref().or(second.as_deref()).unwrap_or("")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    Opening,
    Pitch,
    FlashSale,
    Tour,
    Qa,
}

impl SegmentKind {
    pub fn label(self) -> &'static str {
        match self {
            SegmentKind::Opening => "opening",
            SegmentKind::Pitch => "pitch",
            SegmentKind::FlashSale => "flash_sale",
            SegmentKind::Tour => "tour",
            SegmentKind::Qa => "qa",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub kind: SegmentKind,
    /// Lower-third text (a template), or one per language.
    #[serde(default)]
    pub title: Option<Localized<String>>,
    /// The product this segment is about; the current product of the rotation when absent.
    #[serde(default)]
    pub product: Option<String>,
    /// Lines in turn; each is one template or several variants to rotate through.
    #[serde(default)]
    pub lines: Vec<LineSpec>,
    /// The same lines in other languages (`zh = [...]`), used when the schedule says so.
    #[serde(default)]
    pub translations: BTreeMap<String, Vec<LineSpec>>,
    /// Camera shots in turn while the segment is on (cycled when the segment runs longer).
    #[serde(default)]
    pub shots: Vec<Shot>,
    /// The segment runs at least this long (seconds), silent once its lines are said.
    #[serde(default)]
    pub seconds: f64,
    /// Flash sales: the countdown (seconds) from the first line; lines repeat until it ends.
    #[serde(default)]
    pub countdown: Option<f64>,
}

impl Segment {
    /// A rundown of one segment saying `lines` in turn forever: what a show file with a
    /// plain list of lines (`[voice] lines`) and no segments runs.
    pub fn said_in_turn(lines: &[String]) -> Self {
        Self {
            kind: SegmentKind::Opening,
            title: None,
            product: None,
            lines: lines.iter().cloned().map(LineSpec::One).collect(),
            translations: Default::default(),
            shots: Vec::new(),
            seconds: 0.0,
            countdown: None,
        }
    }

    /// The lines said in `language`: its translation where it has lines there, else the
    /// segment's own; with the field they are in (`lines`, `translations.zh`), for messages.
    pub fn lines_in(&self, language: &str) -> (&[LineSpec], std::borrow::Cow<'static, str>) {
        match self.translations.get(language).filter(|l| !l.is_empty()) {
            Some(lines) => (lines, format!("translations.{language}").into()),
            None => (&self.lines, "lines".into()),
        }
    }

    /// Each line, its own (in `base`) then each translation's, with its field
    /// (`lines[0]`, `translations.zh[2]`) and its language.
    pub fn every_line<'a>(
        &'a self,
        base: &'a str,
    ) -> impl Iterator<Item = (String, &'a str, &'a LineSpec)> {
        let own = std::iter::once(("lines".to_string(), base, &self.lines));
        let translated = (self.translations.iter()).map(|(language, lines)| {
            (format!("translations.{language}"), language.as_str(), lines)
        });
        own.chain(translated).flat_map(|(group, language, lines)| {
            let at = move |(j, line)| (format!("{group}[{j}]"), language, line);
            lines.iter().enumerate().map(at)
        })
    }
}

/// Why the line at `field` (`segments[1].lines[2]`) is not said: the product on air (or,
/// with none, the show) has no `missing` placeholder's value. The load check and the
/// director say it alike.
pub fn unsaid_line(field: &str, missing: &str, product: Option<&str>) -> String {
    match product {
        Some(id) => format!(
            "{field}: `{{{missing}}}`: product `{id}` has none, so this line is not said for it"
        ),
        None => format!("{field}: `{{{missing}}}`: no product is on air, so this line is not said"),
    }
}

/// One line, or variants of it that successive loops rotate through.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum LineSpec {
    One(String),
    Variants(Vec<String>),
}

impl LineSpec {
    pub fn variants(&self) -> &[String] {
        match self {
            LineSpec::One(s) => std::slice::from_ref(s),
            LineSpec::Variants(v) => v,
        }
    }
}

/// The camera name of a shot that closes up on the product on air, found from its `prop`
/// (`camera::product`), unless the scene has a camera of that name.
pub const PRODUCT_CAMERA: &str = "product";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shot {
    /// A camera of the scene, by name, or [`PRODUCT_CAMERA`].
    pub camera: String,
    pub seconds: f64,
    /// Seconds of a smooth move from the previous shot; 0 cuts.
    #[serde(default, rename = "move")]
    pub move_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEntry {
    /// Local time of day, `HH:MM`; `to` may be earlier than `from` (over midnight).
    pub from: String,
    pub to: String,
    /// Products to rotate through in this window (all when empty).
    #[serde(default)]
    pub products: Vec<String>,
    /// `zh` or `en`: which translation of the lines and names to use.
    #[serde(default)]
    pub language: Option<String>,
    /// Speech voice for this window, e.g. `cmn`.
    #[serde(default)]
    pub voice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    /// Any of these (case-insensitive) in a comment picks this answer.
    pub keywords: Vec<String>,
    /// A template (or one per language); `{user}` and `{comment}` are the viewer's, the
    /// rest the current product's.
    pub answer: Localized<String>,
}

/// What is drawn over the picture.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverlayConfig {
    /// Draw the graphics at all.
    pub enabled: bool,
    /// The always-on label platforms require on virtual presenters.
    pub label: String,
    pub label_enabled: bool,
    pub captions: bool,
    /// A picture for the top-left corner; the shop's name as a badge when absent.
    pub logo: Option<std::path::PathBuf>,
    /// A font with Chinese glyphs; the one in `assets/fonts/` when absent.
    pub font: Option<std::path::PathBuf>,
    /// Currency sign before prices.
    pub currency: String,
}

impl Default for OverlayConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            label: "虚拟主播 · AI生成  Virtual presenter · AI-generated".into(),
            label_enabled: true,
            captions: true,
            logo: None,
            font: None,
            currency: "¥".into(),
        }
    }
}

impl OverlayConfig {
    /// A price as the card shows it: the currency sign, no decimals for whole amounts.
    pub fn price(&self, v: f64) -> String {
        price_text(&self.currency, v)
    }
}

/// A price with its currency sign, no decimals for whole amounts.
pub fn price_text(currency: &str, v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{currency}{v:.0}")
    } else {
        format!("{currency}{v:.2}")
    }
}

/// The placeholders a line template may use besides a product's
/// ([`Product::PLACEHOLDERS`]): the show's, the segment's and a comment's.
const SHOW_PLACEHOLDERS: [&str; 6] = ["shop", "countdown", "count", "user", "comment", "currency"];

/// Whether a line template may use `{name}`.
fn is_placeholder(name: &str) -> bool {
    Product::PLACEHOLDERS.contains(&name) || SHOW_PLACEHOLDERS.contains(&name)
}

/// What of its scene a plan may name: cameras (in shots) and set pieces, shapes and
/// props (a product's `prop`). Plain names, so the plan is checked without the scene.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetNames {
    pub cameras: Vec<String>,
    pub pieces: Vec<String>,
}

/// A problem with the plan: where (a field path) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanProblem {
    pub field: String,
    pub reason: String,
    /// Text to look for in the file, to report its line.
    pub needle: Option<String>,
    /// The table it is in (`[[schedule]]`, and which one), where the search starts.
    pub section: Option<(&'static str, usize)>,
}

impl ShowPlan {
    /// Why a shot on camera [`PRODUCT_CAMERA`] in `segment` could not frame its product:
    /// the segment's product, or any of the rotation's, names no `prop`.
    fn unframed(&self, segment: &Segment) -> Option<String> {
        let bare = self.shown_in(segment).find(|p| p.prop.is_none())?;
        Some(format!(
            "camera `{PRODUCT_CAMERA}` frames the product on air by its `prop`, and product \
             `{}` names none",
            bare.id
        ))
    }

    /// The products `segment` may put on air: its own, or any of the rotation's.
    fn shown_in<'a>(&'a self, segment: &'a Segment) -> impl Iterator<Item = &'a Product> {
        let shown = |p: &&Product| segment.product.as_ref().is_none_or(|id| *id == p.id);
        self.products.iter().filter(shown)
    }

    /// Lines some product of their segment cannot fill (`{stock}` of a product without
    /// stock, `{points}` or `{point}` of one without selling points in the line's
    /// language), one sentence each: the show skips them for that product, and says so
    /// at start. `base`: the language of the segments' own lines.
    pub fn unsaid_lines(&self, base: &str) -> Vec<String> {
        let mut said = Vec::new();
        for (i, segment) in self.segments.iter().enumerate() {
            for (field, language, line) in segment.every_line(base) {
                let templates = line.variants().iter();
                let pairs = templates.flat_map(|t| self.shown_in(segment).map(move |p| (t, p)));
                for (template, p) in pairs {
                    let Some(missing) = p.cannot_fill(template, language) else {
                        continue;
                    };
                    let sentence =
                        unsaid_line(&format!("segments[{i}].{field}"), &missing, Some(&p.id));
                    if !said.contains(&sentence) {
                        said.push(sentence);
                    }
                }
            }
        }
        said
    }

    /// Checks ids, references and templates, part by part in the file's order. Returns
    /// the first problem.
    pub fn validate(&self, set: Option<&SetNames>) -> Result<(), PlanProblem> {
        self.validate_products(set)?;
        for (i, segment) in self.segments.iter().enumerate() {
            self.validate_segment(i, segment, set.map(|s| s.cameras.as_slice()))?;
        }
        self.validate_schedule()?;
        self.validate_drafts()?;
        self.validate_faq()
    }

    /// `[[products]]`: ids unique and not empty, props the scene has, a name, prices.
    fn validate_products(&self, set: Option<&SetNames>) -> Result<(), PlanProblem> {
        let mut ids = std::collections::HashSet::new();
        for (i, p) in self.products.iter().enumerate() {
            let field = |f: &str| format!("products[{i}].{f}");
            if p.id.trim().is_empty() {
                return Err(problem(field("id"), "is empty".into(), None));
            }
            if !ids.insert(p.id.as_str()) {
                let reason = format!("`{}` is used twice", p.id);
                return Err(problem(field("id"), reason, Some(&p.id)));
            }
            if let (Some(prop), Some(set)) = (&p.prop, set)
                && !set.pieces.contains(prop)
            {
                let reason = format!(
                    "the scene has no set piece `{prop}` (it has: {})",
                    set.pieces.join(", ")
                );
                return Err(problem(field("prop"), reason, Some(prop)));
            }
            if p.name.zh.is_none() && p.name.en.is_none() {
                return Err(problem(field("name"), "needs `zh` or `en`".into(), None));
            }
            for (name, price) in [("price", Some(p.price)), ("flash_price", p.flash_price)] {
                if let Some(v) = price
                    && !(v.is_finite() && v >= 0.0)
                {
                    return Err(problem(field(name), format!("{v} is not a price"), None));
                }
            }
        }
        Ok(())
    }

    fn knows(&self, id: &str) -> bool {
        self.products.iter().any(|p| p.id == id)
    }

    /// `segments[i]`: a product that exists, lengths in range, shots, lines and title.
    fn validate_segment(
        &self,
        i: usize,
        s: &Segment,
        cameras: Option<&[String]>,
    ) -> Result<(), PlanProblem> {
        let field = |f: &str| format!("segments[{i}].{f}");
        if let Some(id) = s.product.as_ref().filter(|id| !self.knows(id)) {
            let reason = format!("no product `{id}` in [[products]]");
            return Err(problem(field("product"), reason, Some(id)));
        }
        if matches!(s.kind, SegmentKind::Pitch | SegmentKind::FlashSale) && self.products.is_empty()
        {
            let reason = format!("a {} needs [[products]]", s.kind.label());
            return Err(problem(field("kind"), reason, None));
        }
        if !(s.seconds.is_finite() && (0.0..=86_400.0).contains(&s.seconds)) {
            let reason = format!("{} is outside 0..=86400", s.seconds);
            return Err(problem(field("seconds"), reason, None));
        }
        if let Some(c) = s.countdown
            && !(c.is_finite() && (1.0..=86_400.0).contains(&c))
        {
            let reason = format!("{c} is outside 1..=86400");
            return Err(problem(field("countdown"), reason, None));
        }
        for (j, shot) in s.shots.iter().enumerate() {
            self.validate_shot(s, shot, cameras)
                .map_err(|(key, reason, needle)| {
                    problem(field(&format!("shots[{j}].{key}")), reason, needle)
                })?;
        }
        for (name, _, line) in s.every_line("") {
            if line.variants().is_empty() {
                return Err(problem(field(&name), "has no variants".into(), None));
            }
            for text in line.variants() {
                check_template(text).map_err(|reason| problem(field(&name), reason, Some(text)))?;
            }
        }
        for title in s.title.iter().flat_map(Localized::all) {
            check_template(title).map_err(|reason| problem(field("title"), reason, Some(title)))?;
        }
        Ok(())
    }

    /// One of segment `s`'s shots: lengths, and a camera the scene has (or the product
    /// close-up where the segment has a product to frame). Refusals name the shot's key.
    fn validate_shot<'a>(
        &self,
        s: &Segment,
        shot: &'a Shot,
        cameras: Option<&[String]>,
    ) -> Result<(), (&'static str, String, Option<&'a str>)> {
        if !(shot.seconds.is_finite() && shot.seconds > 0.0) {
            let reason = format!("{} is not a positive length", shot.seconds);
            return Err(("seconds", reason, None));
        }
        if !(shot.move_seconds.is_finite() && shot.move_seconds >= 0.0) {
            return Err(("move", format!("{} is negative", shot.move_seconds), None));
        }
        let scene_camera = cameras.is_none_or(|c| c.contains(&shot.camera));
        if shot.camera == PRODUCT_CAMERA && !scene_camera {
            if let Some(reason) = self.unframed(s) {
                return Err(("camera", reason, Some(&shot.camera)));
            }
        } else if let Some(cameras) = cameras
            && !cameras.contains(&shot.camera)
        {
            let reason = format!(
                "the scene has no camera `{}` (it has: {})",
                shot.camera,
                cameras.join(", ")
            );
            return Err(("camera", reason, Some(&shot.camera)));
        }
        Ok(())
    }

    /// `[[schedule]]`: times of day, and products that exist.
    fn validate_schedule(&self) -> Result<(), PlanProblem> {
        for (i, e) in self.schedule.iter().enumerate() {
            let field = |f: &str| format!("schedule[{i}].{f}");
            for (name, value) in [("from", &e.from), ("to", &e.to)] {
                if parse_time_of_day(value).is_none() {
                    let reason = format!("`{value}` is not HH:MM");
                    return Err(problem(field(name), reason, Some(value)));
                }
            }
            if let Some(id) = e.products.iter().find(|id| !self.knows(id)) {
                let reason = format!("no product `{id}` in [[products]]");
                return Err(problem(field("products"), reason, Some(id)));
            }
        }
        Ok(())
    }

    /// `[[drafts]]`: a segment that exists, lines that are templates.
    fn validate_drafts(&self) -> Result<(), PlanProblem> {
        let segments = self.segments.len();
        for (i, d) in self.drafts.iter().enumerate() {
            if !(1..=segments).contains(&d.segment) {
                let reason = format!("{} is not a segment (1..={segments})", d.segment);
                return Err(problem(format!("drafts[{i}].segment"), reason, None));
            }
            for text in &d.lines {
                check_template(text)
                    .map_err(|reason| problem(format!("drafts[{i}].lines"), reason, Some(text)))?;
            }
        }
        Ok(())
    }

    /// `[[faq]]`: keywords to match on, answers that are templates.
    fn validate_faq(&self) -> Result<(), PlanProblem> {
        for (i, f) in self.faq.iter().enumerate() {
            if f.keywords.iter().all(|k| k.trim().is_empty()) {
                let reason = "needs at least one keyword".into();
                return Err(problem(format!("faq[{i}].keywords"), reason, None));
            }
            for answer in f.answer.all() {
                check_template(answer)
                    .map_err(|reason| problem(format!("faq[{i}].answer"), reason, Some(answer)))?;
            }
        }
        Ok(())
    }
}

/// A problem in `field`, found at `needle` in the file's text where there is one.
fn problem(field: String, reason: String, needle: Option<&str>) -> PlanProblem {
    PlanProblem {
        field,
        reason,
        needle: needle.map(str::to_string),
        section: None,
    }
}

impl ShowPlan {
    /// Every schedule slot that switches language has that language's version of what is
    /// said and shown in it (lines, titles, selling points, product names, answers, the
    /// shop's name), so a slot never airs a mix. `base`: the language of text given once.
    ///
    /// With `model_writes_lines` (a show with a language model), a segment's lines may be
    /// missing in a slot's language: the model writes them before they are due.
    pub fn check_languages(&self, base: &str, model_writes_lines: bool) -> Result<(), PlanProblem> {
        for (i, slot) in self.schedule.iter().enumerate() {
            let Some(language) = slot.language.as_deref().filter(|l| *l != base) else {
                continue;
            };
            let missing = |what: String| PlanProblem {
                field: format!("schedule[{i}].language"),
                reason: format!(
                    "the slot {}–{} speaks `{language}`, but there is no `{language}` version of {what}",
                    slot.from, slot.to
                ),
                needle: None,
                section: Some(("[[schedule]]", i)),
            };
            if !self.shop.text(base).is_empty() && !self.shop.has(language, base) {
                return Err(missing("`shop`".into()));
            }
            let in_slot =
                |id: &str| slot.products.is_empty() || slot.products.iter().any(|p| p == id);
            for p in self.products.iter().filter(|p| in_slot(&p.id)) {
                let named = match language {
                    "zh" => p.name.zh.is_some(),
                    _ => p.name.en.is_some(),
                };
                if !named {
                    return Err(missing(format!("the name of product `{}`", p.id)));
                }
                let has_points = p.points.all().iter().any(|v| !v.is_empty());
                if has_points && !p.points.has(language, base) {
                    return Err(missing(format!("the points of product `{}`", p.id)));
                }
            }
            for (j, s) in self.segments.iter().enumerate() {
                if s.product.as_deref().is_some_and(|id| !in_slot(id)) {
                    continue; // never on air in this slot
                }
                let what = format!("segment {} (`{}`)", j + 1, s.kind.label());
                let translated = s.translations.get(language).is_some_and(|l| !l.is_empty())
                    || model_writes_lines
                    || self
                        .drafts
                        .iter()
                        .any(|d| d.segment == j + 1 && d.language == language);
                if !s.lines.is_empty() && !translated {
                    return Err(missing(format!("the lines of {what}")));
                }
                if s.title
                    .as_ref()
                    .is_some_and(|t| !t.has(language, base) && !neutral(t))
                {
                    return Err(missing(format!("the title of {what}")));
                }
            }
            if let Some(j) =
                (self.faq.iter()).position(|f| !f.answer.has(language, base) && !neutral(&f.answer))
            {
                return Err(missing(format!("the answer of faq {}", j + 1)));
            }
        }
        Ok(())
    }
}

/// Text of no language: only placeholders, numbers and signs (`{name} · {currency}{price}`).
fn neutral(text: &Localized<String>) -> bool {
    text.all().iter().all(|t| {
        let words = fill(t, &|_| Some(String::new()));
        !words.chars().any(char::is_alphabetic)
    })
}

/// Minutes since midnight of `HH:MM`.
pub fn parse_time_of_day(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

/// Refuses unknown `{placeholders}` and unbalanced braces.
pub fn check_template(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("`{{` without `}}` in \"{text}\""))?;
        let name = &after[..close];
        if !is_placeholder(name) {
            return Err(format!(
                "unknown placeholder `{{{name}}}` (known: {})",
                [&SHOW_PLACEHOLDERS[..], &Product::PLACEHOLDERS[..]]
                    .concat()
                    .join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("`}}` without `{{` in \"{text}\""));
    }
    Ok(())
}

/// Fills `{placeholders}` from `values`. A known placeholder without a value (a product
/// with no `stock`) is left out, so viewers never see or hear one; unknown ones (which
/// load refuses in a file) are left as written.
pub fn fill(template: &str, values: &dyn Fn(&str) -> Option<String>) -> String {
    match fill_checked(template, values) {
        Ok(text) | Err(Unfilled { text, .. }) => text,
    }
}

/// A template filled but for a known placeholder that had no value.
#[derive(Debug, Clone, PartialEq)]
pub struct Unfilled {
    /// The text with it left out.
    pub text: String,
    /// The first placeholder without a value.
    pub missing: String,
}

/// [`fill`], or what it left out: a line that would say "only  left" is not said.
pub fn fill_checked(
    template: &str,
    values: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Unfilled> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut missing = None;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let name = &after[..close];
        match values(name) {
            Some(v) => out.push_str(&v),
            None if is_placeholder(name) => {
                missing.get_or_insert_with(|| name.to_string());
            }
            None => {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    match missing {
        None => Ok(out),
        Some(missing) => Err(Unfilled { text: out, missing }),
    }
}
