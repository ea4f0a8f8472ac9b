//! The live room's comments are untrusted input: a busy room (or someone with a script)
//! can post thousands a minute. [`CommentGate`] decides which ones the host answers, so
//! answers never crowd out the rundown, never pile up in memory, and a repeated question
//! is answered once; [`clean`] makes viewer text safe to put into a line.

use crate::config::CommentsConfig;
use std::collections::{HashMap, VecDeque};

/// Why a comment got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// This viewer was answered less than `per_user_seconds` ago.
    UserRate,
    /// The room's answers this minute are used up (`per_minute`).
    RoomRate,
    /// The same question was answered less than `repeat_seconds` ago.
    Repeat,
    /// Answers took their share of the last minute (`max_share`).
    Airtime,
    /// `max_waiting` answers are already waiting to be said.
    Backlog,
}

/// What happened to the comments so far (for `/status` and `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CommentCounts {
    pub answered: u64,
    pub user_rate: u64,
    pub room_rate: u64,
    pub repeat: u64,
    pub airtime: u64,
    pub backlog: u64,
    /// Comments (or names) with abusive words: never read out.
    pub abusive: u64,
}

/// What the live room did and what the host made of it (for `/status` and `/metrics`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RoomCounts {
    /// Events taken, by kind.
    pub events: std::collections::BTreeMap<String, u64>,
    /// Events over `[events] per_second`, dropped.
    pub over_rate: u64,
    /// Orders for products not in the catalog.
    pub unknown_products: u64,
    /// Thank-you lines said.
    pub thanks: u64,
    /// Lines the compliance filter rewrote, and lines it kept off air.
    pub rewritten: u64,
    pub skipped: u64,
    /// The language model, when there is one.
    pub llm: Option<LlmCounts>,
    /// Since the start, per product: orders, units, gifts, likes, comments.
    pub products: std::collections::BTreeMap<String, super::tally::Counts>,
    /// The stock left of each product that counts it.
    pub stock: std::collections::BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LlmCounts {
    /// Questions sent, answered, that needed a holding line, that failed (and fell back),
    /// and refused because the model's queue was full.
    pub asked: u64,
    pub answered: u64,
    pub held: u64,
    pub failed: u64,
    pub busy: u64,
    pub last_error: Option<String>,
}

/// Rate limits, de-duplication and an airtime cap for answers, on the media clock.
pub struct CommentGate {
    policy: CommentsConfig,
    /// When each viewer was last answered (pruned once older than their limit).
    users: HashMap<String, f64>,
    /// When answers were accepted in the last minute.
    accepted: VecDeque<f64>,
    /// When each FAQ entry was last answered.
    questions: HashMap<usize, f64>,
    /// Answers said in the last minute: (start, seconds).
    said: VecDeque<(f64, f64)>,
    /// Answers accepted and not yet on the timeline.
    waiting: usize,
    pub counts: CommentCounts,
}

impl CommentGate {
    pub fn new(policy: CommentsConfig) -> Self {
        Self {
            policy,
            users: HashMap::new(),
            accepted: VecDeque::new(),
            questions: HashMap::new(),
            said: VecDeque::new(),
            waiting: 0,
            counts: CommentCounts::default(),
        }
    }

    /// Whether `user`'s comment matching FAQ entry `question` gets an answer at `now`
    /// (media seconds). An accepted answer counts as waiting until [`Self::aired`].
    pub fn admit(&mut self, user: &str, question: usize, now: f64) -> Result<(), Dropped> {
        self.forget_before(now);
        let verdict = self.check(user, question, now);
        match verdict {
            Ok(()) => {
                self.counts.answered += 1;
                self.users.insert(user.to_string(), now);
                self.accepted.push_back(now);
                self.questions.insert(question, now);
                self.waiting += 1;
            }
            Err(reason) => *self.count(reason) += 1,
        }
        verdict
    }

    fn check(&self, user: &str, question: usize, now: f64) -> Result<(), Dropped> {
        let p = &self.policy;
        if self.waiting >= p.max_waiting {
            return Err(Dropped::Backlog);
        }
        if self
            .users
            .get(user)
            .is_some_and(|t| now - t < p.per_user_seconds)
        {
            return Err(Dropped::UserRate);
        }
        if self
            .questions
            .get(&question)
            .is_some_and(|t| now - t < p.repeat_seconds)
        {
            return Err(Dropped::Repeat);
        }
        if self.accepted.len() >= p.per_minute as usize {
            return Err(Dropped::RoomRate);
        }
        // What was said this minute, plus a typical answer for each one still waiting.
        let planned: f64 = self.said.iter().map(|(_, s)| s).sum::<f64>()
            + (self.waiting + 1) as f64 * TYPICAL_ANSWER_SECONDS;
        if planned > p.max_share as f64 * 60.0 {
            return Err(Dropped::Airtime);
        }
        Ok(())
    }

    /// Answers accepted and not over yet (an FAQ answer until it is on the timeline, the
    /// model's until its last sentence).
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// An answer was put on the timeline at `start` for `seconds`.
    pub fn aired(&mut self, start: f64, seconds: f64) {
        self.finished();
        self.airtime(start, seconds);
    }

    /// Part of an answer (a holding line, a sentence of the model's) was put on the
    /// timeline: it counts toward the minute's share.
    pub fn airtime(&mut self, start: f64, seconds: f64) {
        self.said.push_back((start, seconds));
    }

    /// An accepted answer is over (said, or given up): it no longer waits.
    pub fn finished(&mut self) {
        self.waiting = self.waiting.saturating_sub(1);
    }

    fn forget_before(&mut self, now: f64) {
        let minute_ago = now - 60.0;
        while self.accepted.front().is_some_and(|t| *t < minute_ago) {
            self.accepted.pop_front();
        }
        while self.said.front().is_some_and(|(t, _)| *t < minute_ago) {
            self.said.pop_front();
        }
        let (user_limit, repeat_limit) = (self.policy.per_user_seconds, self.policy.repeat_seconds);
        self.users.retain(|_, t| now - *t < user_limit);
        self.questions.retain(|_, t| now - *t < repeat_limit);
    }

    fn count(&mut self, reason: Dropped) -> &mut u64 {
        let c = &mut self.counts;
        match reason {
            Dropped::UserRate => &mut c.user_rate,
            Dropped::RoomRate => &mut c.room_rate,
            Dropped::Repeat => &mut c.repeat,
            Dropped::Airtime => &mut c.airtime,
            Dropped::Backlog => &mut c.backlog,
        }
    }
}

/// How long an answer is assumed to take before it has been synthesised.
const TYPICAL_ANSWER_SECONDS: f64 = 5.0;

/// Viewer text made safe for a line: no control characters, no cue or template syntax
/// (`[Wave +chime]` would play a gesture and a sound, `{price}` would be filled in), runs
/// of spaces collapsed, and at most `max_chars` characters (an ellipsis marks a cut).
pub fn clean(text: &str, max_chars: usize) -> String {
    let words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .map(|w| {
            w.chars()
                .filter(|c| !"[]{}<>".contains(*c))
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    if joined.chars().count() <= max_chars {
        return joined;
    }
    let mut cut: String = joined.chars().take(max_chars).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> CommentGate {
        CommentGate::new(CommentsConfig::default())
    }

    #[test]
    fn a_flood_of_the_same_question_gets_one_answer() {
        let mut g = gate();
        assert_eq!(g.admit("amy", 0, 10.0), Ok(()));
        for i in 0..200 {
            let r = g.admit(&format!("viewer{i}"), 0, 10.0 + i as f64 * 0.01);
            assert!(r.is_err());
        }
        assert_eq!(g.counts.answered, 1);
        assert_eq!(g.counts.answered + g.counts.repeat + g.counts.backlog, 201);
    }

    #[test]
    fn answers_wait_in_a_short_queue_and_take_a_capped_share_of_the_minute() {
        let mut g = gate();
        let limit = CommentsConfig::default().max_waiting;
        for q in 0..limit {
            assert_eq!(g.admit(&format!("u{q}"), q, 1.0), Ok(()));
        }
        assert_eq!(g.admit("late", 99, 1.0), Err(Dropped::Backlog));
        // Said, long ones: the minute's share is used up.
        for i in 0..limit {
            g.aired(2.0 + i as f64 * 8.0, 8.0);
        }
        assert_eq!(g.admit("next", 50, 20.0), Err(Dropped::Airtime));
        // A minute later there is room again.
        assert_eq!(g.admit("next", 50, 90.0), Ok(()));
    }

    #[test]
    fn each_viewer_and_the_room_are_rate_limited() {
        let mut g = CommentGate::new(CommentsConfig {
            max_waiting: 1000,
            max_share: 1.0,
            ..Default::default()
        });
        assert_eq!(g.admit("amy", 0, 0.0), Ok(()));
        assert_eq!(g.admit("amy", 1, 5.0), Err(Dropped::UserRate));
        let mut room = 1;
        for i in 0..100 {
            if g.admit(&format!("v{i}"), 10 + i, 6.0).is_ok() {
                room += 1;
            }
        }
        assert_eq!(room, CommentsConfig::default().per_minute);
        assert!(g.counts.room_rate > 0);
        // Memory stays bounded: old viewers are forgotten.
        g.admit("x", 500, 1000.0).unwrap();
        assert!(g.users.len() <= 1 && g.accepted.len() <= 1);
    }

    #[test]
    fn viewer_text_loses_cues_templates_and_control_characters() {
        assert_eq!(clean("[Wave +chime]", 24), "Wave +chime");
        assert_eq!(clean("  Lily\n\t{price}  ", 24), "Lily price");
        assert_eq!(clean("a\u{7}b", 24), "a b");
        assert_eq!(clean("abcdefghij", 4), "abcd…");
        assert_eq!(clean("[][]", 24), "");
        assert_eq!(clean("小明 说 价格？", 24), "小明 说 价格？");
    }
}
