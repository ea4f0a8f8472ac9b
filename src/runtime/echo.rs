//! A program that speaks another language in step with the main one: the director writes
//! each scripted line in its language too, its own speaker voices it, and its line starts
//! with the main line and holds the next one until it is over. So the Chinese and the
//! English host talk about the same product at the same time, whichever says it longer.

use crate::show::Market;
use crate::speech::{Line, Origin, Request, ScheduledLine, Scheduler, ScriptLine, Speaker};
use crossbeam_channel::{Receiver, Sender};
use std::collections::VecDeque;
use std::time::Duration;
use tracing::warn;

/// How long the main program waits for this one's line before going on without it
/// (media seconds): a stuck speech engine must not stop both shows.
const WAIT_SECONDS: f64 = 10.0;

/// One program speaking another language, stepped by the rundown.
pub struct Echo {
    /// The language, prices and currency it speaks in.
    pub market: Market,
    script: Sender<ScriptLine>,
    scheduler: Scheduler,
    /// The speaker ends when its request channel closes: kept open, though this
    /// program takes no requests (answers to the room are the main program's).
    _speaker: (Speaker, Sender<Request>, Receiver<Line>),
    /// Lines sent to the speaker and not yet on the timeline: (serial, media second sent).
    sent: VecDeque<(u64, f64)>,
    /// How many of them the main program has started (they may start too).
    released: usize,
}

impl Echo {
    /// `speaker` voices the lines; `to_mixer` is the program's mix.
    pub fn new(
        market: Market,
        speaker: Speaker,
        io: crate::speech::SpeakerIo,
        to_mixer: Sender<ScheduledLine>,
        lead_seconds: f32,
    ) -> Self {
        let mut scheduler = Scheduler::new(io.ready, to_mixer, 0.0, lead_seconds);
        scheduler.hold = true;
        Self {
            market,
            script: io.script,
            scheduler,
            _speaker: (speaker, io.requests, io.urgent),
            sent: VecDeque::new(),
            released: 0,
        }
    }

    /// Another program in this language hears the same lines.
    pub fn also_to(&mut self, to_mixer: Sender<ScheduledLine>) {
        self.scheduler.also_to(to_mixer);
    }

    /// The main line `serial`, as this program says it.
    pub fn write(&mut self, serial: u64, text: String, now: f64) {
        let line = ScriptLine {
            text,
            voice: None,
            serial,
        };
        tracing::debug!(
            "{} line {serial} written: {}",
            self.market.language,
            line.text
        );
        if self.script.send(line).is_ok() {
            self.sent.push_back((serial, now));
        }
    }

    /// Whether the main program should hold its next line for this one: a line of ours
    /// not yet started is not ready, and has not been waited for too long. Offline, the
    /// speaker is waited for instead.
    pub fn holds(&mut self, now: f64, offline: bool) -> bool {
        let Some(&(_, sent_at)) = self.sent.get(self.released) else {
            return false;
        };
        if self.released == 0 {
            if offline && !self.scheduler.has_ready() {
                self.scheduler.wait_for_ready(Duration::from_secs(60));
            }
            if self.scheduler.has_ready() {
                return false;
            }
        }
        if now - sent_at > WAIT_SECONDS {
            warn!(
                "the {} program's line is {WAIT_SECONDS} s late; the main program goes on",
                self.market.language
            );
            self.released = self.sent.len();
            return false;
        }
        true
    }

    /// The main program started scripted line `serial`: ours for it may start too.
    pub fn release(&mut self, serial: u64) {
        if let Some(at) = self.sent.iter().position(|(s, _)| *s == serial) {
            self.released = self.released.max(at + 1);
        }
    }

    /// Puts a released line on the timeline once it is ready; returns it.
    pub fn tick(&mut self, samples: u64) -> Option<ScheduledLine> {
        self.scheduler.hold = self.released == 0;
        let line = self.scheduler.tick(samples)?;
        if let Origin::Script(_) = line.line.origin {
            self.sent.pop_front();
            self.released = self.released.saturating_sub(1);
        }
        Some(line)
    }
}
