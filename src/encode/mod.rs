//! Encoding: RGBA frames and program audio in, H.264 and AAC packets out.
//!
//! One encode feeds every output (see `crate::output`), so the CPU cost of x264 is paid once
//! however many platforms the show goes to.

mod audio;
mod pipeline;
pub mod preview;
mod video;

pub use audio::AudioEncoder;
pub use pipeline::{EncodeStats, EncodeSummary, EncoderThread, Encoding};
pub use video::VideoEncoder;

use ffmpeg_next as ffmpeg;
use thiserror::Error;

/// Encoder settings (the orchestrator derives them from the show file).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeSettings {
    /// Output picture size.
    pub width: u32,
    pub height: u32,
    /// Size of the frames handed to the encoder (smaller when rendering at a reduced scale).
    pub source_width: u32,
    pub source_height: u32,
    pub fps: u32,
    pub video_bitrate_kbps: u32,
    pub buffer_seconds: f32,
    pub encoder: String,
    pub preset: String,
    pub tune: String,
    pub keyframe_seconds: f32,
    pub b_frames: u32,
    /// 0: the encoder's own choice.
    pub threads: u32,
    pub audio_bitrate_kbps: u32,
}

impl EncodeSettings {
    /// Frames between keyframes.
    pub fn gop(&self) -> u32 {
        ((self.keyframe_seconds * self.fps as f32).round() as u32).max(1)
    }
}

#[derive(Debug, Error)]
pub enum EncodeError {
    #[error("encoder `{0}` is not available in this FFmpeg build")]
    EncoderMissing(String),
    #[error("{what}: {source}")]
    Ffmpeg {
        what: &'static str,
        source: ffmpeg::Error,
    },
    #[error("frame {index} is {got_w}x{got_h}, the encoder expects {want_w}x{want_h}")]
    FrameSize {
        index: u64,
        got_w: u32,
        got_h: u32,
        want_w: u32,
        want_h: u32,
    },
    #[error("the encoder thread panicked")]
    Panicked,
}

pub(crate) trait FfmpegContext<T> {
    fn context(self, what: &'static str) -> Result<T, EncodeError>;
}

impl<T> FfmpegContext<T> for Result<T, ffmpeg::Error> {
    fn context(self, what: &'static str) -> Result<T, EncodeError> {
        self.map_err(|source| EncodeError::Ffmpeg { what, source })
    }
}

/// Moves every packet the encoder has ready into `out`.
pub(crate) fn receive_packets(
    encoder: &mut ffmpeg::encoder::Encoder,
    what: &'static str,
    out: &mut Vec<ffmpeg::Packet>,
) -> Result<(), EncodeError> {
    loop {
        let mut packet = ffmpeg::Packet::empty();
        match encoder.receive_packet(&mut packet) {
            Ok(()) => out.push(packet),
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                return Ok(());
            }
            Err(ffmpeg::Error::Eof) => return Ok(()),
            Err(source) => return Err(EncodeError::Ffmpeg { what, source }),
        }
    }
}
