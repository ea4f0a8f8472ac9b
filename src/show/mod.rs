//! The show: what goes on air and when — the catalog, the rundown, the schedule, the
//! answers to comments — and the graphics and camera work that go with it.

pub mod audit;
pub mod director;
pub mod room;

pub use director::{Director, Jump, OnAir, clock_text};
