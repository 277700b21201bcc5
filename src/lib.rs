//! Ripple: deterministic simulation testing for event-driven systems.
//!
//! A single-threaded, seeded scheduler replays bus events and reaction cascades in virtual
//! time with deterministic ids; invariant checkers watch every step; the same seed always
//! gives the same trace, byte for byte. Load a scenario, hand it to a [`Runner`], and run
//! seeds:
//!
//! ```
//! use ripple::{load_scenario, Runner, Seed};
//! use std::path::Path;
//!
//! let scenario = load_scenario(Path::new("scenarios/order_payment.toml")).unwrap();
//! let outcome = Runner::new(&scenario).run(Seed(42));
//! assert!(outcome.passed(), "{:?}", outcome.violations);
//!
//! // The race of `race.toml` shows only when faults reorder its messages: a swarm sweep
//! // (a fault configuration drawn per seed) finds the seeds that fail.
//! let race = load_scenario(Path::new("scenarios/race.toml")).unwrap();
//! let seeds: Vec<u64> = (0..200).collect();
//! let results = Runner::new(&race).swarm(true).sweep(&seeds, 2);
//! assert!(results.iter().any(|r| !r.passed));
//! ```
//!
//! # Layout
//!
//! The modules are floors; each imports only from the floors below it (`tests/layers.rs`
//! checks): `core` (time, ids, values, rng streams, records) ← `bus` ← `engine` (sans-IO:
//! time, ids and randomness are arguments) ← `trace` ← `scenario` ← `check` ← `sim` ←
//! {`model`, `shrink`, `corpus`, `report`, `bench`, `live`} ← `cli`. They are private: what a
//! library user needs is re-exported here, by name.
//!
//! # Fast paths on a budget
//!
//! A fast path ships with its plain reference implementation under `cfg(test)` and a test
//! that the two agree, and is deleted if it saves under 2 % of instructions and no wall
//! time (`cargo bench --bench throughput`, callgrind). Speed-only machinery is crate-private.
//!
//! Unsafe code lives in one module, `trace/bytes.rs` (the trace encoder's byte writer),
//! behind safe methods; the crate denies it everywhere else. CONTRIBUTING.md has both rules
//! and the commands that measure a fast path.

#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

mod bench;
mod bus;
mod check;
mod cli;
mod core;
mod corpus;
mod engine;
mod live;
mod model;
mod report;
mod scenario;
mod shrink;
mod sim;
mod trace;

// Scenarios: load, write back, and what they are made of.
pub use crate::scenario::{
    emit_scenario, load_scenario, parse_scenario, FaultConfig, PinnedAnswer, Scenario,
    ScheduledFault, SourceError,
};
// Running: one way in, and what a run leaves.
pub use crate::sim::{
    failure_signature, EntityRow, FailureSignature, ReactionResult, Retain, RunOutcome, Runner,
    SeedPlan, SeedResult, SeedStream, Shard, Sim, Stop, SweepEnd, SweepTally, ViolationSignature,
};
// The vocabulary of runs and traces.
pub use crate::check::{Invariant, RunEnd, Violation};
pub use crate::core::{
    EntityId, FaultKind, FaultTarget, Origin, OutcomeKind, Record, RecordKind, Seed, Severity,
    SimTime, Subject, TenantId, Value,
};
pub use crate::trace::TraceHash;
// Reflex handlers and invariants of your own (`Runner::handler`, `Runner::invariant`).
pub use crate::bus::{Envelope, Pattern};
pub use crate::engine::reflex::{ActionRequest, HandlerOutput, Outcome, ReflexHandler};
// Shrinking, model checking, corpora and reports.
pub use crate::corpus::{
    check_corpus_dir, check_corpus_file, corpus_cases, Change, CorpusCase, EntryCheck,
};
pub use crate::model::{
    check_scenario, CheckOptions, CheckReport, Finding, FindingKind, ModelConfig,
};
pub use crate::report::{render_html, render_json, render_markdown, render_text};
pub use crate::shrink::{shrink, ShrinkBudget, ShrinkError, ShrinkResult};

/// The `ripple` command line: parses the process's arguments, runs the command, and returns
/// its exit status (0 pass, 1 a violation was found, 2 bad input).
pub fn cli_main() -> std::process::ExitCode {
    cli::main()
}

/// The README's Rust examples, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Not part of the API: the internals this repository's own integration tests and
/// benchmarks reach, named one by one. They may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::bench::{
        current_rss_bytes, generated_workload, peak_rss_bytes, reset_peak_rss, RunCounts,
        Stopwatch, WorkloadConfig,
    };
    pub use crate::bus::{sanitize_token, Bus, Cause};
    pub use crate::core::{write_atomic, Depth, EventId, Object};
    pub use crate::corpus::{load_corpus_file, render_corpus_file, CorpusEntry, CorpusFile};
    pub use crate::engine::reflex::{HandlerIndex, ReflexRegistry};
    pub use crate::engine::{
        EngineEvaluator, Entity, EntitySpec, Guard, GuardEvaluator, GuardInput, LookupKey, Rule,
        RuleSet, Store,
    };
    pub use crate::model::{check_guard, render_check_json, render_check_text, ModelReport};
    pub use crate::report::CASCADE_LINES_MAX;
    pub use crate::report::{
        render_sweep_json_summary, render_sweep_junit, render_sweep_text, SweepInfo,
    };
    pub use crate::scenario::{
        fault_table, lint_scenario_text, parse_rules_file_located, Input, Lints, RootEvent,
    };
    pub use crate::shrink::{planted_scenario, PLANTED_PARTS};
    pub use crate::sim::sweep_stream;
    pub use crate::sim::{preflight, run_scenario_retaining, Prepared, Queue, RunOptions};
}
