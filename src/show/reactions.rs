//! Thank-yous for the live room: gifts, likes, follows, shares and entrances gathered for a
//! few seconds and thanked in one line ("Thank you Lily, Chen and 12 others for the
//! Roses!"), at most one such line every `gap_seconds`, so a generous room cannot talk
//! over the script. A big gift gets a line of its own at once. Memory is bounded whatever
//! the room sends: a few names per kind are kept, the rest only counted.

use super::events::RoomEvent;
use crate::config::ReactionsConfig;
use std::collections::{BTreeMap, VecDeque};

/// Names kept per group (more are only counted).
const KEEP_NAMES: usize = 8;
/// Gift kinds gathered at once; gifts of further kinds count toward the largest group.
const GIFT_KINDS: usize = 8;
/// Big-gift lines that may wait.
const BIG_WAITING: usize = 4;

/// A group of viewers doing one thing: the first few names and how many in all.
#[derive(Debug, Default, Clone)]
struct Group {
    names: Vec<String>,
    people: u64,
}

impl Group {
    fn add(&mut self, name: Option<&str>) {
        self.people += 1;
        if let Some(n) = name
            && self.names.len() < KEEP_NAMES
            && !self.names.iter().any(|k| k == n)
        {
            self.names.push(n.to_string());
        }
    }
}

/// What the room did since the last thank-you.
#[derive(Debug, Default)]
struct Pending {
    gifts: BTreeMap<String, Group>,
    likes: Group,
    follows: Group,
    shares: Group,
    enters: Group,
    since: Option<f64>,
}

pub struct Reactions {
    config: ReactionsConfig,
    pending: Pending,
    big: VecDeque<String>,
    last_line: Option<f64>,
}

impl Reactions {
    pub fn new(config: ReactionsConfig) -> Self {
        Self {
            config,
            pending: Pending::default(),
            big: VecDeque::new(),
            last_line: None,
        }
    }

    /// Takes one event at media time `now`. `name` is the viewer's name as it may be read
    /// out (cleaned and screened), or `None` when it must not be.
    pub fn push(&mut self, event: &RoomEvent, name: Option<&str>, now: f64, language: &str) {
        if !self.config.enabled {
            return;
        }
        let c = &self.config;
        let group = match event {
            RoomEvent::Gift { gift, value, .. }
                if *value >= c.big_gift_value && c.big_gift_value > 0.0 =>
            {
                if self.big.len() < BIG_WAITING {
                    let line = big_gift_line(name.unwrap_or(friend(language)), gift, language);
                    self.big.push_back(line);
                }
                return;
            }
            RoomEvent::Gift { gift, .. } => {
                let gifts = &mut self.pending.gifts;
                let key = if gifts.contains_key(gift) || gifts.len() < GIFT_KINDS {
                    gift.clone()
                } else {
                    gifts.keys().next().cloned().unwrap_or_default()
                };
                gifts.entry(key).or_default()
            }
            RoomEvent::Like { .. } if c.likes => &mut self.pending.likes,
            RoomEvent::Follow { .. } if c.follows => &mut self.pending.follows,
            RoomEvent::Share { .. } if c.shares => &mut self.pending.shares,
            RoomEvent::Enter { .. } if c.entrances => &mut self.pending.enters,
            _ => return,
        };
        group.add(name);
        self.pending.since.get_or_insert(now);
    }

    /// The thank-you line due at `now`, if any: a big gift's at once; the gathered ones
    /// once `batch_seconds` have passed since the first and `gap_seconds` since the last.
    pub fn due(&mut self, now: f64, language: &str) -> Option<String> {
        if let Some(line) = self.big.pop_front() {
            self.last_line = Some(now);
            return Some(self.cued(line));
        }
        let since = self.pending.since?;
        let c = &self.config;
        if now - since < c.batch_seconds || self.last_line.is_some_and(|l| now - l < c.gap_seconds)
        {
            return None;
        }
        let pending = std::mem::take(&mut self.pending);
        self.last_line = Some(now);
        let line = thank_you(&pending, c.names, language)?;
        Some(self.cued(line))
    }

    /// The configured gesture and effect as the line's cue.
    fn cued(&self, line: String) -> String {
        let mut cue: Vec<String> = self.config.gesture.iter().cloned().collect();
        cue.extend(self.config.effect.iter().map(|e| format!("+{e}")));
        if cue.is_empty() {
            line
        } else {
            format!("[{}] {line}", cue.join(" "))
        }
    }
}

fn friend(language: &str) -> &'static str {
    if language == "zh" { "朋友" } else { "friend" }
}

/// "Lily", "Lily and Chen", "Lily, Chen and 12 others" (or in Chinese, 等12位朋友).
fn names(group: &Group, shown: usize, language: &str) -> String {
    let zh = language == "zh";
    let shown: Vec<&str> = group
        .names
        .iter()
        .take(shown.max(1))
        .map(String::as_str)
        .collect();
    let others = group.people.saturating_sub(shown.len() as u64);
    if zh {
        let mut s = shown.join("、");
        if shown.is_empty() {
            s = "大家".into();
        } else if others > 0 {
            s.push_str(&format!("等{}位朋友", group.people));
        }
        return s;
    }
    match (shown.len(), others) {
        (0, _) => "everyone".into(),
        (1, 0) => shown[0].into(),
        (n, 0) => format!("{} and {}", shown[..n - 1].join(", "), shown[n - 1]),
        (_, o) => format!(
            "{} and {o} other{}",
            shown.join(", "),
            if o == 1 { "" } else { "s" }
        ),
    }
}

fn thank_you(p: &Pending, shown: usize, language: &str) -> Option<String> {
    let zh = language == "zh";
    let mut parts = Vec::new();
    // The largest gift group leads; the others are thanked as "gifts".
    let mut gifts: Vec<(&String, &Group)> = p.gifts.iter().collect();
    gifts.sort_by_key(|(_, g)| std::cmp::Reverse(g.people));
    if let Some((gift, _)) = gifts.first() {
        let mut all = Group::default();
        for (_, g) in &gifts {
            all.people += g.people;
            for n in &g.names {
                if all.names.len() < KEEP_NAMES && !all.names.contains(n) {
                    all.names.push(n.clone());
                }
            }
        }
        let who = names(&all, shown, language);
        parts.push(match (zh, gifts.len()) {
            (true, 1) => format!("感谢{who}送的{gift}！"),
            (true, _) => format!("感谢{who}送的礼物！"),
            (false, 1) => format!("Thank you {who} for the {}!", plural(gift, all.people)),
            (false, _) => format!("Thank you {who} for the gifts!"),
        });
    }
    let kinds = [
        (
            &p.follows,
            "Welcome to the family, {}, thanks for the follow!",
            "欢迎{}关注我们！",
        ),
        (
            &p.shares,
            "Thanks {} for sharing the live!",
            "谢谢{}的分享！",
        ),
        (&p.likes, "Thanks for all the likes, {}!", "谢谢{}的点赞！"),
        (
            &p.enters,
            "Welcome to the live room, {}!",
            "欢迎{}来到直播间！",
        ),
    ];
    for (group, en, cn) in kinds {
        if group.people > 0 {
            let who = names(group, shown, language);
            parts.push(if zh { cn } else { en }.replace("{}", &who));
        }
    }
    // Two kinds at most in one line; the rest were said often enough.
    parts.truncate(2);
    (!parts.is_empty()).then(|| parts.join(if zh { "" } else { " " }))
}

fn plural(gift: &str, people: u64) -> String {
    let latin = gift.chars().all(|c| c.is_ascii_alphabetic() || c == ' ');
    if people > 1 && latin && !gift.ends_with('s') {
        format!("{gift}s")
    } else {
        gift.to_string()
    }
}

fn big_gift_line(user: &str, gift: &str, language: &str) -> String {
    if language == "zh" {
        format!("哇，{user}，太感谢你送的{gift}了！")
    } else {
        format!("Wow, {user}, thank you so much for the {gift}!")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gift(user: &str, gift: &str, value: f64) -> RoomEvent {
        RoomEvent::Gift {
            user: user.into(),
            gift: gift.into(),
            count: 1,
            value,
        }
    }

    #[test]
    fn gifts_are_thanked_together_after_the_batch() {
        let mut r = Reactions::new(ReactionsConfig::default());
        for (i, user) in ["Lily", "Chen", "A", "B", "C"].iter().enumerate() {
            r.push(
                &gift(user, "Rose", 1.0),
                Some(user),
                1.0 + i as f64 * 0.1,
                "en",
            );
        }
        assert_eq!(r.due(3.0, "en"), None, "the batch is still gathering");
        assert_eq!(
            r.due(7.5, "en").as_deref(),
            Some("Thank you Lily, Chen and 3 others for the Roses!")
        );
        assert_eq!(r.due(8.0, "en"), None);
        // The next batch waits for the gap.
        r.push(
            &RoomEvent::Follow { user: "Ann".into() },
            Some("Ann"),
            9.0,
            "en",
        );
        assert_eq!(r.due(20.0, "en"), None);
        assert_eq!(
            r.due(28.0, "en").as_deref(),
            Some("Welcome to the family, Ann, thanks for the follow!")
        );
    }

    #[test]
    fn a_big_gift_gets_its_own_line_at_once_with_the_cue() {
        let mut r = Reactions::new(ReactionsConfig {
            gesture: Some("Wave".into()),
            effect: Some("chime".into()),
            ..Default::default()
        });
        r.push(&gift("Chen", "Galaxy", 1000.0), Some("Chen"), 1.0, "zh");
        assert_eq!(
            r.due(1.0, "zh").as_deref(),
            Some("[Wave +chime] 哇，Chen，太感谢你送的Galaxy了！")
        );
    }

    #[test]
    fn a_flood_keeps_a_few_names_and_counts_the_rest() {
        let mut r = Reactions::new(ReactionsConfig::default());
        for i in 0..100_000 {
            let name = format!("v{i}");
            r.push(
                &RoomEvent::Like {
                    user: name.clone(),
                    count: 1,
                },
                Some(&name),
                1.0,
                "zh",
            );
            r.push(
                &gift(&name, &format!("g{}", i % 50), 1.0),
                Some(&name),
                1.0,
                "zh",
            );
        }
        assert!(r.pending.likes.names.len() <= KEEP_NAMES);
        assert!(r.pending.gifts.len() <= GIFT_KINDS);
        let line = r.due(10.0, "zh").unwrap();
        assert_eq!(
            line,
            "感谢v0、v8等100000位朋友送的礼物！谢谢v0、v1等100000位朋友的点赞！"
        );
        // A viewer whose name must not be read out is only counted.
        r.push(&RoomEvent::Follow { user: "x".into() }, None, 40.0, "en");
        assert_eq!(
            r.due(50.0, "en").as_deref(),
            Some("Welcome to the family, everyone, thanks for the follow!")
        );
    }
}
