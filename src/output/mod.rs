//! Outputs: where the encoded program goes — RTMP servers, files, or nowhere (benchmarks).
//!
//! The encoder runs once; its packets are fanned out to one writer thread per output, each
//! behind a bounded queue. A slow or stalled output fills its own queue and then loses
//! packets (counted, and resumed at the next keyframe so the picture recovers cleanly); it
//! never holds up the encoder, the renderer or the other outputs.

mod muxer;
mod target;
mod writer;

pub use muxer::Muxer;
pub use target::{OutputKind, OutputTarget, fresh_path, local_stamp, redact, stamped_path};
pub use writer::{
    Feeder, MAX_CONNECTION, OutputHandle, OutputState, OutputStats, RecordingOptions,
    prune_recordings,
};

use crate::av::{MediaPacket, PacketSink, StreamKind};
use std::sync::atomic::Ordering;
use thiserror::Error;

/// Errors name their output by its redacted URL (no stream key, no credentials).
#[derive(Debug, Error)]
pub enum OutputError {
    #[error("output `{}`: {reason}", redact(url))]
    Unsupported { url: String, reason: String },
    #[error("output `{}`: cannot open: {reason}", redact(url))]
    Open { url: String, reason: String },
    #[error("output `{}`: {what}: {reason}", redact(url))]
    Io {
        url: String,
        what: &'static str,
        reason: String,
    },
}

/// A program's outputs with its name: `None` for the run's own picture, a name for a
/// program made beside it.
pub type ProgramOutputs<'a> = (Option<&'a str>, &'a OutputSet);

/// Each output of `sets` with the name of the program it carries, in their order.
pub fn every_output<'a>(
    sets: &'a [ProgramOutputs<'a>],
) -> impl Iterator<Item = (Option<&'a str>, &'a OutputHandle)> {
    sets.iter()
        .flat_map(|(program, set)| set.outputs.iter().map(move |o| (*program, o)))
}

/// All outputs of a show. The main thread keeps this (for status and for closing);
/// the encoder gets a [`Fanout`] that only feeds the queues.
pub struct OutputSet {
    pub outputs: Vec<OutputHandle>,
}

impl OutputSet {
    pub fn new(outputs: Vec<OutputHandle>) -> Self {
        Self { outputs }
    }

    pub fn fanout(&self) -> Fanout {
        Fanout {
            feeds: self.outputs.iter().map(|o| (o.feeder(), false)).collect(),
        }
    }

    /// Whether every output has failed (nothing is being delivered anywhere).
    pub fn all_failed(&self) -> bool {
        !self.outputs.is_empty()
            && self
                .outputs
                .iter()
                .all(|o| o.stats.state() == OutputState::Failed)
    }

    /// Makes blocking I/O on every output give up at once.
    pub fn abort(&self) {
        self.outputs.iter().for_each(OutputHandle::abort);
    }

    /// Closes every queue, lets each writer finish its file, and collects their results.
    /// Call after the encoder (and so every [`Fanout`]) is gone.
    pub fn close(self) -> Vec<(String, Result<(), OutputError>)> {
        self.outputs
            .into_iter()
            .map(|o| (o.target.url.clone(), o.close()))
            .collect()
    }
}

/// The encoder's side of the outputs: copies each packet into every output's queue.
pub struct Fanout {
    /// Each output's feeder, and whether it waits for a keyframe after losing packets.
    feeds: Vec<(Feeder, bool)>,
}

impl PacketSink for Fanout {
    fn send(&mut self, packet: &MediaPacket) {
        let keyframe = packet.kind == StreamKind::Video && packet.packet.is_key();
        for (feed, resync) in &mut self.feeds {
            if *resync {
                if !keyframe {
                    feed.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                *resync = false;
            }
            if !feed.offer(packet.clone()) {
                feed.stats.dropped.fetch_add(1, Ordering::Relaxed);
                *resync = true;
            }
        }
    }
}
