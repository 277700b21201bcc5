//! Reporters: they render what a run produced (text, JSON); the engine knows nothing of them.

mod json;
mod markdown;
mod sweep;
mod text;

pub use json::*;
pub use markdown::*;
pub use sweep::*;
pub use text::*;
