//! Helpers shared by the integration tests, by theme: running the real binary
//! ([`process`]), a running stream with its API ([`live`]), one HTTP client ([`http`]),
//! waiting with a limit ([`wait`]), checking encoded media ([`media`]) and a real RTMP
//! server ([`rtmp`]), a real browser ([`browser`]) and a scripted language model ([`llm`]). Tests `use crate::common::*`.

#![allow(dead_code)]

pub mod browser;
pub mod http;
pub mod live;
pub mod llm;
pub mod media;
pub mod process;
pub mod rtmp;
pub mod wait;

pub use browser::*;
pub use http::*;
pub use live::*;
pub use llm::*;
pub use media::*;
pub use process::*;
pub use rtmp::*;
pub use wait::*;

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Mutex;

/// A TCP port nobody listens on now (for the API, RTMP, VMC), and never handed to another
/// test of this run: the kernel may give the same free port to two tests running side by
/// side, and the second one's show would then answer the first one's requests.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if given.insert(port) {
            return port;
        }
    }
}
