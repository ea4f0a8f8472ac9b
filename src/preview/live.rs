//! `preview --show`: the live show in the window — the rundown, the voice and its lip sync,
//! the graphics and the camera work — with the program's sound on this machine's speakers.
//! Nothing is encoded: the mixer is pulled at the wall clock's pace by a small pump thread,
//! on the same clock the window's frames follow.

use crate::config::ShowConfig;
use crate::media::{CHANNELS, MediaClock, SAMPLE_RATE};
use crate::mix::{Monitor, ProgramMixer, Speaker};
use crate::presenter::{MediaTime, SpeechTimeline};
use crate::runtime::RunError;
use crate::runtime::host::{DayClock, Host};
use bevy::prelude::*;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Resource)]
struct LiveShow {
    host: Mutex<Host>,
    clock: MediaClock,
    /// Stops the audio pump when the window closes.
    running: Arc<AtomicBool>,
}

impl Drop for LiveShow {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
    }
}

/// Adds the show to a preview app: director, speaker, mixer and monitor.
pub(crate) fn add_show(app: &mut App, show: &ShowConfig) -> Result<(), RunError> {
    let clock = MediaClock::new(show.video.fps);
    let a = &show.audio;
    let effects = crate::runtime::load_effects(&a.effects)?;
    let (speaker, io) = Speaker::spawn(
        show.voice.clone(),
        a.normalize.then_some(a.loudness_lufs),
        effects,
    );
    let (to_mixer, schedule) = crossbeam_channel::unbounded();
    let host = Host::new(show, clock, speaker, io, to_mixer, DayClock::local_now());
    let mut source: Box<dyn crate::encode::AudioSource> = Box::new(ProgramMixer::new(
        crate::runtime::music_bed(show)?,
        Some(schedule),
        crate::runtime::mix_settings(show),
    ));
    // Kept alive by the pump for as long as it plays.
    let monitor = Monitor::start();
    if let Some(m) = &monitor {
        source = m.tap(source);
    }
    let running = Arc::new(AtomicBool::new(true));
    let pumping = running.clone();
    std::thread::Builder::new()
        .name("preview audio".into())
        .spawn(move || {
            let _monitor = monitor;
            let started = Instant::now();
            let mut pulled: u64 = 0;
            let mut block = vec![0.0f32; 960 * CHANNELS];
            while pumping.load(Ordering::Relaxed) {
                // Keep the mixer a little ahead of the wall clock, as the encoder would.
                let due = ((started.elapsed().as_secs_f64() + 0.1) * SAMPLE_RATE as f64) as u64;
                while pulled < due {
                    source.fill(&mut block);
                    pulled += 960;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
        .map_err(|e| RunError::Renderer(format!("audio thread: {e}")))?;
    app.insert_resource(LiveShow {
        host: Mutex::new(host),
        clock,
        running,
    })
    .add_plugins(crate::show::camera::CameraDirectorPlugin)
    .add_systems(First, run_show.after(super::follow_the_clock));
    Ok(())
}

/// Each frame: the director and the scheduler at the window's media time.
fn run_show(
    show: Res<LiveShow>,
    media: Res<MediaTime>,
    mut timeline: ResMut<SpeechTimeline>,
    mut on_air: ResMut<crate::show::OnAirNow>,
) {
    let mut host = show.host.lock().unwrap_or_else(|e| e.into_inner());
    let frame = (media.0 * show.clock.fps as f64) as u64;
    if let Some(line) = host.tick(frame) {
        timeline.0.push_back(line);
    }
    if host.on_air() != &on_air.0 {
        on_air.0 = host.on_air().clone();
    }
}
