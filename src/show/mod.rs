//! The show: what goes on air and when — the catalog, the rundown, the schedule, the
//! answers to comments — and the graphics and camera work that go with it.

pub mod audit;
pub mod compliance;
pub mod director;
pub mod events;
pub mod host;
pub mod reactions;
pub mod room;
pub mod stock;
pub mod tally;

pub use director::{Director, Jump, Market, OnAir, Ticker, clock_text};
