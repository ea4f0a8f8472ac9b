use super::*;
use crate::loudness::level_mono_line;
use crate::media::Silence;
use crate::speech::Line;

/// A steady 1 kHz tone as the music bed.
struct Tone {
    phase: f32,
    amplitude: f32,
}

impl AudioSource for Tone {
    fn fill(&mut self, out: &mut [f32]) {
        for frame in out.chunks_exact_mut(2) {
            let s = (self.phase * std::f32::consts::TAU).sin() * self.amplitude;
            self.phase = (self.phase + 1000.0 / SAMPLE_RATE as f32).fract();
            frame[0] = s;
            frame[1] = s;
        }
    }
}

fn rms(s: &[f32]) -> f32 {
    (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt()
}

fn to_db(v: f32) -> f32 {
    20.0 * v.log10()
}

fn run(mixer: &mut ProgramMixer, seconds: f32) -> Vec<f32> {
    let mut out = vec![0.0; (seconds * SAMPLE_RATE as f32) as usize * CHANNELS];
    for block in out.chunks_mut(1600 * CHANNELS) {
        mixer.fill(block);
    }
    out
}

#[test]
fn music_ducks_by_the_configured_amount_under_speech() {
    // A silent "line" of 2 s scheduled at 1 s: whatever the music does then is the ducking.
    let (tx, rx) = crossbeam_channel::bounded(1);
    tx.send(ScheduledLine {
        start: SAMPLE_RATE as u64,
        line: std::sync::Arc::new(Line {
            text: "quiet".into(),
            samples: vec![0.0; 2 * SAMPLE_RATE as usize],
            visemes: Default::default(),
            stresses: Vec::new(),
            gesture: None,
            effects: Vec::new(),
            emotion: None,
            origin: Default::default(),
        }),
    })
    .unwrap();
    let settings = MixSettings {
        loudness_lufs: None,
        ..Default::default()
    };
    let mut mixer = ProgramMixer::new(
        Box::new(Tone {
            phase: 0.0,
            amplitude: 0.5,
        }),
        Some(rx),
        settings.clone(),
    );
    let out = run(&mut mixer, 4.0);
    let second = |a: f32, b: f32| &out[(a * 48_000.0) as usize * 2..(b * 48_000.0) as usize * 2];
    let before = rms(second(0.2, 0.9));
    let during = rms(second(1.5, 2.9)); // after the attack settles
    let after = rms(second(3.6, 4.0)); // after the release
    let ducked = to_db(during / before);
    assert!(
        (ducked - settings.duck_db).abs() < 0.5,
        "ducked by {ducked} dB"
    );
    assert!((to_db(after / before)).abs() < 1.0, "music came back");
}

fn program_lufs(out: &[f32]) -> f64 {
    let mut meter = ebur128::EbuR128::new(2, SAMPLE_RATE, ebur128::Mode::I).unwrap();
    meter.add_frames_f32(out).unwrap();
    meter.loudness_global().unwrap()
}

#[test]
fn the_rider_corrects_drift_towards_the_target() {
    // Tones about 5 dB under and over -16 LUFS end up within 1 LU of it.
    for amplitude in [0.1f32, 0.3] {
        let mut mixer = ProgramMixer::new(
            Box::new(Tone {
                phase: 0.0,
                amplitude,
            }),
            None,
            MixSettings::default(),
        );
        let out = run(&mut mixer, 25.0);
        let start = program_lufs(&out[..48_000 * 2]);
        let end = program_lufs(&out[20 * 48_000 * 2..]);
        assert!(
            (start + 16.0).abs() > 3.0,
            "amplitude {amplitude} starts at {start}"
        );
        assert!(
            (end + 16.0).abs() < 1.0,
            "amplitude {amplitude}: {end} LUFS"
        );
    }
}

#[test]
fn peaks_stay_under_the_ceiling() {
    let mut mixer = ProgramMixer::new(
        Box::new(Tone {
            phase: 0.0,
            amplitude: 1.0,
        }),
        None,
        MixSettings::default(),
    );
    let out = run(&mut mixer, 5.0);
    let peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(to_db(peak) <= -1.99, "peak {} dBFS", to_db(peak));
}

#[test]
fn lines_are_levelled_to_the_target_whatever_the_engine_gave() {
    for amplitude in [0.01f32, 0.8] {
        let mut line: Vec<f32> = (0..48_000 * 2)
            .map(|i| (i as f32 * 0.13).sin() * amplitude)
            .collect();
        level_mono_line(&mut line, -16.0);
        let stereo: Vec<f32> = line.iter().flat_map(|s| [*s, *s]).collect();
        let lufs = program_lufs(&stereo);
        assert!(
            (lufs + 16.0).abs() < 0.2,
            "amplitude {amplitude}: {lufs} LUFS"
        );
    }
}

#[test]
fn a_lines_effects_sound_from_its_start() {
    let chime: std::sync::Arc<[f32]> = vec![0.5f32; 4800].into();
    let (tx, rx) = crossbeam_channel::bounded(1);
    tx.send(ScheduledLine {
        start: 48_000,
        line: std::sync::Arc::new(Line {
            text: "with a chime".into(),
            samples: vec![0.0; 48_000],
            visemes: Default::default(),
            stresses: Vec::new(),
            gesture: None,
            effects: vec![chime],
            emotion: None,
            origin: Default::default(),
        }),
    })
    .unwrap();
    let settings = MixSettings {
        loudness_lufs: None,
        ..Default::default()
    };
    let mut mixer = ProgramMixer::new(Box::new(Silence), Some(rx), settings);
    let out = run(&mut mixer, 2.0);
    let left = |sample: usize| out[sample * 2];
    assert_eq!(left(47_999), 0.0);
    assert_eq!(left(48_000), 0.5);
    assert_eq!(left(48_000 + 4_799), 0.5);
    assert_eq!(left(48_000 + 4_800), 0.0);
}

#[test]
fn silence_stays_silence() {
    let mut mixer = ProgramMixer::new(Box::new(Silence), None, MixSettings::default());
    let out = run(&mut mixer, 2.0);
    assert!(out.iter().all(|s| *s == 0.0));
}
