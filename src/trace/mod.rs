//! The trace: one record per step, a canonical encoding (JSON lines) and its hash.

#[allow(unsafe_code)] // The crate's one module of unsafe code: see its header.
mod bytes;
mod encode;
mod file;
mod replay;
mod sink;

pub use encode::*;
pub use file::*;
pub use replay::*;
pub use sink::*;
