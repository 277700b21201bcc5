//! The committed seed corpus is a regression suite: every seed must replay with its
//! recorded verdict and trace hash. And the corpus check must notice when one changes.

use ripple::__private::{load_corpus_file, render_corpus_file};
use ripple::check_corpus_dir;
use ripple::{check_corpus_file, Change};
use std::path::{Path, PathBuf};

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

#[test]
fn committed_corpus_replays_unchanged() {
    let checks = check_corpus_dir(&seeds_dir()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        checks.len() >= 10,
        "the corpus should hold the shipped scenarios' seeds"
    );
    let changed: Vec<String> = checks
        .iter()
        .filter(|c| !c.changes.is_empty())
        .map(|c| c.to_string())
        .collect();
    assert!(
        changed.is_empty(),
        "corpus changed (bless it if intended):\n{}",
        changed.join("\n")
    );
    // The race's known failure stays a known failure.
    assert!(checks
        .iter()
        .any(|c| c.file.ends_with("race.toml") && c.seed == 0));
}

/// A scratch copy of one corpus file (and its traces), pointing at the real scenario.
fn scratch(name: &str, stem: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ripple-corpus-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("traces")).unwrap();
    let mut file = load_corpus_file(&seeds_dir().join(format!("{stem}.toml"))).unwrap();
    file.scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{stem}.toml"))
        .display()
        .to_string();
    std::fs::write(dir.join(format!("{stem}.toml")), render_corpus_file(&file)).unwrap();
    for e in &file.seed {
        let p = e.trace_path(stem);
        std::fs::copy(seeds_dir().join(&p), dir.join(&p)).unwrap();
        if let Some(m) = &e.minimal {
            std::fs::create_dir_all(dir.join(m).parent().unwrap()).unwrap();
            std::fs::copy(seeds_dir().join(m), dir.join(m)).unwrap();
        }
    }
    dir
}

#[test]
fn a_changed_trace_hash_is_reported_with_the_first_differing_step() {
    let dir = scratch("hash", "netops");
    let path = dir.join("netops.toml");
    let mut file = load_corpus_file(&path).unwrap();
    let entry = file.seed[0].clone();
    file.seed[0].trace_hash = "0".repeat(32);
    std::fs::write(&path, render_corpus_file(&file)).unwrap();
    // Alter step 2 of the recorded trace, as if the engine had behaved differently then.
    let trace_path = dir.join(entry.trace_path("netops"));
    let text = std::fs::read_to_string(&trace_path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[3] = lines[3].replace("\"at\":0", "\"at\":7");
    std::fs::write(&trace_path, lines.join("\n") + "\n").unwrap();

    let checks = check_corpus_file(&path).unwrap();
    let c = &checks[0];
    assert_eq!(c.seed, entry.seed);
    match c.changes.as_slice() {
        [Change::Hash {
            expected,
            actual,
            diff: Some(diff),
        }] => {
            assert_eq!(expected, &"0".repeat(32));
            assert_eq!(actual, &entry.trace_hash);
            assert_eq!(diff.step, 2);
        }
        other => panic!("expected one hash change with a diff, got {other:?}"),
    }
    assert!(checks[1..].iter().all(|c| c.changes.is_empty()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_changed_verdict_is_reported() {
    let dir = scratch("verdict", "race");
    let path = dir.join("race.toml");
    let mut file = load_corpus_file(&path).unwrap();
    let i = file
        .seed
        .iter()
        .position(|e| e.verdict == "fail")
        .expect("the known failure");
    file.seed[i].verdict = "pass".into();
    std::fs::write(&path, render_corpus_file(&file)).unwrap();
    let checks = check_corpus_file(&path).unwrap();
    let changed: Vec<_> = checks.iter().filter(|c| !c.changes.is_empty()).collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(
        changed[0].changes,
        [Change::Verdict {
            expected: "pass".into(),
            actual: "fail".into()
        }]
    );
    assert!(changed[0]
        .to_string()
        .contains("verdict changed: expected pass, got fail"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_minimal_scenario_that_no_longer_fails_is_reported() {
    let dir = scratch("minimal", "race");
    // A "minimal" scenario that passes: the failure it was supposed to capture is gone.
    let passing = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/order_payment.toml");
    let path = dir.join("race.toml");
    let mut file = load_corpus_file(&path).unwrap();
    let i = file
        .seed
        .iter()
        .position(|e| e.minimal.is_some())
        .expect("the race's failing seed keeps its minimal scenario");
    file.seed[i].minimal = Some(passing.display().to_string());
    std::fs::write(&path, render_corpus_file(&file)).unwrap();
    let checks = check_corpus_file(&path).unwrap();
    let c = checks.iter().find(|c| c.seed == file.seed[i].seed).unwrap();
    assert!(
        matches!(c.changes.as_slice(), [Change::Minimal { problem, .. }] if problem.contains("passes")),
        "{:?}",
        c.changes
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corpus_write_interrupted_by_a_kill_is_finished_before_the_next_read() {
    // A bless killed after it wrote its journal and before its renames: the staged corpus
    // file (here with a new note) and the journal are on disk, the old file is in place.
    let dir = scratch("journal", "race");
    let path = dir.join("race.toml");
    let mut file = load_corpus_file(&path).unwrap();
    file.seed[0].note = Some("blessed by the interrupted write".into());
    let staged = dir.join(".race.toml.ripple-4000000.tmp");
    std::fs::write(&staged, render_corpus_file(&file)).unwrap();
    std::fs::write(
        dir.join(".ripple-journal"),
        ".race.toml.ripple-4000000.tmp\trace.toml\n",
    )
    .unwrap();
    let checks = check_corpus_dir(&dir).unwrap();
    assert!(checks.iter().all(|c| c.changes.is_empty()));
    let now = load_corpus_file(&path).unwrap();
    assert_eq!(
        now.seed[0].note.as_deref(),
        Some("blessed by the interrupted write")
    );
    assert!(!staged.exists() && !dir.join(".ripple-journal").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn each_seed_is_a_case_of_its_own_and_a_changed_one_says_what_changed() {
    let dir = scratch("cases", "race");
    let path = dir.join("race.toml");
    let mut file = load_corpus_file(&path).unwrap();
    file.seed[1].trace_hash = "00000000000000000000000000000000".into();
    std::fs::write(&path, render_corpus_file(&file)).unwrap();
    let cases = ripple::corpus_cases(&dir).unwrap();
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"race::seed_0"), "{names:?}");
    let failing: Vec<_> = cases.iter().filter(|c| c.check().is_err()).collect();
    assert_eq!(failing.len(), 1, "{names:?}");
    let message = failing[0].check().unwrap_err();
    assert_eq!(failing[0].seed, file.seed[1].seed);
    assert!(message.contains("bless"), "{message}");
    std::fs::remove_dir_all(&dir).unwrap();
}
