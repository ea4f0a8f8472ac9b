//! Plain 16-bit PCM WAV writing, and reading any audio file to mono through FFmpeg.

use super::VoiceError;
use crate::av::init_ffmpeg;
use ffmpeg_next as ffmpeg;
use std::io::Write;
use std::path::Path;

/// Writes mono f32 samples as a 16-bit PCM WAV file.
pub fn write_wav(path: &Path, samples: &[f32], sample_rate: u32) -> Result<(), VoiceError> {
    let io = |e: std::io::Error| VoiceError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let data_len = (samples.len() * 2) as u32;
    let mut bytes = Vec::with_capacity(44 + data_len as usize);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&sample_rate.to_le_bytes());
    bytes.extend_from_slice(&(sample_rate * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        bytes.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&bytes))
        .map_err(io)
}

/// Decodes any audio file FFmpeg reads into mono f32 at its own sample rate; refused as
/// soon as it has decoded more than `most_seconds`, so a file that says it holds an hour
/// (an engine gone wrong) costs no more memory than the most it may hold.
pub fn read_mono(path: &Path, most_seconds: f32) -> Result<(Vec<f32>, u32), String> {
    use ffmpeg::{
        ChannelLayout, format::Sample, format::sample::Type, frame, media, software::resampling,
    };
    init_ffmpeg();
    let mut input = ffmpeg::format::input(path).map_err(|e| format!("cannot open: {e}"))?;
    // What the file says of its length (negative: it does not say), checked before any
    // of it is decoded; what it holds is checked as it is decoded.
    let says = input.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE);
    if says > f64::from(most_seconds) {
        return Err(format!(
            "{says:.0} s of audio (at most {most_seconds:.0} s)"
        ));
    }
    let stream = input
        .streams()
        .best(media::Type::Audio)
        .ok_or("no audio stream")?;
    let index = stream.index();
    let mut decoder = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().audio())
        .map_err(|e| format!("cannot decode: {e}"))?;
    let mut out = Vec::new();
    let mut rate = 0;
    let mut resampler: Option<resampling::Context> = None;
    let mut drain =
        |decoder: &mut ffmpeg::decoder::Audio, out: &mut Vec<f32>| -> Result<(), String> {
            let mut decoded = frame::Audio::empty();
            while decoder.receive_frame(&mut decoded).is_ok() {
                if decoded.channel_layout().is_empty() {
                    decoded.set_channel_layout(ChannelLayout::default(decoded.channels() as i32));
                }
                rate = decoded.rate();
                let r = match resampler.as_mut() {
                    Some(r) => r,
                    None => resampler.insert(
                        resampling::Context::get(
                            decoded.format(),
                            decoded.channel_layout(),
                            decoded.rate(),
                            Sample::F32(Type::Packed),
                            ChannelLayout::MONO,
                            decoded.rate(),
                        )
                        .map_err(|e| format!("cannot convert: {e}"))?,
                    ),
                };
                let mono = crate::av::resample_frame(r, &decoded)
                    .map_err(|e| format!("cannot convert: {e}"))?;
                out.extend_from_slice(&mono.plane::<f32>(0)[..mono.samples()]);
                if out.len() as f32 > most_seconds * rate as f32 {
                    return Err(format!("more than {most_seconds:.0} s of audio"));
                }
            }
            Ok(())
        };
    for (stream, packet) in input.packets() {
        if stream.index() == index && decoder.send_packet(&packet).is_ok() {
            drain(&mut decoder, &mut out)?;
        }
    }
    let _ = decoder.send_eof();
    drain(&mut decoder, &mut out)?;
    if out.is_empty() || rate == 0 {
        return Err("no audio decoded".into());
    }
    Ok((out, rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_longer_than_allowed_is_refused_before_it_is_decoded() {
        let path = std::env::temp_dir().join(format!("twincast-long-{}.wav", std::process::id()));
        write_wav(&path, &vec![0.25; 8000 * 3], 8000).unwrap();
        let (samples, rate) = read_mono(&path, 5.0).unwrap();
        assert_eq!((samples.len(), rate), (8000 * 3, 8000));
        let refused = read_mono(&path, 2.0).unwrap_err();
        assert!(refused.contains("3 s of audio (at most 2 s)"), "{refused}");
        let _ = std::fs::remove_file(&path);
    }
}
