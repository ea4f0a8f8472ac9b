use super::{EncodeError, EncodeSettings, FfmpegContext};
use crate::media::VideoFrame;
use ffmpeg::{
    Dictionary, Packet, Rational,
    codec::{self, encoder},
    format::Pixel,
    frame,
    software::scaling,
    util::color,
};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::sys;

/// RGBA → YUV 4:2:0 (BT.709, limited range) → H.264.
pub struct VideoEncoder {
    encoder: encoder::Video,
    /// Colour conversion, and upscaling when rendering below the output size.
    scaler: scaling::Context,
    /// The last picture converted, kept for frames that repeat it.
    yuv: frame::Video,
    /// Whether `yuv` holds a picture yet.
    converted: bool,
    /// Size of the frames we accept (the encoder's own size may be larger).
    width: u32,
    height: u32,
}

// SAFETY: the swscale context is owned by this encoder alone and never shared; moving it
// to the encoder thread is the only cross-thread use, and swscale keeps no thread affinity.
unsafe impl Send for VideoEncoder {}

impl VideoEncoder {
    /// Long on purpose: opening x264 is a sequence of FFmpeg options, each with why it is set.
    pub fn new(settings: &EncodeSettings) -> Result<Self, EncodeError> {
        crate::av::init_ffmpeg();
        let codec = encoder::find_by_name(&settings.encoder)
            .ok_or_else(|| EncodeError::EncoderMissing(settings.encoder.clone()))?;
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .context("video encoder context")?;
        let bitrate = settings.video_bitrate_kbps as usize * 1000;
        enc.set_width(settings.width);
        enc.set_height(settings.height);
        enc.set_format(Pixel::YUV420P);
        enc.set_time_base(Rational(1, settings.fps as i32));
        enc.set_frame_rate(Some(Rational(settings.fps as i32, 1)));
        enc.set_bit_rate(bitrate);
        enc.set_max_bit_rate(bitrate);
        enc.set_gop(settings.gop());
        enc.set_max_b_frames(settings.b_frames as usize);
        enc.set_colorspace(color::Space::BT709);
        enc.set_color_range(color::Range::MPEG);
        enc.set_color_primaries(color::Primaries::BT709);
        enc.set_color_transfer_characteristic(color::TransferCharacteristic::BT709);
        // Every container we write wants SPS/PPS out of band (FLV's sequence header, MP4's avcC).
        enc.set_flags(codec::Flags::GLOBAL_HEADER);

        let mut options = Dictionary::new();
        // libavcodec's libx264 already defaults to `auto`; 1 is for many shows on a machine.
        options.set("threads", &threads_option(settings.threads));
        let vbv = (bitrate as f32 * settings.buffer_seconds) as u64;
        options.set("bufsize", &vbv.to_string());
        if settings.encoder == "libx264" {
            options.set("preset", &settings.preset);
            if !settings.tune.is_empty() {
                options.set("tune", &settings.tune);
            }
            // CBR with HRD signalling and a fixed keyframe cadence: what ingest servers expect.
            let gop = settings.gop();
            options.set(
                "x264-params",
                &format!("nal-hrd=cbr:force-cfr=1:keyint={gop}:min-keyint={gop}:scenecut=0"),
            );
        }
        let encoder = enc.open_with(options).context("opening video encoder")?;

        // Same size: a pure colour conversion. Smaller source: bicubic upscaling on the way.
        let source = (settings.source_width, settings.source_height);
        let filter = if source == (settings.width, settings.height) {
            scaling::Flags::BILINEAR
        } else {
            scaling::Flags::BICUBIC
        };
        // Chroma from every pixel, then scaled down with the filter: swscale has vector
        // code for that input, and only plain C for its own averaging of pixel pairs. At
        // the same size the conversion takes half the time (2.4 → 1.2 ms a 720p frame on
        // the development machine); luma is the same bit for bit, chroma within a level.
        let flags = scaling::Flags::ACCURATE_RND
            | scaling::Flags::FULL_CHR_H_INT
            | scaling::Flags::FULL_CHR_H_INP;
        let mut scaler = scaling::Context::get(
            Pixel::RGBA,
            settings.source_width,
            settings.source_height,
            Pixel::YUV420P,
            settings.width,
            settings.height,
            filter | flags,
        )
        .context("creating RGBA→YUV converter")?;
        // SAFETY: the context is valid for the call; the coefficient tables are static.
        unsafe {
            // bindgen types the constant by the FFmpeg headers it reads (`i32` here, `u32`
            // with others); the cast keeps both building.
            #[allow(clippy::unnecessary_cast)]
            let bt709 = sys::sws_getCoefficients(sys::SWS_CS_ITU709 as i32);
            sys::sws_setColorspaceDetails(
                scaler.as_mut_ptr(),
                bt709,
                1,
                bt709,
                0,
                0,
                1 << 16,
                1 << 16,
            );
        }
        Ok(Self {
            encoder,
            scaler,
            yuv: frame::Video::new(Pixel::YUV420P, settings.width, settings.height),
            converted: false,
            width: settings.source_width,
            height: settings.source_height,
        })
    }

    pub fn parameters(&self) -> codec::Parameters {
        codec::Parameters::from(&self.encoder)
    }

    pub fn time_base(&self) -> Rational {
        self.encoder.time_base()
    }

    /// Encodes `frame` at media-clock position `pts` (frames), appending finished packets.
    pub fn encode(
        &mut self,
        frame: &VideoFrame,
        pts: u64,
        out: &mut Vec<Packet>,
    ) -> Result<(), EncodeError> {
        if frame.width != self.width || frame.height != self.height {
            return Err(EncodeError::FrameSize {
                index: frame.index,
                got_w: frame.width,
                got_h: frame.height,
                want_w: self.width,
                want_h: self.height,
            });
        }
        self.convert(&frame.rgba);
        self.converted = true;
        self.send(pts, out)
    }

    /// Encodes the last picture again at `pts` (a frame the renderer skipped), without
    /// converting it again: in a stream on two cores most frames are repeats, and their
    /// conversion was 7 % of the machine's time. `false` when no picture has come yet.
    pub fn repeat(&mut self, pts: u64, out: &mut Vec<Packet>) -> Result<bool, EncodeError> {
        if !self.converted {
            return Ok(false);
        }
        self.send(pts, out)?;
        Ok(true)
    }

    /// Sends the converted picture to x264 (which copies it) at `pts`.
    fn send(&mut self, pts: u64, out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        self.yuv.set_pts(Some(pts as i64));
        self.encoder
            .send_frame(&self.yuv)
            .context("encoding video")?;
        self.receive(out)
    }

    /// Drains the encoder at the end of the stream.
    pub fn finish(&mut self, out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        self.encoder.send_eof().context("flushing video")?;
        self.receive(out)
    }

    fn receive(&mut self, out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        super::receive_packets(&mut self.encoder, "receiving video packet", out)
    }

    /// Converts straight from our packed buffer: no copy into an intermediate RGBA frame.
    fn convert(&mut self, rgba: &[u8]) {
        debug_assert_eq!(rgba.len(), (self.width * self.height * 4) as usize);
        let src = [
            rgba.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
        ];
        let src_stride = [(self.width * 4) as i32, 0, 0, 0];
        // SAFETY: `src` points at width*height*4 bytes of the source size (checked by
        // `encode`); the destination frame was allocated for the output size and format.
        unsafe {
            let dst = (*self.yuv.as_mut_ptr()).data.as_ptr();
            let dst_stride = (*self.yuv.as_mut_ptr()).linesize.as_ptr();
            sys::sws_scale(
                self.scaler.as_mut_ptr(),
                src.as_ptr(),
                src_stride.as_ptr(),
                0,
                self.height as i32,
                dst,
                dst_stride,
            );
        }
    }
}

/// libavcodec's `threads` option: `auto` for 0.
fn threads_option(threads: u32) -> String {
    match threads {
        0 => "auto".into(),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod threads_tests {
    use super::threads_option;

    #[test]
    fn zero_threads_is_auto() {
        assert_eq!(threads_option(0), "auto");
        assert_eq!(threads_option(3), "3");
    }
}
