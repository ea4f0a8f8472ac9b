//! A running `twincast stream` for a test: built with its arguments, optionally with the
//! control API on a free port and a token, waited for until it answers, and stopped.

use super::free_port;
use super::http::get_json;
use super::process::{Stopped, twincast};
use super::wait::wait_until;
use serde_json::Value;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The API token the builder gives a stream.
pub const TOKEN: &str = "s3cret";

pub struct StreamBuilder {
    command: Command,
    api: Option<String>,
    log: Option<PathBuf>,
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
        Self {
            command,
            api: None,
            log: None,
        }
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

    /// Stderr to the log file `path`, which [`LiveStream::logged`] waits on.
    pub fn log_to(mut self, path: &Path) -> Self {
        self.command
            .stderr(std::fs::File::create(path).expect("creating the stream's log"));
        self.log = Some(path.to_path_buf());
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
        let child = Stopped::new(self.command.spawn().expect("starting twincast stream"));
        if let Some(addr) = &self.api {
            wait_until("the API comes up", Duration::from_secs(60), || {
                TcpStream::connect(addr).map(drop)
            });
        }
        LiveStream {
            child,
            api: self.api.unwrap_or_default(),
            log: self.log,
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
    pub child: Stopped,
    /// The API's address (empty without one).
    pub api: String,
    /// Where its stderr goes ([`StreamBuilder::log_to`]).
    log: Option<PathBuf>,
}

impl LiveStream {
    /// Its log so far ([`StreamBuilder::log_to`]).
    pub fn log(&self) -> String {
        let path = self.log.as_ref().expect("a stream started with log_to");
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// Waits up to 30 s for `what` to be in its log.
    pub fn logged(&self, what: &str) {
        wait_until(what, Duration::from_secs(30), || {
            let text = self.log();
            if text.contains(what) {
                Ok(())
            } else {
                Err(text)
            }
        });
    }

    /// Stops it as Ctrl+C does; its log, once it has stopped cleanly.
    pub fn interrupt(&mut self) -> String {
        // SAFETY: signals our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let status = self.child.wait().expect("waiting for twincast");
        let log = self.log();
        assert!(status.success(), "{log}");
        log
    }

    /// Polls `/status` until `want` holds, for up to `seconds`.
    pub fn wait_status(&self, seconds: u64, want: impl Fn(&Value) -> bool) -> Value {
        wait_until("the status", Duration::from_secs(seconds), || {
            let s = get_json(&self.api, "/status");
            if want(&s) { Ok(s) } else { Err(s) }
        })
    }

    /// Waits for the stream to end by itself; its output.
    pub fn finish(self) -> Output {
        self.child
            .into_inner()
            .wait_with_output()
            .expect("waiting for twincast")
    }
}
