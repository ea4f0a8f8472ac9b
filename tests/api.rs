//! The control API of a running `stream`, over real HTTP on loopback.

use crate::common::*;
use std::io::Read;
use std::time::Duration;

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
        if line.starts_with("# HELP ") || line.starts_with("# UNIT ") || line.is_empty() {
            continue;
        }
        if line == "# EOF" {
            break; // OpenMetrics ends the exposition here
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
        // OpenMetrics types a counter's family without the samples' `_total` suffix.
        let family = name.strip_suffix("_total").filter(|f| typed.contains(*f));
        assert!(
            typed.contains(name) || family.is_some(),
            "{name} has no TYPE before it"
        );
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
    let live = StreamBuilder::new(&fixture("mocap.toml"))
        .args(["--seconds", "10", "--output"])
        .args([dir.path("out.mkv"), "--telemetry".into(), telemetry.clone()])
        .with_api()
        .start();
    let addr = live.api.clone();
    let mut child = live.child;
    // Until the first frame is encoded the show is not on air yet: 503, and says so.
    let (code, body) = http(&addr, "GET", "/health", None, "");
    assert!(
        (code, body.as_str()) == (200, r#"{"status":"ok"}"#)
            || (code == 503 && body.contains("starting")),
        "{code} {body}"
    );

    // Wait until frames flow, then read the status.
    let status = wait_until("frames flow", Duration::from_secs(60), || {
        let (code, body) = http(&addr, "GET", "/status", None, "");
        assert_eq!(code, 200, "{body}");
        let s: serde_json::Value = serde_json::from_str(&body).unwrap();
        if s["frames"].as_u64().unwrap() > 5 {
            Ok(s)
        } else {
            Err(body)
        }
    });
    let (code, body) = http(&addr, "GET", "/health", None, "");
    assert_eq!((code, body.as_str()), (200, r#"{"status":"ok"}"#));
    assert_eq!(status["show"], "mocap");
    let program = &status["program"];
    assert_eq!(
        (
            program["name"].is_null(),
            program["width"].as_u64(),
            program["height"].as_u64()
        ),
        (true, Some(160), Some(160)),
        "{status}"
    );
    assert_eq!(program["language"], "en");
    let beside = status["programs"].as_array();
    assert!(beside.is_some_and(|p| p.is_empty()), "{status}");
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
        ("POST", "/camera/product", None, "", 401, "Bearer"),
        // The catalog's products name no prop: nothing for the close-up to frame.
        (
            "POST",
            "/camera/product",
            Some("s3cret"),
            "",
            409,
            "to frame",
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
    let records = read_json_lines(&telemetry);
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

/// The operator steers the rundown: a product, a flash sale, the next segment; a viewer's
/// question is answered; every line said lands in the audit log.
#[test]
fn the_rundown_is_steered_from_the_api() {
    let dir = Scratch::new("api-show");
    let show = panel_show_in(
        &dir,
        "shop.toml",
        "[compliance]\naudit_log = \"said.jsonl\"\n",
    );
    let live = StreamBuilder::new(&show)
        .args(["--seconds", "40", "--output", "null"])
        .with_api()
        .start();
    let addr = live.api.clone();
    let token = Some("s3cret");

    // The show is on. Its opening is 3 s of media: on a busy machine the first look may
    // come after it (then the wait ran on until the stream ended, refused, in a CI run).
    live.wait_status(30, |s| s["segment"].is_string());
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
    let s = live.wait_status(15, |s| s["product"] == "fan");
    assert_eq!(s["segment"], "pitch", "{s}");

    let (code, text) = http(
        &addr,
        "POST",
        "/flash-sale",
        token,
        r#"{"product": "kettle", "seconds": 20}"#,
    );
    assert_eq!(code, 202, "{text}");
    let s = live.wait_status(15, |s| s["segment"] == "flash_sale");
    assert_eq!(s["product"], "kettle", "{s}");
    let left = s["flash_sale_left"].as_f64().unwrap();
    // The countdown starts with the first line, a fraction of a second ahead of the picture.
    assert!(left > 10.0 && left <= 20.5, "{s}");

    let (code, text) = http(&addr, "POST", "/segment/next", token, "");
    assert_eq!(code, 202, "{text}");
    live.wait_status(15, |s| s["segment"] == "qa");

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
    let audit = dir.path("said.jsonl");
    let answered = wait_until("the comment is answered", Duration::from_secs(10), || {
        let said = std::fs::read_to_string(&audit).unwrap_or_default();
        match said.lines().find(|l| l.contains(r#""origin":"comment""#)) {
            Some(line) => Ok(serde_json::from_str::<serde_json::Value>(line).unwrap()),
            None => Err(said),
        }
    });
    let mut child = live.child;
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
    // Each line is stamped with when its frame is due on the wall clock, however far
    // ahead of the clock it was drawn: one origin for all.
    let origins: Vec<f64> = (said.iter())
        .filter(|s| s["media"].is_f64())
        .map(|s| s["at"].as_f64().unwrap() - s["media"].as_f64().unwrap())
        .collect();
    let spread = origins
        .iter()
        .fold(0f64, |m, o| m.max((o - origins[0]).abs()));
    assert!(origins.len() >= 3 && spread < 0.01, "{origins:?}");
    assert!(
        said.windows(2)
            .all(|w| w[1]["media"].as_f64() >= w[0]["media"].as_f64()),
        "in order"
    );
}

/// The show keeps its own time zone: `--clock 23:59` is 23:59 in `Asia/Shanghai` whatever
/// this machine's zone, and `/status` and the audit log give local times with its offset.
#[test]
fn the_show_keeps_its_own_time_zone() {
    let dir = Scratch::new("timezone");
    let show = panel_show_in(
        &dir,
        "shop.toml",
        "[compliance]\naudit_log = \"said.jsonl\"\n",
    );
    let text = std::fs::read_to_string(&show).unwrap();
    std::fs::write(&show, format!("timezone = \"Asia/Shanghai\"\n{text}")).unwrap();
    let live = StreamBuilder::new(&show)
        .args(["--seconds", "30", "--output", "null", "--clock", "23:59"])
        .with_api()
        .start();
    let s = live.wait_status(60, |s| s["local_time"].is_string());
    assert_eq!(s["timezone"], "Asia/Shanghai", "{s}");
    let local = s["local_time"].as_str().unwrap();
    assert!(
        local.contains("T23:59:") && local.ends_with("+08:00"),
        "{s}"
    );
    let audit = dir.path("said.jsonl");
    let first = wait_until("a line is said", Duration::from_secs(30), || {
        let said = std::fs::read_to_string(&audit).unwrap_or_default();
        said.lines().next().map(str::to_string).ok_or(())
    });
    let mut child = live.child;
    child.kill().unwrap();
    let _ = child.wait();
    let said: serde_json::Value = serde_json::from_str(&first).unwrap();
    let local = said["local"].as_str().unwrap();
    assert!(
        local.contains("T23:59:") && local.ends_with("+08:00"),
        "{said}"
    );
}
