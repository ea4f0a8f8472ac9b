//! Integration tests: the real binary, real encoders, a real RTMP server, checked with
//! ffprobe and ffmpeg. One test binary with modules, so it links once.

mod common;

mod api;
mod avatars;
mod clips;
mod console;
mod editor;
mod errors;
mod hardening;
mod human;
mod layers;
mod lipsync;
mod long;
mod mocap;
mod preview;
mod programs;
mod render;
mod room;
mod rtmp;
mod show;
mod twin;
mod vmc;
mod voice;
mod vr;
