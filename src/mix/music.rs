use crate::media::{AudioSource, CHANNELS, SAMPLE_RATE};
use ffmpeg::{
    ChannelLayout, Packet, codec,
    format::{self, Sample, sample::Type as SampleType},
    frame, media,
    software::resampling,
};
use ffmpeg_next as ffmpeg;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use tracing::warn;

/// The music file cannot be opened or decoded.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct MusicError {
    pub path: PathBuf,
    pub reason: String,
}

/// A music file decoded with FFmpeg as it plays, resampled to 48 kHz stereo, looped forever.
///
/// Decoding as it goes keeps memory flat whatever the track's length. At the end of the file
/// it is opened again; the resampler is kept, so the seam has no click from a reset filter.
pub struct MusicLoop {
    path: PathBuf,
    gain: f32,
    decoding: Option<Decoding>,
    resampler: Option<resampling::Context>,
    ready: VecDeque<f32>,
    /// Consecutive reopen failures; past a few the loop plays silence and retries later.
    failures: u32,
    silent_samples: u64,
}

struct Decoding {
    input: format::context::Input,
    stream: usize,
    decoder: codec::decoder::Audio,
}

impl MusicLoop {
    /// Opens `path` and levels it so the bed sits `relative_db` from `target` LUFS, measured
    /// over its first minute (at most). Music files differ by 20 dB and more in level; a
    /// gain relative to the program's loudness means the same setting suits every file.
    pub fn open_levelled(path: &Path, target: f32, relative_db: f32) -> Result<Self, MusicError> {
        let loudness = Self::loudness(path, 60.0)?;
        let gain_db = loudness.map_or(relative_db, |l| target + relative_db - l);
        Self::open(path, gain_db)
    }

    /// The integrated loudness (LUFS) of one pass of the file's audio, or of its first
    /// `max_seconds`; `None` for silence.
    pub fn loudness(path: &Path, max_seconds: f64) -> Result<Option<f32>, MusicError> {
        let samples = Self::decode_once(path, max_seconds)?;
        Ok(crate::loudness::integrated_lufs(&samples, CHANNELS as u32))
    }

    /// One pass of the file's audio (at most `max_seconds`), as 48 kHz stereo samples.
    pub fn decode_once(path: &Path, max_seconds: f64) -> Result<Vec<f32>, MusicError> {
        let mut music = Self::unread(path, 0.0)?;
        let max = (SAMPLE_RATE as f64 * max_seconds.max(0.0)) as usize * CHANNELS;
        while music.ready.len() < max {
            match music.decode_packet() {
                Ok(true) => {}
                Ok(false) => break,
                Err(reason) => {
                    return Err(MusicError {
                        path: path.to_path_buf(),
                        reason,
                    });
                }
            }
        }
        music.ready.truncate(max);
        Ok(music.ready.into())
    }

    /// Opens `path` and checks it decodes, so a bad file is refused at start, not at air time.
    pub fn open(path: &Path, gain_db: f32) -> Result<Self, MusicError> {
        let mut music = Self::unread(path, gain_db)?;
        if !music.decode_more() || music.ready.is_empty() {
            return Err(MusicError {
                path: path.to_path_buf(),
                reason: "no audio could be decoded from it".into(),
            });
        }
        Ok(music)
    }

    /// `path` opened for decoding, nothing read yet.
    fn unread(path: &Path, gain_db: f32) -> Result<Self, MusicError> {
        crate::av::init_ffmpeg();
        let decoding = Decoding::open(path).map_err(|reason| MusicError {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            gain: 10f32.powf(gain_db / 20.0),
            decoding: Some(decoding),
            resampler: None,
            ready: VecDeque::new(),
            failures: 0,
            silent_samples: 0,
        })
    }

    /// Decodes until some samples are ready. Returns false when nothing can be had now.
    fn decode_more(&mut self) -> bool {
        for _ in 0..64 {
            if self.decoding.is_none() {
                match Decoding::open(&self.path) {
                    Ok(d) => {
                        self.decoding = Some(d);
                        self.failures = 0;
                    }
                    Err(reason) => {
                        self.failures += 1;
                        if self.failures == 1 {
                            warn!("music {}: {reason}; playing silence", self.path.display());
                        }
                        return false;
                    }
                }
            }
            match self.decode_packet() {
                Ok(true) => {
                    if !self.ready.is_empty() {
                        return true;
                    }
                }
                Ok(false) => self.decoding = None, // end of file: loop
                Err(reason) => {
                    warn!(
                        "music {}: {reason}; restarting the track",
                        self.path.display()
                    );
                    self.decoding = None;
                    self.failures += 1;
                    if self.failures > 3 {
                        return false;
                    }
                }
            }
        }
        !self.ready.is_empty()
    }

    /// Reads one packet and resamples what it decodes. `Ok(false)` at end of file.
    fn decode_packet(&mut self) -> Result<bool, String> {
        let Some(d) = self.decoding.as_mut() else {
            return Ok(false);
        };
        let mut packet = Packet::empty();
        match packet.read(&mut d.input) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => return Ok(false),
            Err(e) => return Err(format!("read error: {e}")),
        }
        if packet.stream() != d.stream {
            return Ok(true);
        }
        if d.decoder.send_packet(&packet).is_err() {
            return Ok(true); // a damaged packet: skip it
        }
        let mut decoded = frame::Audio::empty();
        while d.decoder.receive_frame(&mut decoded).is_ok() {
            if decoded.channel_layout().is_empty() {
                decoded.set_channel_layout(ChannelLayout::default(decoded.channels() as i32));
            }
            let resampler = match self.resampler.as_mut() {
                Some(r)
                    if r.input().rate == decoded.rate()
                        && r.input().format == decoded.format()
                        && r.input().channel_layout == decoded.channel_layout() =>
                {
                    r
                }
                _ => {
                    let r = resampling::Context::get(
                        decoded.format(),
                        decoded.channel_layout(),
                        decoded.rate(),
                        Sample::F32(SampleType::Packed),
                        ChannelLayout::STEREO,
                        SAMPLE_RATE,
                    )
                    .map_err(|e| format!("cannot resample: {e}"))?;
                    self.resampler.insert(r)
                }
            };
            let out = crate::av::resample_frame(resampler, &decoded)
                .map_err(|e| format!("resampling failed: {e}"))?;
            let bytes = &out.data(0)[..out.samples() * CHANNELS * 4];
            self.ready.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]) * self.gain),
            );
        }
        Ok(true)
    }
}

impl Decoding {
    fn open(path: &Path) -> Result<Self, String> {
        let input = format::input(path).map_err(|e| format!("cannot open: {e}"))?;
        let stream = input
            .streams()
            .best(media::Type::Audio)
            .ok_or("has no audio stream")?;
        let index = stream.index();
        let decoder = codec::context::Context::from_parameters(stream.parameters())
            .and_then(|c| c.decoder().audio())
            .map_err(|e| format!("cannot decode: {e}"))?;
        Ok(Self {
            input,
            stream: index,
            decoder,
        })
    }
}

impl AudioSource for MusicLoop {
    fn fill(&mut self, out: &mut [f32]) {
        let mut written = 0;
        while written < out.len() {
            if self.ready.is_empty() && !self.decode_more() {
                out[written..].fill(0.0);
                self.silent_samples += ((out.len() - written) / CHANNELS) as u64;
                // Try the file again after about ten seconds of silence.
                if self.silent_samples > SAMPLE_RATE as u64 * 10 {
                    self.silent_samples = 0;
                    self.failures = 0;
                }
                return;
            }
            let n = self.ready.len().min(out.len() - written);
            for (dst, src) in out[written..written + n]
                .iter_mut()
                .zip(self.ready.drain(..n))
            {
                *dst = src;
            }
            written += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Silence;

    fn demo_music() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("assets/audio/mysterious_acoustic_guitar.ogg")
    }

    /// RMS of each second of interleaved stereo audio.
    fn rms_per_second(samples: &[f32]) -> Vec<f32> {
        samples
            .chunks(SAMPLE_RATE as usize * CHANNELS)
            .map(|c| (c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32).sqrt())
            .collect()
    }

    #[test]
    fn music_loops_past_the_end_of_the_file() {
        // The track is 8.3 s long: 20 s of program must keep playing through two seams.
        let mut music = MusicLoop::open(&demo_music(), 0.0).unwrap();
        let mut out = vec![0.0f32; SAMPLE_RATE as usize * CHANNELS * 20];
        for block in out.chunks_mut(1600 * CHANNELS) {
            music.fill(block);
        }
        let rms = rms_per_second(&out);
        assert!(rms.iter().all(|r| *r > 0.003), "a silent second: {rms:?}");
        assert!(out.iter().all(|s| s.is_finite() && s.abs() <= 1.5));
    }

    #[test]
    fn gain_scales_the_music() {
        let mut loud = MusicLoop::open(&demo_music(), 0.0).unwrap();
        let mut quiet = MusicLoop::open(&demo_music(), -20.0).unwrap();
        let mut a = vec![0.0f32; 48_000 * 2];
        let mut b = a.clone();
        loud.fill(&mut a);
        quiet.fill(&mut b);
        let ratio = rms_per_second(&b)[0] / rms_per_second(&a)[0];
        assert!((ratio - 0.1).abs() < 0.01, "ratio {ratio}");
    }

    #[test]
    fn a_file_that_is_not_audio_is_refused_with_its_name() {
        let path =
            std::env::temp_dir().join(format!("twincast-not-audio-{}.ogg", std::process::id()));
        std::fs::write(&path, b"this is not an ogg file").unwrap();
        let err = MusicLoop::open(&path, 0.0)
            .err()
            .expect("must fail")
            .to_string();
        let _ = std::fs::remove_file(&path);
        assert!(err.contains("twincast-not-audio"), "{err}");
    }

    #[test]
    fn silence_is_silent() {
        let mut out = vec![1.0f32; 64];
        Silence.fill(&mut out);
        assert!(out.iter().all(|s| *s == 0.0));
    }

    /// A 44.1 kHz file upsampled to 48 kHz: every input second must come out as one output
    /// second. ffmpeg-next's `run` alone truncates each frame and lets a backlog grow.
    #[test]
    fn upsampled_music_keeps_its_length_and_pitch() {
        let path = std::env::temp_dir().join(format!("twincast-tone-{}.wav", std::process::id()));
        let status = std::process::Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=441:sample_rate=44100:duration=2",
            ])
            .arg(&path)
            .status()
            .expect("ffmpeg");
        assert!(status.success());
        let mut music = MusicLoop::open(&path, 0.0).unwrap();
        let mut out = vec![0.0f32; SAMPLE_RATE as usize * CHANNELS * 10];
        for block in out.chunks_mut(1600 * CHANNELS) {
            music.fill(block);
        }
        let _ = std::fs::remove_file(&path);
        // 441 Hz over 10 s: 8820 zero crossings per channel (two per cycle), give or take
        // the loop seams.
        let left: Vec<f32> = out.iter().step_by(2).copied().collect();
        let crossings = left
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!(
            (crossings as i64 - 8820).abs() < 60,
            "{crossings} crossings"
        );
        // And nothing piles up inside the resampler: its delay stays a few milliseconds.
        let delay = music
            .resampler
            .as_ref()
            .and_then(|r| r.delay())
            .map_or(0, |d| d.milliseconds);
        assert!(delay < 50, "resampler holds {delay} ms");
        assert!(
            music.ready.len() < SAMPLE_RATE as usize * CHANNELS,
            "{} samples queued",
            music.ready.len()
        );
    }
}
