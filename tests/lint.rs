//! The lint pass through the binary: each silent misconfiguration of issue 13 is an error or
//! a warning; every command lints before it runs; warnings are printed, are in the JSON and,
//! under `--deny warnings`, are bad input (exit 2).

use std::path::{Path, PathBuf};
use std::process::Command;

fn ripple(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scenario(name: &str, extra: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ripple-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("{BASE}{extra}")).unwrap();
    path
}

const BASE: &str = r#"[scenario]
name = "lint"

[[tenant]]
id = "netops"

[[entity]]
type = "Incident"
states = ["New", "Open"]
initial = "New"
[[entity.action]]
name = "Open"
to = "Open"
effect = ["increment signals"]

[[entity]]
type = "Pager"
states = ["Idle"]
initial = "Idle"
[[entity.action]]
name = "Notify"
effect = ["increment pages"]

[[reaction]]
name = "first_signal_pages_oncall"
[reaction.when]
entity_type = "Incident"
action = "Open"
[reaction.then]
entity_type = "Pager"
action = "Notify"
[reaction.resolve_target]
type = "static"
entity_id = "oncall"

[[reflex]]
id = "incident_on_trap"
tenant = "netops"
pattern = "sensory.link_down.snmp_trap.*"
severity = "high"
then = { entity_type = "Incident", action = "Open", id = "{token.3}" }

[[event]]
at = "0ms"
tenant = "netops"
subject = "sensory.link_down.snmp_trap.r1"
payload = { device = "r1" }
"#;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_typo_in_an_invariant_field_stops_every_command_with_its_place_and_a_guess() {
    let path = scenario(
        "pagse",
        "\n[[invariant]]\nname = \"pager_is_not_flooded\"\nalways = \"Pager['oncall'].pagse < 3\"\n",
    );
    let (code, _, err) = ripple(&["lint", p(&path)]);
    assert_eq!(code, Some(2), "{err}");
    let line = BASE.lines().count() + 4;
    assert!(
        err.contains(&format!("pagse.toml:{line}:")),
        "line {line} in: {err}"
    );
    assert!(err.contains("did you mean \"pages\"?"), "{err}");
    let corpus_dir = path.with_extension("corpus");
    let corpus = format!("--dir={}", corpus_dir.display());
    for cmd in [
        vec!["run", p(&path)],
        vec!["sweep", p(&path), "--seeds", "0..3"],
        vec!["shrink", p(&path), "--seed", "0"],
        vec!["check", p(&path)],
        vec!["bench", p(&path), "--seeds", "0..2"],
        vec!["diff", p(&path), "--seed", "0", "--seed", "1"],
        vec!["corpus", "add", p(&path), "--seed", "0", &corpus],
    ] {
        let (code, out, err) = ripple(&cmd);
        assert_eq!(code, Some(2), "{cmd:?}: {out}{err}");
        assert!(err.contains("pagse"), "{cmd:?}: {err}");
    }
    assert!(
        !corpus_dir.exists(),
        "corpus add wrote a corpus for a scenario that fails lint"
    );
}

#[test]
fn a_typo_in_status_or_in_a_state_is_an_error() {
    let path = scenario(
        "statsu",
        "\n[[invariant]]\nname = \"n\"\nnever = \"Incident[id].statsu == 'Open'\"\n",
    );
    let (code, _, err) = ripple(&["lint", p(&path)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no field \"statsu\""), "{err}");
    let path = scenario(
        "state",
        "\n[[expect]]\ntenant = \"netops\"\nentity_type = \"Pager\"\nid = \"oncall\"\nfields = { pagse = 1 }\n",
    );
    let (code, _, err) = ripple(&["run", p(&path)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("Pager has no field \"pagse\""), "{err}");
}

#[test]
fn a_params_from_source_nothing_sets_warns_in_text_json_and_exit_status() {
    let text = BASE.replace(
        "action = \"Notify\"\n",
        "action = \"Notify\"\nparams_from = { last_incident = \"target\" }\n",
    );
    let path = scenario("params_from", &text[BASE.len()..]);
    std::fs::write(&path, &text).unwrap();
    let (code, out, err) = ripple(&["run", p(&path), "--format", "json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("warning: rule \"first_signal_pages_oncall\": params_from"),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let warnings = json["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{json}");
    assert!(warnings[0]
        .as_str()
        .unwrap()
        .contains("nothing sets Incident.target"));
    let (code, _, err) = ripple(&["run", p(&path), "--deny", "warnings"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, out, _) = ripple(&["lint", p(&path), "--format", "json"]);
    assert_eq!(code, Some(0));
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(json["warnings"].as_array().unwrap().len(), 1, "{json}");
    let (code, _, _) = ripple(&["lint", p(&path), "--deny", "warnings"]);
    assert_eq!(code, Some(2));
}

#[test]
fn a_cross_entity_id_source_nothing_sets_is_a_warning() {
    let text = BASE.replace(
        "[reaction.then]\n",
        "[reaction.when.guard]\ntype = \"cross_entity_state_in\"\nentity_type = \"Pager\"\nentity_id_source = \"pager_id\"\nrequired_status = [\"Idle\"]\n[reaction.then]\n",
    );
    let path = scenario("cross", "");
    std::fs::write(&path, &text).unwrap();
    let (code, out, err) = ripple(&["lint", p(&path)]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("Incident.pager_id, which nothing sets: the guard is always false"),
        "{err}"
    );
    assert!(out.contains("0 errors, 1 warnings"), "{out}");
}

#[test]
fn a_reflex_pattern_no_event_can_match_and_a_template_key_no_payload_carries_are_warnings() {
    let path = scenario(
        "reflexes",
        "\n[[reflex]]\nid = \"on_bgp\"\ntenant = \"netops\"\npattern = \"sensory.bgp_drop.>\"\nseverity = \"high\"\n\n[[reflex]]\nid = \"by_device\"\ntenant = \"netops\"\npattern = \"sensory.link_down.>\"\nseverity = \"high\"\nthen = { entity_type = \"Incident\", action = \"Open\", id = \"{payload.devcie}\" }\n",
    );
    let (code, out, err) = ripple(&["lint", p(&path), "--format", "json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let warnings: Vec<&str> = json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].contains("reflex \"on_bgp\": no event"),
        "{warnings:#?}"
    );
    assert!(
        warnings[1].contains("{payload.devcie} is in no payload"),
        "{warnings:#?}"
    );
    assert!(
        warnings[1].contains("did you mean \"device\"?"),
        "{warnings:#?}"
    );
}

#[test]
fn the_shipped_scenarios_lint_clean_under_deny_warnings() {
    for name in [
        "agent_loop",
        "cycle",
        "netops",
        "order_payment",
        "pipeline",
        "race",
        "two_tenants",
        "slippage/race_expect",
        "slippage/dropped_authorization",
    ] {
        let path = format!("scenarios/{name}.toml");
        let (code, out, err) = ripple(&["lint", &path, "--deny", "warnings"]);
        assert_eq!(code, Some(0), "{path}: {out}{err}");
    }
}

/// `params_from = { x = "id" }` copies the source's own id (as temper's dispatcher does): no
/// field sets `id`, and none needs to.
#[test]
fn params_from_the_source_id_is_not_a_field_nothing_sets() {
    let text = BASE.replace(
        "action = \"Notify\"\n",
        "action = \"Notify\"\nparams_from = { last_incident = \"id\" }\n",
    );
    let path = scenario("params_from_id", &text[BASE.len()..]);
    std::fs::write(&path, &text).unwrap();
    let (code, out, err) = ripple(&["lint", p(&path), "--deny", "warnings"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!err.contains("warning"), "{err}");
}

/// A name in a rule file is reported at its place in that file, not in the scenario.
#[test]
fn a_rule_files_mistakes_point_into_the_rule_file() {
    let dir = std::env::temp_dir().join(format!("ripple-lint-rules-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("reactions")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    std::fs::copy(
        root.join("order_payment.toml"),
        dir.join("order_payment.toml"),
    )
    .unwrap();
    let rules = std::fs::read_to_string(root.join("reactions/shop.toml"))
        .unwrap()
        .replace("values = [\"Cancelled\"]", "values = [\"Canceled\"]")
        .replace("amount = \"total\"", "amount = \"totl\"");
    std::fs::write(dir.join("reactions/shop.toml"), &rules).unwrap();
    let line_of = |needle: &str| rules.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let (code, _, err) = ripple(&["lint", dir.join("order_payment.toml").to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    let file = dir.join("reactions/shop.toml").display().to_string();
    assert!(
        err.contains(&format!("{file}:{}:", line_of("\"Canceled\""))),
        "{err}"
    );
    assert!(err.contains("did you mean \"Cancelled\"?"), "{err}");
    assert!(
        err.contains(&format!("{file}:{}:", line_of("\"totl\""))),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
