//! `preview --show`: the live show in the window — the rundown, the voice and its lip sync,
//! the graphics and the camera work — with the program's sound on this machine's speakers.
//! Nothing is encoded: the mixer is pulled at the wall clock's pace by a small pump thread,
//! on the same clock the window's frames follow.

use crate::config::ShowConfig;
use crate::media::{AudioSource, CHANNELS, MediaClock, SAMPLE_RATE};
use crate::runtime::window::follow_the_clock;
use crate::runtime::{AudioOptions, DayClock, RunError, Rundown, ShowAudio};
use crate::stage::{MediaTime, OnAirNow, SpeechTimeline};
use bevy::prelude::*;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Resource)]
struct LiveShow {
    rundown: Mutex<Rundown>,
    clock: MediaClock,
    /// Stops the audio pump when the window closes.
    running: Arc<AtomicBool>,
}

impl Drop for LiveShow {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
    }
}

/// Adds the show to a preview app: rundown, speaker, mixer and monitor.
pub(crate) fn add_show(app: &mut App, show: &ShowConfig) -> Result<(), RunError> {
    let clock = MediaClock::new(show.video.fps);
    let audio = ShowAudio::build(
        show,
        AudioOptions {
            clock,
            speaks: true,
            offline: false,
            day: DayClock::now_in(show.zone()),
            live: None,
            monitor: true,
        },
    )?;
    let running = Arc::new(AtomicBool::new(true));
    pump_audio(audio.source, running.clone())?;
    let rundown = audio.rundown.expect("a show that speaks has a rundown");
    app.insert_resource(LiveShow {
        rundown: Mutex::new(rundown),
        clock,
        running,
    })
    .add_plugins(crate::camera::CameraDirectorPlugin)
    .add_systems(First, run_show.after(follow_the_clock));
    Ok(())
}

/// Pulls the program at the wall clock's pace (a little ahead, as the encoder would) until
/// `running` goes false; the monitor tap in the source plays it.
fn pump_audio(mut source: Box<dyn AudioSource>, running: Arc<AtomicBool>) -> Result<(), RunError> {
    std::thread::Builder::new()
        .name("preview audio".into())
        .spawn(move || {
            let started = Instant::now();
            let mut pulled: u64 = 0;
            let mut block = vec![0.0f32; 960 * CHANNELS];
            while running.load(Ordering::Relaxed) {
                let due = ((started.elapsed().as_secs_f64() + 0.1) * SAMPLE_RATE as f64) as u64;
                while pulled < due {
                    source.fill(&mut block);
                    pulled += 960;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
        .map(drop)
        .map_err(|source| RunError::Thread {
            name: "preview audio",
            source,
        })
}

/// Each frame: the director and the scheduler at the window's media time.
fn run_show(
    show: Res<LiveShow>,
    media: Res<MediaTime>,
    mut timeline: ResMut<SpeechTimeline>,
    mut on_air: ResMut<OnAirNow>,
) {
    let mut rundown = show.rundown.lock().unwrap_or_else(|e| e.into_inner());
    let frame = (media.0 * show.clock.fps as f64) as u64;
    if let Some(line) = rundown.tick(frame) {
        timeline.0.push_back(line);
    }
    if rundown.on_air() != &on_air.0 {
        on_air.0 = rundown.on_air().clone();
    }
}
