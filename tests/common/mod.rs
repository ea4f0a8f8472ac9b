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
///
/// Taken below Linux's ephemeral range (32768 and up, `ip_local_port_range`), where the
/// kernel picks the local ports of outgoing connections and of `bind(…:0)`. A port from
/// inside it could be taken by any test's connection (they poll every 50 ms) between this
/// call and the show binding it, and the show would fail to start. The likely cause, not a
/// proven one (the show's log was not kept), of one full run on a fresh clone where a
/// show's API was refused right after it had come up.
pub fn free_port() -> u16 {
    const PORTS: std::ops::Range<u16> = 20_000..32_768;
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    // Runs side by side (two checkouts' suites) start apart.
    let span = PORTS.end - PORTS.start;
    let start = (std::process::id() % u32::from(span)) as u16;
    (0..span)
        .map(|i| PORTS.start + (start + i) % span)
        .find(|port| !given.contains(port) && TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .inspect(|port| {
            given.insert(*port);
        })
        .expect("a free port below the ephemeral range")
}
