//! Text output escapes control characters that come from scenarios and payloads: a report
//! read in a terminal or a CI log cannot be rewritten by an escape sequence.

use std::process::Command;

#[test]
fn a_run_report_escapes_control_characters_from_the_scenario() {
    let dir = std::env::temp_dir().join(format!("ripple-terminal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("esc.toml");
    std::fs::write(
        &path,
        r#"[scenario]
name = "esc"

[[tenant]]
id = "t"

[[entity]]
type = "Order"
states = ["Draft", "Placed"]
initial = "Draft"
[[entity.action]]
name = "Place"
from = ["Draft"]
to = "Placed"

[[event]]
at = "0ms"
tenant = "t"
dispatch = { entity_type = "Order", id = "o1\u001B[2J\u0007", action = "Place" }

[[expect]]
tenant = "t"
entity_type = "Order"
id = "o1\u001B[2J\u0007"
status = "Draft"
"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(["run", path.to_str().unwrap(), "--seed", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the expectation fails: {stdout}"
    );
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
    assert!(stdout.contains("o1\\u{1b}[2J\\u{7}"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}
