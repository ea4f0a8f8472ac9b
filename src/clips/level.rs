//! A finished clip brought to its loudness target: its sound measured whole, turned up or
//! down by the difference (peaks limited), encoded again, and muxed with the picture as
//! it was. The live mix rides short-term loudness, so a clip's music before, between and
//! after the lines leaves its integrated loudness about a decibel under the target.

use crate::av::{MediaPacket, StreamKind, StreamLayout};
use crate::encode::AudioEncoder;
use crate::media::CHANNELS;
use crate::mix::MusicLoop;
use crate::output::{Muxer, OutputTarget};
use ffmpeg_next as ffmpeg;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Closer than this to the target is left as it is.
const WITHIN_LU: f32 = 0.3;
/// The most a clip is turned up (quiet speech is not made loud by force).
const MAX_GAIN_DB: f32 = 6.0;

/// Writes `input` to `output` with its sound at `target` LUFS, if it is not already
/// within [`WITHIN_LU`]. Returns the loudness the clip ends with (`None`: silent), and
/// whether `output` was written.
pub fn to_target(
    input: &Path,
    output: &Path,
    target: f32,
    true_peak_dbtp: f32,
    audio_kbps: u32,
) -> Result<(Option<f32>, bool), String> {
    let mut samples = MusicLoop::decode_once(input, 3600.0).map_err(|e| e.to_string())?;
    let Some(before) = crate::loudness::integrated_lufs(&samples, CHANNELS as u32) else {
        return Ok((None, false));
    };
    if (target - before).abs() < WITHIN_LU {
        return Ok((Some(before), false));
    }
    // The limiter takes back part of any gain that lifts peaks into it, so the gain is
    // found in a few rounds, each from the original sound.
    let original = samples.clone();
    let mut gain = 0.0f32;
    let mut after = Some(before);
    for _ in 0..4 {
        let miss = target - after.unwrap_or(target);
        if miss.abs() < 0.1 {
            break;
        }
        gain = (gain + miss).clamp(-MAX_GAIN_DB, MAX_GAIN_DB);
        samples.copy_from_slice(&original);
        crate::loudness::apply_gain(&mut samples, gain, true_peak_dbtp);
        after = crate::loudness::integrated_lufs(&samples, CHANNELS as u32);
    }
    tracing::info!(
        "{}: {before:.1} LUFS, turned {gain:+.1} dB to {} LUFS",
        input.display(),
        after.map_or("-".into(), |a| format!("{a:.1}"))
    );
    remux(input, output, &samples, audio_kbps)?;
    Ok((after, true))
}

/// The picture of `input` and `samples` (encoded AAC) into `output`, index first.
fn remux(input: &Path, output: &Path, samples: &[f32], audio_kbps: u32) -> Result<(), String> {
    crate::av::init_ffmpeg();
    let mut source = ffmpeg::format::input(input).map_err(|e| format!("cannot open: {e}"))?;
    let video = source
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or("no picture")?;
    let (video_index, video_time_base) = (video.index(), video.time_base());
    let fps = video.avg_frame_rate();
    let mut encoder = AudioEncoder::new(audio_kbps).map_err(|e| e.to_string())?;
    let mut audio = Vec::new();
    encoder
        .push(samples, &mut audio)
        .map_err(|e| e.to_string())?;
    encoder.finish(&mut audio).map_err(|e| e.to_string())?;
    let layout = StreamLayout {
        video: video.parameters(),
        video_time_base,
        audio: encoder.parameters(),
        audio_time_base: encoder.time_base(),
        fps: (fps.numerator() / fps.denominator().max(1)).max(1) as u32,
        spherical: false,
    };
    let target = OutputTarget {
        faststart: true,
        ..OutputTarget::parse(&output.to_string_lossy()).map_err(|e| e.to_string())?
    };
    let mut muxer = Muxer::open(&target, &layout, Arc::new(AtomicBool::new(false)))
        .map_err(|e| e.to_string())?;
    let seconds = |p: &ffmpeg::Packet, tb: ffmpeg::Rational| {
        p.dts().or(p.pts()).unwrap_or(0) as f64 * f64::from(tb)
    };
    let mut audio = audio.into_iter().peekable();
    let write = |muxer: &mut Muxer, kind, packet| {
        muxer
            .write(MediaPacket { kind, packet })
            .map_err(|e| e.to_string())
    };
    for (stream, packet) in source.packets() {
        if stream.index() != video_index {
            continue;
        }
        let at = seconds(&packet, video_time_base);
        while let Some(a) = audio.next_if(|a| seconds(a, encoder.time_base()) <= at) {
            write(&mut muxer, StreamKind::Audio, a)?;
        }
        write(&mut muxer, StreamKind::Video, packet)?;
    }
    for a in audio {
        write(&mut muxer, StreamKind::Audio, a)?;
    }
    muxer.finish().map_err(|e| e.to_string())
}
