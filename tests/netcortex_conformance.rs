//! Conformance with netcortex's reflex layer (stevenca/netcortex `41f274f9`, the commit that
//! wired dedup): each case of its `tests/reflex/test_handlers.py`, `test_runner.py` and
//! `test_registry.py` that a scenario can express, written as a scenario and run as a user
//! would run it, one test per case (a parametrized case gives one test per parameter); then
//! cases derived from the handlers', runner's and publishers' source that its tests leave out.
//!
//! netcortex's handler tests call a handler with or without a dedup store; a Ripple builtin
//! always has one (netcortex's production wiring), so a case without one is written with
//! events that a store would not collapse. Its runner cases use test doubles (a recording,
//! a raising, a skipping handler): here they are Python handlers run by Ripple's adapter
//! (`tests/handlers/runner_doubles.py`), so those cases need `python3` and say so when it is
//! missing.
//!
//! Not expressible, and why:
//! - `test_handler_returns_frozen_outcome_with_required_fields`, the *frozen* half: Python
//!   dataclass immutability has no counterpart in an outcome that Ripple builds and records
//!   (the required-fields half is covered below).
//! - `test_start_is_idempotent`, `test_stop_is_idempotent`, `test_stop_without_start_is_safe`:
//!   a scenario has no runner lifecycle; the simulator starts every handler with the run and
//!   ends them with it.
//! - `test_runner_enumerates_registry_when_no_handlers_given`: a scenario's `[[reflex]]`
//!   entries are the registry; there is no explicit-handler-list mode to contrast it with.
//! - `test_default_context_has_no_dedup_store`: Ripple always wires a dedup store (the
//!   production wiring); a context without one cannot be asked for.
//! - `test_get_handler_missing_raises_key_error`, `test_clear_registry_empties`: lookups by id
//!   and clearing are test helpers of a process-wide registry, not something a scenario does.
//! - `test_register_same_instance_is_idempotent` is expressed by configuration, not identity:
//!   a scenario cannot name an instance, so the same builtin declared twice with the same
//!   configuration is the same handler (one answer per event); declared with another
//!   configuration under the same id, it is the duplicate netcortex refuses.

use ripple::{
    parse_scenario, FaultKind, FaultTarget, Outcome, OutcomeKind, Record, RunOutcome, Runner,
    Scenario, ScheduledFault, Seed, Severity, SourceError,
};
use serde_json::{json, Value};
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

/// Where the scenarios are written to: `tests/handlers/`, next to the Python doubles.
fn place() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/handlers/conformance.toml")
}

const BUILTINS: &str = "[[reflex]]\nbuiltin = \"link_down\"\n[[reflex]]\nbuiltin = \"bgp_drop\"\n[[reflex]]\nbuiltin = \"security_alert\"\n";

/// A Python double from `runner_doubles.py`, subscribed with `pattern`.
fn double(id: &str, pattern: &str) -> String {
    format!(
        "[[reflex]]\nid = \"{id}\"\npattern = \"{pattern}\"\ncommand = [\"python3\", \"../../examples/python/ripple_adapter.py\", \"runner_doubles.py\"]\n"
    )
}

/// One root publication: at `at`, on `subject`, with `payload` (a TOML inline table).
struct Publish<'a>(&'a str, &'a str, &'a str);

fn scenario(reflexes: &str, events: &[Publish<'_>]) -> Result<Scenario, SourceError> {
    let mut text = format!(
        "[scenario]\nname = \"conformance\"\norder = \"file\"\n[[tenant]]\nid = \"t\"\n{reflexes}"
    );
    for Publish(at, subject, payload) in events {
        text.push_str(&format!(
            "[[event]]\nat = \"{at}\"\ntenant = \"t\"\nsubject = \"{subject}\"\npayload = {payload}\n"
        ));
    }
    parse_scenario(&text, &place())
}

fn run(reflexes: &str, events: &[Publish<'_>]) -> RunOutcome {
    let s = scenario(reflexes, events).unwrap_or_else(|e| panic!("{e}"));
    let o = Runner::new(&s).run(Seed(0));
    assert!(o.passed(), "{:?}", o.violations);
    o
}

/// The outcomes of one handler, in order.
fn of(o: &RunOutcome, handler: &str) -> Vec<Outcome> {
    o.outcomes
        .iter()
        .filter(|x| x.handler == handler)
        .cloned()
        .collect()
}

/// The one outcome of `handler` in a run of `events` through the builtins.
fn only(handler: &str, events: &[Publish<'_>]) -> Outcome {
    let o = run(BUILTINS, events);
    let mut got = of(&o, handler);
    assert_eq!(got.len(), 1, "{:#?}", o.outcomes);
    got.remove(0)
}

fn kinds(outcomes: &[Outcome]) -> Vec<OutcomeKind> {
    outcomes.iter().map(|o| o.outcome).collect()
}

fn python3(test: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("{test}: skipped: python3 (3.8 or newer) is not on PATH");
    }
    ok
}

// ---------------------------------------------------------------------------------------------
// test_handlers.py: identity.
// ---------------------------------------------------------------------------------------------

/// `test_handler_registered_with_expected_pattern[<id>]`: the handler answers events of its
/// own class from any source, and only those.
fn registered_with_its_pattern(id: &str) {
    let o = run(
        BUILTINS,
        &[
            Publish(
                "0ms",
                &format!("sensory.{id}.snmp_trap.x1"),
                "{ target = \"x1\" }",
            ),
            Publish(
                "1s",
                &format!("sensory.{id}.gnmi_dialout.x2"),
                "{ target = \"x2\" }",
            ),
        ],
    );
    let handlers: Vec<&str> = o.outcomes.iter().map(|x| x.handler.as_str()).collect();
    assert_eq!(handlers, [id, id]);
}

#[test]
fn link_down_is_registered_on_sensory_link_down() {
    registered_with_its_pattern("link_down");
}

#[test]
fn security_alert_is_registered_on_sensory_security_alert() {
    registered_with_its_pattern("security_alert");
}

#[test]
fn bgp_drop_is_registered_on_sensory_bgp_drop() {
    registered_with_its_pattern("bgp_drop");
}

// ---------------------------------------------------------------------------------------------
// test_handlers.py: link_down.
// ---------------------------------------------------------------------------------------------

#[test]
fn link_down_reads_device_and_interface() {
    let o = only(
        "link_down",
        &[Publish(
            "0ms",
            "sensory.link_down.snmp_trap.r1",
            "{ device_id = \"r1\", interface = \"Gi0/1\" }",
        )],
    );
    assert_eq!(o.target.as_deref(), Some("r1|Gi0/1"));
    assert_eq!(
        (o.severity, o.outcome),
        (Severity::High, OutcomeKind::Logged)
    );
    assert_eq!(o.payload["interface"], "Gi0/1");
    assert_eq!(o.payload["source"], "snmp_trap");
}

#[test]
fn link_down_without_a_device_has_no_target() {
    let o = only(
        "link_down",
        &[Publish(
            "0ms",
            "sensory.link_down.snmp_trap.unknown",
            "{ interface = \"Gi0/1\" }",
        )],
    );
    assert_eq!(o.target, None);
}

#[test]
fn link_down_caps_the_upstream_keys_of_a_wide_payload() {
    let wide: Vec<String> = (0..100).map(|i| format!("k{i} = {i}")).collect();
    let payload = format!("{{ {} }}", wide.join(", "));
    let o = only(
        "link_down",
        &[Publish("0ms", "sensory.link_down.snmp_trap.r1", &payload)],
    );
    let keys = o.payload["upstream_keys"].as_array().unwrap();
    assert!(keys.len() <= 16);
    // The first 16 in sorted order, as `sorted(payload.keys())[:16]`.
    assert_eq!(keys[0], "k0");
    assert_eq!(keys[1], "k1");
    assert_eq!(keys[2], "k10");
}

#[test]
fn link_down_dedups_a_trap_its_webhook_and_its_poll() {
    let same = "{ device_id = \"r1\", interface = \"Gi0/1\" }";
    let o = run(
        BUILTINS,
        &[
            Publish("0ms", "sensory.link_down.snmp_trap.r1", same),
            Publish("50ms", "sensory.link_down.meraki_webhook.r1", same),
            Publish("30s", "sensory.link_down.snmp_poll.r1", same),
        ],
    );
    let got = of(&o, "link_down");
    assert_eq!(
        kinds(&got),
        [
            OutcomeKind::Logged,
            OutcomeKind::Skipped,
            OutcomeKind::Skipped
        ]
    );
    assert!(got[1].rationale.to_lowercase().contains("duplicate"));
    // Demoted: corroboration, not a second incident.
    assert_eq!(got[1].severity, Severity::Info);
}

#[test]
fn link_down_keeps_different_links_apart() {
    let o = run(
        BUILTINS,
        &[
            Publish(
                "0ms",
                "sensory.link_down.snmp_trap.r1",
                "{ device_id = \"r1\", interface = \"Gi0/1\" }",
            ),
            Publish(
                "1ms",
                "sensory.link_down.snmp_trap.r1",
                "{ device_id = \"r1\", interface = \"Gi0/2\" }",
            ),
            Publish(
                "2ms",
                "sensory.link_down.snmp_trap.r2",
                "{ device_id = \"r2\", interface = \"Gi0/1\" }",
            ),
        ],
    );
    assert_eq!(kinds(&of(&o, "link_down")), [OutcomeKind::Logged; 3]);
}

#[test]
fn link_down_does_not_dedup_an_event_without_a_target() {
    let o = run(
        BUILTINS,
        &[
            Publish("0ms", "sensory.link_down.snmp_trap.unknown", "{}"),
            Publish("1ms", "sensory.link_down.snmp_trap.unknown", "{}"),
        ],
    );
    assert_eq!(kinds(&of(&o, "link_down")), [OutcomeKind::Logged; 2]);
}

// ---------------------------------------------------------------------------------------------
// test_handlers.py: security_alert.
// ---------------------------------------------------------------------------------------------

/// `test_security_alert_severity_mapping[<upstream>-<expected>]`.
fn maps_severity(upstream: &str, expected: Severity) {
    let payload = format!(
        "{{ severity = \"{upstream}\", alertId = \"abc-123\", networkId = \"N_1\", clientMac = \"aa:bb:cc:dd:ee:ff\", alertType = \"ids_alerted\" }}"
    );
    let o = only(
        "security_alert",
        &[Publish(
            "0ms",
            "sensory.security_alert.meraki_webhook.N_1|aabbccddeeff",
            &payload,
        )],
    );
    assert_eq!(o.severity, expected, "{upstream:?}");
}

#[test]
fn security_alert_maps_informational_to_info() {
    maps_severity("informational", Severity::Info);
}

#[test]
fn security_alert_maps_warning_to_warn() {
    maps_severity("warning", Severity::Warn);
}

#[test]
fn security_alert_maps_high_to_high() {
    maps_severity("high", Severity::High);
}

#[test]
fn security_alert_maps_critical_to_critical() {
    maps_severity("critical", Severity::Critical);
}

#[test]
fn security_alert_maps_an_empty_severity_to_warn() {
    maps_severity("", Severity::Warn);
}

#[test]
fn security_alert_maps_an_unknown_severity_to_warn() {
    maps_severity("totally-bogus", Severity::Warn);
}

#[test]
fn security_alert_maps_severity_case_insensitively() {
    maps_severity("CRITICAL", Severity::Critical);
}

#[test]
fn security_alert_prefers_the_client_mac_as_target() {
    let o = only(
        "security_alert",
        &[Publish(
            "0ms",
            "sensory.security_alert.meraki_webhook.N_1|aabbccddeeff",
            "{ clientMac = \"aa:bb:cc:dd:ee:ff\", deviceSerial = \"Q2XX-YYYY-ZZZZ\", networkId = \"N_1\", severity = \"warning\" }",
        )],
    );
    assert_eq!(o.target.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
}

#[test]
fn security_alert_falls_back_to_the_device_serial() {
    let o = only(
        "security_alert",
        &[Publish(
            "0ms",
            "sensory.security_alert.meraki_webhook.N_1|Q2XX-YYYY-ZZZZ",
            "{ deviceSerial = \"Q2XX-YYYY-ZZZZ\", networkId = \"N_1\" }",
        )],
    );
    assert_eq!(o.target.as_deref(), Some("Q2XX-YYYY-ZZZZ"));
}

const RETRIED: &str = "{ clientMac = \"aa:bb:cc:dd:ee:ff\", networkId = \"N_1\", severity = \"warning\", alertId = \"retry-test\", alertType = \"ids_alerted\" }";

#[test]
fn security_alert_dedups_a_retried_meraki_webhook() {
    let subject = "sensory.security_alert.meraki_webhook.N_1|aabbccddeeff";
    let o = run(
        BUILTINS,
        &[
            Publish("0ms", subject, RETRIED),
            Publish("40s", subject, RETRIED),
        ],
    );
    assert_eq!(
        kinds(&of(&o, "security_alert")),
        [OutcomeKind::Logged, OutcomeKind::Skipped]
    );
}

#[test]
fn security_alert_keeps_two_alert_types_on_one_client_apart() {
    let subject = "sensory.security_alert.meraki_webhook.N_1|aabbccddeeff";
    let base = "clientMac = \"aa:bb:cc:dd:ee:ff\", networkId = \"N_1\", severity = \"warning\"";
    let o = run(
        BUILTINS,
        &[
            Publish(
                "0ms",
                subject,
                &format!("{{ {base}, alertType = \"ids_alerted\" }}"),
            ),
            Publish(
                "1ms",
                subject,
                &format!("{{ {base}, alertType = \"malware_detected\" }}"),
            ),
        ],
    );
    assert_eq!(kinds(&of(&o, "security_alert")), [OutcomeKind::Logged; 2]);
}

// ---------------------------------------------------------------------------------------------
// test_handlers.py: bgp_drop.
// ---------------------------------------------------------------------------------------------

#[test]
fn bgp_drop_composes_the_session_target() {
    let o = only(
        "bgp_drop",
        &[Publish(
            "0ms",
            "sensory.bgp_drop.snmp_trap.r1|10.0.1.5",
            "{ device_id = \"r1\", peer = \"10.0.1.5\", peer_asn = 65001, last_state = \"Established\" }",
        )],
    );
    assert_eq!(o.target.as_deref(), Some("r1|10.0.1.5"));
    assert_eq!(o.severity, Severity::High);
    assert_eq!(o.payload["peer_asn"], 65001);
    assert_eq!(o.payload["last_state"], "Established");
    assert_eq!(o.payload["source"], "snmp_trap");
}

#[test]
fn bgp_drop_falls_back_to_the_peer_alone() {
    let o = only(
        "bgp_drop",
        &[Publish(
            "0ms",
            "sensory.bgp_drop.snmp_trap.unknown|10.0.1.5",
            "{ peer = \"10.0.1.5\" }",
        )],
    );
    assert_eq!(o.target.as_deref(), Some("10.0.1.5"));
}

#[test]
fn bgp_drop_without_identifiers_has_no_target() {
    let o = only(
        "bgp_drop",
        &[Publish(
            "0ms",
            "sensory.bgp_drop.snmp_trap.unknown",
            "{ last_state = \"Established\" }",
        )],
    );
    assert_eq!(o.target, None);
}

#[test]
fn bgp_drop_dedups_a_trap_and_a_gnmi_sample_of_one_session() {
    let same = "{ device_id = \"r1\", peer = \"10.0.1.5\" }";
    let o = run(
        BUILTINS,
        &[
            Publish("0ms", "sensory.bgp_drop.snmp_trap.r1|10.0.1.5", same),
            Publish("1500ms", "sensory.bgp_drop.gnmi_dialout.r1|10.0.1.5", same),
        ],
    );
    assert_eq!(
        kinds(&of(&o, "bgp_drop")),
        [OutcomeKind::Logged, OutcomeKind::Skipped]
    );
}

// ---------------------------------------------------------------------------------------------
// test_handlers.py: every handler.
// ---------------------------------------------------------------------------------------------

/// `test_handler_returns_frozen_outcome_with_required_fields[<id>]`, its required fields.
fn answers_with_the_required_fields(id: &str, subject: &str) {
    let o = only(
        id,
        &[Publish("0ms", subject, "{ target = \"test-target\" }")],
    );
    assert_eq!(o.handler, id);
    assert_eq!(o.subject, subject);
    assert!(["info", "warn", "high", "critical"].contains(&o.severity.as_str()));
    assert!(["logged", "applied", "skipped", "errored"].contains(&o.outcome.as_str()));
    assert!(o.payload.is_object());
    assert!(o.rationale.chars().count() < 200);
}

#[test]
fn link_down_answers_with_the_required_fields() {
    answers_with_the_required_fields("link_down", "sensory.link_down.snmp_trap.test");
}

#[test]
fn security_alert_answers_with_the_required_fields() {
    answers_with_the_required_fields(
        "security_alert",
        "sensory.security_alert.meraki_webhook.test",
    );
}

#[test]
fn bgp_drop_answers_with_the_required_fields() {
    answers_with_the_required_fields("bgp_drop", "sensory.bgp_drop.snmp_trap.test");
}

// ---------------------------------------------------------------------------------------------
// test_runner.py (Python test doubles run by the adapter).
// ---------------------------------------------------------------------------------------------

#[test]
fn the_runner_dispatches_an_event_to_the_matching_handler() {
    if !python3("the_runner_dispatches_an_event_to_the_matching_handler") {
        return;
    }
    let o = run(
        &double("link_down", "sensory.link_down.>"),
        &[Publish(
            "0ms",
            "sensory.link_down.snmp_trap.r1|Gi0/1",
            "{ interface = \"Gi0/1\", target = \"r1\" }",
        )],
    );
    assert_eq!(o.outcomes.len(), 1);
    let x = &o.outcomes[0];
    assert_eq!(x.handler, "link_down");
    assert_eq!(x.subject, "sensory.link_down.snmp_trap.r1|Gi0/1");
    assert_eq!(x.target.as_deref(), Some("r1"));
    assert_eq!(*x.payload, json!({"interface": "Gi0/1", "target": "r1"}));
}

#[test]
fn the_runner_delivers_only_events_that_match_the_pattern() {
    if !python3("the_runner_delivers_only_events_that_match_the_pattern") {
        return;
    }
    let o = run(
        &double("only_link_down", "sensory.link_down.>"),
        &[
            Publish("0ms", "sensory.link_down.snmp_trap.r1", "{ i = 0 }"),
            Publish("1ms", "sensory.link_up.snmp_trap.r1", "{ i = 1 }"),
            Publish("2ms", "sensory.link_down.meraki_webhook.r2", "{ i = 2 }"),
        ],
    );
    let seen: Vec<&Value> = o.outcomes.iter().map(|x| &x.payload["i"]).collect();
    assert_eq!(seen, [&json!(0), &json!(2)]);
}

#[test]
fn the_runner_fans_one_event_out_to_every_matching_handler() {
    if !python3("the_runner_fans_one_event_out_to_every_matching_handler") {
        return;
    }
    let reflexes = double("a", "sensory.link_down.>") + &double("b", "sensory.link_down.>");
    let o = run(
        &reflexes,
        &[Publish(
            "0ms",
            "sensory.link_down.snmp_trap.r1",
            "{ i = 0 }",
        )],
    );
    assert_eq!((of(&o, "a").len(), of(&o, "b").len()), (1, 1));
}

#[test]
fn a_raising_handler_gives_errored_outcomes_and_the_runner_goes_on() {
    if !python3("a_raising_handler_gives_errored_outcomes_and_the_runner_goes_on") {
        return;
    }
    let o = run(
        &double("boom", "sensory.link_down.test_src.boom"),
        &[
            Publish("0ms", "sensory.link_down.test_src.boom", "{ n = 1 }"),
            Publish("1ms", "sensory.link_down.test_src.boom", "{ n = 2 }"),
        ],
    );
    assert_eq!(kinds(&o.outcomes), [OutcomeKind::Errored; 2]);
    assert!(o
        .outcomes
        .iter()
        .all(|x| x.rationale.contains("RuntimeError")));
    assert!(o.outcomes[0].diagnostic.contains("Traceback"));
    // The text report says why, on the outcome's line.
    let text = ripple::render_text(&o, "boom.toml");
    let line = text
        .lines()
        .find(|l| l.contains("reflex boom: errored"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("RuntimeError"), "{line}");
    assert!(o.outcomes[0]
        .diagnostic
        .contains("simulated handler failure"));
}

#[test]
fn a_handler_answering_none_records_no_outcome() {
    if !python3("a_handler_answering_none_records_no_outcome") {
        return;
    }
    let o = run(
        &double("skip", "sensory.link_up.test_src.skip"),
        &[Publish("0ms", "sensory.link_up.test_src.skip", "{}")],
    );
    assert!(o.outcomes.is_empty(), "{:?}", o.outcomes);
    // It was delivered: the silence is the handler's.
    assert!(o
        .records
        .iter()
        .any(|r| matches!(r, Record::Deliver { handler, .. } if handler == "skip")));
}

#[test]
fn the_context_with_a_dedup_store_reaches_the_handler() {
    if !python3("the_context_with_a_dedup_store_reaches_the_handler") {
        return;
    }
    let o = run(
        &double("ctx_explicit", "sensory.link_down.>"),
        &[Publish("0ms", "sensory.link_down.snmp_trap.r1", "{}")],
    );
    assert_eq!(o.outcomes[0].payload["has_dedup_store"], true);
}

// ---------------------------------------------------------------------------------------------
// test_registry.py.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_registered_handler_is_the_one_that_answers() {
    let o = run(
        "[[reflex]]\nbuiltin = \"link_down\"\n",
        &[Publish(
            "0ms",
            "sensory.link_down.snmp_trap.r1",
            "{ device = \"r1\" }",
        )],
    );
    assert_eq!(o.outcomes.len(), 1);
    assert_eq!(o.outcomes[0].handler, "link_down");
}

#[test]
fn registration_order_is_kept() {
    let reflexes = "[[reflex]]\nid = \"a\"\npattern = \"sensory.>\"\n[[reflex]]\nid = \"b\"\npattern = \"sensory.>\"\n[[reflex]]\nid = \"c\"\npattern = \"sensory.>\"\n";
    let o = run(
        reflexes,
        &[Publish("0ms", "sensory.test.test_src.test", "{}")],
    );
    // Subscriptions are numbered in registration order (deliveries fan out in an order
    // drawn from the seed, on purpose).
    let mut subs: Vec<(u32, String)> = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Deliver { sub, handler, .. } => Some((sub.0, handler.clone())),
            _ => None,
        })
        .collect();
    subs.sort();
    let order: Vec<&str> = subs.iter().map(|(_, h)| h.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
}

#[test]
fn a_second_handler_under_a_taken_id_is_refused() {
    let e = scenario(
        "[[reflex]]\nid = \"dup\"\npattern = \"sensory.test.test_src.test\"\n[[reflex]]\nid = \"dup\"\npattern = \"sensory.other.>\"\n",
        &[],
    )
    .unwrap_err();
    assert!(e.message.contains("`dup`"), "{e}");
    assert!(e.message.contains("taken"), "{e}");
}

#[test]
fn the_same_handler_registered_twice_is_one_handler() {
    let o = run(
        "[[reflex]]\nbuiltin = \"link_down\"\n[[reflex]]\nbuiltin = \"link_down\"\n",
        &[Publish(
            "0ms",
            "sensory.link_down.snmp_trap.r1",
            "{ device = \"r1\" }",
        )],
    );
    assert_eq!(of(&o, "link_down").len(), 1);
}

#[test]
fn something_that_is_not_a_handler_is_refused() {
    // A reflex with no pattern to subscribe with: netcortex's TypeError at registration.
    let e = scenario("[[reflex]]\nid = \"not_a_handler\"\n", &[]).unwrap_err();
    assert!(e.message.contains("`pattern`"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// From the source: what netcortex's handlers, runner and publishers do that its tests do not
// pin.
// ---------------------------------------------------------------------------------------------

#[test]
fn device_id_comes_before_device_and_target() {
    // The design's SNMP-poll sample: netcortex targets `dev:1|Gi0/1`.
    let o = only(
        "link_down",
        &[Publish(
            "0ms",
            "sensory.link_down.snmp_poll.r1|Gi0/1",
            "{ device = \"r1\", device_id = \"dev:1\", interface = \"Gi0/1\", target = \"x\" }",
        )],
    );
    assert_eq!(o.target.as_deref(), Some("dev:1|Gi0/1"));
    let b = only(
        "bgp_drop",
        &[Publish(
            "0ms",
            "sensory.bgp_drop.snmp_trap.r1",
            "{ device = \"r1\", device_id = \"dev:1\", peer = \"10.0.1.5\" }",
        )],
    );
    assert_eq!(b.target.as_deref(), Some("dev:1|10.0.1.5"));
}

#[test]
fn a_subject_of_fewer_than_four_tokens_is_never_deduplicated() {
    let same = "{ device_id = \"r1\", interface = \"Gi0/1\" }";
    let o = run(
        BUILTINS,
        &[
            Publish("0ms", "sensory.link_down.snmp_trap", same),
            Publish("1ms", "sensory.link_down.snmp_trap", same),
        ],
    );
    let got = of(&o, "link_down");
    assert_eq!(kinds(&got), [OutcomeKind::Logged; 2]);
    // No event class, no source either.
    assert_eq!(got[0].payload["source"], "");
}

#[test]
fn outcome_payloads_are_built_as_netcortex_builds_them() {
    let o = run(
        BUILTINS,
        &[
            Publish("0ms", "sensory.link_down.snmp_trap.r1", "{ device = \"r1\", if_name = \"eth0\", extra = 1 }"),
            Publish("1ms", "sensory.link_down.snmp_poll.r1", "{ device = \"r1\", if_name = \"eth0\" }"),
            Publish("2ms", "sensory.bgp_drop.snmp_trap.r1", "{ device = \"r1\", peer_ip = \"10.0.0.9\", remote_as = 65002, previous_state = \"Established\" }"),
        ],
    );
    let l = of(&o, "link_down");
    assert_eq!(
        *l[0].payload,
        json!({"source": "snmp_trap", "interface": "eth0", "upstream_keys": ["device", "extra", "if_name"]})
    );
    assert_eq!(*l[1].payload, json!({"source": "snmp_poll"}));
    assert_eq!(
        l[1].rationale,
        "duplicate link_down within 60.0s dedup window (source='snmp_poll')"
    );
    let b = of(&o, "bgp_drop");
    assert_eq!(
        *b[0].payload,
        json!({"source": "snmp_trap", "device": "r1", "peer": "10.0.0.9", "peer_asn": 65002, "last_state": "Established"})
    );
}

#[test]
fn non_string_ids_are_stringified() {
    let o = only(
        "link_down",
        &[Publish(
            "0ms",
            "sensory.link_down.snmp_trap.r7",
            "{ device_id = 7, interface = 12 }",
        )],
    );
    assert_eq!(o.target.as_deref(), Some("7|12"));
    assert_eq!(o.payload["interface"], 12);
    let s = only(
        "security_alert",
        &[Publish(
            "0ms",
            "sensory.security_alert.meraki_webhook.n",
            "{ networkId = 42 }",
        )],
    );
    assert_eq!(s.target.as_deref(), Some("42"));
}

#[test]
fn an_errored_outcome_takes_its_target_from_the_payload() {
    // A payload that is not a table raises in netcortex's handler (`payload.get`); one with a
    // `target` names it in the runner's errored outcome.
    let o = only(
        "link_down",
        &[Publish("0ms", "sensory.link_down.snmp_trap.r1", "[1, 2]")],
    );
    assert_eq!(
        (o.outcome, o.severity),
        (OutcomeKind::Errored, Severity::High)
    );
    assert_eq!(o.rationale, "handler raised AttributeError");
    assert_eq!(o.target, None);
    assert_eq!(*o.payload, json!({}));

    let s = scenario(
        BUILTINS,
        &[Publish(
            "0ms",
            "sensory.link_down.snmp_trap.r1",
            "{ target = \"r1\", device = \"r1\" }",
        )],
    )
    .unwrap();
    let mut s = s;
    s.schedule = Some(vec![ScheduledFault {
        kind: FaultKind::HandlerPanic,
        on: FaultTarget::Handler {
            handler: "link_down".into(),
            subject: "sensory.link_down.snmp_trap.r1".into(),
        },
        nth: 1,
        delay_ms: 0,
    }]);
    let o = Runner::new(&s).run(Seed(0));
    let x = &of(&o, "link_down")[0];
    assert_eq!(x.outcome, OutcomeKind::Errored);
    assert_eq!(x.target.as_deref(), Some("r1"));
    assert_eq!(x.rationale, "handler raised InjectedPanic");
}

#[test]
fn security_alert_reads_only_the_top_level_as_its_code_does() {
    let o = only(
        "security_alert",
        &[Publish(
            "0ms",
            "sensory.security_alert.meraki_webhook.n",
            "{ alertType = \"IDS alerted\", alertData = { clientMac = \"aa:bb\", severity = \"critical\" }, networkId = \"L_1\" }",
        )],
    );
    assert_eq!(o.target.as_deref(), Some("L_1"));
    assert_eq!(o.severity, Severity::Warn);
    assert_eq!(
        o.rationale,
        "security_alert 'IDS alerted' on 'L_1' from 'meraki_webhook'; dev3 dedup wired"
    );
}

#[test]
fn a_meraki_webhook_arrives_normalized_and_its_retry_is_a_duplicate() {
    let text = r#"
[scenario]
name = "webhook"
[[tenant]]
id = "t"
[[reflex]]
builtin = "link_down"
[[event]]
at = "0ms"
tenant = "t"
webhook = "meraki"
payload = { alertType = "Port connectivity", deviceSerial = "Q4CD-EXAM-PLE1", deviceName = "sw1", alertData = { portNum = "12", portName = "Port 12", currentValue = "Disconnected" } }
[[event]]
at = "90s"
tenant = "t"
webhook = "meraki"
payload = { alertType = "Port connectivity", deviceSerial = "Q4CD-EXAM-PLE1", alertData = { portNum = "12", currentValue = "Disconnected" } }
"#;
    let s = parse_scenario(text, &place()).unwrap();
    let o = Runner::new(&s).run(Seed(0));
    let got = of(&o, "link_down");
    assert_eq!(
        got[0].subject,
        "sensory.link_down.meraki_webhook.meraki:Q4CD-EXAM-PLE1.Port_12"
    );
    assert_eq!(
        got[0].target.as_deref(),
        Some("meraki:Q4CD-EXAM-PLE1|Port 12")
    );
    // After the 60 s window: logged again (the port is named from its number this time).
    assert_eq!(
        got[1].target.as_deref(),
        Some("meraki:Q4CD-EXAM-PLE1|Port 12")
    );
    assert_eq!(kinds(&got), [OutcomeKind::Logged; 2]);
}

#[test]
fn the_seed_prs_source_first_layout_is_simulated_with_a_pattern_override() {
    let reflexes = "[[reflex]]\nbuiltin = \"link_down\"\npattern = \"sensory.snmp.trap.link_down.>\"\ndedup_window = \"30s\"\n";
    let same = "{ device_id = \"r1\", interface = \"Gi0/1\" }";
    let o = run(
        reflexes,
        &[
            Publish("0ms", "sensory.snmp.trap.link_down.r1", same),
            // Today's layout is not heard on the old subscription.
            Publish("1s", "sensory.link_down.snmp_trap.r1", same),
            Publish("20s", "sensory.snmp.trap.link_down.r1", same),
            Publish("31s", "sensory.snmp.trap.link_down.r1", same),
        ],
    );
    let got = of(&o, "link_down");
    assert_eq!(
        kinds(&got),
        [
            OutcomeKind::Logged,
            OutcomeKind::Skipped,
            OutcomeKind::Logged
        ]
    );
    // netcortex's parser reads the old layout's second and third tokens as class and source.
    assert_eq!(got[0].payload["source"], "trap");
    assert_eq!(
        got[1].rationale,
        "duplicate link_down within 30.0s dedup window (source='trap')"
    );
}
