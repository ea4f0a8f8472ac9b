//! A running `twincast stream` for a test: built with its arguments, optionally with the
//! control API on a free port and a token, waited for until it answers, and stopped.

use super::free_port;
use super::http::get_json;
use super::process::twincast;
use super::wait::wait_until;
use serde_json::Value;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The API token the builder gives a stream.
pub const TOKEN: &str = "s3cret";

pub struct StreamBuilder {
    command: Command,
    api: Option<String>,
}

impl StreamBuilder {
    /// `twincast stream SHOW`, stdout discarded, stderr captured.
    pub fn new(show: &Path) -> Self {
        let mut command = twincast();
        command
            .arg("stream")
            .arg(show)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        Self { command, api: None }
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Where stderr goes instead of the pipe (a log file the test reads later).
    pub fn stderr(mut self, to: impl Into<Stdio>) -> Self {
        self.command.stderr(to);
        self
    }

    /// Serves the control API on a free loopback port, with [`TOKEN`].
    pub fn with_api(mut self) -> Self {
        let addr = format!("127.0.0.1:{}", free_port());
        self.command
            .args(["--api", &addr])
            .env("TWINCAST_API_TOKEN", TOKEN);
        self.api = Some(addr);
        self
    }

    /// Starts it; with an API, returns once the API accepts connections.
    pub fn start(mut self) -> LiveStream {
        let child = self.command.spawn().expect("starting twincast stream");
        if let Some(addr) = &self.api {
            wait_until("the API comes up", Duration::from_secs(60), || {
                TcpStream::connect(addr).map(drop)
            });
        }
        LiveStream {
            child,
            api: self.api.unwrap_or_default(),
        }
    }
}

/// The records a running show has written so far to a JSON-lines file (its audit log):
/// none while the file is missing, and a line still being written is left for the next
/// look.
pub fn json_lines_so_far(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub struct LiveStream {
    pub child: Child,
    /// The API's address (empty without one).
    pub api: String,
}

impl LiveStream {
    /// Polls `/status` until `want` holds, for up to `seconds`.
    pub fn wait_status(&self, seconds: u64, want: impl Fn(&Value) -> bool) -> Value {
        wait_until("the status", Duration::from_secs(seconds), || {
            let s = get_json(&self.api, "/status");
            if want(&s) { Ok(s) } else { Err(s) }
        })
    }

    /// Waits for the stream to end by itself; its output.
    pub fn finish(self) -> Output {
        self.child.wait_with_output().expect("waiting for twincast")
    }
}
