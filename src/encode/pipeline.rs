use super::{AudioEncoder, EncodeError, VideoEncoder};
use crate::av::{MediaPacket, PacketSink, StreamKind, StreamLayout};
use crate::media::{AudioSource, CHANNELS, MediaClock, VideoFrame};
use crossbeam_channel::{Receiver, Sender, select};
use ffmpeg_next::Packet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

/// Counters the status line and benchmarks read while the encoder runs.
#[derive(Debug, Default)]
pub struct EncodeStats {
    /// Video frames encoded, repeats included: the stream's length in frames.
    pub frames: AtomicU64,
    /// Frames that were not rendered in time and repeat the previous picture.
    pub repeated: AtomicU64,
    pub video_bytes: AtomicU64,
    pub audio_bytes: AtomicU64,
    /// Audio blocks that held non-finite samples (a source gone wrong): sent as silence.
    pub bad_audio_blocks: AtomicU64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeSummary {
    pub frames: u64,
    pub repeated: u64,
    pub audio_samples: u64,
}

/// Makes a block safe for the AAC encoder, which refuses non-finite samples (and with them
/// the whole stream): such a block becomes silence, and true if it was. Louder than full
/// scale is clipped.
fn silence_if_broken(block: &mut [f32]) -> bool {
    if block.iter().any(|s| !s.is_finite()) {
        block.fill(0.0);
        return true;
    }
    for s in block.iter_mut() {
        *s = s.clamp(-1.0, 1.0);
    }
    false
}

/// The encoder on its own thread: numbered frames in, packets out to a [`PacketSink`].
pub struct EncoderThread {
    pub stats: Arc<EncodeStats>,
    finish: Sender<()>,
    thread: JoinHandle<Result<EncodeSummary, EncodeError>>,
}

/// The encoder's state between frames.
pub struct Encoding<S: PacketSink> {
    video: VideoEncoder,
    audio: AudioEncoder,
    source: Box<dyn AudioSource>,
    clock: MediaClock,
    sink: S,
    recycle: Option<Sender<Vec<u8>>>,
    stats: Arc<EncodeStats>,
    /// Next frame index the stream needs.
    next: u64,
    packets: Vec<Packet>,
    audio_buf: Vec<f32>,
    /// Where the stream's timestamps start on the media clock, in frames (0 unless a test
    /// or a rehearsal starts the clock late, e.g. just before FLV's timestamp wrap).
    origin_frames: u64,
    /// The console's small copy of the picture, when a control API runs.
    preview: Option<Arc<super::preview::PreviewTap>>,
    /// Pictures to keep as JPEG files: (frame index, path), in order.
    stills: Vec<(u64, std::path::PathBuf)>,
}

impl<S: PacketSink> Encoding<S> {
    pub fn new(
        video: VideoEncoder,
        audio: AudioEncoder,
        source: Box<dyn AudioSource>,
        clock: MediaClock,
        sink: S,
    ) -> Self {
        Self {
            video,
            audio,
            source,
            clock,
            sink,
            recycle: None,
            stats: Arc::default(),
            next: 0,
            packets: Vec::new(),
            audio_buf: Vec::new(),
            origin_frames: 0,
            preview: None,
            stills: Vec::new(),
        }
    }

    /// Starts the stream's timestamps `frames` into the media clock.
    pub fn with_origin(mut self, frames: u64) -> Self {
        self.origin_frames = frames;
        self
    }

    /// Offers every rendered frame to `tap` (the console's preview).
    pub fn with_preview(mut self, tap: Arc<super::preview::PreviewTap>) -> Self {
        self.preview = Some(tap);
        self
    }

    /// Writes the picture of each frame named in `stills` to its JPEG file (a clip's
    /// cover): the first rendered frame at or after it, at full quality.
    pub fn with_stills(mut self, mut stills: Vec<(u64, std::path::PathBuf)>) -> Self {
        stills.sort_by_key(|(frame, _)| *frame);
        self.stills = stills;
        self
    }

    /// The same encoders, feeding another sink.
    pub fn with_sink<T: PacketSink>(self, sink: T) -> Encoding<T> {
        Encoding {
            video: self.video,
            audio: self.audio,
            source: self.source,
            clock: self.clock,
            sink,
            recycle: self.recycle,
            stats: self.stats,
            next: self.next,
            origin_frames: self.origin_frames,
            packets: self.packets,
            audio_buf: self.audio_buf,
            preview: self.preview,
            stills: self.stills,
        }
    }

    pub fn layout(&self) -> StreamLayout {
        StreamLayout {
            video: self.video.parameters(),
            video_time_base: self.video.time_base(),
            audio: self.audio.parameters(),
            audio_time_base: self.audio.time_base(),
            fps: self.clock.fps,
            spherical: false,
        }
    }

    /// Takes the next rendered frame. Frames that never arrived before it (the renderer fell
    /// behind real time and skipped them) are filled with the previous picture (this one
    /// before the first), so the stream stays at a constant frame rate and in step with its
    /// audio.
    pub fn push(&mut self, frame: VideoFrame) -> Result<(), EncodeError> {
        if frame.index < self.next {
            self.give_back(frame);
            return Ok(());
        }
        while self.next < frame.index {
            self.encode_frame(&frame, true)?;
        }
        self.encode_frame(&frame, false)?;
        if let Some(tap) = &self.preview {
            tap.offer(&frame);
        }
        while self
            .stills
            .first()
            .is_some_and(|(at, _)| *at <= frame.index)
        {
            let (_, path) = self.stills.remove(0);
            if let Err(e) = super::preview::save_jpeg(&frame, &path) {
                tracing::warn!("still {}: {e}", path.display());
            }
        }
        self.give_back(frame);
        Ok(())
    }

    /// Encodes `frame`, or when `repeat`, the previous picture again (`frame` if there is
    /// none yet).
    fn encode_frame(&mut self, frame: &VideoFrame, repeat: bool) -> Result<(), EncodeError> {
        let again = repeat && self.video.repeat(self.next, &mut self.packets)?;
        if !again {
            self.video.encode(frame, self.next, &mut self.packets)?;
        }
        self.next += 1;
        self.stats.frames.fetch_add(1, Ordering::Relaxed);
        if repeat {
            self.stats.repeated.fetch_add(1, Ordering::Relaxed);
        }
        self.emit(StreamKind::Video);
        self.audio_until(self.clock.samples_for_frames(self.next))?;
        Ok(())
    }

    /// Produces program audio up to `samples` (per channel) since the start.
    fn audio_until(&mut self, samples: u64) -> Result<(), EncodeError> {
        let have = self.audio.samples_in();
        if samples <= have {
            return Ok(());
        }
        let need = (samples - have) as usize * CHANNELS;
        self.audio_buf.resize(need, 0.0);
        self.source.fill(&mut self.audio_buf);
        if silence_if_broken(&mut self.audio_buf) {
            let n = self.stats.bad_audio_blocks.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    "program audio had non-finite samples ({n} blocks so far); sent as silence"
                );
            }
        }
        self.audio.push(&self.audio_buf, &mut self.packets)?;
        self.emit(StreamKind::Audio);
        Ok(())
    }

    fn emit(&mut self, kind: StreamKind) {
        let bytes = match kind {
            StreamKind::Video => &self.stats.video_bytes,
            StreamKind::Audio => &self.stats.audio_bytes,
        };
        let shift = match kind {
            StreamKind::Video => self.origin_frames as i64,
            StreamKind::Audio => self.clock.samples_for_frames(self.origin_frames) as i64,
        };
        for mut packet in self.packets.drain(..) {
            if shift != 0 {
                packet.set_pts(packet.pts().map(|t| t + shift));
                packet.set_dts(packet.dts().map(|t| t + shift));
            }
            bytes.fetch_add(packet.size() as u64, Ordering::Relaxed);
            self.sink.send(&MediaPacket { kind, packet });
        }
    }

    fn give_back(&mut self, frame: VideoFrame) {
        if let Some(recycle) = &self.recycle {
            let _ = recycle.try_send(frame.rgba);
        }
    }

    /// Flushes both encoders; audio ends exactly where the last video frame ends.
    pub fn finish(mut self) -> Result<(EncodeSummary, S), EncodeError> {
        self.video.finish(&mut self.packets)?;
        self.emit(StreamKind::Video);
        self.audio_until(self.clock.samples_for_frames(self.next))?;
        self.audio.finish(&mut self.packets)?;
        self.emit(StreamKind::Audio);
        let summary = EncodeSummary {
            frames: self.next,
            repeated: self.stats.repeated.load(Ordering::Relaxed),
            audio_samples: self.audio.samples_in(),
        };
        Ok((summary, self.sink))
    }
}

impl EncoderThread {
    /// Runs `encoding` on its own thread, fed from `frames`. Used buffers go back through
    /// `recycle` so capture does not allocate a new frame every time.
    pub fn spawn<S: PacketSink + 'static>(
        mut encoding: Encoding<S>,
        frames: Receiver<VideoFrame>,
        recycle: Sender<Vec<u8>>,
    ) -> Self {
        let stats = encoding.stats.clone();
        encoding.recycle = Some(recycle);
        let (finish, finished) = crossbeam_channel::bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name("encoder".into())
            .spawn(move || {
                loop {
                    select! {
                        recv(frames) -> frame => match frame {
                            Ok(frame) => encoding.push(frame)?,
                            Err(_) => break,
                        },
                        recv(finished) -> _ => {
                            while let Ok(frame) = frames.try_recv() {
                                encoding.push(frame)?;
                            }
                            break;
                        }
                    }
                }
                encoding.finish().map(|(summary, _)| summary)
            })
            .expect("spawning the encoder thread");
        Self {
            stats,
            finish,
            thread,
        }
    }

    /// Whether the thread has stopped on its own (which means it failed).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Encodes what is still queued, flushes, and returns the totals.
    pub fn finish(self) -> Result<EncodeSummary, EncodeError> {
        let _ = self.finish.send(());
        self.thread.join().unwrap_or(Err(EncodeError::Panicked))
    }
}

#[cfg(test)]
mod tests;
