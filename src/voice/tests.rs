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

/// The test TTS server (a real HTTP server on loopback), stopped on drop.
struct TtsServer {
    port: u16,
    child: std::process::Child,
}

impl TtsServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tts_server.py");
        let child = std::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "TTS server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { port, child }
    }

    fn engine(&self, path: &str, key: Option<&str>, timeout_ms: u64) -> HttpEngine {
        HttpEngine::new(
            &format!("http://127.0.0.1:{}{path}", self.port),
            "tts-1",
            key.map(str::to_string),
            std::time::Duration::from_millis(timeout_ms),
        )
    }
}

impl Drop for TtsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn http_engine_speaks_and_reports_each_failure() {
    let server = TtsServer::start();
    let line = server
        .engine("/v1/audio/speech", None, 10_000)
        .synthesize("hello from the HTTP engine", "en")
        .unwrap();
    assert!(line.duration() > 0.5 && rms(&line.samples) > 0.02);
    assert!(line.visemes().keys.len() > 3);

    let ok = server
        .engine("/auth/v1/audio/speech", Some("secret"), 10_000)
        .synthesize("key", "en");
    assert!(ok.is_ok(), "{ok:?}");
    let err = server
        .engine("/auth/v1/audio/speech", Some("wrong"), 10_000)
        .synthesize("key", "en")
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");

    let err = server
        .engine("/v1/audio/speech/fail", None, 10_000)
        .synthesize("x", "en")
        .unwrap_err();
    assert!(
        err.to_string().contains("500") && err.to_string().contains("engine down"),
        "{err}"
    );

    let started = std::time::Instant::now();
    let err = server
        .engine("/v1/audio/speech/slow", None, 500)
        .synthesize("x", "en")
        .unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "timeout not honoured"
    );
    assert!(matches!(err, VoiceError::Engine { .. }), "{err}");

    for path in ["/v1/audio/speech/garbage", "/v1/audio/speech/truncated"] {
        let err = server
            .engine(path, None, 10_000)
            .synthesize("x", "en")
            .unwrap_err();
        assert!(matches!(err, VoiceError::BadAudio { .. }), "{path}: {err}");
    }

    let err = HttpEngine::new(
        "http://127.0.0.1:1/v1/audio/speech",
        "m",
        None,
        std::time::Duration::from_secs(2),
    )
    .synthesize("x", "en")
    .unwrap_err();
    assert!(matches!(err, VoiceError::Engine { .. }), "{err}");
}

#[test]
fn cache_serves_repeats_without_the_engine_and_stays_in_budget() {
    let dir = std::env::temp_dir().join(format!("twincast-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let calls = dir.join("calls.log");
    // A real engine that also notes each time it runs.
    let command = format!(
        "echo run >> '{}'; espeak-ng -v {{voice}} -w {{output}} --stdin",
        calls.display()
    );
    let runs = || std::fs::read_to_string(&calls).map_or(0, |s| s.lines().count());
    let cache_dir = dir.join("cache");
    let mut engine = cache::CachedEngine::new(
        Box::new(CommandEngine::new(&command)),
        "command",
        &cache_dir,
        10_000_000,
    );

    let first = engine.synthesize("the same line again", "en").unwrap();
    let again = engine.synthesize("the same line again", "en").unwrap();
    assert_eq!(runs(), 1, "the repeat came from the cache");
    assert_eq!(again.samples.len(), first.samples.len());
    assert!((rms(&again.samples) - rms(&first.samples)).abs() < 0.01);
    engine.synthesize("the same line again", "en-gb").unwrap();
    engine.synthesize("a different line", "en").unwrap();
    assert_eq!(runs(), 3, "another voice or text is another entry");

    // With a tiny budget only the newest entry survives.
    let mut small = cache::CachedEngine::new(
        Box::new(CommandEngine::new(&command)),
        "command",
        &cache_dir,
        1,
    );
    small.synthesize("one more line", "en").unwrap();
    let wavs = std::fs::read_dir(&cache_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "wav"))
        .count();
    assert!(wavs <= 1, "{wavs} entries left");

    // Phoneme timings survive a round trip (eSpeak, cached).
    let mut espeak = cache::CachedEngine::new(
        Box::new(EspeakEngine::new().unwrap()),
        "espeak",
        &dir.join("es"),
        10_000_000,
    );
    let fresh = espeak.synthesize("cached phonemes", "en-us").unwrap();
    let hit = espeak.synthesize("cached phonemes", "en-us").unwrap();
    assert_eq!(hit.phonemes, fresh.phonemes);
    let _ = std::fs::remove_dir_all(&dir);
}
