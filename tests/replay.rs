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
