//! Reporters: they render what a run produced (text, JSON); the engine knows nothing of them.

mod json;
mod sweep;
mod text;

pub use json::*;
pub use sweep::*;
pub use text::*;
