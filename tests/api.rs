//! The control API of a running `stream`, over real HTTP on loopback.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// One HTTP/1.1 request by hand; returns status and body.
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connecting to the API");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    // A server may reset the connection right after its answer (`Connection: close`);
    // what arrived before the reset is the answer.
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !bytes.is_empty() => {
                break;
            }
            Err(e) => panic!("{method} {path} {body}: {e}"),
        }
    }
    response.push_str(&String::from_utf8_lossy(&bytes));
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

/// Checks Prometheus' text format line by line: HELP and TYPE before samples, metric names
/// and label syntax, and numeric values.
fn assert_prometheus(text: &str) -> usize {
    let mut typed = std::collections::HashSet::new();
    let mut samples = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap();
            let kind = parts.next().unwrap();
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            typed.insert(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("value in {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "{line}"
        );
        assert!(typed.contains(name), "{name} has no TYPE before it");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            assert!(labels.contains("=\""), "{line}");
        }
        samples += 1;
    }
    samples
}

#[test]
fn every_endpoint_answers_and_steers_a_running_show() {
    let dir = Scratch::new("api");
    let telemetry = dir.path("t.jsonl");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = twincast()
        .args([
            "stream",
            fixture("mocap.toml").to_str().unwrap(),
            "--seconds",
            "10",
            "--output",
            dir.path("out.mkv").to_str().unwrap(),
            "--telemetry",
            telemetry.to_str().unwrap(),
            "--api",
            &addr,
        ])
        .env("TWINCAST_API_TOKEN", "s3cret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "API never came up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, body) = http(&addr, "GET", "/health", None, "");
    assert_eq!((code, body.as_str()), (200, r#"{"status":"ok"}"#));

    // Wait until frames flow, then read the status.
    let status = loop {
        let (code, body) = http(&addr, "GET", "/status", None, "");
        assert_eq!(code, 200, "{body}");
        let s: serde_json::Value = serde_json::from_str(&body).unwrap();
        if s["frames"].as_u64().unwrap() > 5 {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status["show"], "mocap");
    assert!(status["uptime_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(status["outputs"][0]["state"], "Live", "{status}");
    assert!(
        status["outputs"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("out.mkv")
    );

    let (code, metrics) = http(&addr, "GET", "/metrics", None, "");
    assert_eq!(code, 200);
    assert!(assert_prometheus(&metrics) >= 10, "{metrics}");
    assert!(
        metrics.contains("twincast_output_up{output=\""),
        "{metrics}"
    );

    // Refusals, each with its reason.
    let say = r#"{"text": "Hello from the control room."}"#;
    let cases = [
        ("POST", "/say", None, say, 401, "Bearer"),
        (
            "POST",
            "/say",
            Some("wrong"),
            say,
            401,
            "wrong bearer token",
        ),
        ("POST", "/say", Some("s3cret"), "{not json", 400, ""),
        (
            "POST",
            "/say",
            Some("s3cret"),
            r#"{"txt": "typo"}"#,
            400,
            "txt",
        ),
        (
            "POST",
            "/say",
            Some("s3cret"),
            r#"{"text": "   "}"#,
            422,
            "empty",
        ),
        (
            "POST",
            "/gesture",
            None,
            r#"{"clip": "Wave"}"#,
            401,
            "Bearer",
        ),
        (
            "POST",
            "/gesture",
            Some("s3cret"),
            r#"{"clip": "Moonwalk"}"#,
            404,
            "no clip `Moonwalk`",
        ),
        (
            "POST",
            "/gesture",
            Some("s3cret"),
            r#"{"clip": "Wave", "speed": 0}"#,
            422,
            "speed",
        ),
        ("GET", "/segments", None, "", 404, "no such endpoint"),
    ];
    for (method, path, token, body, want, reason) in cases {
        let (code, text) = http(&addr, method, path, token, body);
        assert_eq!(code, want, "{method} {path} {body}: {text}");
        assert!(text.contains(reason), "{method} {path} {body}: {text}");
        if code != 400 {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(v["error"].is_string(), "{text}");
        }
    }

    // And the real thing.
    let (code, text) = http(
        &addr,
        "POST",
        "/gesture",
        Some("s3cret"),
        r#"{"clip": "Wave", "speed": 1.5}"#,
    );
    assert_eq!(code, 202, "{text}");
    let (code, text) = http(&addr, "POST", "/say", Some("s3cret"), say);
    assert_eq!(code, 202, "{text}");

    let exit = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "{stderr}");
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&telemetry)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        records.iter().any(|r| r["gesture"] == "Wave"),
        "the host never waved"
    );
    assert!(
        records.iter().any(|r| r["mouth"].as_f64().unwrap() > 0.3),
        "the host never spoke the line"
    );
    assert!(stderr.contains("API: Say"), "{stderr}");
}

/// The fixture show `name`, written into `dir` with its scene path made absolute and its
/// audit log kept in `dir`.
fn show_in(dir: &Scratch, name: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let scene = fixture("colour_panels.ron");
    let text = text.replace(
        "scene = \"colour_panels.ron\"",
        &format!("scene = {:?}", scene.to_str().unwrap()),
    );
    let path = dir.path(name);
    std::fs::write(
        &path,
        format!("{text}\n[compliance]\naudit_log = \"said.jsonl\"\n"),
    )
    .unwrap();
    path
}

/// Starts `stream` with the API on a free port; returns the child and the address.
fn stream_with_api(show: &std::path::Path, seconds: &str) -> (std::process::Child, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = twincast()
        .args(["stream", show.to_str().unwrap(), "--seconds", seconds])
        .args(["--output", "null", "--api", &addr])
        .env("TWINCAST_API_TOKEN", "s3cret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "API never came up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

/// Polls `/status` until `want` holds, for up to `seconds`.
fn wait_status(
    addr: &str,
    seconds: u64,
    want: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let (_, body) = http(addr, "GET", "/status", None, "");
        let s: serde_json::Value = serde_json::from_str(&body).unwrap();
        if want(&s) {
            return s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "status never got there: {s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The operator steers the rundown: a product, a flash sale, the next segment; a viewer's
/// question is answered; every line said lands in the audit log.
#[test]
fn the_rundown_is_steered_from_the_api() {
    let dir = Scratch::new("api-show");
    let show = show_in(&dir, "shop.toml");
    let (mut child, addr) = stream_with_api(&show, "40");
    let token = Some("s3cret");

    wait_status(&addr, 30, |s| s["segment"] == "opening");
    // Refusals first, each with its reason.
    let cases = [
        ("/product/nope", None, "", 401, "Bearer"),
        ("/product/nope", token, "", 404, "no product `nope`"),
        ("/flash-sale", token, r#"{"seconds": 0}"#, 422, "seconds"),
        ("/flash-sale", token, r#"{"product": "nope"}"#, 404, "nope"),
        ("/flash-sale", token, r#"{"secs": 5}"#, 400, "secs"),
        ("/comments", token, r#"{"user": "amy"}"#, 400, "text"),
        ("/comments", token, r#"{"text": " "}"#, 422, "empty"),
        ("/takeover", token, r#"{"on": true}"#, 409, "--vmc-listen"),
        ("/segment/next", Some("nope"), "", 401, "wrong"),
    ];
    for (path, token, body, want, reason) in cases {
        let (code, text) = http(&addr, "POST", path, token, body);
        assert_eq!(code, want, "{path} {body}: {text}");
        assert!(text.contains(reason), "{path} {body}: {text}");
    }

    let (code, text) = http(&addr, "POST", "/product/fan", token, "");
    assert_eq!(code, 202, "{text}");
    let s = wait_status(&addr, 15, |s| s["product"] == "fan");
    assert_eq!(s["segment"], "pitch", "{s}");

    let (code, text) = http(
        &addr,
        "POST",
        "/flash-sale",
        token,
        r#"{"product": "kettle", "seconds": 20}"#,
    );
    assert_eq!(code, 202, "{text}");
    let s = wait_status(&addr, 15, |s| s["segment"] == "flash_sale");
    assert_eq!(s["product"], "kettle", "{s}");
    let left = s["flash_sale_left"].as_f64().unwrap();
    // The countdown starts with the first line, a fraction of a second ahead of the picture.
    assert!(left > 10.0 && left <= 20.5, "{s}");

    let (code, text) = http(&addr, "POST", "/segment/next", token, "");
    assert_eq!(code, 202, "{text}");
    wait_status(&addr, 15, |s| s["segment"] == "qa");

    let (code, text) = http(
        &addr,
        "POST",
        "/comments",
        token,
        r#"{"user": "amy", "text": "How much is it?"}"#,
    );
    assert_eq!((code, text.as_str()), (202, r#"{"answered":true}"#));
    let (code, text) = http(&addr, "POST", "/comments", token, r#"{"text": "nice hat"}"#);
    assert_eq!((code, text.as_str()), (200, r#"{"answered":false}"#));
    // The answer is said within a few seconds (after the line being said).
    let started = Instant::now();
    let audit = dir.path("said.jsonl");
    let answered = loop {
        let said = std::fs::read_to_string(&audit).unwrap_or_default();
        if let Some(line) = said.lines().find(|l| l.contains(r#""origin":"comment""#)) {
            break serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never answered:\n{said}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(answered["text"], "amy, the kettle is 129 yuan.");
    child.kill().unwrap();
    let _ = child.wait();

    let said: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let texts: Vec<&str> = said.iter().map(|s| s["text"].as_str().unwrap()).collect();
    assert!(texts.contains(&"Welcome to Test Factory."), "{texts:?}");
    assert!(texts.contains(&"The fan. three speeds."), "{texts:?}");
    assert!(texts.contains(&"Flash sale, 99 yuan."), "{texts:?}");
    assert!(said.iter().all(|s| s["at"].as_f64().unwrap() > 1.7e9));
    assert!(
        said.windows(2)
            .all(|w| w[1]["media"].as_f64() >= w[0]["media"].as_f64()),
        "in order"
    );
}
