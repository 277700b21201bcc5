//! Seed corpora: a regression suite of seeds per scenario, with expected verdicts and trace
//! hashes. `cargo test` replays them all.

mod check;
mod file;
mod key;

pub use check::*;
pub use file::*;
pub use key::*;
