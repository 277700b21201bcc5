//! Bad scenario input, one test per class: every error is a `SourceError` that points at the
//! offending line (and column, where the loader knows it) of the input, names the problem and
//! the thing (rule, tenant, key...), and carries a hint where the loader gives one. Also the
//! CLI end to end: bad input exits 2 with `error: file:line:col`, a good scenario exits 0, and
//! the JSON report carries every documented key.
//!
//! Expected places are computed by searching the input for the offending text, never written
//! as bare numbers, so that editing an input cannot leave a test checking a stale line.
//!
//! Not covered here: what a valid scenario does when it runs (see the engine and sim tests);
//! the rule schema's own unit tests live next to it in `src/engine/rule.rs`.

use ripple::SourceError;
use ripple::{load_scenario, parse_scenario};
use std::path::{Path, PathBuf};
use std::process::Command;

const FILE: &str = "scenarios/x.toml";

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

fn parse_err(text: &str) -> SourceError {
    match parse_scenario(text, Path::new(FILE)) {
        Ok(s) => panic!("expected an error, parsed scenario {:?}\n{text}", s.name),
        Err(e) => e,
    }
}

/// 1-based line and column (in characters) of the `n`th (0-based) occurrence of `needle`.
fn place_of_nth(text: &str, needle: &str, n: usize) -> (usize, usize) {
    let offset = text
        .match_indices(needle)
        .nth(n)
        .unwrap_or_else(|| panic!("occurrence #{n} of {needle:?} not in the input:\n{text}"))
        .0;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn place_of(text: &str, needle: &str) -> (usize, usize) {
    place_of_nth(text, needle, 0)
}

fn line_of(text: &str, needle: &str) -> usize {
    place_of(text, needle).0
}

/// The error is at the first occurrence of `needle`: same line and column.
#[track_caller]
fn assert_at(e: &SourceError, text: &str, needle: &str) {
    assert_at_nth(e, text, needle, 0);
}

#[track_caller]
fn assert_at_nth(e: &SourceError, text: &str, needle: &str, n: usize) {
    let (line, column) = place_of_nth(text, needle, n);
    assert_eq!(
        (e.line, e.column),
        (line, column),
        "error should point at {needle:?} (#{n}); got: {e}\n--- input ---\n{text}"
    );
}

/// The message mentions every one of `parts`.
#[track_caller]
fn assert_mentions(e: &SourceError, parts: &[&str]) {
    for part in parts {
        assert!(
            e.message.contains(part),
            "message should mention {part:?}; got: {e}"
        );
    }
}

#[track_caller]
fn assert_hint(e: &SourceError, part: &str) {
    let hint = e
        .hint
        .as_deref()
        .unwrap_or_else(|| panic!("expected a hint mentioning {part:?}; got: {e}"));
    assert!(
        hint.contains(part),
        "hint should mention {part:?}; got: {e}"
    );
}

/// A unique scratch directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ripple-bad-input-{}-{label}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create temp subdir");
        }
        std::fs::write(&path, text).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn crate_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn ripple(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the ripple binary")
}

// ---------------------------------------------------------------------------------------------
// Inputs. Each is a valid base plus one mistake; `ALL_INPUTS` lists them for the no-panic test.
// ---------------------------------------------------------------------------------------------

/// A scenario that loads: one tenant (`shop`), an `Order` and a `Payment`.
const BASE: &str = r#"[scenario]
name = "x"

[[tenant]]
id = "shop"

[[entity]]
type = "Order"
states = ["Draft", "Confirmed", "Cancelled"]
initial = "Draft"
[[entity.action]]
name = "ConfirmOrder"
from = ["Draft"]
to = "Confirmed"
[[entity.action]]
name = "CancelOrder"
to = "Cancelled"

[[entity]]
type = "Payment"
states = ["Pending", "Authorized"]
initial = "Pending"
[[entity.action]]
name = "AuthorizePayment"
from = ["Pending"]
to = "Authorized"
"#;

fn with(extra: &str) -> String {
    format!("{BASE}\n{extra}\n")
}

/// `BASE` with `[scenario]` extended by `keys`.
fn with_meta(keys: &str) -> String {
    BASE.replacen("name = \"x\"\n", &format!("name = \"x\"\n{keys}\n"), 1)
}

const WHEN: &str = "entity_type = \"Order\"\naction = \"ConfirmOrder\"";
const THEN: &str = "entity_type = \"Payment\"\naction = \"AuthorizePayment\"";
const RESOLVE: &str = "type = \"same_id\"";

/// An inline rule of tenant `shop` (the last `[[tenant]]` of `BASE`). `when` may end with a
/// `[tenant.reaction.when.guard]` table.
fn tenant_rule(name: &str, when: &str, then: &str, resolve: &str) -> String {
    format!(
        "[[tenant.reaction]]\nname = \"{name}\"\n[tenant.reaction.when]\n{when}\n\
         [tenant.reaction.then]\n{then}\n[tenant.reaction.resolve_target]\n{resolve}\n"
    )
}

/// The same rule in a rules file's own schema.
fn file_rule(name: &str, when: &str, then: &str, resolve: &str) -> String {
    format!(
        "[[reaction]]\nname = \"{name}\"\n[reaction.when]\n{when}\n\
         [reaction.then]\n{then}\n[reaction.resolve_target]\n{resolve}\n"
    )
}

fn unknown_top_level_key() -> String {
    with("[[expects]]\ntenant = \"shop\"")
}

fn unknown_key_in_scenario() -> String {
    with_meta("max_dept = 3")
}

fn toml_syntax_error() -> String {
    with("[[event]]\nat = \"0ms\"\ntenant = = \"shop\"")
}

fn duration_without_unit() -> String {
    with_meta("until = \"10\"")
}

fn duration_with_unknown_unit() -> String {
    with("[[event]]\nat = \"3w\"\ntenant = \"shop\"\nsubject = \"a.b\"")
}

fn max_depth_zero() -> String {
    with_meta("max_depth = 0")
}

fn max_depth_too_large() -> String {
    with_meta("max_depth = 65")
}

fn undeclared_tenant_in_event() -> String {
    with("[[event]]\nat = \"0ms\"\ntenant = \"nope\"\nsubject = \"a.b\"")
}

fn undeclared_tenant_in_reflex() -> String {
    with("[[reflex]]\nid = \"r\"\ntenant = \"nope\"\npattern = \"a.>\"")
}

fn undeclared_tenant_in_expect() -> String {
    with("[[expect]]\ntenant = \"nope\"\nentity_type = \"Order\"\nid = \"o1\"")
}

fn duplicate_tenant() -> String {
    BASE.replacen(
        "[[tenant]]\nid = \"shop\"\n",
        "[[tenant]]\nid = \"shop\"\n\n[[tenant]]\nid = \"shop\"\n",
        1,
    )
}

fn initial_not_a_state() -> String {
    BASE.replacen("initial = \"Pending\"", "initial = \"Open\"", 1)
}

fn action_to_unknown_state() -> String {
    BASE.replacen("to = \"Authorized\"", "to = \"Authorised\"", 1)
}

fn action_from_unknown_state() -> String {
    BASE.replacen(
        "from = [\"Pending\"]",
        "from = [\"Pending\", \"Nowhere\"]",
        1,
    )
}

fn bad_requires() -> String {
    with("[[entity.action]]\nname = \"Capture\"\nrequires = \"items >\"")
}

fn bad_effect() -> String {
    with("[[entity.action]]\nname = \"Bump\"\neffect = [\"increment n\", \"bump x\"]")
}

fn duplicate_action() -> String {
    with("[[entity.action]]\nname = \"AuthorizePayment\"\nto = \"Pending\"")
}

fn event_with_subject_and_dispatch() -> String {
    with(
        "[[event]]\nat = \"0ms\"\ntenant = \"shop\"\nsubject = \"a.b\"\n\
         dispatch = { entity_type = \"Order\", id = \"o1\", action = \"ConfirmOrder\" }",
    )
}

fn event_with_neither() -> String {
    with("[[event]]\nat = \"5ms\"\ntenant = \"shop\"")
}

fn event_subject(subject: &str) -> String {
    with(&format!(
        "[[event]]\nat = \"0ms\"\ntenant = \"shop\"\nsubject = \"{subject}\""
    ))
}

fn subject_with_wildcard() -> String {
    event_subject("sensory.link_down.>")
}

fn subject_with_empty_token() -> String {
    event_subject("sensory..r1")
}

fn subject_with_whitespace() -> String {
    event_subject("sensory.link_down.Port 12")
}

fn dispatch_of_unknown_action() -> String {
    with(
        "[[event]]\nat = \"0ms\"\ntenant = \"shop\"\n\
         dispatch = { entity_type = \"Order\", id = \"o1\", action = \"ShipOrder\" }",
    )
}

fn dispatch_of_unknown_entity_type() -> String {
    with(
        "[[event]]\nat = \"0ms\"\ntenant = \"shop\"\n\
         dispatch = { entity_type = \"Invoice\", id = \"i1\", action = \"ConfirmOrder\" }",
    )
}

fn payload_with_dispatch() -> String {
    with(
        "[[event]]\nat = \"0ms\"\ntenant = \"shop\"\n\
         dispatch = { entity_type = \"Order\", id = \"o1\", action = \"ConfirmOrder\" }\n\
         payload = { sku = \"mug\" }",
    )
}

fn reflex_pattern_with_inner_tail_wildcard() -> String {
    with("[[reflex]]\nid = \"r\"\npattern = \"a.>.b\"")
}

fn unknown_builtin() -> String {
    with("[[reflex]]\nbuiltin = \"link-down\"")
}

fn builtin_with_severity() -> String {
    with("[[reflex]]\nbuiltin = \"link_down\"\nseverity = \"high\"")
}

fn builtin_with_zero_dedup_window() -> String {
    with("[[reflex]]\nbuiltin = \"link_down\"\ndedup_window = \"0s\"")
}

fn process_reflex_with_empty_command() -> String {
    with("[[reflex]]\nid = \"flap\"\npattern = \"sensory.link_down.>\"\ncommand = []")
}

fn process_reflex_with_missing_program() -> String {
    with("[[reflex]]\nid = \"flap\"\npattern = \"sensory.link_down.>\"\ncommand = [\"./handlers/nope.sh\"]")
}

fn process_reflex_without_pattern() -> String {
    with("[[reflex]]\nid = \"flap\"\ncommand = [\"python3\", \"flap.py\"]")
}

fn process_reflex_with_then() -> String {
    with("[[reflex]]\nid = \"flap\"\npattern = \"sensory.>\"\ncommand = [\"python3\"]\nthen = { entity_type = \"Order\", action = \"Confirm\", id = \"x\" }")
}

fn webhook_netcortex_does_not_map() -> String {
    with("[[event]]\nat = \"0ms\"\ntenant = \"shop\"\nwebhook = \"meraki\"\npayload = { alertType = \"Motion detected\", deviceSerial = \"Q2\" }")
}

fn unknown_webhook() -> String {
    with("[[event]]\nat = \"0ms\"\ntenant = \"shop\"\nwebhook = \"thousandeyes\"\npayload = { alertType = \"x\" }")
}

fn snmp_poll_without_a_transition() -> String {
    with("[[event]]\nat = \"0ms\"\ntenant = \"shop\"\nsnmp = \"poll\"\npayload = { device = \"r1\", interface = \"Gi0/1\", oper_status = \"down\", prior_oper_status = \"down\" }")
}

fn snmp_trap_without_event_class() -> String {
    with("[[event]]\nat = \"0ms\"\ntenant = \"shop\"\nsnmp = \"trap\"\npayload = { device = \"r1\", interface = \"Gi0/1\" }")
}

fn event_class_without_snmp() -> String {
    with("[[event]]\nat = \"0ms\"\ntenant = \"shop\"\nsubject = \"sensory.link_down.snmp_trap.r1\"\nevent_class = \"link_down\"")
}

fn declarative_reflex_without_id() -> String {
    with("[[reflex]]\ntenant = \"shop\"\npattern = \"sensory.link_down.>\"\nseverity = \"high\"")
}

fn reflex_without_id_or_pattern() -> String {
    with("[[reflex]]\ntenant = \"shop\"\nseverity = \"high\"")
}

fn declarative_reflex_without_pattern() -> String {
    with("[[reflex]]\nid = \"iface_down\"\nseverity = \"high\"")
}

fn reflex_then(then: &str) -> String {
    with(&format!(
        "[[reflex]]\nid = \"pay\"\npattern = \"sensory.pay.>\"\nthen = {then}"
    ))
}

fn reflex_template_with_empty_path() -> String {
    reflex_then("{ entity_type = \"Payment\", action = \"AuthorizePayment\", id = \"{payload.}\" }")
}

fn reflex_template_unclosed() -> String {
    reflex_then(
        "{ entity_type = \"Payment\", action = \"AuthorizePayment\", id = \"{payload.order\" }",
    )
}

fn reflex_then_unknown_action() -> String {
    reflex_then("{ entity_type = \"Payment\", action = \"Refund\", id = \"{payload.order}\" }")
}

fn duplicate_reflex_id() -> String {
    with(
        "[[reflex]]\nid = \"watch\"\ntenant = \"shop\"\npattern = \"a.>\"\n\n\
         [[reflex]]\nid = \"watch\"\ntenant = \"shop\"\npattern = \"b.>\"",
    )
}

fn rule_unknown_resolver_type() -> String {
    with(&tenant_rule("pay", WHEN, THEN, "type = \"same_idd\""))
}

fn rule_resolver_missing_its_key() -> String {
    with(&tenant_rule("pay", WHEN, THEN, "type = \"field\""))
}

fn rule_params_collision() -> String {
    let then = format!("{THEN}\nparams = {{ amount = 1 }}\nparams_from = {{ amount = \"total\" }}");
    with(&tenant_rule("pay", WHEN, &then, RESOLVE))
}

fn rule_guard_too_deep() -> String {
    let when = format!(
        "{WHEN}\n[tenant.reaction.when.guard]\ntype = \"not\"\nguard = {{ type = \"not\", guard = \
         {{ type = \"not\", guard = {{ type = \"not\", guard = {{ type = \"bool_true\", field = \"x\" }} }} }} }}"
    );
    with(&tenant_rule("deep", &when, THEN, RESOLVE))
}

fn rule_unknown_guard_type() -> String {
    let when = format!("{WHEN}\nguard = {{ type = \"state_is\", values = [\"Cancelled\"] }}");
    with(&tenant_rule("g", &when, THEN, RESOLVE))
}

fn rule_unknown_key_in_guard() -> String {
    let when = format!(
        "{WHEN}\n[tenant.reaction.when.guard]\ntype = \"bool_true\"\nfield = \"vip\"\nfiel = \"vip\""
    );
    with(&tenant_rule("g", &when, THEN, RESOLVE))
}

fn rule_then_entity_type_undeclared() -> String {
    let then = "entity_type = \"Invoice\"\naction = \"AuthorizePayment\"";
    with(&tenant_rule("bill", WHEN, then, RESOLVE))
}

fn rule_when_action_not_of_the_type() -> String {
    let when = "entity_type = \"Order\"\naction = \"AuthorizePayment\"";
    with(&tenant_rule("w", when, THEN, RESOLVE))
}

fn rule_when_to_state_not_a_state() -> String {
    let when = format!("{WHEN}\nto_state = \"Shipped\"");
    with(&tenant_rule("w", &when, THEN, RESOLVE))
}

fn duplicate_rule_name() -> String {
    with(&format!(
        "{}\n{}",
        tenant_rule("pay", WHEN, THEN, RESOLVE),
        tenant_rule("pay", "entity_type = \"Order\"", THEN, RESOLVE)
    ))
}

fn expect_absent_with_status() -> String {
    with(
        "[[expect]]\ntenant = \"shop\"\nentity_type = \"Payment\"\nid = \"o2\"\n\
         exists = false\nstatus = \"Authorized\"",
    )
}

fn expect_unknown_status() -> String {
    with("[[expect]]\ntenant = \"shop\"\nentity_type = \"Payment\"\nid = \"o1\"\nstatus = \"Paid\"")
}

/// Builds one bad scenario text.
type Input = fn() -> String;

/// Every scenario text above, for the no-panic test.
const ALL_INPUTS: &[(&str, Input)] = &[
    ("unknown_top_level_key", unknown_top_level_key),
    ("unknown_key_in_scenario", unknown_key_in_scenario),
    ("toml_syntax_error", toml_syntax_error),
    ("duration_without_unit", duration_without_unit),
    ("duration_with_unknown_unit", duration_with_unknown_unit),
    ("max_depth_zero", max_depth_zero),
    ("max_depth_too_large", max_depth_too_large),
    ("undeclared_tenant_in_event", undeclared_tenant_in_event),
    ("undeclared_tenant_in_reflex", undeclared_tenant_in_reflex),
    ("undeclared_tenant_in_expect", undeclared_tenant_in_expect),
    ("duplicate_tenant", duplicate_tenant),
    ("initial_not_a_state", initial_not_a_state),
    ("action_to_unknown_state", action_to_unknown_state),
    ("action_from_unknown_state", action_from_unknown_state),
    ("bad_requires", bad_requires),
    ("bad_effect", bad_effect),
    ("duplicate_action", duplicate_action),
    (
        "event_with_subject_and_dispatch",
        event_with_subject_and_dispatch,
    ),
    ("event_with_neither", event_with_neither),
    ("subject_with_wildcard", subject_with_wildcard),
    ("subject_with_empty_token", subject_with_empty_token),
    ("subject_with_whitespace", subject_with_whitespace),
    ("dispatch_of_unknown_action", dispatch_of_unknown_action),
    (
        "dispatch_of_unknown_entity_type",
        dispatch_of_unknown_entity_type,
    ),
    ("payload_with_dispatch", payload_with_dispatch),
    (
        "reflex_pattern_with_inner_tail_wildcard",
        reflex_pattern_with_inner_tail_wildcard,
    ),
    ("unknown_builtin", unknown_builtin),
    ("builtin_with_severity", builtin_with_severity),
    (
        "builtin_with_zero_dedup_window",
        builtin_with_zero_dedup_window,
    ),
    (
        "process_reflex_with_empty_command",
        process_reflex_with_empty_command,
    ),
    (
        "process_reflex_with_missing_program",
        process_reflex_with_missing_program,
    ),
    (
        "process_reflex_without_pattern",
        process_reflex_without_pattern,
    ),
    ("process_reflex_with_then", process_reflex_with_then),
    (
        "webhook_netcortex_does_not_map",
        webhook_netcortex_does_not_map,
    ),
    ("unknown_webhook", unknown_webhook),
    (
        "snmp_poll_without_a_transition",
        snmp_poll_without_a_transition,
    ),
    (
        "snmp_trap_without_event_class",
        snmp_trap_without_event_class,
    ),
    ("event_class_without_snmp", event_class_without_snmp),
    (
        "declarative_reflex_without_id",
        declarative_reflex_without_id,
    ),
    ("reflex_without_id_or_pattern", reflex_without_id_or_pattern),
    (
        "declarative_reflex_without_pattern",
        declarative_reflex_without_pattern,
    ),
    (
        "reflex_template_with_empty_path",
        reflex_template_with_empty_path,
    ),
    ("reflex_template_unclosed", reflex_template_unclosed),
    ("reflex_then_unknown_action", reflex_then_unknown_action),
    ("duplicate_reflex_id", duplicate_reflex_id),
    ("rule_unknown_resolver_type", rule_unknown_resolver_type),
    (
        "rule_resolver_missing_its_key",
        rule_resolver_missing_its_key,
    ),
    ("rule_params_collision", rule_params_collision),
    ("rule_guard_too_deep", rule_guard_too_deep),
    ("rule_unknown_guard_type", rule_unknown_guard_type),
    ("rule_unknown_key_in_guard", rule_unknown_key_in_guard),
    (
        "rule_then_entity_type_undeclared",
        rule_then_entity_type_undeclared,
    ),
    (
        "rule_when_action_not_of_the_type",
        rule_when_action_not_of_the_type,
    ),
    (
        "rule_when_to_state_not_a_state",
        rule_when_to_state_not_a_state,
    ),
    ("duplicate_rule_name", duplicate_rule_name),
    ("expect_absent_with_status", expect_absent_with_status),
    ("expect_unknown_status", expect_unknown_status),
];

// ---------------------------------------------------------------------------------------------
// The base is valid: every error below comes from the one mistake added to it.
// ---------------------------------------------------------------------------------------------

#[test]
fn base_scenario_and_its_rule_fragments_load() {
    let s = parse_scenario(BASE, Path::new(FILE)).unwrap();
    assert_eq!(s.entities.len(), 2);
    let text = with(&tenant_rule("pay", WHEN, THEN, RESOLVE));
    let s = parse_scenario(&text, Path::new(FILE)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.rules.values().map(Vec::len).sum::<usize>(), 1);
}

// ---------------------------------------------------------------------------------------------
// File structure and [scenario].
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_top_level_key_is_rejected_at_its_line() {
    let text = unknown_top_level_key();
    let e = parse_err(&text);
    assert_eq!(e.file, Path::new(FILE));
    assert_mentions(&e, &["`expects`"]);
    assert_eq!(e.line, line_of(&text, "[[expects]]"), "{e}");
    assert_hint(&e, "spelling");
}

#[test]
fn unknown_key_in_scenario_table_is_rejected_at_the_key() {
    let text = unknown_key_in_scenario();
    let e = parse_err(&text);
    assert_mentions(&e, &["`max_dept`"]);
    assert_at(&e, &text, "max_dept");
    assert_hint(&e, "spelling");
}

#[test]
fn toml_syntax_error_points_at_the_broken_line() {
    let text = toml_syntax_error();
    let e = parse_err(&text);
    assert!(!e.message.is_empty(), "{e:?}");
    assert!(!e.message.contains('\n'), "one-line message: {e:?}");
    assert_eq!(e.line, line_of(&text, "tenant = = "), "{e}");
    assert!(e.column > 1, "{e}");
}

#[test]
fn duration_without_unit_is_rejected() {
    let text = duration_without_unit();
    let e = parse_err(&text);
    assert_mentions(&e, &["\"10\"", "missing unit", "10ms"]);
    assert_at(&e, &text, "\"10\"");
}

#[test]
fn duration_with_unknown_unit_is_rejected() {
    let text = duration_with_unknown_unit();
    let e = parse_err(&text);
    assert_mentions(&e, &["\"3w\"", "unknown unit", "\"w\""]);
    assert_at(&e, &text, "\"3w\"");
}

#[test]
fn max_depth_out_of_range_is_rejected_with_the_range() {
    for text in [max_depth_zero(), max_depth_too_large()] {
        let e = parse_err(&text);
        assert_mentions(&e, &["max_depth", "out of range"]);
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix("max_depth = "))
            .unwrap();
        assert_mentions(&e, &[&format!("max_depth = {value}")]);
        assert_at(&e, &text, &format!("{value}\n"));
        assert_hint(&e, "1..=64");
    }
}

// ---------------------------------------------------------------------------------------------
// Tenants.
// ---------------------------------------------------------------------------------------------

#[test]
fn undeclared_tenant_is_rejected_in_events_reflexes_and_expects() {
    for text in [
        undeclared_tenant_in_event(),
        undeclared_tenant_in_reflex(),
        undeclared_tenant_in_expect(),
    ] {
        let e = parse_err(&text);
        assert_mentions(&e, &["tenant \"nope\"", "not declared"]);
        assert_at(&e, &text, "\"nope\"");
        assert_hint(&e, "[[tenant]]");
        assert_hint(&e, "shop");
    }
}

#[test]
fn duplicate_tenant_is_rejected_at_the_second_declaration() {
    let text = duplicate_tenant();
    let e = parse_err(&text);
    assert_mentions(&e, &["tenant \"shop\"", "twice"]);
    assert_at_nth(&e, &text, "\"shop\"", 1);
    assert_hint(&e, "merge");
}

// ---------------------------------------------------------------------------------------------
// Entities and actions.
// ---------------------------------------------------------------------------------------------

#[test]
fn initial_state_not_among_the_states_is_rejected() {
    let text = initial_not_a_state();
    let e = parse_err(&text);
    assert_mentions(&e, &["\"Open\"", "Payment", "not a state"]);
    assert_at(&e, &text, "\"Open\"");
    assert_hint(&e, "Pending, Authorized");
}

#[test]
fn action_to_an_unknown_state_is_rejected() {
    let text = action_to_unknown_state();
    let e = parse_err(&text);
    assert_mentions(
        &e,
        &["Payment.AuthorizePayment", "to state", "\"Authorised\""],
    );
    assert_at(&e, &text, "\"Authorised\"");
    assert_hint(&e, "Authorized");
}

#[test]
fn action_from_an_unknown_state_is_rejected() {
    let text = action_from_unknown_state();
    let e = parse_err(&text);
    assert_mentions(
        &e,
        &["Payment.AuthorizePayment", "from state", "\"Nowhere\""],
    );
    // `from` is spanned as a whole: the error points at the list.
    assert_at(&e, &text, "[\"Pending\", \"Nowhere\"]");
    assert_hint(&e, "Pending");
}

#[test]
fn requires_without_a_value_is_rejected() {
    let text = bad_requires();
    let e = parse_err(&text);
    assert_mentions(&e, &["requires", "\"items >\""]);
    assert_at(&e, &text, "\"items >\"");
}

#[test]
fn unknown_effect_is_rejected_at_that_effect() {
    let text = bad_effect();
    let e = parse_err(&text);
    assert_mentions(&e, &["effect", "\"bump x\"", "unknown effect", "increment"]);
    assert_at(&e, &text, "\"bump x\"");
}

#[test]
fn duplicate_action_is_rejected_at_the_second_one() {
    let text = duplicate_action();
    let e = parse_err(&text);
    assert_mentions(&e, &["AuthorizePayment", "Payment", "twice"]);
    assert_at_nth(&e, &text, "\"AuthorizePayment\"", 1);
}

// ---------------------------------------------------------------------------------------------
// Events.
// ---------------------------------------------------------------------------------------------

#[test]
fn event_with_both_subject_and_dispatch_is_rejected() {
    let text = event_with_subject_and_dispatch();
    let e = parse_err(&text);
    assert_mentions(&e, &["event #0", "`subject`", "`dispatch`"]);
    assert_at(&e, &text, "\"a.b\"");
    assert_hint(&e, "split");
}

#[test]
fn event_with_neither_subject_nor_dispatch_is_rejected() {
    let text = event_with_neither();
    let e = parse_err(&text);
    assert_mentions(&e, &["event #0", "neither"]);
    assert_at(&e, &text, "\"5ms\"");
    assert_hint(&e, "dispatch");
}

#[test]
fn invalid_publish_subject_is_rejected() {
    let cases = [
        (subject_with_wildcard(), "sensory.link_down.>", "wildcard"),
        (subject_with_empty_token(), "sensory..r1", "empty token"),
        (
            subject_with_whitespace(),
            "sensory.link_down.Port 12",
            "whitespace",
        ),
    ];
    for (text, subject, problem) in cases {
        let e = parse_err(&text);
        assert_mentions(&e, &["event #0", "invalid subject", subject, problem]);
        assert_at(&e, &text, &format!("\"{subject}\""));
        assert_hint(&e, "dot-separated");
    }
}

#[test]
fn dispatch_of_an_unknown_action_is_rejected() {
    let text = dispatch_of_unknown_action();
    let e = parse_err(&text);
    assert_mentions(&e, &["event #0", "\"ShipOrder\"", "not an action of Order"]);
    assert_at(&e, &text, "{ entity_type = \"Order\"");
    assert_hint(&e, "CancelOrder, ConfirmOrder");
}

#[test]
fn dispatch_of_an_unknown_entity_type_is_rejected() {
    let text = dispatch_of_unknown_entity_type();
    let e = parse_err(&text);
    assert_mentions(&e, &["event #0", "\"Invoice\"", "not declared"]);
    assert_at(&e, &text, "{ entity_type = \"Invoice\"");
    assert_hint(&e, "[[entity]]");
}

#[test]
fn payload_with_dispatch_is_rejected_at_the_payload() {
    let text = payload_with_dispatch();
    let e = parse_err(&text);
    assert_mentions(&e, &["event #0", "`payload`", "`dispatch`"]);
    assert_at(&e, &text, "{ sku = ");
    assert_hint(&e, "dispatch.params");
}

// ---------------------------------------------------------------------------------------------
// Reflexes.
// ---------------------------------------------------------------------------------------------

#[test]
fn reflex_pattern_with_tail_wildcard_not_last_is_rejected() {
    let text = reflex_pattern_with_inner_tail_wildcard();
    let e = parse_err(&text);
    assert_mentions(&e, &["reflex \"r\"", "invalid pattern", "a.>.b", "last"]);
    assert_at(&e, &text, "\"a.>.b\"");
    assert_hint(&e, "`>`");
}

#[test]
fn unknown_builtin_reflex_is_rejected_with_the_known_ones() {
    let text = unknown_builtin();
    let e = parse_err(&text);
    assert_mentions(&e, &["unknown builtin", "\"link-down\""]);
    assert_at(&e, &text, "\"link-down\"");
    assert_hint(&e, "link_down, bgp_drop, security_alert");
}

#[test]
fn builtin_reflex_with_a_severity_is_rejected() {
    let text = builtin_with_severity();
    let e = parse_err(&text);
    assert_mentions(&e, &["builtin reflex \"link_down\"", "`severity`"]);
    assert_at(&e, &text, "\"high\"");
    assert_hint(&e, "`pattern` and `dedup_window`");
}

#[test]
fn builtin_dedup_window_of_zero_is_rejected() {
    let text = builtin_with_zero_dedup_window();
    let e = parse_err(&text);
    assert_mentions(&e, &["\"link_down\"", "dedup_window must be positive"]);
    assert_at(&e, &text, "\"0s\"");
    assert_hint(&e, "1m");
}

#[test]
fn process_reflex_with_an_empty_command_is_rejected() {
    let text = process_reflex_with_empty_command();
    let e = parse_err(&text);
    assert_mentions(&e, &["reflex \"flap\"", "`command` is empty"]);
    assert_at(&e, &text, "[]");
    assert_hint(&e, "python3");
}

#[test]
fn process_reflex_whose_program_is_missing_is_rejected() {
    let text = process_reflex_with_missing_program();
    let e = parse_err(&text);
    assert_mentions(
        &e,
        &["reflex \"flap\"", "\"./handlers/nope.sh\"", "is not in"],
    );
    assert_at(&e, &text, "[\"./handlers/nope.sh\"]");
    assert_hint(&e, "relative to the scenario");
}

#[test]
fn process_reflex_without_a_pattern_is_rejected() {
    let text = process_reflex_without_pattern();
    let e = parse_err(&text);
    assert_mentions(&e, &["reflex \"flap\"", "`pattern`"]);
    assert_at(&e, &text, "\"flap\"");
    assert_hint(&e, "pattern = ");
}

#[test]
fn process_reflex_with_a_then_is_rejected() {
    let text = process_reflex_with_then();
    let e = parse_err(&text);
    assert_mentions(&e, &["process reflex \"flap\"", "`then`"]);
    assert_at(&e, &text, "{ entity_type");
    assert_hint(&e, "answers");
}

#[test]
fn a_webhook_netcortex_would_not_publish_is_rejected_with_the_reason() {
    let text = webhook_netcortex_does_not_map();
    let e = parse_err(&text);
    assert_mentions(
        &e,
        &[
            "event #0",
            "\"Motion detected\"",
            "publishes nothing",
            "port_connectivity",
        ],
    );
    assert_at(&e, &text, "{ alertType");
    assert_hint(&e, "subject = ");
}

#[test]
fn an_unknown_webhook_is_rejected() {
    let text = unknown_webhook();
    let e = parse_err(&text);
    assert_mentions(&e, &["event #0", "unknown webhook \"thousandeyes\""]);
    assert_at(&e, &text, "\"thousandeyes\"");
    assert_hint(&e, "webhook = \"meraki\"");
}

#[test]
fn an_snmp_poll_without_a_transition_is_rejected() {
    let text = snmp_poll_without_a_transition();
    let e = parse_err(&text);
    assert_mentions(&e, &["event #0", "no transition"]);
    assert_at(&e, &text, "{ device");
}

#[test]
fn an_snmp_trap_without_an_event_class_is_rejected() {
    let text = snmp_trap_without_event_class();
    let e = parse_err(&text);
    assert_mentions(&e, &["event #0", "`event_class`"]);
    assert_at(&e, &text, "\"trap\"");
    assert_hint(&e, "bgp_drop");
}

#[test]
fn an_event_class_without_snmp_is_rejected() {
    let text = event_class_without_snmp();
    let e = parse_err(&text);
    assert_mentions(&e, &["event #0", "`event_class`"]);
    assert_at(&e, &text, "\"link_down\"\n");
}

#[test]
fn declarative_reflex_without_id_is_rejected() {
    let text = declarative_reflex_without_id();
    let e = parse_err(&text);
    assert_mentions(&e, &["`id`"]);
    assert_at(&e, &text, "\"sensory.link_down.>\"");
    assert_hint(&e, "id = ");
}

#[test]
fn declarative_reflex_without_pattern_is_rejected() {
    let text = declarative_reflex_without_pattern();
    let e = parse_err(&text);
    assert_mentions(&e, &["reflex \"iface_down\"", "`pattern`"]);
    assert_at(&e, &text, "\"iface_down\"");
    assert_hint(&e, "pattern = ");
}

#[test]
fn reflex_without_id_or_pattern_points_at_its_own_table() {
    let text = reflex_without_id_or_pattern();
    let e = parse_err(&text);
    assert_mentions(&e, &["`id`"]);
    let first = line_of(&text, "[[reflex]]");
    let last = line_of(&text, "severity = \"high\"");
    assert!((first..=last).contains(&e.line), "{e}");
}

#[test]
fn bad_reflex_template_is_rejected() {
    let cases = [
        (
            reflex_template_with_empty_path(),
            "{payload.}",
            "empty path segment",
        ),
        (reflex_template_unclosed(), "{payload.order", "not closed"),
    ];
    for (text, template, problem) in cases {
        let e = parse_err(&text);
        assert_mentions(&e, &["reflex \"pay\"", "then.id", template, problem]);
        assert_at(&e, &text, "{ entity_type = \"Payment\"");
        assert_hint(&e, "{payload.a.b}");
    }
}

#[test]
fn reflex_then_naming_an_unknown_action_is_rejected() {
    let text = reflex_then_unknown_action();
    let e = parse_err(&text);
    assert_mentions(&e, &["reflex \"pay\" then", "\"Refund\"", "Payment"]);
    assert_at(&e, &text, "{ entity_type = \"Payment\"");
    assert_hint(&e, "AuthorizePayment");
}

#[test]
fn two_reflexes_with_one_id_in_a_tenant_are_rejected() {
    let text = duplicate_reflex_id();
    let e = parse_err(&text);
    assert_mentions(&e, &["watch", "shop"]);
    assert_at_nth(&e, &text, "\"watch\"", 1);
    assert_hint(&e, "own id");
}

// ---------------------------------------------------------------------------------------------
// Rules (inline).
// ---------------------------------------------------------------------------------------------

#[test]
fn rule_with_unknown_resolver_type_is_rejected() {
    let text = rule_unknown_resolver_type();
    let e = parse_err(&text);
    assert_mentions(
        &e,
        &[
            "rule \"pay\"",
            "unknown resolver type `same_idd`",
            "`same_id`",
        ],
    );
    assert_at(&e, &text, "\"same_idd\"");
    assert_hint(&e, "snake_case");
}

#[test]
fn rule_resolver_missing_its_key_is_rejected() {
    let text = rule_resolver_missing_its_key();
    let e = parse_err(&text);
    assert_mentions(
        &e,
        &[
            "rule \"pay\"",
            "`field` resolver is missing its `field` key",
        ],
    );
    assert_at(&e, &text, "\"field\"");
    assert_hint(&e, "add");
}

#[test]
fn rule_params_and_params_from_collision_is_rejected() {
    let text = rule_params_collision();
    let e = parse_err(&text);
    assert_mentions(&e, &["rule \"pay\"", "`amount`", "params_from"]);
    assert_at(&e, &text, "amount = \"total\"");
    assert_hint(&e, "one of them");
}

#[test]
fn rule_guard_over_the_depth_budget_is_rejected() {
    let text = rule_guard_too_deep();
    let e = parse_err(&text);
    assert_mentions(&e, &["rule \"deep\"", "5 levels", "at most 4"]);
    assert_eq!(
        e.line,
        line_of(&text, "[tenant.reaction.when.guard]"),
        "{e}"
    );
    assert_hint(&e, "flatten");
}

#[test]
fn rule_with_unknown_guard_type_is_rejected() {
    let text = rule_unknown_guard_type();
    let e = parse_err(&text);
    assert_mentions(&e, &["rule \"g\"", "state_is", "`state_in`"]);
    assert_at(&e, &text, "\"state_is\"");
    assert!(e.hint.is_some(), "{e}");
}

#[test]
fn unknown_key_in_a_guard_is_rejected_at_the_key() {
    let text = rule_unknown_key_in_guard();
    let e = parse_err(&text);
    assert_mentions(&e, &["`fiel`"]);
    assert_at(&e, &text, "fiel =");
    assert_hint(&e, "spelling");
}

#[test]
fn unknown_key_in_an_inline_rule_names_the_rule() {
    let text = rule_unknown_key_in_guard();
    let e = parse_err(&text);
    assert_mentions(&e, &["rule \"g\"", "`fiel`"]);
}

#[test]
fn rule_whose_then_entity_type_is_undeclared_is_rejected() {
    let text = rule_then_entity_type_undeclared();
    let e = parse_err(&text);
    assert_mentions(&e, &["rule \"bill\"", "then.entity_type", "\"Invoice\""]);
    // Checks against the declared entities point at the rule's name: `when` and `then` keep
    // no spans (the key's own line would be better).
    assert_at(&e, &text, "\"bill\"");
    assert_hint(&e, "Order, Payment");
}

#[test]
fn rule_whose_when_action_is_not_of_the_type_is_rejected() {
    let text = rule_when_action_not_of_the_type();
    let e = parse_err(&text);
    assert_mentions(
        &e,
        &["rule \"w\"", "when.action", "\"AuthorizePayment\"", "Order"],
    );
    assert_at(&e, &text, "\"w\"");
    assert_hint(&e, "CancelOrder, ConfirmOrder");
}

#[test]
fn rule_whose_when_to_state_is_not_a_state_is_rejected() {
    let text = rule_when_to_state_not_a_state();
    let e = parse_err(&text);
    assert_mentions(&e, &["rule \"w\"", "when.to_state", "\"Shipped\"", "Order"]);
    assert_at(&e, &text, "\"w\"");
    assert_hint(&e, "Draft, Confirmed, Cancelled");
}

#[test]
fn duplicate_rule_name_in_a_tenant_is_rejected_at_the_second() {
    let text = duplicate_rule_name();
    let e = parse_err(&text);
    assert_mentions(&e, &["rule \"pay\"", "twice", "shop"]);
    assert_at_nth(&e, &text, "\"pay\"", 1);
    assert_hint(&e, "rename");
}

// ---------------------------------------------------------------------------------------------
// Rules files.
// ---------------------------------------------------------------------------------------------

fn with_rules_files(files: &str) -> String {
    BASE.replacen(
        "[[tenant]]\nid = \"shop\"\n",
        &format!("[[tenant]]\nid = \"shop\"\nreactions = [\n  {files},\n]\n"),
        1,
    )
}

#[test]
fn missing_rules_file_is_named_at_its_reactions_entry() {
    let dir = TempDir::new("missing");
    let text = with_rules_files("\"reactions/shop.toml\", \"reactions/gone.toml\"");
    dir.write(
        "reactions/shop.toml",
        &file_rule("pay", WHEN, THEN, RESOLVE),
    );
    let path = dir.write("s.toml", &text);
    let e = load_scenario(&path).unwrap_err();
    assert_eq!(e.file, path, "{e}");
    assert_mentions(&e, &["failed to read rule file", "gone.toml"]);
    let full = dir.0.join("reactions/gone.toml");
    assert_mentions(&e, &[&full.display().to_string()]);
    assert_at(&e, &text, "\"reactions/gone.toml\"");
    assert_hint(&e, "relative to the scenario file");
}

fn error_inside_rules_file() -> (TempDir, PathBuf, PathBuf, String) {
    let dir = TempDir::new("inside");
    let rules = format!(
        "# The shop's rules.\n\n{}\n{}",
        file_rule("pay", WHEN, THEN, RESOLVE),
        file_rule("void", WHEN, THEN, "type = \"static\""),
    );
    let rules_path = dir.write("reactions/shop.toml", &rules);
    let path = dir.write("s.toml", &with_rules_files("\"reactions/shop.toml\""));
    (dir, path, rules_path, rules)
}

#[test]
fn error_inside_a_rules_file_points_into_that_file() {
    let (_dir, path, rules_path, rules) = error_inside_rules_file();
    let e = load_scenario(&path).unwrap_err();
    assert_eq!(e.file, rules_path, "{e}");
    assert_mentions(
        &e,
        &[
            "rule \"void\"",
            "`static` resolver is missing its `entity_id` key",
        ],
    );
    assert_at(&e, &rules, "\"static\"");
    assert_hint(&e, "add");
}

#[test]
fn unknown_key_in_a_rules_file_names_the_rule_and_the_file() {
    let dir = TempDir::new("fiel");
    let when = format!("{WHEN}\nguard = {{ type = \"bool_true\", fiel = \"vip\" }}");
    let rules = format!(
        "{}\n{}",
        file_rule("pay", WHEN, THEN, RESOLVE),
        file_rule("g", &when, THEN, RESOLVE)
    );
    let rules_path = dir.write("reactions/shop.toml", &rules);
    let path = dir.write("s.toml", &with_rules_files("\"reactions/shop.toml\""));
    let e = load_scenario(&path).unwrap_err();
    assert_eq!(e.file, rules_path, "{e}");
    assert_mentions(&e, &["rule \"g\"", "`fiel`"]);
    assert_at(&e, &rules, "fiel");
    assert_hint(&e, "spelling");
}

#[test]
fn rule_in_a_file_naming_an_undeclared_type_points_into_that_file() {
    let dir = TempDir::new("undeclared");
    let rules = format!(
        "{}\n{}",
        file_rule("pay", WHEN, THEN, RESOLVE),
        file_rule(
            "bill",
            WHEN,
            "entity_type = \"Invoice\"\naction = \"Send\"",
            RESOLVE
        )
    );
    let rules_path = dir.write("reactions/shop.toml", &rules);
    let path = dir.write("s.toml", &with_rules_files("\"reactions/shop.toml\""));
    let e = load_scenario(&path).unwrap_err();
    assert_eq!(e.file, rules_path, "{e}");
    assert_mentions(&e, &["rule \"bill\"", "then.entity_type", "\"Invoice\""]);
    assert_at(&e, &rules, "\"bill\"");
}

#[test]
fn duplicate_rule_name_across_a_rules_file_points_at_the_second() {
    let dir = TempDir::new("dup");
    let rules = format!(
        "{}\n{}",
        file_rule("pay", WHEN, THEN, RESOLVE),
        file_rule("pay", "entity_type = \"Order\"", THEN, RESOLVE)
    );
    let rules_path = dir.write("reactions/shop.toml", &rules);
    let path = dir.write("s.toml", &with_rules_files("\"reactions/shop.toml\""));
    let e = load_scenario(&path).unwrap_err();
    assert_eq!(e.file, rules_path, "{e}");
    assert_mentions(&e, &["rule \"pay\"", "twice", "shop"]);
    assert_at_nth(&e, &rules, "\"pay\"", 1);
}

#[test]
fn rule_error_in_a_file_points_at_that_rule_not_an_earlier_mention_of_its_name() {
    let dir = TempDir::new("mention");
    let rules = format!(
        "# \"bill\" sends the invoice once the order is confirmed.\n\n{}",
        file_rule(
            "bill",
            WHEN,
            "entity_type = \"Invoice\"\naction = \"Send\"",
            RESOLVE
        )
    );
    let rules_path = dir.write("reactions/shop.toml", &rules);
    let path = dir.write("s.toml", &with_rules_files("\"reactions/shop.toml\""));
    let e = load_scenario(&path).unwrap_err();
    assert_eq!(e.file, rules_path, "{e}");
    assert_mentions(&e, &["rule \"bill\"", "\"Invoice\""]);
    assert_at_nth(&e, &rules, "\"bill\"", 1);
}

// ---------------------------------------------------------------------------------------------
// Expectations.
// ---------------------------------------------------------------------------------------------

#[test]
fn expect_absent_entity_with_a_status_is_rejected() {
    let text = expect_absent_with_status();
    let e = parse_err(&text);
    assert_mentions(&e, &["`exists = false`", "status"]);
    // Pointed at the expectation's `id` (`exists` keeps no span).
    assert_at(&e, &text, "\"o2\"");
    assert_hint(&e, "remove status");
}

#[test]
fn expect_with_an_unknown_status_is_rejected() {
    let text = expect_unknown_status();
    let e = parse_err(&text);
    assert_mentions(&e, &["\"Paid\"", "not a state of Payment"]);
    assert_at(&e, &text, "\"Paid\"");
    assert_hint(&e, "Pending, Authorized");
}

// ---------------------------------------------------------------------------------------------
// No panics.
// ---------------------------------------------------------------------------------------------

/// Inputs beyond the classes above: odd shapes that must still come back as errors.
fn odd_inputs() -> Vec<(&'static str, String)> {
    let deep_guard = {
        let mut g = "{ type = \"bool_true\", field = \"x\" }".to_string();
        for _ in 0..200 {
            g = format!("{{ type = \"not\", guard = {g} }}");
        }
        with(&tenant_rule(
            "deep",
            &format!("{WHEN}\nguard = {g}"),
            THEN,
            RESOLVE,
        ))
    };
    vec![
        ("empty file", String::new()),
        ("no [scenario]", "[[tenant]]\nid = \"shop\"\n".into()),
        ("scenario not a table", "scenario = 3\n".into()),
        ("empty name", BASE.replacen("name = \"x\"", "name = \" \"", 1)),
        ("negative max_depth", with_meta("max_depth = -1")),
        ("float max_depth", with_meta("max_depth = 8.5")),
        ("huge duration", with_meta("until = \"99999999999999999999h\"")),
        ("overflowing duration", with_meta("until = \"9999999999999999h\"")),
        ("unicode duration", with_meta("until = \"10é\"")),
        ("empty duration", with_meta("until = \"\"")),
        ("zero steps_max", with_meta("steps_max = 0")),
        ("empty tenant", with("[[tenant]]\nid = \"\"")),
        ("empty subject", event_subject("")),
        ("unicode template", reflex_then(
            "{ entity_type = \"Payment\", action = \"AuthorizePayment\", id = \"é{payload.é\" }",
        )),
        ("stray closing brace", reflex_then(
            "{ entity_type = \"Payment\", action = \"AuthorizePayment\", id = \"é}\" }",
        )),
        ("empty then.id", reflex_then(
            "{ entity_type = \"Payment\", action = \"AuthorizePayment\", id = \"\" }",
        )),
        ("bad severity", with("[[reflex]]\nid = \"r\"\npattern = \"a\"\nseverity = \"urgent\"")),
        ("builtin with another id", with("[[reflex]]\nid = \"mine\"\nbuiltin = \"bgp_drop\"")),
        ("entity with no states", with("[[entity]]\ntype = \"X\"\nstates = []\ninitial = \"A\"")),
        ("entity type with a dot", with("[[entity]]\ntype = \"X.Y\"\nstates = [\"A\"]\ninitial = \"A\"")),
        ("state listed twice", with("[[entity]]\ntype = \"X\"\nstates = [\"A\", \"A\"]\ninitial = \"A\"")),
        ("requires with no operator", with("[[entity.action]]\nname = \"N\"\nrequires = \"items\"")),
        ("requires ordering a string", with("[[entity.action]]\nname = \"N\"\nrequires = \"a > 'x'\"")),
        ("requires empty", with("[[entity.action]]\nname = \"N\"\nrequires = \"\"")),
        ("effect empty", with("[[entity.action]]\nname = \"N\"\neffect = [\"\"]")),
        ("effect set without value", with("[[entity.action]]\nname = \"N\"\neffect = [\"set x\"]")),
        ("top-level rule, no tenant", {
            let t = BASE.replacen("[[tenant]]\nid = \"shop\"\n", "", 1);
            format!("{t}\n{}", file_rule("r", WHEN, THEN, RESOLVE))
        }),
        ("guard 200 deep", deep_guard),
        ("empty rule name", with(&tenant_rule("", WHEN, THEN, RESOLVE))),
        ("payload datetime with dispatch", with(
            "[[event]]\nat = \"0ms\"\ntenant = \"shop\"\npayload = 1979-05-27T07:32:00Z\n\
             dispatch = { entity_type = \"Order\", id = \"o1\", action = \"ConfirmOrder\" }",
        )),
        ("empty dispatch id", with(
            "[[event]]\nat = \"0ms\"\ntenant = \"shop\"\n\
             dispatch = { entity_type = \"Order\", id = \"\", action = \"ConfirmOrder\" }",
        )),
        ("expect of an undeclared type", with(
            "[[expect]]\ntenant = \"shop\"\nentity_type = \"Nope\"\nid = \"o1\"",
        )),
        ("invalid utf-8 escape", with_meta("description = \"\\uD800\"")),
    ]
}

#[test]
fn no_bad_input_makes_the_loader_panic() {
    let mut inputs: Vec<(String, String)> = ALL_INPUTS
        .iter()
        .map(|(name, input)| (name.to_string(), input()))
        .collect();
    inputs.extend(odd_inputs().into_iter().map(|(n, t)| (n.to_string(), t)));
    let mut failures = Vec::new();
    for (name, text) in &inputs {
        let result = std::panic::catch_unwind(|| parse_scenario(text, Path::new(FILE)));
        match result {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok(Ok(_)) => failures.push(format!("{name}: loaded without an error")),
            Ok(Err(e)) => {
                if e.message.trim().is_empty() {
                    failures.push(format!("{name}: empty message"));
                }
                if e.line == 0 {
                    failures.push(format!("{name}: no line: {e}"));
                }
                if e.hint.as_deref().is_none_or(|h| h.trim().is_empty()) {
                    failures.push(format!("{name}: no hint: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The CLI, end to end.
// ---------------------------------------------------------------------------------------------

#[test]
fn cli_rejects_a_bad_scenario_with_status_2_and_its_place() {
    let dir = TempDir::new("cli");
    let text = unknown_key_in_scenario();
    let path = dir.write("bad.toml", &text);
    let out = ripple(&["run", path.to_str().unwrap(), "--seed", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    let (line, column) = place_of(&text, "max_dept");
    let place = format!("{}:{line}:{column}", path.display());
    assert!(stderr.contains(&place), "expected {place:?} in: {stderr}");
    assert!(stderr.contains("max_dept"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout for bad input");
}

#[test]
fn cli_missing_scenario_file_exits_2_naming_the_path() {
    let path = std::env::temp_dir().join(format!(
        "ripple-bad-input-{}-no-such-scenario.toml",
        std::process::id()
    ));
    let out = ripple(&["run", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains(&path.display().to_string()),
        "expected the path in: {stderr}"
    );
}

#[test]
fn cli_runs_the_order_payment_scenario_and_passes() {
    let scenario = crate_path("scenarios/order_payment.toml");
    let out = ripple(&["run", scenario.to_str().unwrap(), "--seed", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!out.stdout.is_empty());
}

#[test]
fn cli_json_report_is_one_line_with_every_key() {
    let scenario = crate_path("scenarios/order_payment.toml");
    let out = ripple(&[
        "run",
        scenario.to_str().unwrap(),
        "--seed",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8 report");
    assert_eq!(stdout.lines().count(), 1, "one line of JSON: {stdout}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim_end()).expect("valid JSON");
    for key in [
        "version",
        "scenario",
        "seed",
        "verdict",
        "trace_hash",
        "steps",
        "virtual_time_ms",
        "violations",
        "reactions",
        "outcomes",
        "entities",
    ] {
        assert!(report.get(key).is_some(), "missing key {key:?}: {report}");
    }
    assert!(report["version"].is_u64(), "{report}");
    assert_eq!(report["scenario"], "order-payment");
    assert_eq!(report["seed"], 1);
    assert_eq!(report["verdict"], "pass");
    assert!(report["violations"].as_array().unwrap().is_empty());
    assert!(report["steps"].as_u64().unwrap() > 0);
    assert!(report["entities"].as_array().is_some_and(|e| !e.is_empty()));
    let reactions = report["reactions"].as_array().unwrap();
    assert_eq!(reactions[0]["rule"], "order_confirmed_authorizes_payment");
    assert_eq!(reactions[0]["depth"], 0);
    assert!(reactions
        .iter()
        .any(|r| r["rule"] == "order_cancelled_voids_payment"));
}

/// An output that names the input is refused before anything is written: the scenario is
/// left as it was.
#[test]
fn an_output_that_is_the_input_is_refused() {
    let dir = std::env::temp_dir().join(format!("ripple-out-is-in-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("race.toml");
    let original =
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/race.toml"))
            .unwrap();
    std::fs::write(&scenario, &original).unwrap();
    let alias = dir.join("./race.toml");
    for args in [
        vec![
            "run",
            scenario.to_str().unwrap(),
            "--trace",
            alias.to_str().unwrap(),
        ],
        vec![
            "shrink",
            scenario.to_str().unwrap(),
            "--seed",
            "0",
            "--out",
            alias.to_str().unwrap(),
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("refusing to overwrite an input"),
            "{stderr}"
        );
        assert_eq!(std::fs::read(&scenario).unwrap(), original, "{args:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Inputs that used to load silently (issue 20): each is now an error at its own place, with a
// hint. `needle` is the text the error points at (its first occurrence after `BASE`).
// ---------------------------------------------------------------------------------------------

const PAY_RULE_HEAD: &str = "[[reaction]]\nname = \"pay\"\n[reaction.when]\nentity_type = \"Order\"\naction = \"ConfirmOrder\"\n";
const PAY_RULE_TAIL: &str = "[reaction.resolve_target]\ntype = \"same_id\"\n";

fn pay_rule(when_extra: &str, then_extra: &str) -> String {
    with(&format!(
        "{PAY_RULE_HEAD}{when_extra}[reaction.then]\nentity_type = \"Payment\"\naction = \"AuthorizePayment\"\n{then_extra}{PAY_RULE_TAIL}"
    ))
}

fn generator(body: &str) -> String {
    with(&format!(
        "[[generator]]\ntenant = \"shop\"\ncount = 3\nevery = \"1s\"\n{body}"
    ))
}

/// (what, scenario text, the text the error points at, a part of its message).
fn once_silent() -> Vec<(&'static str, String, &'static str, &'static str)> {
    vec![
        ("rule params a string", pay_rule("", "params = \"oops\"\n"), "\"pay\"", "then.params is a string"),
        ("rule params a list", pay_rule("", "params = [1, 2]\n"), "\"pay\"", "then.params is a list"),
        ("dispatch params a string", with(
            "[[event]]\nat = \"0ms\"\ntenant = \"shop\"\n\
             dispatch = { entity_type = \"Order\", id = \"o1\", action = \"ConfirmOrder\", params = \"oops\" }",
        ), "{ entity_type", "dispatch.params is a string"),
        ("reflex then.params a list", reflex_then(
            "{ entity_type = \"Payment\", action = \"AuthorizePayment\", id = \"p\", params = [1] }",
        ), "{ entity_type", "then.params is a list"),
        ("unknown key in a value range", generator(
            "dispatch = { entity_type = \"Order\", id = \"o{k}\", action = \"ConfirmOrder\" }\n\
             [generator.values]\nk = { min = 1, max = 5, step = 2 }",
        ), "{ min", "value pool"),
        ("empty state name", with(
            "[[entity]]\ntype = \"Ship\"\nstates = [\"\", \"Gone\"]\ninitial = \"Gone\"",
        ), "[\"\", \"Gone\"]", "empty state name"),
        ("state_in naming an undeclared state", pay_rule(
            "guard = { type = \"state_in\", values = [\"Shipped\"] }\n", "",
        ), "Shipped\"]", "\"Shipped\" is not a state of Order"),
        ("cross_entity_state_in on an undeclared type", pay_rule(
            "guard = { type = \"cross_entity_state_in\", entity_type = \"Customer\", entity_id_source = \"cid\", required_status = [\"Active\"] }\n", "",
        ), "Customer\", entity_id", "\"Customer\" is not declared"),
        ("cross_entity_state_in naming an undeclared state", pay_rule(
            "guard = { type = \"cross_entity_state_in\", entity_type = \"Payment\", entity_id_source = \"cid\", required_status = [\"Paid\"] }\n", "",
        ), "Paid\"]", "\"Paid\" is not a state of Payment"),
        ("invariant literal naming an undeclared state", with(
            "[[invariant]]\nname = \"i\"\nnever = \"Order[id].status == 'Shipped'\"",
        ), "'Shipped'", "\"Shipped\" is not a state of Order"),
        ("invariant naming an undeclared type", with(
            "[[invariant]]\nname = \"i\"\nnever = \"Customer[id].status == 'Draft'\"",
        ), "\"Customer[", "\"Customer\" is not declared"),
        ("fault naming an unknown rule", with(
            "[[fault]]\nkind = \"drop\"\nrule = \"nope\"\ntarget = \"Payment/o1\"",
        ), "\"nope\"", "rule \"nope\" is not a rule"),
        ("fault naming an unknown handler", with(
            "[[fault]]\nkind = \"handler_panic\"\nhandler = \"nope\"\nsubject = \"a.b\"",
        ), "\"nope\"", "handler \"nope\" is not a reflex"),
        ("fault with a malformed target", with(
            "[[fault]]\nkind = \"action_failure\"\ntarget = \"Paymento1\"\naction = \"AuthorizePayment\"",
        ), "\"Paymento1\"", "is not `Type/id`"),
        ("fault target of an undeclared type", with(
            "[[fault]]\nkind = \"action_failure\"\ntarget = \"Nope/o1\"\naction = \"AuthorizePayment\"",
        ), "\"Nope/o1\"", "\"Nope\" is not a declared entity type"),
        ("fault on an action the type lacks", with(
            "[[fault]]\nkind = \"action_failure\"\ntarget = \"Payment/o1\"\naction = \"Nope\"",
        ), "\"Nope\"", "\"Nope\" is not an action of Payment"),
        ("fault on an invalid subject", with(
            "[[fault]]\nkind = \"drop\"\nsubject = \"a..b\"\nhandler = \"h\"\n\
             [[reflex]]\nid = \"h\"\ntenant = \"shop\"\npattern = \"a.>\"",
        ), "\"a..b\"", "invalid subject"),
        ("generator subject with a wildcard", generator(
            "subject = \"sensory.*.{d}\"\n[generator.values]\nd = [\"a\"]",
        ), "\"sensory.*", "has a wildcard"),
        ("generator subject with an empty token", generator(
            "subject = \"sensory..{d}\"\n[generator.values]\nd = [\"a\"]",
        ), "\"sensory..", "is empty"),
        ("generated id that can be empty", generator(
            "dispatch = { entity_type = \"Order\", id = \"{d}\", action = \"ConfirmOrder\" }\n\
             [generator.values]\nd = [\"\", \"x\"]",
        ), "{ entity_type", "can make an empty id"),
        ("generated id empty", generator(
            "dispatch = { entity_type = \"Order\", id = \"\", action = \"ConfirmOrder\" }",
        ), "{ entity_type", "can make an empty id"),
        ("every + jitter overflowing", with(
            "[[generator]]\ntenant = \"shop\"\ncount = 10000000\nevery = \"5000000000h\"\njitter = \"5000000000h\"\n\
             dispatch = { entity_type = \"Order\", id = \"o{n}\", action = \"ConfirmOrder\" }",
        ), "\"5000000000h\"", "overflows virtual time"),
        ("nan in dispatch params", with(
            "[[event]]\nat = \"0ms\"\ntenant = \"shop\"\n\
             dispatch = { entity_type = \"Order\", id = \"o1\", action = \"ConfirmOrder\", params = { x = nan } }",
        ), "nan }", "is not a finite number"),
        ("inf in rule params", pay_rule("", "params = { x = inf }\n"), "inf }", "is not a finite number"),
        ("nan in a payload", with(
            "[[event]]\nat = \"0ms\"\ntenant = \"shop\"\nsubject = \"a.b\"\npayload = { x = { y = [1, -nan] } }",
        ), "-nan", "is not a finite number"),
        ("nan in a guard value", pay_rule(
            "guard = { type = \"field_equals\", field = \"x\", value = nan }\n", "",
        ), "nan }", "is not a finite number"),
        ("nan in an expectation", with(
            "[[expect]]\ntenant = \"shop\"\nentity_type = \"Order\"\nid = \"o1\"\nfields = { x = nan }",
        ), "nan }", "is not a finite number"),
    ]
}

#[test]
fn inputs_that_used_to_load_silently_are_errors_with_a_place_and_a_hint() {
    let mut failures = Vec::new();
    for (what, text, needle, part) in once_silent() {
        // A name checked against what the scenario can produce is the lint pass's error,
        // which every command runs before anything else.
        let e = match parse_scenario(&text, Path::new(FILE)) {
            Ok(s) => match ripple::__private::lint_scenario_text(&s, &text)
                .errors
                .into_iter()
                .next()
            {
                Some(e) => e,
                None => {
                    failures.push(format!("{what}: loaded without an error"));
                    continue;
                }
            },
            Err(e) => e,
        };
        // The needle's first occurrence after the valid base.
        let base_len = BASE.len();
        let offset = base_len + text[base_len..].find(needle).expect("needle in the input");
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count()
            + 1;
        if (e.line, e.column) != (line, column) {
            failures.push(format!(
                "{what}: expected {line}:{column} ({needle:?}), got {e}"
            ));
        }
        if !e.message.contains(part) {
            failures.push(format!("{what}: expected {part:?} in: {e}"));
        }
        if e.hint.as_deref().is_none_or(|h| h.trim().is_empty()) {
            failures.push(format!("{what}: no hint: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cli_rejects_each_once_silent_input_with_status_2_place_and_hint() {
    let dir = TempDir::new("silent");
    for (i, (what, text, _, _)) in once_silent().into_iter().enumerate() {
        let path = dir.write(&format!("s{i}.toml"), &text);
        let out = ripple(&["run", path.to_str().unwrap(), "--seed", "1"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        let place = format!("{}:", path.display());
        let located = stderr
            .lines()
            .next()
            .and_then(|l| l.strip_prefix(&format!("error: {place}")))
            .and_then(|rest| rest.split(':').next())
            .is_some_and(|line| line.parse::<usize>().is_ok_and(|n| n > 0));
        assert!(located, "{what}: no file:line:col in: {stderr}");
        assert!(
            stderr.contains("\n  hint: "),
            "{what}: no hint in: {stderr}"
        );
    }
}

/// The count of issue 20: every bad-input fixture under `tests/fixtures/hostile/` (`bad_*`)
/// is refused by every command that reads a scenario with status 2, `file:line:col` and a
/// hint.
#[test]
fn every_hostile_bad_input_fixture_exits_2_with_a_place_and_a_hint() {
    let dir = crate_path("tests/fixtures/hostile");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("bad_"))
        })
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 10, "{fixtures:?}");
    let mut failures = Vec::new();
    for path in &fixtures {
        let p = path.to_str().unwrap();
        for args in [
            vec!["run", p],
            vec!["lint", p],
            vec!["check", p],
            vec!["sweep", p, "--seeds", "0..2"],
            vec!["shrink", p, "--seed", "0", "--out", "/dev/null"],
        ] {
            let out = ripple(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().next().unwrap_or("");
            let located = first
                .strip_prefix(&format!("error: {p}:"))
                .and_then(|rest| rest.split(':').next())
                .is_some_and(|line| line.parse::<usize>().is_ok_and(|n| n > 0));
            if out.status.code() != Some(2) || !located || !stderr.contains("\n  hint: ") {
                failures.push(format!("{args:?}: {:?}\n{stderr}", out.status.code()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
