//! The reports a person opens, end to end through the `ripple` binary: the HTML run report
//! (`run --report`), the diff (`diff`, text and page), the sweep overview (`sweep --report`)
//! and the counterexample pages of `check`; that they are byte-identical for the same
//! input, escape what the run says, and that bad input (a file that is not a trace, traces
//! of two scenarios, an unwritable report directory) exits 2 having written nothing.
//!
//! Not covered here: how the pages behave in a browser (tests/browser.rs), the timeline's
//! causes and the world between steps (unit tests in src/report/).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ripple(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .expect("ripple runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh directory under target/tmp for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("reports")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn run_report_is_one_self_contained_page_identical_for_the_same_seed() {
    let (a, b) = (scratch("run-a"), scratch("run-b"));
    for dir in [&a, &b] {
        let out = ripple(&[
            "run",
            "scenarios/race.toml",
            "--seed",
            "0",
            "--report",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("race-seed0.html ("),
            "the size is reported: {stderr}"
        );
    }
    assert_eq!(files_in(&a), ["race-seed0.html", "race-seed0.md"]);
    let page = std::fs::read(a.join("race-seed0.html")).unwrap();
    assert_eq!(
        page,
        std::fs::read(b.join("race-seed0.html")).unwrap(),
        "byte-identical"
    );
    let page = text(&page);
    // Self-contained: nothing is fetched.
    for needle in ["src=\"http", "href=\"http", "<link", "@import", "url(http"] {
        assert!(!page.contains(needle), "the page loads {needle}");
    }
    assert!(page.contains("no_authorized_voided_payment"));
    assert!(page.contains("ripple run scenarios/race.toml --seed 0"));
}

#[test]
fn diff_names_the_parting_step_and_exits_1_or_0() {
    let dir = scratch("diff");
    let out = ripple(&[
        "diff",
        "scenarios/race.toml",
        "--seed",
        "0",
        "--seed",
        "1",
        "--report",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("the runs part at step 4"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "no colour when not on a terminal");
    assert_eq!(files_in(&dir), ["race-diff-seed0-seed1.html"]);

    let t0 = dir.join("t0.jsonl");
    let out = ripple(&[
        "run",
        "scenarios/race.toml",
        "--seed",
        "0",
        "--trace",
        t0.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let same = ripple(&["diff", t0.to_str().unwrap(), t0.to_str().unwrap()]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
    assert!(text(&same.stdout).contains("identical"));
}

#[test]
fn diff_refuses_what_is_not_a_trace_and_traces_of_two_scenarios() {
    let dir = scratch("diff-bad");
    let (race, net) = (dir.join("race.jsonl"), dir.join("net.jsonl"));
    ripple(&[
        "run",
        "scenarios/race.toml",
        "--trace",
        race.to_str().unwrap(),
    ]);
    ripple(&[
        "run",
        "scenarios/netops.toml",
        "--trace",
        net.to_str().unwrap(),
    ]);
    let report = dir.join("out");
    let report = report.to_str().unwrap();

    let not_a_trace = ripple(&[
        "diff",
        "scenarios/race.toml",
        race.to_str().unwrap(),
        "--report",
        report,
    ]);
    assert_eq!(not_a_trace.status.code(), Some(2));
    let e = text(&not_a_trace.stderr);
    assert!(
        e.contains("scenarios/race.toml:1:1: not a ripple trace"),
        "{e}"
    );

    let garbled = dir.join("garbled.jsonl");
    let mut bytes = std::fs::read(&race).unwrap();
    bytes.extend_from_slice(b"not json\n");
    std::fs::write(&garbled, bytes).unwrap();
    let out = ripple(&["diff", race.to_str().unwrap(), garbled.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(
        e.contains("garbled.jsonl:1:1:") && e.contains("edited"),
        "an edited trace: {e}"
    );

    let two = ripple(&[
        "diff",
        race.to_str().unwrap(),
        net.to_str().unwrap(),
        "--report",
        report,
    ]);
    assert_eq!(two.status.code(), Some(2));
    let e = text(&two.stderr);
    assert!(
        e.contains("different scenarios") && e.contains("`race`") && e.contains("`netops`"),
        "{e}"
    );

    let one_seed = ripple(&["diff", "scenarios/race.toml", "--seed", "0"]);
    assert_eq!(one_seed.status.code(), Some(2));
    assert!(!Path::new(report).exists(), "nothing was written");
}

#[test]
fn an_unwritable_report_directory_is_bad_input_and_nothing_is_half_written() {
    let dir = scratch("unwritable");
    // A file where the directory should be: nothing can be made under it, even by root.
    let blocked = dir.join("blocked");
    std::fs::write(&blocked, b"a file").unwrap();
    let report = blocked.join("runs");
    let out = ripple(&[
        "run",
        "scenarios/race.toml",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let e = text(&out.stderr);
    assert!(
        e.contains("failed to write the report") && e.contains("nothing was written"),
        "{e}"
    );
    assert_eq!(files_in(&dir), ["blocked"]);

    // The sweep writes several files: one that cannot be written stops them all.
    let sweep = dir.join("sweep");
    std::fs::create_dir_all(sweep.join("race-sweep.html")).unwrap();
    let out = ripple(&[
        "sweep",
        "scenarios/race.toml",
        "--seeds",
        "0..20",
        "--jobs",
        "1",
        "--report",
        sweep.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        files_in(&sweep),
        ["race-sweep.html"],
        "no run report, no temp file"
    );
}

#[test]
fn sweep_report_groups_failures_and_writes_each_groups_run_report() {
    let (a, b) = (scratch("sweep-a"), scratch("sweep-b"));
    for dir in [&a, &b] {
        let out = ripple(&[
            "sweep",
            "scenarios/race.toml",
            "--seeds",
            "0..30",
            "--jobs",
            "2",
            "--report",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    }
    let names = files_in(&a);
    assert!(names.contains(&"race-sweep.html".to_string()), "{names:?}");
    let page = text(&std::fs::read(a.join("race-sweep.html")).unwrap());
    assert_eq!(
        page,
        text(&std::fs::read(b.join("race-sweep.html")).unwrap()),
        "byte-identical, whatever the threads"
    );
    // Each group links its first seed's run report, which is there.
    let href = page
        .split("class=\"run-report\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a link to a run report");
    assert!(a.join(href).is_file(), "{href}");
    assert!(
        page.contains("yes: without faults it passes"),
        "the race needs its delays"
    );
}

#[test]
fn check_writes_a_page_beside_each_counterexample() {
    let dir = scratch("check");
    let out = ripple(&[
        "check",
        "scenarios/race.toml",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let names = files_in(&dir);
    for toml in names
        .iter()
        .filter(|n| n.ends_with(".toml") && !n.ends_with("-other.toml"))
    {
        let html = toml.replace(".toml", ".html");
        assert!(names.contains(&html), "{html} beside {toml}: {names:?}");
    }
}
