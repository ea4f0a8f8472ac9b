//! twincast: an unattended virtual-livestream host.
//!
//! The crate is a pipeline of small stages joined by plain data:
//!
//! ```text
//!  show file ─► scene ─► Bevy world ─► capture ─► VideoFrame ─► encode ─► MediaPacket ─► outputs
//!  (config)     (RON)    (showroom)    (readback)              (x264/AAC)              (RTMP, files)
//!                                          music ─► AudioBlock ─┘
//! ```
//!
//! Every stage can be driven and tested alone: the encoder takes frames from any source,
//! the outputs take packets from any encoder, and the Bevy side only knows it has to hand
//! numbered frames to a channel. The one clock that matters is the *media clock*: video
//! timestamps come from the frame index and audio timestamps from the sample count, so a
//! stream that runs for days never drifts, whatever the wall clock does.

// The docs are for the people who work on twincast: they link private modules too, and
// are read with `cargo doc --document-private-items`.
#![allow(rustdoc::private_intra_doc_links)]

pub mod api;
pub mod av;
pub mod bench;
pub mod camera;
pub mod capture;
pub mod clips;
pub mod config;
pub mod editor;
pub mod encode;
pub mod gltf_doc;
pub mod graphics;
pub mod llm;
pub mod loudness;
pub mod media;
pub mod mix;
pub mod mocap;
pub mod net;
pub mod output;
pub mod presenter;
pub mod preview;
pub mod runtime;
pub mod scene;
pub mod show;
pub mod speech;
pub mod stage;
pub mod twin;
pub mod usage;
pub mod vmc;
pub mod voice;
pub mod vr;
pub mod watch;
