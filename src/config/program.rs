//! Programs (`[[programs]]`: the same show framed for another screen, such as a phone's
//! vertical live room) and short-video templates (`[[clips]]`: what the host says about
//! one product in a clip of its own).

use super::plan::{LineSpec, Localized, Shot};
use super::{ConfigError, ShowConfig};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One program: a picture size, the cameras framed for it, and optionally its own
/// language and voice. `--program NAME` runs the show as this program.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramConfig {
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Cameras of the rundown replaced in this program (`{ wide = "wide tall" }`): a
    /// vertical program frames the host full-height with cameras of its own.
    #[serde(default)]
    pub cameras: BTreeMap<String, String>,
    /// `zh` or `en`: what the host speaks and the graphics show; the show's when absent.
    #[serde(default)]
    pub language: Option<String>,
    /// The voice for that language (an eSpeak voice name, or the engine's).
    #[serde(default)]
    pub voice: Option<String>,
    /// Video bitrate (kb/s); the show's `[video]` one when absent.
    #[serde(default)]
    pub bitrate_kbps: Option<u32>,
    /// The currency its prices are in (the sign shown, e.g. `US$`): each product's
    /// `prices."US$"`. The show's own (`[overlay] currency`) when absent.
    #[serde(default)]
    pub currency: Option<String>,
}

/// A short-video template (`[[clips]]`): the lines of a clip about a product, its post's
/// title and hashtags. Lines and titles are templates with the rundown's placeholders.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClipTemplate {
    /// Products this template is for; every product when empty.
    pub products: Vec<String>,
    /// The post's title (a template), or one per language.
    pub title: Option<Localized<String>>,
    /// Hashtags for the post, or a list per language (templates, `#` added if missing).
    pub hashtags: Localized<Vec<String>>,
    /// What the host says, in turn; a line may carry cues as in the rundown.
    pub lines: Vec<LineSpec>,
    /// The lines in other languages (`translations.zh = [...]`).
    pub translations: BTreeMap<String, Vec<LineSpec>>,
    /// Shots in turn; the show's camera, then the product's own camera when absent.
    pub shots: Vec<Shot>,
    /// Media second of the clip whose picture becomes the cover.
    pub cover_seconds: Option<f64>,
}

impl ShowConfig {
    /// The program named `name`, if the show declares one.
    pub fn program(&self, name: &str) -> Option<&ProgramConfig> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// This show as program `name`: its size, bitrate, cameras and language.
    pub fn for_program(&self, name: &str) -> Result<ShowConfig, ConfigError> {
        let program = self.program(name).ok_or_else(|| ConfigError::Invalid {
            path: self.source.clone(),
            field: "programs".into(),
            reason: format!(
                "no program named `{name}` (the file has: {})",
                self.program_names()
            ),
        })?;
        let mut show = self.clone();
        show.program = Some(program.name.clone());
        show.video.width = program.width;
        show.video.height = program.height;
        if let Some(kbps) = program.bitrate_kbps {
            show.video.bitrate_kbps = kbps;
        }
        let swap = |camera: &mut String| {
            if let Some(other) = program.cameras.get(camera.as_str()) {
                *camera = other.clone();
            }
        };
        if let Some(camera) = show.camera.as_mut() {
            swap(camera);
        }
        for segment in &mut show.plan.segments {
            segment.shots.iter_mut().for_each(|s| swap(&mut s.camera));
        }
        for template in &mut show.clips {
            template.shots.iter_mut().for_each(|s| swap(&mut s.camera));
        }
        if let Some(language) = &program.language {
            show.speak_only(language, program.voice.as_deref());
        }
        if let Some(currency) = &program.currency {
            show.price_in(currency);
        }
        show.validate()?;
        Ok(show)
    }

    /// The show speaking `language` all day in `voice` (else the voice its schedule gives
    /// that language, else the language's usual one): schedule slots keep their products.
    pub fn speak_only(&mut self, language: &str, voice: Option<&str>) {
        let scheduled = (self.plan.schedule.iter())
            .find(|s| s.language.as_deref() == Some(language))
            .and_then(|s| s.voice.clone());
        let voice = voice.map(str::to_string).or(scheduled);
        if language != self.language || voice.is_some() {
            self.voice.voice = voice.unwrap_or_else(|| default_voice(language).to_string());
        }
        self.language = language.to_string();
        for slot in &mut self.plan.schedule {
            slot.language = None;
            slot.voice = None;
        }
    }

    /// The catalog priced in `currency` (products' `prices`; checked at load), shown
    /// with its sign. The prices it had stay among `prices`, under their own sign.
    pub fn price_in(&mut self, currency: &str) {
        let before = std::mem::replace(&mut self.plan.overlay.currency, currency.to_string());
        if *currency == before {
            return;
        }
        for product in &mut self.plan.products {
            let own = super::plan::MarketPrice {
                price: product.price,
                flash_price: product.flash_price,
            };
            product.prices.entry(before.clone()).or_insert(own);
            if let Some(market) = product.prices.get(currency) {
                product.price = market.price;
                product.flash_price = market.flash_price;
            }
        }
    }

    /// The names of the declared programs, for messages.
    pub fn program_names(&self) -> String {
        if self.programs.is_empty() {
            return "none".into();
        }
        let names: Vec<&str> = self.programs.iter().map(|p| p.name.as_str()).collect();
        names.join(", ")
    }
}

/// The programs one run makes, each with its outputs: the main one (the world's on-air
/// camera, the host's voice and mouth, the API's status) and the others made beside it
/// from the same world and rundown.
#[derive(Debug, Clone)]
pub struct ProgramPlan {
    pub main: ShowConfig,
    pub outputs: Vec<String>,
    pub others: Vec<(ShowConfig, Vec<String>)>,
}

impl ShowConfig {
    /// Which programs a run makes. `program`: `--program`; `outputs`: the run's own
    /// outputs; `program_outputs`: (program, url) pairs. The main program is `--program`,
    /// else the show itself when it has outputs of its own, else the first program named;
    /// with no output at all it is the show, to [`ShowConfig::default_output`].
    pub fn program_plan(
        &self,
        program: Option<&str>,
        outputs: Vec<String>,
        program_outputs: &[(String, String)],
    ) -> Result<ProgramPlan, ConfigError> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for (name, url) in program_outputs {
            match groups.iter_mut().find(|(n, _)| n == name) {
                Some((_, urls)) => urls.push(url.clone()),
                None => groups.push((name.clone(), vec![url.clone()])),
            }
        }
        let main_name = match program {
            Some(name) => Some(name.to_string()),
            None if outputs.is_empty() => groups.first().map(|(n, _)| n.clone()),
            None => None,
        };
        let main = match &main_name {
            Some(name) => self.for_program(name)?,
            None => self.clone(),
        };
        let mut plan = ProgramPlan {
            outputs,
            others: Vec::new(),
            main,
        };
        for (name, urls) in groups {
            if Some(&name) == main_name.as_ref() {
                plan.outputs.extend(urls);
            } else {
                plan.others.push((self.for_program(&name)?, urls));
            }
        }
        if plan.outputs.is_empty() {
            plan.outputs.push(plan.main.default_output());
        }
        if plan.main.render.vr360 && !plan.others.is_empty() {
            return Err(ConfigError::Invalid {
                path: self.source.clone(),
                field: "outputs".into(),
                reason: "a 360° show makes one program; programs beside it need a flat picture"
                    .into(),
            });
        }
        Ok(plan)
    }
}

/// eSpeak NG's voice for a language, when the show names none for it.
fn default_voice(language: &str) -> &'static str {
    match language {
        "zh" => "cmn",
        _ => "en-us",
    }
}

/// `[[programs]]` and `[[clips]]`: names unique, sizes even and in range, clip cover
/// times finite.
pub(super) fn validate(show: &ShowConfig) -> Result<(), (String, String)> {
    for (i, program) in show.programs.iter().enumerate() {
        let field = |key: &str| format!("programs[{i}].{key}");
        if program.name.trim().is_empty() {
            return Err((field("name"), "is empty".into()));
        }
        if show.programs[..i].iter().any(|p| p.name == program.name) {
            return Err((
                field("name"),
                format!("`{}` is declared twice", program.name),
            ));
        }
        for (key, value, max) in [
            ("width", program.width, 7680),
            ("height", program.height, 4320),
        ] {
            if !(16..=max).contains(&value) || !value.is_multiple_of(2) {
                return Err((
                    field(key),
                    format!("{value} is not an even number between 16 and {max}"),
                ));
            }
        }
        if let Some(language) = &program.language
            && !matches!(language.as_str(), "zh" | "en")
        {
            return Err((field("language"), format!("`{language}` is not zh or en")));
        }
        let currency = program.currency.as_ref();
        let unpriced = currency
            .filter(|c| **c != show.plan.overlay.currency)
            .and_then(|c| (show.plan.products.iter()).find(|p| !p.prices.contains_key(c)));
        if let (Some(currency), Some(product)) = (currency, unpriced) {
            return Err((
                field("currency"),
                format!(
                    "product `{}` has no price in {currency} (`prices.\"{currency}\"`)",
                    product.id
                ),
            ));
        }
    }
    if let Some((name, url)) =
        (show.program_outputs.iter()).find(|(name, _)| show.program(name).is_none())
    {
        return Err((
            "outputs".into(),
            format!(
                "{url} is for program `{name}`, which the file does not declare (it has: {})",
                show.program_names()
            ),
        ));
    }
    for (i, clip) in show.clips.iter().enumerate() {
        if let Some(at) = clip.cover_seconds
            && !(at >= 0.0 && at.is_finite())
        {
            return Err((
                format!("clips[{i}].cover_seconds"),
                format!("{at} is not a time in the clip"),
            ));
        }
        let known = |id: &String| show.plan.products.iter().any(|p| &p.id == id);
        if let Some(id) = clip.products.iter().find(|id| !known(id)) {
            return Err((
                format!("clips[{i}].products"),
                format!("no product `{id}` in the catalog"),
            ));
        }
    }
    Ok(())
}
