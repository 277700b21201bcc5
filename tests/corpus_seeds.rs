//! The seed corpus as tests: one test per seed, so that `cargo test --test corpus_seeds` (or
//! `cargo nextest run -E 'test(race::)'`) runs, lists and filters them by name, and a
//! failure names the seed and what changed. Copy this file to run your own corpus
//! directory as tests (a `[[test]]` with `harness = false`).

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::Path;

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let cases = ripple::corpus_cases(&dir).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    assert!(
        !cases.is_empty(),
        "the corpus in {} is empty",
        dir.display()
    );
    let trials = cases
        .into_iter()
        .map(|case| {
            let name = case.name.clone();
            Trial::test(name, move || case.check().map_err(Failed::from))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
