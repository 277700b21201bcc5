//! `ripple replay`: a trace replays from anywhere, and a trace whose records are not the
//! ones its header vouches for is bad input (exit 2), not a behaviour change (exit 1).

use std::path::{Path, PathBuf};
use std::process::Command;

fn ripple(args: &[&str], cwd: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ripple-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A trace of the netops scenario, seed 7, written under `dir`.
fn record(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let trace = dir.join("t.jsonl");
    let (code, out) = ripple(
        &[
            "run",
            "scenarios/netops.toml",
            "--seed",
            "7",
            "--trace",
            trace.to_str().unwrap(),
        ],
        root,
    );
    assert!(code == Some(0) || code == Some(1), "{out}");
    trace
}

#[test]
fn a_trace_replays_from_another_directory_and_names_the_file_it_ran() {
    let dir = scratch("elsewhere");
    let trace = record(&dir);
    let (code, out) = ripple(&["replay", trace.to_str().unwrap()], &dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("replay: identical"), "{out}");
    assert!(out.contains("netops.toml --seed 7"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_forged_or_cut_trace_is_bad_input() {
    let dir = scratch("forged");
    let trace = record(&dir);
    let bytes = std::fs::read(&trace).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // A record edited: the hash no longer matches.
        (
            "edited",
            text.replacen("\"at\":0", "\"at\":1", 1).into_bytes(),
        ),
        // The header's hash forged to match nothing.
        (
            "forged hash",
            text.replacen("\"trace_hash\":\"", "\"trace_hash\":\"0", 1)
                .into_bytes(),
        ),
        // Cut in the middle of a record.
        ("cut", bytes[..bytes.len() - 10].to_vec()),
        // Another format version.
        (
            "version",
            text.replacen("\"ripple_trace\":1", "\"ripple_trace\":99", 1)
                .into_bytes(),
        ),
        ("not a trace", b"hello world\n".to_vec()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&trace, &bytes).unwrap();
        let (code, out) = ripple(&["replay", trace.to_str().unwrap()], &dir);
        assert_eq!(code, Some(2), "{what}: {out}");
        assert!(out.contains("t.jsonl:1:1"), "{what}: {out}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_trace_naming_a_device_does_not_read_it() {
    let dir = scratch("device");
    let trace = record(&dir);
    let text = std::fs::read_to_string(&trace).unwrap();
    let start = text.find("\"scenario\":\"").unwrap() + "\"scenario\":\"".len();
    let end = start + text[start..].find('"').unwrap();
    let forged = format!("{}/dev/zero{}", &text[..start], &text[end..]);
    std::fs::write(&trace, forged).unwrap();
    let (code, out) = ripple(&["replay", trace.to_str().unwrap()], &dir);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("/dev/zero"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `run --trace` streams the records to the file as the run goes (issue 19); the file is
/// byte for byte the trace a run that kept its text gives, and nothing is left beside it.
#[test]
fn a_streamed_trace_file_is_the_kept_trace_byte_for_byte() {
    let dir = scratch("streamed");
    let trace = record(&dir);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = ripple::load_scenario(&root.join("scenarios/netops.toml")).unwrap();
    let kept = ripple::Runner::new(&scenario)
        .trace_text(true)
        .run(ripple::Seed(7));
    let named = format!("{}/scenarios/netops.toml", root.display());
    let written = std::fs::read(&trace).unwrap();
    // The header names the scenario relative to the trace's directory: compare the records
    // byte for byte, and the header's hash and count.
    let expected = kept.trace_file(&named).unwrap();
    let split = |b: &[u8]| b.iter().position(|c| *c == b'\n').unwrap();
    assert_eq!(
        written[split(&written)..],
        expected[split(&expected)..],
        "records differ"
    );
    let header: serde_json::Value = serde_json::from_slice(&written[..split(&written)]).unwrap();
    assert_eq!(header["trace_hash"], kept.trace_hash.to_string());
    assert_eq!(header["steps"], kept.steps());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["t.jsonl"], "no scratch file left");
    std::fs::remove_dir_all(&dir).unwrap();

    // A trace that cannot be written is bad input, and says so.
    let (code, out) = ripple(
        &["run", "scenarios/netops.toml", "--trace", "/dev/full"],
        root,
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("failed to write the trace to /dev/full"),
        "{out}"
    );
}

/// A long run with `--trace`: the text report keeps only its first records (the file has
/// them all), and says so, with the same totals as a run that kept everything.
#[test]
fn a_long_run_with_a_trace_keeps_a_reports_worth_of_records_and_the_same_totals() {
    use ripple::__private::{generated_workload, WorkloadConfig};
    let dir = scratch("long");
    let config = WorkloadConfig {
        root_events: 1_000,
        ..WorkloadConfig::default()
    };
    let scenario = dir.join("gen.toml");
    std::fs::write(
        &scenario,
        ripple::emit_scenario(&generated_workload(&config), "test workload"),
    )
    .unwrap();
    let s = scenario.to_str().unwrap();
    let trace = dir.join("t.jsonl");
    let (code, with_trace) = ripple(
        &["run", s, "--seed", "1", "--trace", trace.to_str().unwrap()],
        &dir,
    );
    assert_eq!(code, Some(0), "{with_trace}");
    let (_, kept) = ripple(&["run", s, "--seed", "1"], &dir);
    assert!(with_trace.contains("(the first 20000 of "), "{with_trace}");
    let totals = |t: &str| {
        t.lines()
            .find(|l| l.contains(" reactions, "))
            .map(str::to_string)
    };
    assert!(totals(&kept).is_some());
    assert_eq!(totals(&with_trace), totals(&kept));
    let (code, out) = ripple(&["replay", trace.to_str().unwrap()], &dir);
    assert_eq!(code, Some(0), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_changed_scenario_replays_different_and_shows_the_first_difference() {
    // Record with a copy of netops beside the trace, then change the copy: the recorded
    // trace is intact (not bad input), the behaviour changed (exit 1), and the replay names
    // the first differing step with both lines, streamed from the two traces.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = scratch("changed");
    let text = std::fs::read_to_string(root.join("scenarios/netops.toml")).unwrap();
    let copy = dir.join("netops.toml");
    std::fs::write(&copy, &text).unwrap();
    let trace = dir.join("t.jsonl");
    let (code, out) = ripple(
        &["run", "netops.toml", "--seed", "7", "--trace", "t.jsonl"],
        &dir,
    );
    assert!(code == Some(0) || code == Some(1), "{out}");
    assert!(text.contains("until = \"10m\""));
    std::fs::write(&copy, text.replace("until = \"10m\"", "until = \"1ms\"")).unwrap();
    let (code, out) = ripple(&["replay", trace.to_str().unwrap()], &dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("replay: the trace differs"), "{out}");
    assert!(out.contains("first difference at step"), "{out}");
    assert!(out.contains("recorded: {"), "{out}");
    assert!(out.contains("replayed: "), "{out}");
    // The scratch copy of the replayed trace is gone.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
