use super::{EncodeError, FfmpegContext};
use crate::media::{CHANNELS, SAMPLE_RATE};
use ffmpeg::{
    ChannelLayout, Dictionary, Packet, Rational,
    codec::{self, encoder},
    format::{Sample, sample::Type as SampleType},
    frame,
};
use ffmpeg_next as ffmpeg;

/// Interleaved stereo f32 at 48 kHz → AAC-LC.
///
/// AAC codes fixed blocks of `frame_size()` (1024) samples; whatever arrives is queued and cut
/// into exact blocks so that the audio timestamps are simply the running sample count.
pub struct AudioEncoder {
    encoder: encoder::Audio,
    frame_size: usize,
    pending: Vec<f32>,
    /// Samples (per channel) handed to the encoder so far: the next frame's pts.
    sent: u64,
}

impl AudioEncoder {
    pub fn new(bitrate_kbps: u32) -> Result<Self, EncodeError> {
        crate::av::init_ffmpeg();
        let codec = encoder::find_by_name("aac")
            .ok_or_else(|| EncodeError::EncoderMissing("aac".into()))?;
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .context("audio encoder context")?;
        enc.set_rate(SAMPLE_RATE as i32);
        enc.set_channel_layout(ChannelLayout::STEREO);
        enc.set_channels(CHANNELS as i32);
        enc.set_format(Sample::F32(SampleType::Planar));
        enc.set_bit_rate(bitrate_kbps as usize * 1000);
        enc.set_time_base(Rational(1, SAMPLE_RATE as i32));
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
        let encoder = enc
            .open_with(Dictionary::new())
            .context("opening AAC encoder")?;
        let frame_size = (encoder.frame_size() as usize).max(1);
        Ok(Self {
            encoder,
            frame_size,
            pending: Vec::with_capacity(frame_size * CHANNELS * 4),
            sent: 0,
        })
    }

    pub fn parameters(&self) -> codec::Parameters {
        codec::Parameters::from(&self.encoder)
    }

    pub fn time_base(&self) -> Rational {
        Rational(1, SAMPLE_RATE as i32)
    }

    /// Samples per channel accepted so far (queued or encoded).
    pub fn samples_in(&self) -> u64 {
        self.sent + (self.pending.len() / CHANNELS) as u64
    }

    /// Queues interleaved samples and encodes every full block.
    pub fn push(&mut self, interleaved: &[f32], out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        self.pending.extend_from_slice(interleaved);
        let block = self.frame_size * CHANNELS;
        let mut start = 0;
        while self.pending.len() - start >= block {
            self.encode_block(start, self.frame_size, out)?;
            start += block;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Encodes what is queued as a final short block, then drains the encoder.
    pub fn finish(&mut self, out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        let left = self.pending.len() / CHANNELS;
        if left > 0 {
            self.encode_block(0, left, out)?;
            self.pending.clear();
        }
        self.encoder.send_eof().context("flushing audio")?;
        self.receive(out)
    }

    fn encode_block(
        &mut self,
        start: usize,
        samples: usize,
        out: &mut Vec<Packet>,
    ) -> Result<(), EncodeError> {
        let mut frame = frame::Audio::empty();
        frame.set_format(Sample::F32(SampleType::Planar));
        frame.set_channel_layout(ChannelLayout::STEREO);
        frame.set_channels(CHANNELS as u16);
        frame.set_rate(SAMPLE_RATE);
        frame.set_samples(samples);
        // SAFETY: format, layout and sample count are set; FFmpeg allocates the planes.
        let ret = unsafe { ffmpeg::sys::av_frame_get_buffer(frame.as_mut_ptr(), 0) };
        if ret < 0 {
            return Err(EncodeError::Ffmpeg {
                what: "allocating audio frame",
                source: ffmpeg::Error::from(ret),
            });
        }
        let src = &self.pending[start..start + samples * CHANNELS];
        for ch in 0..CHANNELS {
            let plane = &mut frame.plane_mut::<f32>(ch)[..samples];
            for (i, s) in plane.iter_mut().enumerate() {
                *s = src[i * CHANNELS + ch];
            }
        }
        frame.set_pts(Some(self.sent as i64));
        self.sent += samples as u64;
        self.encoder.send_frame(&frame).context("encoding audio")?;
        self.receive(out)
    }

    fn receive(&mut self, out: &mut Vec<Packet>) -> Result<(), EncodeError> {
        super::receive_packets(&mut self.encoder, "receiving audio packet", out)
    }
}
