//! The live room's settings: the language model (`[llm]`), the platform's events
//! (`[events]`), the host's reactions to them (`[reactions]`) and the compliance filter's
//! rules (`[compliance]`'s `forbidden`, `replace`, `rules`, `abuse`).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An OpenAI-compatible chat model (`/v1/chat/completions`: llama.cpp's server, Ollama,
/// vLLM, hosted Qwen or DeepSeek). Off when `url` is absent. The show never waits on it:
/// replies that are late get a holding line, failures fall back and are counted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// The full endpoint, e.g. `http://127.0.0.1:8080/v1/chat/completions`.
    pub url: Option<String>,
    pub model: String,
    /// The variable holding the key (sent as a bearer token); none sent when absent.
    pub key_env: Option<String>,
    /// A request (the whole streamed answer) is given up after this long.
    pub timeout_seconds: f64,
    /// A viewer's answer starts this soon after the comment, or a holding line plays first.
    pub reply_budget_seconds: f64,
    /// Lines the model drafted for the rundown air (after the filter) beside the file's.
    pub live_scripts: bool,
    /// Variants drafted per segment and language (`script draft`, `live_scripts`).
    pub variants: usize,
    /// An answer is cut to this many characters.
    pub answer_chars: usize,
    /// Holding lines by language ("Good question, one moment"); built-in ones when empty.
    pub holding: BTreeMap<String, Vec<String>>,
    /// Said when the model fails on a question; `{user}` is the viewer. Built-in when empty.
    pub fallback: BTreeMap<String, String>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            url: None,
            model: "default".into(),
            key_env: None,
            timeout_seconds: 10.0,
            reply_budget_seconds: 3.0,
            live_scripts: false,
            variants: 3,
            answer_chars: 240,
            holding: BTreeMap::new(),
            fallback: BTreeMap::new(),
        }
    }
}

/// The live room's events (`POST /events`, `/events/stream`, platform adapters).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// The variable holding the webhook secret: a request signed with it
    /// (`X-Twincast-Signature: sha256=<HMAC-SHA256 of the body, hex>`) needs no token.
    pub secret_env: Option<String>,
    /// Room activity per product per minute, one JSON-lines file per hour, in this folder
    /// (relative to the show file; `out/<show>-room/` when absent).
    pub tally_dir: Option<PathBuf>,
    /// Whether the hourly files are written.
    pub tally: bool,
    /// Events taken per second across all sources; more are dropped and counted.
    pub per_second: u32,
    /// Whether the stock left after orders is kept in `stock_file`, so a restart, or a
    /// catalog edit, goes on from it (until the file gives a product a new figure).
    pub keep_stock: bool,
    /// That file (relative to the show file; `out/<show>.stock.json` when absent); `None`
    /// after load when `keep_stock` is off.
    pub stock_file: Option<PathBuf>,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            secret_env: None,
            tally_dir: None,
            tally: true,
            per_second: 200,
            keep_stock: true,
            stock_file: None,
        }
    }
}

/// How the host thanks the room: gifts, likes, follows and entrances are gathered for
/// `batch_seconds` and thanked in one line, at most one such line every `gap_seconds`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReactionsConfig {
    pub enabled: bool,
    pub batch_seconds: f64,
    pub gap_seconds: f64,
    /// A gift worth this much (the platform's own unit, e.g. diamonds) gets its own line.
    pub big_gift_value: f64,
    /// Names read out before "and N others".
    pub names: usize,
    /// A clip the host plays with a thank-you, and a sound effect (`[audio] effects`).
    pub gesture: Option<String>,
    pub effect: Option<String>,
    pub likes: bool,
    pub follows: bool,
    pub entrances: bool,
    pub shares: bool,
}

impl Default for ReactionsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            batch_seconds: 6.0,
            gap_seconds: 20.0,
            big_gift_value: 100.0,
            names: 2,
            gesture: None,
            effect: None,
            likes: true,
            follows: true,
            entrances: false,
            shares: true,
        }
    }
}

/// What the compliance filter does with a line where a rule's word is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// Put `with` in the word's place.
    Rewrite,
    /// Leave out the clause (up to the nearest comma or full stop) holding the word.
    DropClause,
    /// Do not say the line at all.
    SkipLine,
}

/// One rule of `[[compliance.rules]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceRule {
    /// Shown in the audit log; the first word when absent.
    pub name: Option<String>,
    /// Matched case-insensitively; Latin words only as whole words.
    pub words: Vec<String>,
    pub action: RuleAction,
    /// The replacement for `rewrite`.
    #[serde(default)]
    pub with: String,
    /// Phrases holding a word that are fine (`第一次` for `第一`).
    #[serde(default)]
    pub except: Vec<String>,
}

/// `[llm]`, `[events]`, `[reactions]` and the compliance rules: finite limits, a URL that
/// is one, rules with words. Errors name the field and why.
pub(super) fn validate(show: &super::ShowConfig) -> Result<(), (&'static str, String)> {
    let l = &show.llm;
    if let Some(url) = &l.url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(("llm.url", format!("`{url}` is not an http(s) URL")));
    }
    for (field, v, max) in [
        ("llm.timeout_seconds", l.timeout_seconds, 600.0),
        ("llm.reply_budget_seconds", l.reply_budget_seconds, 60.0),
        (
            "reactions.batch_seconds",
            show.reactions.batch_seconds,
            3600.0,
        ),
        ("reactions.gap_seconds", show.reactions.gap_seconds, 3600.0),
    ] {
        if !(v.is_finite() && v > 0.0 && v <= max) {
            return Err((field, format!("{v} is outside (0, {max}]")));
        }
    }
    if !(1..=20).contains(&l.variants) {
        return Err(("llm.variants", format!("{} is outside 1..=20", l.variants)));
    }
    if !(20..=2000).contains(&l.answer_chars) {
        return Err((
            "llm.answer_chars",
            format!("{} is outside 20..=2000", l.answer_chars),
        ));
    }
    let big = show.reactions.big_gift_value;
    if !(big.is_finite() && big >= 0.0) {
        return Err(("reactions.big_gift_value", "must be 0 or more".into()));
    }
    if !(1..=100_000).contains(&show.events.per_second) {
        return Err(("events.per_second", "must be between 1 and 100000".into()));
    }
    let c = &show.compliance;
    if let Some(rule) = c
        .rules
        .iter()
        .find(|r| r.words.iter().all(|w| w.trim().is_empty()))
    {
        return Err((
            "compliance.rules",
            format!("rule {:?} has no words", rule.name.as_deref().unwrap_or("")),
        ));
    }
    Ok(())
}
