//! An `[[event]]` may act on an entity a `create` rule made at run time, named by the rule and
//! the source it fired for (`dispatch.created_by`): resolved when the event runs, a warning in
//! the trace when there is nothing to resolve to, a load error with a hint when the reference
//! cannot refer to anything.

use ripple::Runner;
use ripple::Seed;
use ripple::{emit_scenario, parse_scenario, Record};
use std::path::Path;
use std::process::Command;

const BASE: &str = r#"[scenario]
name = "created_by"
until = "10s"

[[tenant]]
id = "media"

[[entity]]
type = "Upload"
states = ["Received"]
initial = "Received"
[[entity.action]]
name = "Receive"
[[entity.action]]
name = "Touch"

[[entity]]
type = "Job"
states = ["Queued", "Cancelled"]
initial = "Queued"
[[entity.action]]
name = "Enqueue"
from = ["Queued"]
[[entity.action]]
name = "Cancel"
from = ["Queued"]
to = "Cancelled"

[[reaction]]
name = "upload_spawns_job"
[reaction.when]
entity_type = "Upload"
action = "Receive"
[reaction.then]
entity_type = "Job"
action = "Enqueue"
params_from = { upload = "id" }
[reaction.resolve_target]
type = "create"

[[reaction]]
name = "upload_touches_itself"
[reaction.when]
entity_type = "Upload"
action = "Receive"
[reaction.then]
entity_type = "Upload"
action = "Touch"
[reaction.resolve_target]
type = "same_id"

[[event]]
at = "0ms"
tenant = "media"
dispatch = { entity_type = "Upload", id = "u1", action = "Receive" }
"#;

fn cancel(reference: &str, at: &str) -> String {
    format!(
        "\n[[event]]\nat = \"{at}\"\ntenant = \"media\"\ndispatch = {{ entity_type = \"Job\", {reference}, action = \"Cancel\" }}\n"
    )
}

const U1: &str = r#"created_by = { rule = "upload_spawns_job", source = "Upload/u1" }"#;

fn load(text: &str) -> Result<ripple::Scenario, String> {
    parse_scenario(text, Path::new("created_by.toml")).map_err(|e| e.to_string())
}

#[test]
fn an_event_acts_on_the_entity_the_rule_created_for_its_source() {
    let s = load(&format!("{BASE}{}", cancel(U1, "1s"))).unwrap();
    for seed in 0..5 {
        let run = Runner::new(&s).run(Seed(seed));
        let jobs: Vec<_> = run
            .entities
            .iter()
            .filter(|e| e.entity_type == "Job")
            .collect();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert_eq!(jobs[0].status, "Cancelled", "seed {seed}");
        // The minted id, not anything written in the scenario.
        assert_ne!(jobs[0].id.as_str(), "");
        assert_eq!(
            jobs[0]
                .fields
                .get("upload")
                .map(|v| v.to_string())
                .as_deref(),
            Some("\"u1\"")
        );
        let cancelled = run.records.iter().any(|r| {
            matches!(r, Record::Transition { entity_type, id, action, .. }
                if entity_type == "Job" && action == "Cancel" && id == &jobs[0].id)
        });
        assert!(cancelled, "the cancellation is on the created job");
    }
}

#[test]
fn an_event_before_the_creation_does_nothing_and_says_so() {
    // A source that was never received, and a second creation that never happened.
    let never = r#"created_by = { rule = "upload_spawns_job", source = "Upload/u9" }"#;
    let twice = r#"created_by = { rule = "upload_spawns_job", source = "Upload/u1", nth = 2 }"#;
    let s = load(&format!(
        "{BASE}{}{}",
        cancel(never, "1s"),
        cancel(twice, "2s")
    ))
    .unwrap();
    let run = Runner::new(&s).run(Seed(0));
    let warnings: Vec<&str> = run
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Warning { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("Upload/u9") && warnings[0].contains("the event did nothing"));
    assert!(warnings[1].contains("its #2 creation"), "{}", warnings[1]);
    assert!(run
        .entities
        .iter()
        .all(|e| e.entity_type != "Job" || e.status == "Queued"));
    // The text report shows the warning under its event.
    let text = ripple::render_text(&run, "created_by.toml");
    assert!(text.contains("warning: event #"), "{text}");
}

#[test]
fn a_written_scenario_keeps_the_reference() {
    let s = load(&format!("{BASE}{}", cancel(U1, "1s"))).unwrap();
    let text = emit_scenario(&s, "");
    assert!(
        text.contains(r#"created_by = { rule = "upload_spawns_job", source = "Upload/u1" }"#),
        "{text}"
    );
    let again = load(&text).unwrap();
    assert_eq!(again.events, s.events);
}

#[test]
fn a_reference_that_cannot_refer_to_anything_is_a_load_error_with_a_hint() {
    let cases = [
        (
            r#"created_by = { rule = "upload_spawn_job", source = "Upload/u1" }"#,
            "which tenant media does not have",
            "did you mean \"upload_spawns_job\"?",
        ),
        (
            r#"created_by = { rule = "upload_touches_itself", source = "Upload/u1" }"#,
            "which creates nothing",
            "resolve_target",
        ),
        (
            r#"created_by = { rule = "upload_spawns_job", source = "u1" }"#,
            "is not `Type/id`",
            "Upload/u1",
        ),
        (
            r#"created_by = { rule = "upload_spawns_job", source = "Job/u1" }"#,
            "fires on Upload commits",
            "Upload/<id>",
        ),
        (
            r#"created_by = { rule = "upload_spawns_job", source = "Upload/u1", nth = 0 }"#,
            "nth is 0",
            "counts from 1",
        ),
        (
            r#"id = "j1", created_by = { rule = "upload_spawns_job", source = "Upload/u1" }"#,
            "both `id` and `created_by`",
            "not both",
        ),
        (
            r#"created_by = { rule = "upload_spawns_job", source = "Upload/u1", n = 2 }"#,
            "unknown field `n`",
            "nth",
        ),
    ];
    for (reference, message, hint) in cases {
        let e = load(&format!("{BASE}{}", cancel(reference, "1s"))).unwrap_err();
        assert!(e.contains(message), "{reference}: {e}");
        assert!(e.contains(hint), "{reference}: {e}");
        assert!(e.contains("created_by.toml:"), "a place: {e}");
    }
    // On the wrong type: the rule creates Jobs.
    let wrong = format!(
        "{BASE}\n[[event]]\nat = \"1s\"\ntenant = \"media\"\ndispatch = {{ entity_type = \"Upload\", {U1}, action = \"Receive\" }}\n"
    );
    let e = load(&wrong).unwrap_err();
    assert!(e.contains("creates Job entities"), "{e}");
    assert!(e.contains("entity_type = \"Job\""), "{e}");
}

/// The command line: `run` passes, and `check` explores it completely and passes.
#[test]
fn run_and_check_accept_it() {
    let dir = std::env::temp_dir().join(format!("ripple-created-by-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("created_by.toml");
    std::fs::write(&path, format!("{BASE}{}", cancel(U1, "1s"))).unwrap();
    let ripple = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let p = path.to_str().unwrap();
    let (code, out) = ripple(&["run", p, "--seed", "1"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("Job/") && out.contains(".Cancel: Queued -> Cancelled"),
        "{out}"
    );
    let out_dir = dir.join("check");
    let (code, out) = ripple(&["check", p, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("pass"), "{out}");
    assert!(!out.contains("incomplete"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
