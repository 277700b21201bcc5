//! The trace: one record per step, a canonical encoding (JSON lines) and its hash.

mod encode;
mod file;
mod replay;
mod sink;

pub use encode::*;
pub use file::*;
pub use replay::*;
pub use sink::*;
