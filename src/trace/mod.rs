//! The trace: one record per step, a canonical encoding (JSON lines) and its hash.

mod file;
mod record;
mod replay;
mod sink;

pub use file::*;
pub use record::*;
pub use replay::*;
pub use sink::*;
