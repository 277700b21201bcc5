//! The trace: one record per step, a canonical encoding (JSON lines) and its hash.

mod encode;
mod file;
mod record;
mod record_ref;
mod replay;
mod sink;
mod xxh3;

pub use encode::*;
pub use file::*;
pub use record::*;
pub use record_ref::*;
pub use replay::*;
pub use sink::*;
