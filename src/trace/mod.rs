//! The trace: one record per step, a canonical encoding (JSON lines) and its hash.

mod encode;
mod file;
mod replay;
mod sink;
mod xxh3;

pub use encode::*;
pub use file::*;
pub use replay::*;
pub use sink::*;
