//! One HTTP client for the tests: HTTP/1.1 by hand over a TCP socket, so a test sees
//! exactly what the server sent (status, body) with no client library in between.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One request; returns the status code and the body.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    http_waiting(addr, method, path, token, body, Duration::from_secs(10))
}

/// [`http`], waiting up to `timeout` for the answer (a browser starting on a busy machine
/// takes its time).
pub fn http_waiting(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
    timeout: Duration,
) -> (u16, String) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    exchange(addr, method, path, &headers, body, timeout)
}

/// One request with these extra headers (a webhook's signature).
pub fn http_headers(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    exchange(addr, method, path, headers, body, Duration::from_secs(10))
}

fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout: Duration,
) -> (u16, String) {
    let started = std::time::Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connecting to the server");
    stream.set_read_timeout(Some(timeout)).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    // A server may reset the connection right after its answer (`Connection: close`);
    // what arrived before the reset is the answer. One that keeps the connection open
    // anyway (chromedriver) has answered once `Content-Length` bytes are in.
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    while !complete(&bytes) {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !bytes.is_empty() => {
                break;
            }
            // How long it waited and what had come tell a slow server from a reset.
            Err(e) => panic!(
                "{method} {path} {body}: {e} after {:.1} s, {} bytes in: {:?}",
                started.elapsed().as_secs_f64(),
                bytes.len(),
                String::from_utf8_lossy(&bytes)
            ),
        }
    }
    let response = String::from_utf8_lossy(&bytes);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

/// Whether `bytes` hold a whole response with a `Content-Length`.
fn complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .is_some_and(|n| bytes.len() >= end + 4 + n)
}

/// `GET path` as JSON (`Null` when the body is not JSON).
pub fn get_json(addr: &str, path: &str) -> Value {
    let (_, body) = http(addr, "GET", path, None, "");
    serde_json::from_str(&body).unwrap_or_default()
}

/// A minimal HTTP server on loopback that records the JSON bodies POSTed to it.
pub fn webhook_receiver() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_ok()
                && let Ok(v) = serde_json::from_slice(&body)
            {
                seen.lock().unwrap().push(v);
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    (url, events)
}

/// Waits up to `limit` for the webhook of [`webhook_receiver`] to hear `event`; the first
/// such event.
pub fn webhook_event(events: &std::sync::Mutex<Vec<Value>>, event: &str, limit: Duration) -> Value {
    super::wait_until(&format!("the webhook hears {event}"), limit, || {
        let heard = events.lock().unwrap().clone();
        heard
            .iter()
            .find(|e| e["event"] == event)
            .cloned()
            .ok_or(heard)
    })
}
