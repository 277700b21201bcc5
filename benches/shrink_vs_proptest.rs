//! Ripple's shrinker against proptest's own shrinking, on the same planted failures.
//!
//! Run: `cargo bench --bench shrink_vs_proptest`
//!
//! Both shrink the root events of a planted bug (k needed events among n). Proptest gets the
//! events as a `subsequence` strategy over the scenario's event list, its standard runner
//! (deterministic ChaCha rng, no persistence, a shrink budget high enough to finish), and the
//! same failing predicate: the run fails with the original signature. Ripple's shrinker runs
//! as `ripple shrink` does (concretize, then passes). Reported per case: runs of the
//! predicate (generation plus shrinking for proptest), wall time, and the final number of
//! root events.

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use ripple::__private::planted_scenario;
use ripple::__private::RootEvent;
use ripple::failure_signature;
use ripple::parse_scenario;
use ripple::Runner;
use ripple::Seed;
use ripple::{shrink, ShrinkBudget};
use std::cell::Cell;
use std::path::Path;
use std::time::Instant;

// A benchmark measures wall time; nothing here runs inside a simulated run.
#[allow(clippy::disallowed_methods)]
fn main() {
    println!(
        "{:<10} {:<10} {:>8} {:>10} {:>6}   {:>8} {:>10} {:>6}",
        "case", "", "ripple", "", "", "proptest", "", ""
    );
    println!(
        "{:<10} {:<10} {:>8} {:>10} {:>6}   {:>8} {:>10} {:>6}",
        "k of n", "", "runs", "ms", "final", "runs", "ms", "final"
    );
    for (k, n) in [
        (1, 100),
        (2, 100),
        (3, 100),
        (1, 1000),
        (2, 1000),
        (3, 1000),
    ] {
        let text = planted_scenario(k, n);
        let scenario =
            parse_scenario(&text, Path::new("planted.toml")).expect("planted scenario loads");
        let seed = Seed(1);
        let signature =
            failure_signature(&Runner::new(&scenario).run(seed)).expect("planted bug fails");

        let started = Instant::now();
        let r =
            shrink(&scenario, seed, false, ShrinkBudget::default(), &mut |_| {}).expect("shrinks");
        let ripple_ms = started.elapsed().as_secs_f64() * 1000.0;

        let events: Vec<RootEvent> = scenario.events.clone();
        let runs = Cell::new(0u64);
        let config = Config {
            cases: 1024,
            max_shrink_iters: 1_000_000,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
        let strategy = proptest::sample::subsequence(events, 0..=n);
        let started = Instant::now();
        let result = runner.run(&strategy.prop_map(|v| v), |subset| {
            runs.set(runs.get() + 1);
            let mut c = scenario.clone();
            c.events = subset;
            let o = Runner::new(&c).run(seed);
            if failure_signature(&o).as_ref() == Some(&signature) {
                Err(TestCaseError::fail("fails"))
            } else {
                Ok(())
            }
        });
        let proptest_ms = started.elapsed().as_secs_f64() * 1000.0;
        let proptest_final = match result {
            Err(TestError::Fail(_, minimal)) => minimal.len().to_string(),
            Err(e) => format!("error: {e}"),
            Ok(()) => "not found".to_string(),
        };
        println!(
            "{:<10} {:<10} {:>8} {:>10.1} {:>6}   {:>8} {:>10.1} {:>6}",
            format!("{k} of {n}"),
            "",
            r.runs,
            ripple_ms,
            r.after.events,
            runs.get(),
            proptest_ms,
            proptest_final
        );
    }
}
