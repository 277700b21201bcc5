//! `ripple record` and `ripple publish` on bad input, with no NATS server needed: every case
//! exits 2 with a message that names what is wrong, and nothing is written. (Against a real
//! server, including a refused credential: `tests/nats_contract.rs`.)

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

fn ripple(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ripple"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run ripple")
}

/// A port on 127.0.0.1 where nothing listens (it was free a moment ago and nothing here
/// binds it).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ripple-live-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[track_caller]
fn assert_bad_input(out: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    err
}

#[test]
fn an_unreachable_server_is_named_with_what_failed() {
    let dir = temp_dir("unreachable");
    let out = dir.join("x.toml");
    let url = format!("nats://127.0.0.1:{}", closed_port());
    let record = ripple(&[
        "record",
        "--server",
        &url,
        "--for",
        "1s",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_bad_input(
        &record,
        &[&format!("failed to connect to {url}"), "refused"],
    );
    assert!(!out.exists());
    let publish = ripple(&["publish", "scenarios/netops.toml", "--server", &url]);
    assert_bad_input(
        &publish,
        &[&format!("failed to connect to {url}"), "refused"],
    );
}

#[test]
fn an_invalid_subject_is_refused_before_connecting() {
    let dir = temp_dir("subject");
    let out = dir.join("x.toml");
    // The server address is unreachable too: the pattern must be what is reported.
    let url = format!("nats://127.0.0.1:{}", closed_port());
    for (pattern, why) in [
        ("sensory..x", "empty token"),
        ("sensory.>.x", "`>` may only be the last token"),
        ("sensory.link*", "a wildcard must be a whole token"),
        ("a b", "whitespace"),
    ] {
        let record = ripple(&[
            "record",
            "--server",
            &url,
            "--subject",
            "sensory.>",
            "--subject",
            pattern,
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = assert_bad_input(&record, &["--subject", why]);
        assert!(!err.contains("failed to connect"), "{err}");
    }
}

#[test]
fn an_output_path_that_cannot_be_written_is_refused_before_connecting() {
    let dir = temp_dir("unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let url = format!("nats://127.0.0.1:{}", closed_port());
    let under_a_file = file.join("recorded.toml");
    let record = ripple(&[
        "record",
        "--server",
        &url,
        "--out",
        under_a_file.to_str().unwrap(),
    ]);
    let err = assert_bad_input(&record, &["--out", "cannot write there"]);
    assert!(!err.contains("failed to connect"), "{err}");
    let a_folder = ripple(&["record", "--server", &url, "--out", dir.to_str().unwrap()]);
    assert_bad_input(&a_folder, &["is a folder"]);
}

#[test]
fn bad_options_are_refused() {
    let dir = temp_dir("options");
    let out = dir.join("x.toml");
    let out = out.to_str().unwrap();
    let url = format!("nats://127.0.0.1:{}", closed_port());
    assert_bad_input(
        &ripple(&["record", "--server", &url, "--for", "soon", "--out", out]),
        &["--for"],
    );
    assert_bad_input(
        &ripple(&["record", "--server", &url, "--count", "0", "--out", out]),
        &["--count"],
    );
    assert_bad_input(
        &ripple(&[
            "record",
            "--server",
            &url,
            "--creds",
            "/no/such.creds",
            "--out",
            out,
        ]),
        &["failed to read the creds file /no/such.creds"],
    );
    assert_bad_input(
        &ripple(&[
            "record",
            "--server",
            &url,
            "--tls-ca",
            "/no/ca.pem",
            "--out",
            out,
        ]),
        &["failed to read the TLS CA certificate /no/ca.pem"],
    );
    // clap's own checks: a password without a user, two kinds of credentials, no --out.
    assert_bad_input(
        &ripple(&["record", "--password", "x", "--out", out]),
        &["--user"],
    );
    assert_bad_input(
        &ripple(&["record", "--token", "t", "--creds", "c", "--out", out]),
        &["--creds"],
    );
    assert_bad_input(&ripple(&["record"]), &["--out"]);
    assert_bad_input(
        &ripple(&["publish", "scenarios/netops.toml", "--speed", "fast"]),
        &["--speed"],
    );
    assert_bad_input(
        &ripple(&["publish", "scenarios/no-such.toml"]),
        &["no-such.toml"],
    );
    // --append to a scenario with two tenants needs --tenant.
    assert_bad_input(
        &ripple(&[
            "record",
            "--server",
            &url,
            "--append",
            "scenarios/two_tenants.toml",
            "--out",
            out,
        ]),
        &["--tenant", "2 tenants"],
    );
    assert!(!std::path::Path::new(out).exists());
}

#[test]
fn a_dry_run_prints_the_publications_and_connects_to_nothing() {
    let out = ripple(&[
        "publish",
        "scenarios/order_payment.toml",
        "--dry-run",
        "--with-commits",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|l| l["commit"] == true));
    assert!(lines
        .windows(2)
        .all(|w| w[0]["at_ms"].as_u64() <= w[1]["at_ms"].as_u64()));
    for l in &lines {
        for key in ["at_ms", "tenant", "subject", "payload", "commit"] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
    }
}
