//! Throughput benchmarks: a generated workload big enough to measure, the counts and rates
//! that `ripple bench` and `cargo bench --bench throughput` report, and peak memory.
//!
//! This is the only place in the crate that reads a wall clock ([`Stopwatch`]): it times
//! whole runs from the outside and never reaches a run, a trace or a report of one.

mod figures;
mod rss;
mod workload;

pub use figures::*;
pub use rss::*;
pub use workload::*;
