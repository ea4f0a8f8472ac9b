//! FFmpeg helpers and the packet types shared by the stages that use FFmpeg: the encoder
//! makes [`MediaPacket`]s, the outputs mux them, and speech and music decode with the same
//! resampler helper. Nothing here knows of the show.

use ffmpeg_next as ffmpeg;

/// Initialises FFmpeg once and quiets its own logging to warnings.
pub fn init_ffmpeg() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ffmpeg::init();
        // FFmpeg prints to stderr by itself; our errors already carry its reasons.
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
    });
}

/// Runs a resampler on one frame into a new frame sized for everything it can produce.
///
/// ffmpeg-next's `run` sizes the output like the input, which truncates whenever the output
/// rate is higher and leaves the rest piling up inside swresample: when upsampling, a
/// backlog (and memory) that grows for as long as the stream runs.
pub fn resample_frame(
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

/// Where encoded packets go (the outputs, or a test's collector).
pub trait PacketSink: Send {
    fn send(&mut self, packet: &MediaPacket);
}

/// Discards packets (used while only the stream layout is needed).
impl PacketSink for () {
    fn send(&mut self, _: &MediaPacket) {}
}

impl PacketSink for Vec<MediaPacket> {
    fn send(&mut self, packet: &MediaPacket) {
        self.push(packet.clone());
    }
}
