//! The language model in the show loop: questions go to the model's thread, its sentences
//! come back as lines to say. The loop never waits: a question whose answer has not
//! started within `reply_budget_seconds` gets a holding line, a failed one a fallback line
//! (counted and alerted), and both go through the compliance filter like every line.

use super::alerts::AlertSender;
use crate::config::LlmConfig;
use crate::llm::{Ask, ChatClient, Message, Reply, Worker};
use crate::show::host;
use crate::show::room::LlmCounts;
use crate::speech::Origin;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// A question the model is working on.
struct Question {
    id: u64,
    user: String,
    language: String,
    asked: Instant,
    /// Whether a sentence of the answer (or a holding line) has gone out.
    answered: bool,
    held: bool,
}

/// What the model's progress means for the show this frame.
#[derive(Debug, Default)]
pub struct ModelNews {
    /// Lines to say, in order, with who wrote them.
    pub lines: Vec<(String, Origin)>,
    /// Questions over (answered or given up), for the room's limits.
    pub finished: usize,
}

/// Questions the show keeps track of at once; the worker's queue is shorter.
const MAX_QUESTIONS: usize = 8;
/// At most one "the model failed" alert this often (the feed counts repeats).
const ALERT_EVERY: Duration = Duration::from_secs(60);

pub struct ModelHost {
    worker: Worker,
    config: LlmConfig,
    questions: Vec<Question>,
    next_id: u64,
    pub counts: LlmCounts,
    last_alert: Option<Instant>,
    pub alerts: Option<AlertSender>,
}

impl ModelHost {
    /// `None` without `[llm] url`.
    pub fn start(config: &LlmConfig) -> Option<Self> {
        let client = ChatClient::new(config)?;
        info!(
            "language model: {} ({}), answers within {:.1} s or a holding line first",
            client.url(),
            config.model,
            config.reply_budget_seconds
        );
        Some(Self {
            worker: Worker::spawn(client),
            config: config.clone(),
            questions: Vec::new(),
            next_id: 0,
            counts: LlmCounts::default(),
            last_alert: None,
            alerts: None,
        })
    }

    /// Sends a question; false when the model is busy (the caller lets the room's limits
    /// know the answer will not come).
    pub fn ask(&mut self, messages: Vec<Message>, user: &str, language: &str) -> bool {
        if self.questions.len() >= MAX_QUESTIONS {
            self.counts.busy += 1;
            return false;
        }
        self.next_id += 1;
        let ask = Ask {
            id: self.next_id,
            messages,
            max_chars: self.config.answer_chars,
        };
        if !self.worker.ask(ask) {
            self.counts.busy += 1;
            return false;
        }
        self.counts.asked += 1;
        self.questions.push(Question {
            id: self.next_id,
            user: user.to_string(),
            language: language.to_string(),
            asked: Instant::now(),
            answered: false,
            held: false,
        });
        true
    }

    /// What came from the model since the last frame, and holding lines for questions
    /// past their budget.
    pub fn poll(&mut self) -> ModelNews {
        let mut news = ModelNews::default();
        while let Ok(reply) = self.worker.replies.try_recv() {
            match reply {
                Reply::Sentence { id, text } => {
                    if let Some(q) = self.questions.iter_mut().find(|q| q.id == id) {
                        q.answered = true;
                        news.lines.push((text, Origin::Model));
                    }
                }
                Reply::Done { id, result } => self.done(id, result, &mut news),
            }
        }
        let budget = Duration::from_secs_f64(self.config.reply_budget_seconds);
        for q in self.questions.iter_mut().filter(|q| !q.answered && !q.held) {
            if q.asked.elapsed() >= budget {
                q.held = true;
                self.counts.held += 1;
                let line = host::holding_line(
                    &self.config,
                    &q.language,
                    &q.user,
                    self.counts.held as usize,
                );
                news.lines.push((line, Origin::Holding));
            }
        }
        news
    }

    fn done(&mut self, id: u64, result: Result<(), String>, news: &mut ModelNews) {
        let Some(at) = self.questions.iter().position(|q| q.id == id) else {
            return;
        };
        let q = self.questions.remove(at);
        match result {
            Ok(()) => {
                self.counts.answered += 1;
                news.finished += 1;
            }
            Err(reason) => {
                warn!("{reason}; {} gets the fallback answer", q.user);
                self.counts.failed += 1;
                self.counts.last_error = Some(reason.clone());
                self.alert(&reason);
                if q.answered {
                    // Part of the answer was said: that stands, the rest is lost.
                    news.finished += 1;
                } else {
                    // The fallback is an answer of its own (its airing ends the question).
                    let line = host::fallback_line(&self.config, &q.language, &q.user);
                    news.lines.push((line, Origin::Comment));
                }
            }
        }
    }

    fn alert(&mut self, reason: &str) {
        let due = self.last_alert.is_none_or(|t| t.elapsed() >= ALERT_EVERY);
        if let (true, Some(alerts)) = (due, &self.alerts) {
            self.last_alert = Some(Instant::now());
            alerts.raise(
                "llm_failed",
                &format!(
                    "{reason} (answers fall back to the FAQ and templates; model {})",
                    self.config.url.as_deref().unwrap_or_default()
                ),
            );
        }
    }
}

/// Lines drafted ahead of time while the show runs: each segment's missing translations,
/// and with `[llm] live_scripts` fresh variants in the show's languages. Drafted on a
/// thread of its own, once at the start, and cached for the run; each line is checked by
/// the compliance filter before it is kept (and again before it airs, like every line).
pub struct Drafting {
    results: crossbeam_channel::Receiver<crate::show::host::Drafted>,
}

impl Drafting {
    pub fn start(show: &crate::config::ShowConfig) -> Option<Self> {
        let client = ChatClient::new(&show.llm)?;
        let jobs = host::draft_jobs(&show.plan, &show.language, show.llm.live_scripts);
        if jobs.is_empty() {
            return None;
        }
        let cache = DraftCache::for_show(show, &jobs);
        let (tx, results) = crossbeam_channel::bounded(jobs.len());
        if let Some(drafted) = cache.load() {
            info!(
                "language model: {} segment scripts from {}",
                drafted.len(),
                cache.path.display()
            );
            for d in drafted {
                let _ = tx.send(d);
            }
            return Some(Self { results });
        }
        let plan = show.plan.clone();
        let variants = show.llm.variants;
        let filter = crate::show::compliance::Filter::new(&show.compliance);
        info!(
            "language model: drafting {} segment scripts ahead of time",
            jobs.len()
        );
        let _ = std::thread::Builder::new()
            .name("llm drafts".into())
            .spawn(move || {
                let (mut all, mut complete) = (Vec::new(), true);
                for job in jobs {
                    let mut ask = |messages: Vec<Message>| {
                        client
                            .chat(&messages, 300 * variants, &mut |_| {})
                            .map_err(|e| e.to_string())
                    };
                    let drafted = host::draft(
                        &plan,
                        std::slice::from_ref(&job),
                        variants,
                        &filter,
                        &mut ask,
                    );
                    let Some(result) = drafted.into_iter().next() else {
                        continue;
                    };
                    let d = match result {
                        Ok(d) => d,
                        Err(e) => {
                            warn!("drafting segment {} ({}): {e}", job.0 + 1, job.1);
                            complete = false;
                            continue;
                        }
                    };
                    all.push(d.clone());
                    if tx.send(d).is_err() {
                        return;
                    }
                }
                // Only a complete set is kept: a failed run drafts again next start.
                if complete {
                    cache.save(&all);
                }
            });
        Some(Self { results })
    }

    /// Segments drafted since the last call.
    pub fn ready(&self) -> Vec<crate::show::host::Drafted> {
        self.results.try_iter().collect()
    }
}

/// Drafted scripts kept on disk (`out/<show>.drafts.json` by the show file), so a restart
/// does not ask the model again; valid while the model, the plan and the jobs are the same.
struct DraftCache {
    path: std::path::PathBuf,
    key: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CachedDrafts {
    key: String,
    drafted: Vec<host::Drafted>,
}

impl DraftCache {
    fn for_show(show: &crate::config::ShowConfig, jobs: &[(usize, String)]) -> Self {
        let dir = show.source.parent().unwrap_or(std::path::Path::new("."));
        let stem = show
            .source
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        let what = format!(
            "{:?} {} {} {:?} {:?} {jobs:?}",
            show.llm.url, show.llm.model, show.llm.variants, show.plan.products, show.plan.segments
        );
        Self {
            path: dir.join("out").join(format!("{stem}.drafts.json")),
            key: format!("{:016x}", crate::voice::fnv1a(what.bytes())),
        }
    }

    fn load(&self) -> Option<Vec<host::Drafted>> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let cached: CachedDrafts = serde_json::from_str(&text).ok()?;
        (cached.key == self.key).then_some(cached.drafted)
    }

    fn save(&self, drafted: &[host::Drafted]) {
        let cached = CachedDrafts {
            key: self.key.clone(),
            drafted: drafted.to_vec(),
        };
        let written = self
            .path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                std::fs::write(
                    &self.path,
                    serde_json::to_string(&cached).unwrap_or_default(),
                )
            });
        if let Err(e) = written {
            warn!(
                "language model: cannot keep the drafts in {}: {e}",
                self.path.display()
            );
        }
    }
}
