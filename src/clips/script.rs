//! What one clip is: the show cut down to a single segment about one product in one
//! language, played once, with the post's title and hashtags.

use crate::config::plan::{
    LineSpec, Localized, PRODUCT_CAMERA, Product, Segment, SegmentKind, Shot,
};
use crate::config::{ClipTemplate, ShowConfig};
use crate::show::Director;
use std::path::Path;

/// One clip of the batch: a product in a language.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub product: String,
    pub language: String,
    /// File stem: `<product>-<language>`, made safe for file names.
    pub name: String,
}

impl Job {
    pub fn new(product: &str, language: &str) -> Self {
        let safe: String = format!("{product}-{language}")
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Self {
            product: product.to_string(),
            language: language.to_string(),
            name: safe,
        }
    }
}

/// The post's text: a title line and hashtags.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub title: String,
    pub hashtags: Vec<String>,
}

/// What a clip says when the show file has no `[[clips]]` for its product: a line per
/// fact, so one the product lacks (stock, selling points) is left out whole.
fn built_in(language: &str) -> ClipTemplate {
    let (lines, title, tags) = if language == "zh" {
        (
            vec![
                "[Wave] 给大家介绍我们的{name}！",
                "{points}。",
                "库存只有{stock}件。",
                "现在只要{price}元，点击下方购物车马上下单！",
            ],
            "{name}｜工厂直供 {currency}{price}",
            vec!["#{name}", "#工厂直销", "#{shop}"],
        )
    } else {
        (
            vec![
                "[Wave] Meet our {name}!",
                "{points}.",
                "Only {stock} in stock.",
                "Just {currency}{price}. Tap the cart below to order yours!",
            ],
            "{name}, factory direct at {currency}{price}",
            vec!["#{name}", "#factorydirect", "#{shop}"],
        )
    };
    let lines: Vec<LineSpec> = lines.into_iter().map(|l| LineSpec::One(l.into())).collect();
    ClipTemplate {
        // In `language` whatever the show file's own language is.
        translations: [(language.to_string(), lines.clone())].into(),
        lines,
        title: Some(Localized::Same(title.into())),
        hashtags: Localized::Same(tags.into_iter().map(String::from).collect()),
        ..ClipTemplate::default()
    }
}

/// The template for `product`: the first `[[clips]]` naming it, else the first naming no
/// product, else the built-in one.
pub fn template_for(show: &ShowConfig, product: &str, language: &str) -> ClipTemplate {
    let named = show
        .clips
        .iter()
        .find(|c| c.products.iter().any(|p| p == product));
    let general = || show.clips.iter().find(|c| c.products.is_empty());
    named
        .or_else(general)
        .cloned()
        .unwrap_or_else(|| built_in(language))
}

/// Whether the show file has a `[[clips]]` for `product` (its own, or one for all).
fn file_has_template(show: &ShowConfig, product: &str) -> bool {
    (show.clips.iter()).any(|c| c.products.is_empty() || c.products.iter().any(|p| p == product))
}

/// How many lines the model is asked for per clip.
const MODEL_LINES: usize = 3;

/// The show with a `[[clips]]` template per product that has none in the file, its lines
/// written by the show's language model (`[llm]`) for each job's language. Lines go
/// through the compliance filter and the placeholder check like drafted rundown lines; a
/// language the model wrote nothing usable for keeps the built-in lines. Without an
/// `[llm]`, the show as it is.
pub fn with_model_scripts(show: &ShowConfig, jobs: &[Job]) -> ShowConfig {
    let mut show = show.clone();
    let Some(client) = crate::llm::ChatClient::new(&show.llm) else {
        return show;
    };
    let filter = crate::show::compliance::Filter::new(&show.compliance);
    let mut written: std::collections::BTreeMap<String, ClipTemplate> = Default::default();
    for job in jobs
        .iter()
        .filter(|j| !file_has_template(&show, &j.product))
    {
        let Some(product) = show.plan.products.iter().find(|p| p.id == job.product) else {
            continue;
        };
        let messages =
            crate::show::host::clip_messages(&show.plan, product, &job.language, MODEL_LINES);
        let lines: Vec<LineSpec> = match client.chat(&messages, 300 * MODEL_LINES, &mut |_| {}) {
            Ok(answer) => crate::show::host::parse_draft(&answer, MODEL_LINES, 300)
                .into_iter()
                .filter(|l| matches!(filter.check(l), crate::show::compliance::Verdict::Clean))
                .map(LineSpec::One)
                .collect(),
            Err(e) => {
                tracing::warn!("clip {}: the language model wrote no script: {e}", job.name);
                Vec::new()
            }
        };
        let template = written
            .entry(job.product.clone())
            .or_insert_with(|| ClipTemplate {
                products: vec![job.product.clone()],
                ..built_in_all()
            });
        if lines.is_empty() {
            tracing::warn!(
                "clip {}: no usable lines from the model; the built-in ones are said",
                job.name
            );
        } else {
            tracing::info!(
                "clip {}: {} lines from the language model",
                job.name,
                lines.len()
            );
            template.translations.insert(job.language.clone(), lines);
        }
    }
    show.clips.extend(written.into_values());
    show
}

/// The built-in template in both languages at once.
fn built_in_all() -> ClipTemplate {
    let (zh, en) = (built_in("zh"), built_in("en"));
    let title = |t: &ClipTemplate, l: &str| {
        t.title
            .as_ref()
            .map_or(String::new(), |x| x.text(l).to_string())
    };
    let tags = |t: &ClipTemplate, l: &str| t.hashtags.get(l).cloned().unwrap_or_default();
    ClipTemplate {
        title: Some(Localized::ByLanguage(
            [
                ("zh".into(), title(&zh, "zh")),
                ("en".into(), title(&en, "en")),
            ]
            .into(),
        )),
        hashtags: Localized::ByLanguage(
            [
                ("zh".into(), tags(&zh, "zh")),
                ("en".into(), tags(&en, "en")),
            ]
            .into(),
        ),
        translations: zh.translations.into_iter().chain(en.translations).collect(),
        ..ClipTemplate::default()
    }
}

/// The template's lines in `language`: its translation, or its own lines when `language`
/// is the show's. `None` when it has none in that language.
fn lines_in(template: &ClipTemplate, language: &str, base: &str) -> Option<Vec<LineSpec>> {
    match template.translations.get(language) {
        Some(lines) if !lines.is_empty() => Some(lines.clone()),
        _ if language == base && !template.lines.is_empty() => Some(template.lines.clone()),
        _ => None,
    }
}

/// Shots for a clip with none given: the show's camera to open, then the product's own
/// camera (one named for its prop or its id) if the scene has one, else its close-up
/// framed from its prop (camera `product`).
fn default_shots(show: &ShowConfig, product: &Product, cameras: &[String]) -> Vec<Shot> {
    let own = [product.prop.as_deref(), Some(product.id.as_str())]
        .into_iter()
        .flatten()
        .find(|name| cameras.iter().any(|c| c == name))
        .or(product.prop.as_ref().map(|_| PRODUCT_CAMERA));
    let Some(own) = own else {
        return Vec::new();
    };
    let opening = show.camera.clone().or_else(|| cameras.first().cloned());
    let mut shots: Vec<Shot> = opening
        .into_iter()
        .map(|camera| Shot {
            camera,
            seconds: 3.0,
            move_seconds: 0.0,
        })
        .collect();
    shots.push(Shot {
        camera: own.to_string(),
        seconds: 6.0,
        move_seconds: 0.0,
    });
    shots
}

/// The show as one clip: a single pitch of the product in the job's language, nothing
/// live (no API, takeover, model, room or alerts), written whole for upload, its lines
/// recorded in `said` for the captions.
pub fn clip_show(
    show: &ShowConfig,
    job: &Job,
    cameras: &[String],
    said: &Path,
) -> Result<ShowConfig, String> {
    let product = (show.plan.products.iter())
        .find(|p| p.id == job.product)
        .ok_or_else(|| format!("no product `{}` in the catalog", job.product))?;
    let template = template_for(show, &job.product, &job.language);
    let lines = lines_in(&template, &job.language, &show.text_language).ok_or_else(|| {
        format!(
            "the clip template for `{}` has no lines in `{}` (add translations.{} to its [[clips]])",
            job.product, job.language, job.language
        )
    })?;
    let mut clip = show.clone();
    clip.speak_only(&job.language, None);
    let shots = if template.shots.is_empty() {
        default_shots(show, product, cameras)
    } else {
        template.shots.clone()
    };
    clip.plan.segments = vec![Segment {
        kind: SegmentKind::Pitch,
        title: template.title.clone(),
        product: Some(job.product.clone()),
        lines,
        translations: Default::default(),
        shots,
        seconds: 0.0,
        countdown: None,
    }];
    clip.plan.schedule.clear();
    clip.plan.faq.clear();
    clip.plan.drafts.clear();
    clip.clips.clear();
    clip.outputs.clear();
    clip.voice.pause_seconds = clip.voice.pause_seconds.min(0.6);
    clip.api.listen = None;
    clip.takeover.audio_listen = None;
    clip.alerts.webhook = None;
    clip.llm.url = None;
    clip.events.tally_dir = None;
    clip.events.stock_file = None;
    clip.compliance.audit = true;
    clip.compliance.audit_log = Some(said.to_path_buf());
    clip.recording.faststart = true;
    clip.recording.segment_minutes = 0.0;
    clip.recording.keep_gb = 0.0;
    // Uploads are watched, not relayed live: B-frames and look-ahead buy quality.
    clip.video.tune = String::new();
    clip.video.b_frames = 2;
    // The fastest presets leave out CABAC and 8×8 transforms, so the stream is not the
    // High profile upload pages ask for.
    if matches!(clip.video.preset.as_str(), "ultrafast" | "superfast") {
        clip.video.preset = "veryfast".into();
    }
    Ok(clip)
}

/// The post's title and hashtags for the job, filled like the rundown's lines.
pub fn post(show: &ShowConfig, job: &Job) -> Post {
    let template = template_for(show, &job.product, &job.language);
    let director = Director::new(show.plan.clone(), &job.language, 0.0);
    let fill = |t: &str| director.fill_for(t, &job.product, &job.language);
    let title = match &template.title {
        Some(title) => fill(title.text(&job.language)),
        None => fill("{name}"),
    };
    let hashtags = (template.hashtags.get(&job.language).into_iter().flatten())
        .filter_map(|t| hashtag(&fill(t)))
        .fold(Vec::new(), |mut tags, tag| {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
            tags
        });
    Post {
        title: title.split_whitespace().collect::<Vec<_>>().join(" "),
        hashtags,
    }
}

/// `#` and the letters and digits of `text` (spaces and punctuation break a hashtag);
/// `None` when nothing is left.
fn hashtag(text: &str) -> Option<String> {
    let word: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .take(40)
        .collect();
    (!word.is_empty()).then(|| format!("#{word}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_lose_spaces_and_punctuation() {
        assert_eq!(hashtag("#birthday cake!").as_deref(), Some("#birthdaycake"));
        assert_eq!(hashtag("#生日 蛋糕").as_deref(), Some("#生日蛋糕"));
        assert_eq!(hashtag("# ,"), None);
    }

    #[test]
    fn a_product_without_a_camera_of_its_own_is_shown_by_its_close_up() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let show = ShowConfig::load(&root.join("assets/shows/demo.toml")).unwrap();
        let cameras: Vec<String> = ["wide", "cake"].map(String::from).to_vec();
        let mut cake = show.plan.products[0].clone();
        cake.prop = Some("cake".into());
        let last = |p: &Product| {
            default_shots(&show, p, &cameras)
                .last()
                .map(|s| s.camera.clone())
        };
        assert_eq!(last(&cake).as_deref(), Some("cake"));
        // Neither its prop nor its id names a camera: its close-up.
        cake.id = "kettle".into();
        cake.prop = Some("kettle on a stand".into());
        assert_eq!(last(&cake).as_deref(), Some(PRODUCT_CAMERA));
        cake.prop = None;
        assert_eq!(last(&cake), None);
    }

    #[test]
    fn job_names_are_safe_file_names() {
        assert_eq!(Job::new("../cake", "zh").name, "___cake-zh");
        assert_eq!(Job::new("tea_cup", "en").name, "tea_cup-en");
    }
}
