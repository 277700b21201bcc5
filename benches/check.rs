//! The model checker's speed: `cargo bench --bench check`.
//!
//! Unique states per second of the cascade model on the largest shipped state spaces:
//! `scenarios/race_crowd.toml` without partial-order reduction (every interleaving of thirty
//! root events' messages: 376,877 states, 57,359 unique), the same with the reduction (what
//! `ripple check` does by default), and `scenarios/agent_loop.toml` (integration answers as
//! choices, 2,130 states). Each figure is the best of `RIPPLE_BENCH_ROUNDS` rounds (default
//! 3). One checker thread; wall time, on whatever else the machine is doing.
//!
//! `RIPPLE_BENCH_QUICK=1` caps the unreduced crowd at 20,000 states: a smoke test, not a
//! measurement. The same figures come from the CLI (`ripple check ... --format json`, the
//! `cascade` model's `unique_states_per_second`); `reports/CHECK.md` has them per scenario.

use ripple::{check_scenario, load_scenario, CheckOptions, ModelConfig};
use std::path::Path;
use std::time::Duration;

fn main() {
    let quick = std::env::var("RIPPLE_BENCH_QUICK").is_ok_and(|v| v == "1");
    let rounds: usize = std::env::var("RIPPLE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let cases: [(&str, bool, usize); 3] = [
        ("race_crowd", false, if quick { 20_000 } else { 10_000_000 }),
        ("race_crowd", true, 10_000_000),
        ("agent_loop", true, 10_000_000),
    ];
    println!(
        "scenario              reduction      states      unique   seconds   states/s   unique/s"
    );
    for (name, reduce, states_max) in cases {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
        let scenario = load_scenario(&path).expect("a shipped scenario");
        let options = CheckOptions {
            states_max,
            timeout: Duration::from_secs(600),
            model: ModelConfig {
                reduce,
                ..ModelConfig::default()
            },
            walk_seed: None,
            ..CheckOptions::default()
        };
        let mut best: Option<(usize, usize, f64)> = None;
        for _ in 0..rounds.max(1) {
            let report = check_scenario(&scenario, None, &options);
            let cascade = report
                .models
                .iter()
                .find(|m| m.name == "cascade")
                .expect("a cascade model");
            let run = (cascade.states, cascade.unique_states, cascade.seconds);
            if best.is_none_or(|b| run.2 < b.2) {
                best = Some(run);
            }
        }
        let (states, unique, seconds) = best.expect("one round at least");
        println!(
            "{name:<21} {:<10} {states:>10} {unique:>11} {seconds:>9.3} {:>10.0} {:>10.0}",
            if reduce { "on" } else { "off" },
            states as f64 / seconds,
            unique as f64 / seconds,
        );
    }
}
