//! A whole run, with small budgets, of every input that loads: it ends with a result (pass,
//! a violation, or a budget stop), never a panic, and twice the same trace.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ripple::{Runner, Seed};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut scenario) = ripple::parse_scenario(text, Path::new("fuzz/input.toml")) else {
        return;
    };
    if !ripple_fuzz::small_budgets(&mut scenario) {
        return;
    }
    let seed = Seed(data.len() as u64);
    let first = Runner::new(&scenario).run(seed);
    let second = Runner::new(&scenario).run(seed);
    assert_eq!(first.trace_hash, second.trace_hash, "one seed, two traces");
});
