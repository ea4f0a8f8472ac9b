//! The show: what goes on air and when — the catalog, the rundown, the schedule, the
//! answers to comments — and the graphics and camera work that go with it.

pub mod audit;
pub mod camera;
pub mod director;
pub mod overlay;
pub mod plan;

pub use director::{Director, Jump, OnAir, ScriptLine, clock_text};
pub use overlay::{OnAirNow, OverlayPlugin, OverlaySettings};
pub use plan::{OverlayConfig, PlanProblem, Product, SegmentKind, ShowPlan};
