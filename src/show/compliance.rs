//! The compliance filter: every line passes it before it is synthesised, whoever wrote
//! it (the script, the language model, an FAQ answer, a thank-you with viewers' names),
//! so no line that breaks the rules reaches air or the captions.
//!
//! China's Advertising Law (art. 9: no "national-level", "highest", "best" claims; art. 16
//! and 17: no medical claims for goods that are not medicine) and the live-marketing rules
//! built on it are what platforms ban hosts for. The built-in rules cover the absolute,
//! guarantee and medical claims in Chinese and English; a show adds its own. Each rule
//! rewrites the word, drops its clause, or skips the line, and what changed goes to the
//! audit log with the rule's name.

use crate::config::{ComplianceConfig, RuleAction};
use crate::speech::split_cue;

/// One rule, its words ready to match.
#[derive(Debug, Clone)]
struct Rule {
    name: String,
    words: Vec<Vec<char>>,
    except: Vec<Vec<char>>,
    action: RuleAction,
    with: String,
}

/// What the filter did to one line, for the audit log.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub rule: String,
    pub action: RuleAction,
    /// The words found, as the line had them.
    pub found: String,
}

/// The filter's verdict on a line.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Nothing matched.
    Clean,
    /// Said as `text` instead.
    Rewritten { text: String, changes: Vec<Change> },
    /// Not said at all.
    Skipped { changes: Vec<Change> },
}

/// The rules a show's lines are checked against, and the words that keep viewer text off air.
#[derive(Debug, Clone)]
pub struct Filter {
    rules: Vec<Rule>,
    abuse: Vec<Vec<char>>,
}

impl Filter {
    pub fn new(config: &ComplianceConfig) -> Self {
        let mut rules = Vec::new();
        if config.default_rules {
            rules.extend(default_rules());
        }
        for (word, with) in &config.replace {
            rules.push(rule(word, &[word], RuleAction::Rewrite, with, &[]));
        }
        if !config.forbidden.is_empty() {
            let words: Vec<&str> = config.forbidden.iter().map(String::as_str).collect();
            rules.push(rule("forbidden", &words, RuleAction::DropClause, "", &[]));
        }
        for r in &config.rules {
            let words: Vec<&str> = r.words.iter().map(String::as_str).collect();
            let except: Vec<&str> = r.except.iter().map(String::as_str).collect();
            let name = r.name.clone().unwrap_or_else(|| r.words[0].clone());
            rules.push(rule(&name, &words, r.action, &r.with, &except));
        }
        let abuse = DEFAULT_ABUSE
            .iter()
            .copied()
            .chain(config.abuse.iter().map(String::as_str))
            .filter_map(chars)
            .collect();
        Self { rules, abuse }
    }

    /// Checks one line (a leading `[cue]` is kept as it is and not checked).
    pub fn check(&self, line: &str) -> Verdict {
        let (cue, text) = split_cue(line);
        let mut text = text.to_string();
        let mut changes = Vec::new();
        for rule in &self.rules {
            let lower = lowercase(&text);
            let hits = rule.hits(&lower);
            if hits.is_empty() {
                continue;
            }
            let source: Vec<char> = text.chars().collect();
            let found: Vec<String> = hits
                .iter()
                .map(|&(at, len)| source[at..at + len].iter().collect())
                .collect();
            changes.push(Change {
                rule: rule.name.clone(),
                action: rule.action,
                found: found.join(", "),
            });
            text = match rule.action {
                RuleAction::SkipLine => return Verdict::Skipped { changes },
                RuleAction::Rewrite => rewrite(&source, &hits, &rule.with),
                RuleAction::DropClause => drop_clauses(&source, &hits),
            };
            if !text.chars().any(char::is_alphanumeric) {
                return Verdict::Skipped { changes };
            }
        }
        if changes.is_empty() {
            return Verdict::Clean;
        }
        let text = tidy(&text);
        let text = match cue {
            Some(cue) => format!("[{cue}] {text}"),
            None => text,
        };
        Verdict::Rewritten { text, changes }
    }

    /// Whether viewer text (a name, a comment) holds a word that must not be read out.
    pub fn is_abusive(&self, text: &str) -> bool {
        let lower = lowercase(text);
        self.abuse.iter().any(|w| !find(&lower, w, &[]).is_empty())
    }
}

impl Rule {
    /// Where (char index, length) the rule's words are in `lower`, in order, not overlapping.
    fn hits(&self, lower: &[char]) -> Vec<(usize, usize)> {
        let mut hits: Vec<(usize, usize)> = self
            .words
            .iter()
            .flat_map(|w| find(lower, w, &self.except))
            .collect();
        hits.sort();
        let mut kept: Vec<(usize, usize)> = Vec::with_capacity(hits.len());
        for (at, len) in hits {
            if kept.last().is_none_or(|&(a, l)| at >= a + l) {
                kept.push((at, len));
            }
        }
        kept
    }
}

fn rule(name: &str, words: &[&str], action: RuleAction, with: &str, except: &[&str]) -> Rule {
    Rule {
        name: name.to_string(),
        words: words.iter().copied().filter_map(chars).collect(),
        except: except.iter().copied().filter_map(chars).collect(),
        action,
        with: with.to_string(),
    }
}

fn chars(word: &str) -> Option<Vec<char>> {
    let w = lowercase(word.trim());
    (!w.is_empty()).then_some(w)
}

/// One char per char (so indices match the original's), lower case.
fn lowercase(text: &str) -> Vec<char> {
    text.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// Occurrences of `word` in `text` that no `except` phrase covers; a word starting or
/// ending with a Latin letter or digit must not run on into another one ("best" is not
/// found in "bestseller").
fn find(text: &[char], word: &[char], except: &[Vec<char>]) -> Vec<(usize, usize)> {
    let n = word.len();
    if n == 0 || text.len() < n {
        return Vec::new();
    }
    let latin = |c: char| c.is_ascii_alphanumeric();
    (0..=text.len() - n)
        .filter(|&i| text[i..i + n] == *word)
        .filter(|&i| !(latin(word[0]) && i > 0 && latin(text[i - 1])))
        .filter(|&i| !(latin(word[n - 1]) && text.get(i + n).is_some_and(|c| latin(*c))))
        .filter(|&i| !covered(text, i, n, except))
        .map(|i| (i, n))
        .collect()
}

fn covered(text: &[char], at: usize, len: usize, except: &[Vec<char>]) -> bool {
    except.iter().any(|e| {
        let m = e.len();
        if m < len || text.len() < m {
            return false;
        }
        let first = (at + len).saturating_sub(m);
        (first..=at.min(text.len() - m)).any(|j| text[j..j + m] == **e)
    })
}

fn rewrite(source: &[char], hits: &[(usize, usize)], with: &str) -> String {
    let mut out = String::new();
    let mut i = 0;
    for &(at, len) in hits {
        out.extend(&source[i..at]);
        out.push_str(with);
        i = at + len;
    }
    out.extend(&source[i..]);
    out
}

/// Ends a clause: Chinese and Latin commas, stops, semicolons, question and exclamation
/// marks. A full stop inside a number (`99.9`) does not.
fn ends_clause(text: &[char], i: usize) -> bool {
    match text[i] {
        '，' | '。' | '！' | '？' | '；' | '、' | ',' | '!' | '?' | ';' | '\n' => true,
        '.' => text.get(i + 1).is_none_or(|c| c.is_whitespace()),
        _ => false,
    }
}

fn drop_clauses(source: &[char], hits: &[(usize, usize)]) -> String {
    let mut kept: Vec<Option<char>> = source.iter().copied().map(Some).collect();
    for &(at, len) in hits {
        let start = (0..at)
            .rev()
            .find(|&i| ends_clause(source, i))
            .map_or(0, |i| i + 1);
        let end = (at + len..source.len())
            .find(|&i| ends_clause(source, i))
            .map_or(source.len(), |i| i + 1);
        kept[start..end].iter_mut().for_each(|c| *c = None);
        // "Soft, guaranteed to last. Only…": the sentence now ends where the comma was.
        let ends_sentence = end > 0 && "。！？.!?".contains(source[end - 1]);
        if ends_sentence && start > 0 && "，,;；、".contains(source[start - 1]) {
            kept[start - 1] = Some(source[end - 1]);
        }
    }
    kept.into_iter().flatten().collect()
}

/// Spaces collapsed and no stray comma left at the start after a clause was dropped.
fn tidy(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    joined
        .trim_start_matches(|c: char| ",，;；、".contains(c) || c.is_whitespace())
        .to_string()
}

/// The built-in rules. Absolute claims are rewritten to plain ones (the line still sells),
/// guarantees lose their clause, medical claims skip the line.
fn default_rules() -> Vec<Rule> {
    use RuleAction::*;
    let rewrites: &[(&str, &str)] = &[
        ("最好", "很好"),
        ("最佳", "优秀"),
        ("最优", "优质"),
        ("最强", "很强"),
        ("最低价", "超值价"),
        ("最便宜", "很实惠"),
        ("顶级", "高品质"),
        ("极品", "精品"),
        ("国家级", "专业级"),
        ("世界级", "专业级"),
        ("全网第一", "很受欢迎"),
        ("销量第一", "很受欢迎"),
        ("best ever", "great"),
        ("the best", "a great"),
        ("number one", "a favourite"),
        ("no. 1", "a favourite"),
        ("world-class", "high-quality"),
        ("cheapest", "great value"),
        ("lowest price", "great price"),
    ];
    let mut rules: Vec<Rule> = rewrites
        .iter()
        .map(|(w, with)| rule(&format!("absolute: {w}"), &[w], Rewrite, with, &[]))
        .collect();
    rules.push(rule(
        "absolute: 第一",
        &["第一"],
        Rewrite,
        "领先",
        &[
            "第一次",
            "第一个",
            "第一步",
            "第一天",
            "第一眼",
            "第一时间",
            "第一批",
            "第一款",
            "第一件",
            "第一位",
        ],
    ));
    rules.push(rule(
        "guarantee",
        &[
            "100%",
            "百分之百",
            "绝对",
            "永久",
            "万能",
            "保证",
            "无效退款",
            "零风险",
            "guaranteed",
            "guarantee",
            "risk-free",
            "forever",
            "absolutely",
        ],
        DropClause,
        "",
        &[],
    ));
    rules.push(rule(
        "medical",
        &[
            "治疗",
            "治愈",
            "药效",
            "包治",
            "根治",
            "疗效",
            "防癌",
            "抗癌",
            "cures",
            "cure",
            "heals",
            "treats disease",
            "medical-grade",
        ],
        SkipLine,
        "",
        &[],
    ));
    rules
}

/// Words that keep a viewer's name or comment off air (a short list; shows add theirs).
const DEFAULT_ABUSE: &[&str] = &[
    "fuck",
    "shit",
    "bitch",
    "cunt",
    "asshole",
    "nigger",
    "faggot",
    "retard",
    "傻逼",
    "煞笔",
    "操你",
    "草泥马",
    "他妈的",
    "去死",
    "贱人",
    "婊子",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> Filter {
        Filter::new(&ComplianceConfig::default())
    }

    fn said(verdict: Verdict) -> Option<String> {
        match verdict {
            Verdict::Clean => Some("(clean)".into()),
            Verdict::Rewritten { text, .. } => Some(text),
            Verdict::Skipped { .. } => None,
        }
    }

    #[test]
    fn absolute_claims_are_rewritten_and_plain_words_are_left_alone() {
        let f = filter();
        assert_eq!(
            said(f.check("这是全网最好的茶杯！")).as_deref(),
            Some("这是全网很好的茶杯！")
        );
        assert_eq!(
            said(f.check("[Wave] It is the best ever kettle.")).as_deref(),
            Some("[Wave] It is the great kettle.")
        );
        assert_eq!(f.check("第一次来直播间吗？"), Verdict::Clean);
        assert_eq!(f.check("最后三分钟！"), Verdict::Clean);
        assert_eq!(f.check("Our bestseller, in stock."), Verdict::Clean);
        match f.check("销量第一，品质第一。") {
            Verdict::Rewritten { text, changes } => {
                assert_eq!(text, "很受欢迎，品质领先。");
                assert_eq!(changes.len(), 2);
                assert_eq!(changes[1].rule, "absolute: 第一");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn guarantees_lose_their_clause_and_medical_claims_the_line() {
        let f = filter();
        assert_eq!(
            said(f.check("纯棉面料，100%不起球，只要99.9元。")).as_deref(),
            Some("纯棉面料，只要99.9元。")
        );
        assert_eq!(
            said(f.check("Soft cotton, guaranteed to last. Only 99.9 yuan!")).as_deref(),
            Some("Soft cotton. Only 99.9 yuan!")
        );
        assert_eq!(said(f.check("这款茶能治疗失眠。")), None);
        assert_eq!(said(f.check("It cures headaches")), None);
        // A line that was all guarantee is not said.
        assert_eq!(said(f.check("Guaranteed!")), None);
    }

    #[test]
    fn a_show_adds_its_own_rules() {
        let config = ComplianceConfig {
            replace: [("cheap".to_string(), "affordable".to_string())].into(),
            forbidden: vec!["competitor".into()],
            rules: vec![crate::config::ComplianceRule {
                name: Some("no prices in dollars".into()),
                words: vec!["dollars".into()],
                action: RuleAction::SkipLine,
                with: String::new(),
                except: vec![],
            }],
            default_rules: false,
            ..Default::default()
        };
        let f = Filter::new(&config);
        assert_eq!(
            said(f.check("Cheap and good, unlike the competitor's. Buy now!")).as_deref(),
            Some("affordable and good. Buy now!")
        );
        assert_eq!(said(f.check("Only ten dollars")), None);
        assert_eq!(f.check("the best"), Verdict::Clean);
    }

    #[test]
    fn abusive_viewer_text_is_recognised() {
        let f = filter();
        assert!(f.is_abusive("you SHIT host"));
        assert!(f.is_abusive("傻逼主播"));
        assert!(!f.is_abusive("Lily"));
        assert!(!f.is_abusive("Is there a shitake mushroom tea?"));
    }
}
