use super::*;

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

fn check_line(line: &Utterance, min_s: f32, max_s: f32) {
    let d = line.duration();
    assert!(d > min_s && d < max_s, "duration {d}");
    assert!(
        rms(&line.samples) > 0.02,
        "no speech energy: {}",
        rms(&line.samples)
    );
    assert!(!line.phonemes.is_empty());
    assert!(
        line.phonemes.windows(2).all(|w| w[0].time <= w[1].time),
        "phonemes out of order"
    );
    assert!(
        line.phonemes.iter().all(|p| p.time >= 0.0 && p.time <= d),
        "phoneme outside the audio"
    );
}

#[test]
fn espeak_speaks_english_with_ordered_phonemes() {
    let mut engine = EspeakEngine::new().unwrap();
    let line = engine
        .synthesize("Welcome to our factory showroom.", "en-us")
        .unwrap();
    check_line(&line, 1.0, 5.0);
    assert!(line.words.len() >= 4, "{:?}", line.words);
    let track = line.visemes();
    assert!(
        track
            .keys
            .iter()
            .any(|k| k.viseme == Viseme::Aa || k.viseme == Viseme::E)
    );
    assert!(
        track.keys.iter().any(|k| k.viseme == Viseme::PP),
        "`m` of welcome closes the lips"
    );
}

#[test]
fn espeak_speaks_mandarin() {
    let mut engine = EspeakEngine::new().unwrap();
    let line = engine.synthesize("欢迎来到我们的工厂", "cmn").unwrap();
    check_line(&line, 0.8, 8.0);
}

#[test]
fn unknown_voice_is_an_error_not_a_crash() {
    let mut engine = EspeakEngine::new().unwrap();
    let err = engine
        .synthesize("hello", "no-such-voice")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no-such-voice"), "{err}");
}

#[test]
fn resampling_keeps_duration() {
    let tone: Vec<f32> = (0..22050).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
    let out = resample_mono(&tone, 22050, 48000).unwrap();
    assert!((out.len() as i64 - 48000).abs() < 64, "{}", out.len());
    assert!((rms(&out) - rms(&tone)).abs() < 0.02);
}

#[test]
fn command_engine_runs_a_real_program_and_reports_failures() {
    let mut ok = CommandEngine::new("espeak-ng -v {voice} -w {output} --stdin");
    let line = ok.synthesize("testing the command engine", "en").unwrap();
    assert!(line.duration() > 0.5 && rms(&line.samples) > 0.02);
    assert!(line.visemes().keys.len() > 3, "visemes from audio analysis");

    let err = CommandEngine::new("echo broken >&2; exit 3")
        .synthesize("x", "v")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exit status: 3") && err.contains("broken"),
        "{err}"
    );

    let err = CommandEngine::new("printf 'RIFFjunk' > {output}")
        .synthesize("x", "v")
        .unwrap_err();
    assert!(matches!(err, VoiceError::BadAudio { .. }), "{err}");

    let err = CommandEngine::new("sleep 5")
        .with_timeout(std::time::Duration::from_millis(300))
        .synthesize("x", "v")
        .unwrap_err()
        .to_string();
    assert!(err.contains("took longer"), "{err}");
}

#[test]
fn visemes_from_audio_follow_the_envelope() {
    // 0.3 s silence, 0.4 s loud tone, 0.3 s silence.
    let rate = 48_000;
    let mut samples = vec![0.0f32; rate * 3 / 10];
    samples.extend((0..rate * 4 / 10).map(|i| (i as f32 * 0.03).sin() * 0.8));
    samples.extend(vec![0.0f32; rate * 3 / 10]);
    let track = VisemeTrack::from_audio(&samples, rate as u32);
    assert_eq!(track.openness(0.1), 0.0);
    assert!(track.openness(0.5) > 0.5);
    assert_eq!(track.openness(0.9), 0.0);
}
