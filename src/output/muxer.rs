use super::{OutputError, OutputKind, OutputTarget};
use crate::av::{MediaPacket, StreamKind, StreamLayout};
use ffmpeg::{Dictionary, Rational, format};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::sys;
use std::ffi::{CString, c_int, c_void};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a network write may block before the output is declared broken. Without it,
/// a server that accepts TCP and never reads would hang the writer (and a clean stop) forever.
pub const NETWORK_IO_TIMEOUT: Duration = Duration::from_secs(3);

/// One open container: the FFmpeg output context and its two streams.
pub struct Muxer {
    // Field order matters: the context must be dropped (closing its I/O) before the flag
    // its interrupt callback points at.
    context: format::context::Output,
    _interrupt: Arc<AtomicBool>,
    url: String,
    video: (usize, Rational, Rational),
    audio: (usize, Rational, Rational),
    bytes: u64,
    /// Media time (seconds) of the first packet written: every container (each file, each
    /// connection) starts its timestamps near 0 from there.
    origin: Option<f64>,
    /// MP4/MOV written whole with the index first (see [`OutputTarget::faststart`]).
    faststart: bool,
}

// SAFETY: the FFmpeg context is only used from the thread that owns the Muxer.
unsafe impl Send for Muxer {}

unsafe extern "C" fn interrupted(opaque: *mut c_void) -> c_int {
    // SAFETY: `opaque` is the AtomicBool kept alive by the Muxer that owns the context.
    let flag = unsafe { &*(opaque as *const AtomicBool) };
    flag.load(Ordering::Relaxed) as c_int
}

impl Muxer {
    /// Connects (or creates the file), describes the streams and writes the header.
    /// `abort` makes any blocking FFmpeg I/O on this output return at once when set.
    pub fn open(
        target: &OutputTarget,
        layout: &StreamLayout,
        abort: Arc<AtomicBool>,
    ) -> Result<Self, OutputError> {
        crate::av::init_ffmpeg();
        let open_err = |reason: String| OutputError::Open {
            url: target.url.clone(),
            reason,
        };
        if let OutputKind::File(path) = &target.kind
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_err(format!("cannot create {}: {e}", dir.display())))?;
        }
        let url = CString::new(target.url.as_str()).map_err(|_| open_err("NUL in URL".into()))?;
        let format_name = CString::new(target.format).expect("static name");

        let mut options = Dictionary::new();
        if target.is_network() {
            options.set("rw_timeout", &NETWORK_IO_TIMEOUT.as_micros().to_string());
            options.set("tcp_nodelay", "1");
        }
        // SAFETY: plain FFmpeg allocation and open calls; every failure path frees what was
        // allocated, and on success ownership of the context passes to `Output`.
        let context = unsafe {
            let mut ctx: *mut sys::AVFormatContext = ptr::null_mut();
            let ret = sys::avformat_alloc_output_context2(
                &mut ctx,
                ptr::null(),
                format_name.as_ptr(),
                url.as_ptr(),
            );
            if ret < 0 || ctx.is_null() {
                return Err(open_err(ffmpeg::Error::from(ret).to_string()));
            }
            (*ctx).interrupt_callback = sys::AVIOInterruptCB {
                callback: Some(interrupted),
                opaque: Arc::as_ptr(&abort) as *mut c_void,
            };
            let mut opts = options.disown();
            let ret = sys::avio_open2(
                &mut (*ctx).pb,
                url.as_ptr(),
                sys::AVIO_FLAG_WRITE as c_int,
                &(*ctx).interrupt_callback,
                &mut opts,
            );
            sys::av_dict_free(&mut opts);
            if ret < 0 {
                sys::avformat_free_context(ctx);
                return Err(open_err(describe(ret)));
            }
            format::context::Output::wrap(ctx)
        };
        let mut muxer = Self {
            context,
            _interrupt: abort,
            url: target.url.clone(),
            video: (0, layout.video_time_base, layout.video_time_base),
            audio: (1, layout.audio_time_base, layout.audio_time_base),
            bytes: 0,
            origin: None,
            faststart: target.faststart,
        };
        muxer.write_header(layout)?;
        Ok(muxer)
    }

    /// Tags the video stream as 360° equirectangular (Google's spherical video metadata:
    /// `sv3d`/`st3d` in MP4 and MOV, `Projection` in Matroska), so players and platforms
    /// wrap it onto a sphere.
    fn mark_spherical(&mut self) {
        // SAFETY: av_spherical_alloc returns a zeroed mapping we own until it is handed to
        // the stream (which then owns it); the context and its first stream are valid.
        unsafe {
            let ctx = self.context.as_mut_ptr();
            let mut size = 0usize;
            let mapping = sys::av_spherical_alloc(&mut size);
            if mapping.is_null() {
                return;
            }
            (*mapping).projection = sys::AVSphericalProjection::AV_SPHERICAL_EQUIRECTANGULAR;
            let st = *(*ctx).streams;
            let ret = sys::av_stream_add_side_data(
                st,
                sys::AVPacketSideDataType::AV_PKT_DATA_SPHERICAL,
                mapping as *mut u8,
                size,
            );
            if ret < 0 {
                sys::av_free(mapping as *mut c_void);
                return;
            }
            // MP4's muxer writes the spherical boxes only when told the spec is unofficial.
            (*ctx).strict_std_compliance = sys::FF_COMPLIANCE_UNOFFICIAL;
        }
    }

    fn write_header(&mut self, layout: &StreamLayout) -> Result<(), OutputError> {
        self.add_streams(layout)?;
        if layout.spherical {
            self.mark_spherical();
        }
        self.finish_header()
    }

    fn add_streams(&mut self, layout: &StreamLayout) -> Result<(), OutputError> {
        let io = |what, e: ffmpeg::Error| OutputError::Io {
            url: self.url.clone(),
            what,
            reason: e.to_string(),
        };
        for (params, tb) in [
            (&layout.video, layout.video_time_base),
            (&layout.audio, layout.audio_time_base),
        ] {
            let mut stream = self
                .context
                .add_stream(None::<ffmpeg::Codec>)
                .map_err(|e| io("adding stream", e))?;
            stream.set_parameters(params.clone());
            stream.set_time_base(tb);
            // SAFETY: the stream's codecpar is valid; a zero tag lets each muxer pick its own.
            unsafe { (*(*stream.as_mut_ptr()).codecpar).codec_tag = 0 };
        }
        // SAFETY: setting the stream's average frame rate hint for muxers that record it.
        unsafe {
            let st = *(*self.context.as_mut_ptr()).streams;
            (*st).avg_frame_rate = sys::AVRational {
                num: layout.fps as i32,
                den: 1,
            };
            (*st).r_frame_rate = (*st).avg_frame_rate;
        }
        Ok(())
    }

    fn finish_header(&mut self) -> Result<(), OutputError> {
        let url = self.url.clone();
        let mut options = Dictionary::new();
        if matches!(self.context.format().name(), "mp4" | "mov") && self.faststart {
            // Whole, with the index moved to the front at the end: what upload pages and
            // players that start before the download ends expect.
            options.set("movflags", "+faststart");
        } else if matches!(self.context.format().name(), "mp4" | "mov") {
            // Fragmented: a moof per keyframe, the index up front. A process killed mid-
            // recording (power cut, SIGKILL, OOM) leaves a file that plays up to its last
            // fragment instead of one with no index at all.
            options.set("movflags", "frag_keyframe+empty_moov+default_base_moof");
        }
        if matches!(self.context.format().name(), "matroska" | "webm") {
            // A cluster a second, flushed as it closes: a killed process loses at most the
            // last second of an MKV (the default holds five seconds back).
            options.set("cluster_time_limit", "1000");
            options.set("flush_packets", "1");
        }
        self.context
            .write_header_with(options)
            .map(drop)
            .map_err(|e| OutputError::Io {
                url,
                what: "writing header",
                reason: e.to_string(),
            })?;
        self.video.2 = self
            .context
            .stream(0)
            .map(|s| s.time_base())
            .unwrap_or(self.video.1);
        self.audio.2 = self
            .context
            .stream(1)
            .map(|s| s.time_base())
            .unwrap_or(self.audio.1);
        Ok(())
    }

    /// Seconds of media written since this container's first packet (0 before any).
    pub fn seconds_in(&self, packet: &MediaPacket) -> f64 {
        self.origin.map_or(0.0, |origin| {
            media_seconds(packet, self.time_base(packet.kind)) - origin
        })
    }

    fn time_base(&self, kind: StreamKind) -> Rational {
        match kind {
            StreamKind::Video => self.video.1,
            StreamKind::Audio => self.audio.1,
        }
    }

    /// Writes one packet, its timestamps counted from this container's first packet and
    /// converted to the container's time base. A packet from before that first one (audio
    /// just ahead of the keyframe a connection starts on) is left out.
    pub fn write(&mut self, mut packet: MediaPacket) -> Result<(), OutputError> {
        let (index, from, to) = match packet.kind {
            StreamKind::Video => self.video,
            StreamKind::Audio => self.audio,
        };
        let origin = *self.origin.get_or_insert(media_seconds(&packet, from));
        let shift =
            (origin * from.denominator() as f64 / from.numerator().max(1) as f64).round() as i64;
        let p = &mut packet.packet;
        let (Some(pts), Some(dts)) = (p.pts(), p.dts().or(p.pts())) else {
            return Ok(());
        };
        if dts < shift {
            return Ok(());
        }
        p.set_pts(Some(pts - shift));
        p.set_dts(Some(dts - shift));
        self.bytes += p.size() as u64;
        p.set_stream(index);
        p.rescale_ts(from, to);
        p.set_position(-1);
        p.write_interleaved(&mut self.context)
            .map_err(|e| OutputError::Io {
                url: self.url.clone(),
                what: "writing",
                reason: describe_error(e),
            })
    }

    /// Flushes interleaving queues and writes the trailer (MP4's index, FLV's duration).
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.context.write_trailer().map_err(|e| OutputError::Io {
            url: self.url.clone(),
            what: "writing trailer",
            reason: describe_error(e),
        })
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// A packet's presentation time in seconds.
fn media_seconds(packet: &MediaPacket, time_base: Rational) -> f64 {
    let ticks = packet.packet.dts().or(packet.packet.pts()).unwrap_or(0);
    ticks as f64 * time_base.numerator() as f64 / time_base.denominator().max(1) as f64
}

fn describe(code: c_int) -> String {
    describe_error(ffmpeg::Error::from(code))
}

/// FFmpeg's messages, with the two that operators meet most put in plain words.
fn describe_error(error: ffmpeg::Error) -> String {
    match error {
        ffmpeg::Error::Exit => "interrupted".into(),
        ffmpeg::Error::Other { errno } if errno == ffmpeg::util::error::ETIMEDOUT => {
            format!(
                "no progress for {} s (connection timed out)",
                NETWORK_IO_TIMEOUT.as_secs()
            )
        }
        other => other.to_string(),
    }
}
