//! A small copy of the program picture for the operator's console (`/preview.jpg`).
//!
//! Taken on the encoder's thread from frames it encodes anyway, so it shows what viewers
//! get, graphics included. It costs the stream nothing while nobody looks: a copy is made
//! only while someone has asked in the last [`WANTED_FOR`], at most once per
//! [`PreviewTap::every`], shrunk on the way (a box filter, one pass over the frame) so the
//! copy is a fraction of a frame. The JPEG is made on the API's thread, not here.

use crate::media::VideoFrame;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one request keeps the copies coming.
pub const WANTED_FOR: Duration = Duration::from_secs(10);
/// The copy's largest width (a phone's preview pane; a laptop's is not much wider).
pub const MAX_WIDTH: u32 = 480;

/// One shrunk picture: RGB, `width` × `height`.
#[derive(Debug)]
pub struct Snapshot {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    /// The frame's number on the stream's clock.
    pub frame: u64,
    pub taken: Instant,
}

/// Shared between the encoder (which offers frames) and the API (which asks for them).
pub struct PreviewTap {
    epoch: Instant,
    /// Milliseconds after `epoch` until which copies are wanted.
    wanted_until: AtomicU64,
    latest: Mutex<Option<Arc<Snapshot>>>,
    every: Duration,
}

impl PreviewTap {
    pub fn new(every: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            wanted_until: AtomicU64::new(0),
            latest: Mutex::new(None),
            every,
        }
    }

    pub fn every(&self) -> Duration {
        self.every
    }

    fn millis(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Someone wants to see the picture: copies are made for the next [`WANTED_FOR`].
    /// Returns the latest copy, however old.
    pub fn want(&self) -> Option<Arc<Snapshot>> {
        let until = self.millis() + WANTED_FOR.as_millis() as u64;
        self.wanted_until.fetch_max(until, Ordering::Relaxed);
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The encoder offers each rendered frame; most are declined at the cost of a clock read.
    pub fn offer(&self, frame: &VideoFrame) {
        if self.millis() >= self.wanted_until.load(Ordering::Relaxed) {
            return;
        }
        let fresh = self
            .latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|s| s.taken.elapsed() < self.every);
        if fresh {
            return;
        }
        let snapshot = Arc::new(shrink(frame, MAX_WIDTH));
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(snapshot);
    }
}

/// Writes `frame` as a JPEG (quality 92) at its own size.
pub fn save_jpeg(frame: &VideoFrame, path: &std::path::Path) -> Result<(), image::ImageError> {
    let snapshot = shrink(frame, frame.width);
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    image::codecs::jpeg::JpegEncoder::new_with_quality(file, 92).encode(
        &snapshot.rgb,
        snapshot.width,
        snapshot.height,
        image::ExtendedColorType::Rgb8,
    )
}

/// `frame` scaled down to at most `max_width` (never up), each pixel the mean of the
/// source pixels it covers.
pub fn shrink(frame: &VideoFrame, max_width: u32) -> Snapshot {
    let (sw, sh) = (frame.width.max(1) as usize, frame.height.max(1) as usize);
    let w = sw.min(max_width.max(1) as usize);
    let h = (sh * w / sw).max(1);
    let mut rgb = vec![0u8; w * h * 3];
    let complete = frame.rgba.len() >= sw * sh * 4;
    for y in 0..h {
        let (y0, y1) = (y * sh / h, ((y + 1) * sh / h).max(y * sh / h + 1));
        for x in 0..w {
            let (x0, x1) = (x * sw / w, ((x + 1) * sw / w).max(x * sw / w + 1));
            let mut sum = [0u32; 3];
            if complete {
                for row in y0..y1 {
                    for px in frame.rgba[(row * sw + x0) * 4..(row * sw + x1) * 4].chunks_exact(4) {
                        sum[0] += px[0] as u32;
                        sum[1] += px[1] as u32;
                        sum[2] += px[2] as u32;
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as u32;
            let out = &mut rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
            for c in 0..3 {
                out[c] = (sum[c] / n) as u8;
            }
        }
    }
    Snapshot {
        width: w as u32,
        height: h as u32,
        rgb,
        frame: frame.index,
        taken: Instant::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_averages_and_keeps_the_aspect() {
        let mut frame = VideoFrame::solid(7, 1280, 720, [200, 100, 50, 255]);
        // Left half black: the left half of the copy is black, the right half the colour.
        for row in frame.rgba.chunks_exact_mut(1280 * 4) {
            row[..640 * 4].fill(0);
        }
        let s = shrink(&frame, 480);
        assert_eq!((s.width, s.height, s.frame), (480, 270, 7));
        assert_eq!(&s.rgb[..3], &[0, 0, 0]);
        let last = s.rgb.len() - 3;
        assert_eq!(&s.rgb[last..], &[200, 100, 50]);
        // Small frames are not scaled up.
        let small = shrink(&VideoFrame::solid(0, 320, 180, [1, 2, 3, 255]), 480);
        assert_eq!((small.width, small.height), (320, 180));
    }

    #[test]
    fn copies_are_made_only_while_wanted_and_not_too_often() {
        let tap = PreviewTap::new(Duration::from_secs(3600));
        let frame = VideoFrame::solid(1, 64, 36, [9, 9, 9, 255]);
        tap.offer(&frame);
        assert!(tap.want().is_none(), "nobody asked before: no copy");
        tap.offer(&frame);
        assert_eq!(tap.want().unwrap().frame, 1);
        tap.offer(&VideoFrame::solid(2, 64, 36, [9, 9, 9, 255]));
        assert_eq!(
            tap.want().unwrap().frame,
            1,
            "a copy an hour old is fresh here"
        );
    }

    #[test]
    fn a_short_buffer_gives_a_black_picture_not_a_panic() {
        let frame = VideoFrame {
            index: 0,
            width: 100,
            height: 100,
            rgba: vec![255; 10],
        };
        let s = shrink(&frame, 480);
        assert!(s.rgb.iter().all(|&v| v == 0));
    }
}
