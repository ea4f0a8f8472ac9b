//! What the language model is told, and what is taken from its answers: the catalog,
//! prices, stock and what is on air as the context of a viewer's question; a segment's
//! kind, product and existing lines for drafting variants. Drafted lines use the show
//! file's own placeholders (`{name}`, `{price}`, …), so they stay true when a price or
//! the stock changes, and a draft with an unknown placeholder is dropped.

use super::Director;
use crate::config::LlmConfig;
use crate::config::plan::{Product, Segment, ShowPlan, check_template};
use crate::llm::Message;

fn language_name(language: &str) -> &'static str {
    if language == "zh" {
        "Simplified Chinese"
    } else {
        "English"
    }
}

fn rules(language: &str) -> String {
    format!(
        "Speak {}, as a warm live-stream shopping host. Use only the facts given; never \
         invent prices, discounts, delivery times or certifications. No absolute claims \
         (best, number one, 最, 第一), no guarantees, no medical claims. No lists, no \
         markdown, no emoji: plain spoken sentences.",
        language_name(language)
    )
}

fn product_facts(p: &Product, language: &str, currency: &str) -> String {
    let mut line = format!(
        "- {} (id {}): {}{}",
        p.name.get(language),
        p.id,
        currency,
        p.price
    );
    if let Some(f) = p.flash_price {
        line.push_str(&format!(", flash-sale price {currency}{f}"));
    }
    match p.stock {
        Some(0) => line.push_str(", sold out: do not offer it"),
        Some(s) => line.push_str(&format!(", {s} in stock")),
        None => {}
    }
    if let Some(points) = p.points.get(language).filter(|p| !p.is_empty()) {
        line.push_str(&format!("; {}", points.join("; ")));
    }
    line
}

/// Products the model is told about at most (the one on air first), so a large catalog
/// does not make every question a long, slow prompt.
const PROMPT_PRODUCTS: usize = 30;

fn catalog(plan: &ShowPlan, language: &str, first: Option<&str>) -> String {
    let on_air = plan
        .products
        .iter()
        .filter(|p| Some(p.id.as_str()) == first);
    let others = plan
        .products
        .iter()
        .filter(|p| Some(p.id.as_str()) != first);
    on_air
        .chain(others)
        .take(PROMPT_PRODUCTS)
        .map(|p| product_facts(p, language, &plan.overlay.currency))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The conversation for a viewer's question no FAQ entry answers.
pub fn reply_messages(
    director: &Director,
    user: &str,
    comment: &str,
    language: &str,
) -> Vec<Message> {
    let plan = director.plan();
    let on_air = director.on_air();
    let now = match (&on_air.kind, &on_air.product) {
        (Some(kind), Some(p)) => {
            format!("Now on air: {} of {}.", kind.label(), p.name.get(language))
        }
        (Some(kind), None) => format!("Now on air: {}.", kind.label()),
        _ => String::new(),
    };
    let system = format!(
        "You host the live shop of {}. {}\nAnswer the viewer's question in one to three short \
         sentences, addressing them by name. If the facts do not answer it, say so kindly and \
         point to the product card.\nCatalog:\n{}\n{now}",
        plan.shop.text(language),
        rules(language),
        catalog(
            plan,
            language,
            on_air.product.as_ref().map(|p| p.id.as_str())
        ),
    );
    vec![
        Message::system(system),
        Message::user(format!("{user} asks: {comment}")),
    ]
}

/// The conversation for `variants` new lines of segment `index` in `language`.
pub fn draft_messages(
    plan: &ShowPlan,
    index: usize,
    language: &str,
    variants: usize,
) -> Vec<Message> {
    let segment = &plan.segments[index];
    let product = segment
        .product
        .as_ref()
        .and_then(|id| plan.products.iter().find(|p| &p.id == id));
    let about = match product {
        Some(p) => format!(
            "It is about this product:\n{}",
            product_facts(p, language, &plan.overlay.currency)
        ),
        None => format!(
            "It is about whichever product is on air. Catalog:\n{}",
            catalog(plan, language, None)
        ),
    };
    let examples = lines_of(segment, language).join("\n");
    let system = format!(
        "You write lines for the live shop of {}. {}\nWrite exactly {variants} different lines \
         for a `{}` segment, one per row, each one or two sentences. Use these placeholders \
         instead of facts that change: {{name}} (the product), {{price}}, {{flash_price}}, \
         {{stock}}, {{countdown}} (time left in a flash sale), {{point}} (one selling \
         point), {{shop}}. Use no other braces.\n{about}",
        plan.shop.text(language),
        rules(language),
        segment.kind.label(),
    );
    let user = if examples.is_empty() {
        "Write the lines.".to_string()
    } else {
        format!("Lines the show uses now, for tone (do not repeat them):\n{examples}")
    };
    vec![Message::system(system), Message::user(user)]
}

/// The conversation for a short video's script: `lines` lines about `product` in
/// `language`, said in turn over 15 to 45 seconds.
pub fn clip_messages(
    plan: &ShowPlan,
    product: &Product,
    language: &str,
    lines: usize,
) -> Vec<Message> {
    let system = format!(
        "You write short-video scripts for the shop of {}. {}\nWrite exactly {lines} different \
         lines, one per row, each one or two sentences, said in turn in a 15 to 45 second \
         vertical video: the first presents the product and what makes it good, the last \
         gives the price and asks viewers to tap the shopping cart. Use these placeholders \
         instead of facts that change: {{name}} (the product), {{price}}, {{stock}}, \
         {{points}} (its selling points), {{shop}}. Use no other braces.\nThe product:\n{}",
        plan.shop.text(language),
        rules(language),
        product_facts(product, language, &plan.overlay.currency),
    );
    vec![
        Message::system(system),
        Message::user("Write the script.".to_string()),
    ]
}

/// The segment's lines in `language` (its translation, else its own), first variants.
pub fn lines_of(segment: &Segment, language: &str) -> Vec<String> {
    segment
        .translations
        .get(language)
        .filter(|l| !l.is_empty())
        .unwrap_or(&segment.lines)
        .iter()
        .filter_map(|l| l.variants().first().cloned())
        .collect()
}

/// The lines of a drafted answer: one per row, numbering, bullets and quotes taken off,
/// at most `max` of them, each at most `max_chars`; a line with a placeholder we do not
/// fill (the show file's own check), or with cue brackets, is dropped.
pub fn parse_draft(text: &str, max: usize, max_chars: usize) -> Vec<String> {
    text.lines()
        .map(|l| {
            l.trim()
                .trim_start_matches(|c: char| c.is_ascii_digit() || "-*•.)、 ".contains(c))
                .trim_matches(|c: char| "\"'“”「」".contains(c) || c.is_whitespace())
                .to_string()
        })
        .filter(|l| !l.is_empty() && l.chars().count() <= max_chars)
        .filter(|l| !l.contains('[') && !l.contains(']') && check_template(l).is_ok())
        .take(max)
        .collect()
}

/// What to draft: for each segment that speaks, every language a schedule slot uses
/// where the file has no lines in it (the model translates); and with `variants`, the
/// show's own language too. `(segment index, language)` pairs.
pub fn draft_jobs(plan: &ShowPlan, base: &str, variants: bool) -> Vec<(usize, String)> {
    let mut languages: Vec<String> = vec![base.to_string()];
    for slot in &plan.schedule {
        if let Some(l) = &slot.language
            && !languages.contains(l)
        {
            languages.push(l.clone());
        }
    }
    let mut jobs = Vec::new();
    for (i, segment) in plan.segments.iter().enumerate() {
        if segment.lines.is_empty() {
            continue;
        }
        for language in &languages {
            let own = language == base
                || segment
                    .translations
                    .get(language)
                    .is_some_and(|l| !l.is_empty());
            let approved = plan
                .drafts
                .iter()
                .any(|d| d.segment == i + 1 && &d.language == language);
            if (!own && !approved) || variants {
                jobs.push((i, language.clone()));
            }
        }
    }
    jobs
}

/// One drafted segment: the lines kept, and those the compliance filter refused.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Drafted {
    pub segment: usize,
    pub language: String,
    pub lines: Vec<String>,
    pub refused: Vec<String>,
}

/// Drafts `jobs` through `ask` (the model's answer, or why it failed), keeping lines that
/// parse and pass `filter` unchanged (a line the filter would rewrite is refused, so what
/// a person approves is what airs).
pub fn draft(
    plan: &ShowPlan,
    jobs: &[(usize, String)],
    variants: usize,
    filter: &super::compliance::Filter,
    ask: &mut dyn FnMut(Vec<Message>) -> Result<String, String>,
) -> Vec<Result<Drafted, String>> {
    jobs.iter()
        .map(|(segment, language)| {
            let answer = ask(draft_messages(plan, *segment, language, variants))?;
            let mut drafted = Drafted {
                segment: *segment,
                language: language.clone(),
                ..Default::default()
            };
            for line in parse_draft(&answer, variants, 300) {
                match filter.check(&line) {
                    super::compliance::Verdict::Clean => drafted.lines.push(line),
                    _ => drafted.refused.push(line),
                }
            }
            Ok(drafted)
        })
        .collect()
}

/// Drafted lines as a show-file fragment: `[[drafts]]` tables to review, trim, and paste
/// into the show file (lines the filter refused are listed as comments).
pub fn draft_toml(plan: &ShowPlan, drafted: &[Drafted], header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(&format!("# {line}\n"));
    }
    for d in drafted {
        let s = &plan.segments[d.segment];
        let title = s
            .title
            .as_ref()
            .map(|t| t.text(&d.language).to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "\n# segment {}: {} {}\n[[drafts]]\nsegment = {}\nlanguage = {}\nlines = [\n",
            d.segment + 1,
            s.kind.label(),
            title,
            d.segment + 1,
            toml_string(&d.language),
        ));
        for line in &d.lines {
            out.push_str(&format!("    {},\n", toml_string(line)));
        }
        out.push_str("]\n");
        for line in &d.refused {
            out.push_str(&format!(
                "# refused by the compliance filter: {}\n",
                line.replace('\n', " ")
            ));
        }
    }
    out
}

fn toml_string(text: &str) -> String {
    // A JSON string is a valid TOML basic string (the same escapes).
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// A holding line while the model thinks ("Good question, one moment"), the `n`th.
pub fn holding_line(config: &LlmConfig, language: &str, user: &str, n: usize) -> String {
    let built_in: &[&str] = if language == "zh" {
        &["{user}，好问题，我看一下。", "{user}，稍等，我马上回答你。"]
    } else {
        &[
            "Good question, {user}, one moment.",
            "Let me check that for you, {user}.",
        ]
    };
    let own = config.holding.get(language).filter(|l| !l.is_empty());
    let line = match own {
        Some(lines) => lines[n % lines.len()].clone(),
        None => built_in[n % built_in.len()].to_string(),
    };
    line.replace("{user}", user)
}

/// What is said when the model fails on a question.
pub fn fallback_line(config: &LlmConfig, language: &str, user: &str) -> String {
    let line = config.fallback.get(language).cloned().unwrap_or_else(|| {
        if language == "zh" {
            "{user}，谢谢你的提问，详细信息请看商品卡片。".into()
        } else {
            "Thanks for asking, {user}. The product card has the details.".into()
        }
    });
    line.replace("{user}", user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_is_told_what_is_sold_out() {
        let mut kettle = Product {
            id: "kettle".into(),
            name: crate::config::plan::Names {
                zh: None,
                en: Some("kettle".into()),
            },
            price: 129.0,
            flash_price: None,
            points: Default::default(),
            stock: Some(4),
            prop: None,
            image: None,
            prices: Default::default(),
        };
        assert_eq!(
            product_facts(&kettle, "en", "¥"),
            "- kettle (id kettle): ¥129, 4 in stock"
        );
        kettle.stock = Some(0);
        assert!(product_facts(&kettle, "en", "¥").contains("sold out: do not offer it"));
    }

    #[test]
    fn drafts_keep_plain_lines_with_known_placeholders() {
        let answer = "1. \"Only {price} today for {name}!\"\n\
                      2) Look at {name}, {point}.\n\
                      - Call {phone} now\n\
                      * [Wave] Hello\n\
                      - A deal} for you\n\
                      \n\
                      • 现在下单只要{flash_price}元！\n\
                      Fifth";
        assert_eq!(
            parse_draft(answer, 3, 100),
            vec![
                "Only {price} today for {name}!",
                "Look at {name}, {point}.",
                "现在下单只要{flash_price}元！",
            ]
        );
    }

    #[test]
    fn a_draft_is_a_show_file_fragment_and_missing_languages_are_drafted() {
        use crate::config::plan::{LineSpec, ScheduleEntry, Segment, SegmentKind};
        let mut plan = ShowPlan::default();
        plan.segments.push(Segment {
            kind: SegmentKind::Opening,
            title: None,
            product: None,
            lines: vec![LineSpec::One("Welcome".into())],
            translations: Default::default(),
            shots: Vec::new(),
            seconds: 0.0,
            countdown: None,
        });
        plan.schedule.push(ScheduleEntry {
            from: "20:00".into(),
            to: "23:00".into(),
            products: Vec::new(),
            language: Some("zh".into()),
            voice: None,
        });
        // No variants asked: only the translation the file lacks.
        assert_eq!(draft_jobs(&plan, "en", false), vec![(0, "zh".to_string())]);
        assert_eq!(draft_jobs(&plan, "en", true).len(), 2);
        let drafted = Drafted {
            segment: 0,
            language: "zh".into(),
            lines: vec!["欢迎 \"朋友\"".into()],
            refused: vec!["最好的".into()],
        };
        let text = draft_toml(&plan, &[drafted], "Drafted for a test.\nReview it.");
        #[derive(serde::Deserialize)]
        struct Fragment {
            drafts: Vec<crate::config::plan::Draft>,
        }
        let parsed: Fragment = toml::from_str(&text).unwrap();
        assert_eq!(parsed.drafts[0].lines, vec!["欢迎 \"朋友\""]);
        assert_eq!(parsed.drafts[0].segment, 1);
        assert!(
            text.contains("# refused by the compliance filter: 最好的"),
            "{text}"
        );
    }

    #[test]
    fn holding_and_fallback_lines_name_the_viewer() {
        let c = LlmConfig::default();
        assert_eq!(
            holding_line(&c, "en", "Mia", 0),
            "Good question, Mia, one moment."
        );
        assert_eq!(
            holding_line(&c, "zh", "小明", 1),
            "小明，稍等，我马上回答你。"
        );
        assert!(fallback_line(&c, "en", "Mia").contains("Mia"));
    }
}
