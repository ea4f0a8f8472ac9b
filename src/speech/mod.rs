//! The host's speech: lines written by the director (or asked for through the API) are
//! synthesised ahead on the [`Speaker`] thread, then put on the media-clock timeline by the
//! [`Scheduler`] as [`ScheduledLine`]s, which the presenter's mouth and the program mixer
//! both play from the same start sample.

mod schedule;
mod speaker;

pub use schedule::{ScheduledLine, Scheduler, forget_said};
pub use speaker::{
    Cue, Emotion, Gesture, Line, Origin, Request, ScriptLine, Speaker, SpeakerIo, parse_cue,
    split_cue,
};
