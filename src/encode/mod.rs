//! Encoding: RGBA frames and program audio in, H.264 and AAC packets out.
//!
//! One encode feeds every output (see `crate::output`), so the CPU cost of x264 is paid once
//! however many platforms the show goes to.

mod audio;
mod music;
mod pipeline;
mod video;

pub use audio::AudioEncoder;
pub use music::{AudioSource, MusicLoop, Silence};
pub use pipeline::{EncodeStats, EncodeSummary, EncoderThread, Encoding, PacketSink};
pub use video::VideoEncoder;

use ffmpeg_next as ffmpeg;
use std::path::PathBuf;
use thiserror::Error;

/// Encoder settings derived from the show file.
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
    pub audio_bitrate_kbps: u32,
}

impl EncodeSettings {
    pub fn from_show(show: &crate::config::ShowConfig) -> Self {
        let v = &show.video;
        let (source_width, source_height) = show.render_size();
        Self {
            width: v.width,
            height: v.height,
            source_width,
            source_height,
            fps: v.fps,
            video_bitrate_kbps: v.bitrate_kbps,
            buffer_seconds: v.buffer_seconds,
            encoder: v.encoder.clone(),
            preset: v.preset.clone(),
            tune: v.tune.clone(),
            keyframe_seconds: v.keyframe_seconds,
            b_frames: v.b_frames,
            audio_bitrate_kbps: show.audio.bitrate_kbps,
        }
    }

    /// Frames between keyframes.
    pub fn gop(&self) -> u32 {
        ((self.keyframe_seconds * self.fps as f32).round() as u32).max(1)
    }
}

/// Which elementary stream a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Video,
    Audio,
}

/// An encoded packet with timestamps in its encoder's time base.
#[derive(Clone)]
pub struct MediaPacket {
    pub kind: StreamKind,
    pub packet: ffmpeg::Packet,
}

/// What a muxer needs to describe the two streams.
#[derive(Clone)]
pub struct StreamLayout {
    pub video: ffmpeg::codec::Parameters,
    pub video_time_base: ffmpeg::Rational,
    pub audio: ffmpeg::codec::Parameters,
    pub audio_time_base: ffmpeg::Rational,
    pub fps: u32,
    /// The picture is 360° equirectangular: muxers that can say so (MP4, MOV, MKV) do.
    pub spherical: bool,
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
    #[error("{}: {reason}", path.display())]
    Music { path: PathBuf, reason: String },
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

/// Runs a resampler on one frame into a new frame sized for everything it can produce.
///
/// ffmpeg-next's `run` sizes the output like the input, which truncates whenever the output
/// rate is higher and leaves the rest piling up inside swresample: when upsampling, a
/// backlog (and memory) that grows for as long as the stream runs.
pub(crate) fn resample_frame(
    resampler: &mut ffmpeg::software::resampling::Context,
    input: &ffmpeg::frame::Audio,
) -> Result<ffmpeg::frame::Audio, ffmpeg::Error> {
    // SAFETY: a valid resampler; the call only reads its state.
    let capacity =
        unsafe { ffmpeg::sys::swr_get_out_samples(resampler.as_mut_ptr(), input.samples() as i32) }
            .max(1) as usize;
    let out_def = resampler.output();
    let mut output = ffmpeg::frame::Audio::new(out_def.format, capacity, out_def.channel_layout);
    output.set_channels(out_def.channel_layout.channels() as u16);
    resampler.run(input, &mut output)?;
    Ok(output)
}

/// Initialises FFmpeg once and quiets its own logging to warnings.
pub fn init_ffmpeg() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ffmpeg::init();
        // FFmpeg prints to stderr by itself; our errors already carry its reasons.
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
    });
}
