//! The scripted OpenAI-compatible chat server (`tests/fixtures/llm_server.py`) on a free
//! loopback port: what it answers depends on the question (see the script).

use super::free_port;
use super::process::{Stopped, fixture};
use super::wait::wait_until;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub struct ModelServer {
    /// Killed when the server is dropped.
    _child: Stopped,
    pub addr: String,
    /// Every request the server got, one JSON line each.
    pub log: PathBuf,
}

impl ModelServer {
    pub fn start(dir: &Path) -> Self {
        let addr = format!("127.0.0.1:{}", free_port());
        let port = addr.rsplit(':').next().unwrap().to_string();
        let log = dir.join("llm-requests.jsonl");
        let child = Stopped::new(
            Command::new("python3")
                .arg(fixture("llm_server.py"))
                .arg(&port)
                .arg(&log)
                .stdout(Stdio::null())
                .spawn()
                .expect("starting python3 tests/fixtures/llm_server.py"),
        );
        wait_until("the model server comes up", Duration::from_secs(20), || {
            TcpStream::connect(&addr).map(drop)
        });
        Self {
            _child: child,
            addr,
            log,
        }
    }

    /// The chat endpoint (`prefix` like `/whole` or `/delay/200` changes its behaviour).
    pub fn url(&self, prefix: &str) -> String {
        format!("http://{}{prefix}/v1/chat/completions", self.addr)
    }
}
