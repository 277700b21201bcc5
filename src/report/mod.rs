//! Reporters: they render what a run produced (text, JSON, Markdown, HTML); the engine knows
//! nothing of them.

mod causes;
mod coverage;
mod diff;
mod html;
mod json;
mod markdown;
mod merge;
mod sweep;
mod sweep_page;
mod text;
mod timeline;
mod world;

pub use coverage::*;
pub use diff::*;
pub use html::*;
pub use json::*;
pub use markdown::*;
pub use merge::*;
pub use sweep::*;
pub use sweep_page::*;
pub use text::*;
pub use timeline::*;
pub use world::*;
