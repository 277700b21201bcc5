//! Model checking with stateright, next to the real engine: the guard space of every rule
//! (against a reference semantics), rule pairs that could conflict, the resolver space, and
//! the cascade space of small scenarios (every order of concurrent inputs and, with faults,
//! of messages). Every transition is computed by the engine `ripple run` uses.
//!
//! ```
//! use ripple::{check_scenario, load_scenario, CheckOptions, FindingKind};
//! use std::path::Path;
//!
//! let scenario = load_scenario(Path::new("scenarios/order_payment.toml")).unwrap();
//! let report = check_scenario(&scenario, None, &CheckOptions::default());
//! assert_eq!(report.count(FindingKind::Violation), 0);
//! assert_eq!(report.count(FindingKind::OrderDependent), 0);
//! ```

mod canonical;
mod cascade;
mod conflict;
#[cfg(test)]
mod digest_tests;
mod emit;
mod finding;
mod footprint;
mod guard_space;
mod host;
mod inputs;
mod message;
#[cfg(test)]
mod reduction_tests;
mod reference;
mod render;
mod resolver_space;
mod run;
#[cfg(test)]
mod schedule_tests;
mod symmetry;
mod walk;

pub use cascade::{ModelConfig, FAULTS_MAX_DEFAULT};
pub use finding::*;
pub use render::*;
pub use run::*;

/// The shipped scenarios (`scenarios/*.toml`) that the model's tests search.
#[cfg(test)]
pub(crate) const SHIPPED_SCENARIOS: [&str; 8] = [
    "agent_loop",
    "cycle",
    "netops",
    "order_payment",
    "pipeline",
    "race",
    "race_crowd",
    "two_tenants",
];
