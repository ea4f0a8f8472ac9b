//! A live audio input for a human takeover: raw PCM (s16le, 48 kHz, mono) over UDP, which
//! anything can send — `ffmpeg -f alsa -i default -f s16le -ar 48000 -ac 1
//! udp://HOST:PORT` from the studio's microphone, or a mixing desk's network output.
//!
//! Packets go into a short buffer on the receiving thread; the mixer plays from it only
//! while a takeover is on, so nothing stale comes out when a person steps in, and a sender
//! that stops leaves silence, not a stall.

use std::collections::VecDeque;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{info, warn};

/// At most this much audio waits in the buffer (older samples are dropped): the delay a
/// person hears between speaking and going out stays under a quarter of a second.
const MAX_BUFFER: usize = crate::media::SAMPLE_RATE as usize / 4;
/// Playback starts once this much has arrived, to ride out network jitter.
const PREBUFFER: usize = crate::media::SAMPLE_RATE as usize / 20;

/// The shared state of a live input.
#[derive(Debug, Default)]
pub struct LiveAudio {
    /// A person has taken over: the mixer plays the input.
    pub active: AtomicBool,
    buffer: Mutex<VecDeque<f32>>,
    pub packets: AtomicU64,
    /// Datagrams from senders not allowed, dropped unread.
    pub refused: AtomicU64,
    started: AtomicBool,
}

impl LiveAudio {
    /// Listens on `addr` on its own thread.
    /// Listens on `addr`, accepting datagrams from this machine and `senders` only.
    pub fn listen(addr: &str, senders: crate::net::Senders) -> std::io::Result<Arc<Self>> {
        let socket = UdpSocket::bind(addr)?;
        socket.set_read_timeout(Some(Duration::from_millis(200)))?;
        let live = Arc::new(Self::default());
        let shared = Arc::downgrade(&live);
        info!("takeover audio: listening for s16le 48 kHz mono PCM on udp://{addr}");
        std::thread::Builder::new()
            .name("live audio".into())
            .spawn(move || {
                let mut datagram = vec![0u8; 65_536];
                loop {
                    let received = socket.recv_from(&mut datagram);
                    let Some(live) = shared.upgrade() else {
                        return; // the show is over
                    };
                    match received {
                        Ok((_, from)) if !senders.allows(from.ip()) => {
                            let refused = live.refused.fetch_add(1, Ordering::Relaxed) + 1;
                            if refused.is_power_of_two() {
                                warn!("takeover audio: refused a packet from {from}, not an allowed sender ({refused} so far)");
                            }
                        }
                        Ok((n, _)) => live.push(&datagram[..n - n % 2]),
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(e) => {
                            warn!("takeover audio: {e}");
                            std::thread::sleep(Duration::from_millis(200));
                        }
                    }
                }
            })?;
        Ok(live)
    }

    fn push(&self, bytes: &[u8]) {
        self.packets.fetch_add(1, Ordering::Relaxed);
        if !self.active.load(Ordering::Relaxed) {
            return;
        }
        let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        buffer.extend(
            bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0),
        );
        let excess = buffer.len().saturating_sub(MAX_BUFFER);
        buffer.drain(..excess);
    }

    /// Turns the input on or off; either way, what was buffered is dropped.
    pub fn set_active(&self, on: bool) {
        self.active.store(on, Ordering::Relaxed);
        self.started.store(false, Ordering::Relaxed);
        self.buffer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The next `n` samples (silence where none arrived), or `None` when not taken over.
    pub fn take(&self, n: usize) -> Option<Vec<f32>> {
        if !self.active.load(Ordering::Relaxed) {
            return None;
        }
        let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        if !self.started.load(Ordering::Relaxed) {
            if buffer.len() < PREBUFFER {
                return Some(vec![0.0; n]);
            }
            self.started.store(true, Ordering::Relaxed);
        }
        let available = n.min(buffer.len());
        let mut out: Vec<f32> = buffer.drain(..available).collect();
        if out.len() < n {
            // Ran dry: wait for a little to gather again rather than crackle.
            self.started.store(false, Ordering::Relaxed);
            out.resize(n, 0.0);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_only_while_taken_over_after_a_short_prebuffer() {
        let live = LiveAudio::default();
        let pcm: Vec<u8> = (0..4800i16).flat_map(|i| (i * 4).to_le_bytes()).collect();
        live.push(&pcm);
        assert_eq!(live.take(10), None, "not taken over");
        live.set_active(true);
        live.push(&pcm[..200]);
        assert_eq!(live.take(10).unwrap(), vec![0.0; 10], "still gathering");
        live.push(&pcm);
        let out = live.take(4).unwrap();
        assert!(out[1] > 0.0, "{out:?}");
        // Too much waiting: the oldest goes, keeping the delay short.
        for _ in 0..10 {
            live.push(&pcm);
        }
        assert!(live.buffer.lock().unwrap().len() <= MAX_BUFFER);
        live.set_active(false);
        assert_eq!(live.take(4), None);
    }
}
