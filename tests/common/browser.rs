//! A real browser for the tests: Debian's Chromium, headless, driven over WebDriver by
//! Debian's `chromedriver` (both installed by `scripts/install-deps.sh`; nothing is
//! downloaded). The WebDriver calls go through the tests' own HTTP client.

use super::free_port;
use super::http::http_waiting;
use super::process::Stopped;
use super::wait::wait_until;
use serde_json::{Value, json};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Browser {
    /// Killed when the browser is dropped, after its session is closed.
    driver: Stopped,
    addr: String,
    session: String,
}

impl Browser {
    /// A fresh headless Chromium (its own empty profile under `profile`) in a window of
    /// `width` × `height`, English UI.
    pub fn start(profile: &Path, width: u32, height: u32) -> Self {
        assert!(
            Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
            "the console tests need Debian's chromium and chromium-driver \
             (scripts/install-deps.sh installs them)"
        );
        let port = free_port();
        let driver = Stopped::new(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting chromedriver"),
        );
        let addr = format!("127.0.0.1:{port}");
        wait_until("chromedriver listens", Duration::from_secs(20), || {
            TcpStream::connect(&addr).map(drop)
        });
        // The flags a sandboxed CI machine needs: no sandbox (root), no GPU, and nothing
        // that reaches out to Google's servers (the network is closed).
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--lang=en-US",
            &format!("--window-size={width},{height}"),
            &format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        }}});
        let mut browser = Self {
            driver,
            addr,
            session: String::new(),
        };
        let created = browser.call("POST", "/session", capabilities);
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_string();
        browser
    }

    /// One WebDriver call; its `value`. Panics on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let (code, text) = self.try_call(method, path, body);
        assert!(code < 300, "WebDriver {method} {path}: {code} {text}");
        serde_json::from_str::<Value>(&text).unwrap_or_default()["value"].clone()
    }

    fn try_call(&self, method: &str, path: &str, body: Value) -> (u16, String) {
        // ChromeDriver refuses a DELETE with a body (`null`): the session, and its Chromium,
        // would outlive the test.
        let body = if method == "GET" || method == "DELETE" {
            String::new()
        } else {
            body.to_string()
        };
        http_waiting(
            &self.addr,
            method,
            path,
            None,
            &body,
            Duration::from_secs(90),
        )
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", &self.session_path("/url"), json!({ "url": url }));
    }

    /// The page's answer to a script (`return …;`).
    pub fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.session_path("/execute/sync"),
            json!({ "script": script, "args": [] }),
        )
    }

    /// Runs `script` until it returns something other than `null`/`false`, for up to
    /// `seconds`; that value.
    pub fn wait_for(&self, what: &str, seconds: u64, script: &str) -> Value {
        wait_until(what, Duration::from_secs(seconds), || {
            let v = self.script(script);
            if v.is_null() || v == Value::Bool(false) {
                Err(v)
            } else {
                Ok(v)
            }
        })
    }

    fn element(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            &self.session_path("/element"),
            json!({ "using": "css selector", "value": css }),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string()
    }

    /// Clicks the element `css` finds. A page that redraws a list (the alerts) may replace
    /// the element between finding and clicking it: then it is found again.
    pub fn click(&self, css: &str) {
        for _ in 0..5 {
            let id = self.element(css);
            let path = self.session_path(&format!("/element/{id}/click"));
            let (code, text) = self.try_call("POST", &path, json!({}));
            if code < 300 {
                return;
            }
            assert!(
                text.contains("stale element reference"),
                "WebDriver click {css}: {code} {text}"
            );
        }
        panic!("{css}: replaced on every try to click it");
    }

    /// Clears a field and types into it.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call(
            "POST",
            &self.session_path(&format!("/element/{id}/clear")),
            json!({}),
        );
        self.call(
            "POST",
            &self.session_path(&format!("/element/{id}/value")),
            json!({ "text": text }),
        );
    }

    /// The element's visible text.
    pub fn text(&self, css: &str) -> String {
        let id = self.element(css);
        self.call(
            "GET",
            &self.session_path(&format!("/element/{id}/text")),
            Value::Null,
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &self.session_path("/window/rect"),
            json!({ "width": width, "height": height }),
        );
    }

    /// The viewport as a PNG.
    pub fn screenshot(&self) -> Vec<u8> {
        let encoded = self.call("GET", &self.session_path("/screenshot"), Value::Null);
        base64_decode(encoded.as_str().expect("a base64 screenshot"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_call("DELETE", &self.session_path(""), Value::Null);
        }
    }
}

/// Standard base64 (what WebDriver sends screenshots in).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (*d as u32) << (18 - 6 * i));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGk="), b"hi");
    assert_eq!(base64_decode("YWJj"), b"abc");
}
