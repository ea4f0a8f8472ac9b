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

use std::net::TcpListener;

/// A TCP port nobody listens on now (for the API, RTMP, VMC).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
