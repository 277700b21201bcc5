//! A seeded random walk over the cascade model: what `ripple check` does once the
//! exhaustive search ran out of states and time is left. Each walk starts from the initial
//! world and takes uniformly chosen steps (from the reduced step sets, which keep every
//! violation reachable) until the world is quiet or a property breaks; walks repeat until
//! the deadline.
//!
//! Not stateright's simulation checker: that one reseeds every walk after the first with
//! `StdRng`, whose algorithm may change between versions. This one draws every choice from
//! one ChaCha8 stream of the seed, so the walks of a seed are the same on every machine
//! (how many of them fit before the deadline is not). What it reports is coverage, never a
//! proof: the verdict of a check that needed it stays `incomplete`.
//!
//! Not verified here: order dependence (that needs every terminal world).

use crate::core::{Purpose, RngStream, Seed};
use crate::model::cascade::{CascadeModel, CascadeState, Step};
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::time::Instant;

/// Unique states remembered at most (coverage is counted, not bounded, beyond it).
const UNIQUE_MAX: usize = 4_000_000;
/// Steps between two looks at the clock.
const CLOCK_EVERY: u64 = 64;
/// The longest walk (a budget on a loop; cascades are finite, see `footprint.rs`).
const WALK_STEPS_MAX: usize = 1_000_000;

/// A walk: each state with the step taken from it (none from the last).
pub type Path = Vec<(CascadeState, Option<Step>)>;

/// What the walks covered and the first violation they met.
#[derive(Debug, Default)]
pub struct WalkReport {
    pub walks: u64,
    pub states: u64,
    /// Distinct states met (up to [`UNIQUE_MAX`]).
    pub unique_states: usize,
    pub depth_max: usize,
    /// Distinct terminal worlds reached.
    pub terminal_worlds: usize,
    /// The property broken and the path to it.
    pub violation: Option<(String, Path)>,
}

/// The property `s` breaks, if any: a recorded violation or, when quiet, an end condition.
fn broken(model: &CascadeModel, s: &CascadeState) -> Option<String> {
    if let Some(name) = s.violations.keys().next() {
        return Some(name.clone());
    }
    (s.is_quiescent() && model.end_violation(s).is_some()).then(|| "invariant_at_end".into())
}

/// Walks from `seed` until `deadline` or the first violation.
pub fn walk(model: &CascadeModel, seed: u64, deadline: Instant) -> WalkReport {
    let mut rng = RngStream::new(Seed(seed), Purpose::Scheduling);
    let mut report = WalkReport::default();
    let mut unique: BTreeSet<u64> = BTreeSet::new();
    let mut worlds: BTreeSet<u64> = BTreeSet::new();
    let mut actions = Vec::new();
    let mut clock = 0u64;
    #[allow(clippy::disallowed_methods)] // Wall time of the checker, never inside a run.
    let out_of_time = || Instant::now() >= deadline;
    while !out_of_time() {
        report.walks += 1;
        let mut path: Path = Vec::new();
        let mut state = model.initial();
        for _ in 0..WALK_STEPS_MAX {
            report.states += 1;
            let h = fingerprint(&state);
            if unique.len() < UNIQUE_MAX {
                unique.insert(h);
            }
            if let Some(property) = broken(model, &state) {
                path.push((state, None));
                report.violation = Some((property, path));
                report.unique_states = unique.len();
                report.terminal_worlds = worlds.len();
                return report;
            }
            actions.clear();
            model.enabled(&state, &mut actions);
            if let Some(set) = model.persistent(&state, &actions) {
                actions = set;
            }
            if actions.is_empty() {
                worlds.insert(h);
                break;
            }
            let step = actions[rng.below(actions.len() as u64) as usize];
            let next = model.transition(&state, step).0;
            path.push((state, Some(step)));
            state = next;
            clock += 1;
            if clock.is_multiple_of(CLOCK_EVERY) && out_of_time() {
                break;
            }
        }
        report.depth_max = report.depth_max.max(path.len());
    }
    report.unique_states = unique.len();
    report.terminal_worlds = worlds.len();
    report
}

/// A 64-bit fingerprint of a state (FNV-1a over its `Hash`): fixed, keyless.
fn fingerprint(s: &CascadeState) -> u64 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 ^= u64::from(*b);
                self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    s.hash(&mut h);
    h.finish()
}
