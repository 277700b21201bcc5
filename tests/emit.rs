//! Writing a scenario back as TOML and loading it again gives the same runs.

use ripple::scenario::{emit_scenario, load_scenario, parse_scenario};
use ripple::sim::{run_scenario, RunOptions, Seed};
use std::path::Path;

#[test]
fn every_shipped_scenario_round_trips_through_the_emitter() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let original = load_scenario(&path).unwrap();
        let text = emit_scenario(&original, "a header line\n\nanother");
        assert!(
            text.starts_with("# a header line\n#\n# another\n"),
            "{text}"
        );
        let again = parse_scenario(&text, Path::new("emitted.toml"))
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        for seed in 0..5 {
            let a = run_scenario(&original, Seed(seed), RunOptions::default());
            let b = run_scenario(&again, Seed(seed), RunOptions::default());
            assert_eq!(
                a.trace_hash,
                b.trace_hash,
                "{} seed {seed}\n{text}",
                path.display()
            );
        }
    }
}
