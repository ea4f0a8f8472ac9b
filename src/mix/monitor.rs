//! Local monitoring: hear the program on this machine's speakers (`--monitor`).
//!
//! The encoder's audio is tapped into a bounded channel that never blocks it; a thread owns
//! the cpal output stream (not `Send` everywhere) and plays what arrives. No device, or one
//! that refuses 48 kHz stereo, is a warning: the stream itself is never affected.

use crate::media::AudioSource;
use crate::media::{CHANNELS, SAMPLE_RATE};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use crossbeam_channel::{Sender, TrySendError, bounded};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tracing::{info, warn};

/// At most this much audio waits for the speakers; older audio is dropped.
const MAX_BUFFERED_SECONDS: usize = 1;

pub struct Monitor {
    blocks: Sender<Vec<f32>>,
}

impl Monitor {
    /// Opens the default output device. `None` (with a warning) when there is none.
    pub fn start() -> Option<Self> {
        let (blocks, incoming) = bounded::<Vec<f32>>(64);
        let (ready_tx, ready_rx) = bounded::<Result<String, String>>(1);
        std::thread::Builder::new()
            .name("monitor".into())
            .spawn(move || {
                // Capture ALSA's own complaints (this thread only) instead of letting the C
                // library print them; the warning below says what matters.
                #[cfg(target_os = "linux")]
                let _alsa_errors = alsa::Output::local_error_handler();
                let queue = Arc::new(Mutex::new(VecDeque::<f32>::new()));
                let stream = match open_stream(queue.clone()) {
                    Ok((stream, name)) => {
                        let _ = ready_tx.send(Ok(name));
                        stream
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let limit = SAMPLE_RATE as usize * CHANNELS * MAX_BUFFERED_SECONDS;
                for block in incoming.iter() {
                    let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                    q.extend(block);
                    let excess = q.len().saturating_sub(limit);
                    q.drain(..excess);
                }
                drop(stream);
            })
            .ok()?;
        match ready_rx.recv() {
            Ok(Ok(name)) => {
                info!("monitoring the program on `{name}`");
                Some(Self { blocks })
            }
            Ok(Err(reason)) => {
                warn!("--monitor: {reason}; the stream goes on without local monitoring");
                None
            }
            Err(_) => None,
        }
    }

    /// Wraps a source so that what it produces is also heard locally.
    pub fn tap(&self, inner: Box<dyn AudioSource>) -> Box<dyn AudioSource> {
        Box::new(Tap {
            inner,
            blocks: self.blocks.clone(),
        })
    }
}

fn open_stream(queue: Arc<Mutex<VecDeque<f32>>>) -> Result<(cpal::Stream, String), String> {
    let host = cpal::default_host();
    let device = host
        .default_output_device()
        .ok_or("no audio output device")?;
    let name = device
        .description()
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "default".into());
    let config = cpal::StreamConfig {
        channels: CHANNELS as u16,
        sample_rate: SAMPLE_RATE,
        buffer_size: cpal::BufferSize::Default,
    };
    let stream = device
        .build_output_stream(
            config,
            move |out: &mut [f32], _| {
                let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                for s in out.iter_mut() {
                    *s = q.pop_front().unwrap_or(0.0);
                }
            },
            |e| warn!("monitor output: {e}"),
            None,
        )
        .map_err(|e| format!("audio device `{name}` will not play 48 kHz stereo: {e}"))?;
    stream
        .play()
        .map_err(|e| format!("audio device `{name}`: {e}"))?;
    Ok((stream, name))
}

struct Tap {
    inner: Box<dyn AudioSource>,
    blocks: Sender<Vec<f32>>,
}

impl AudioSource for Tap {
    fn fill(&mut self, out: &mut [f32]) {
        self.inner.fill(out);
        // Never wait for the speakers: a full queue just loses this block.
        if let Err(TrySendError::Disconnected(_)) = self.blocks.try_send(out.to_vec()) {
            // The monitor stopped; nothing to do.
        }
    }
}
