//! The first-party `link_down` reflex: an interface went down.
//!
//! It behaves as netcortex's `LinkDownHandler` at the commit that wired dedup
//! (stevenca/netcortex `41f274f9`, `netcortex/reflex/handlers/link_down.py`):
//!
//! - device: the first truthy of `device_id`, `device`, `target` (in that order: the
//!   design's first version put `device` first; netcortex's code wins); interface: `interface`,
//!   else `if_name`. Values need not be strings: they are written as Python's `str()` would.
//! - target: `device|interface` when both are known, the device alone, or none. An interface
//!   without a device gives no target at all.
//! - a `logged`/`high` outcome whose payload is built, not echoed: `source` (the subject's
//!   third token), `interface` (as the payload held it, or null) and `upstream_keys` (the
//!   payload's first 16 keys in sorted order).
//! - a repeat of `link_down|<target>` within 60 s is `skipped`/`info` with payload `{source}`.
//!   An event without a target, or whose subject has fewer than 4 tokens, is never a repeat.
//!
//! It dispatches no entity action and does not check that the link is really down
//! (`oper_status` is not read). `occurred_at` is virtual time, not the wall clock.

use crate::bus::Envelope;
use crate::core::SimTime;
use crate::core::{Object, Value};
use crate::core::{OutcomeKind, Severity};
use crate::engine::reflex::common::{not_a_dict, upstream_keys, Sensory, PAYLOAD_KEYS_MAX};
use crate::engine::reflex::python::{get_or, push_py_str, py_repr_str, py_repr_str_opt, truthy};
use crate::engine::reflex::{new_outcome, Dedup, FirstParty, FirstPartySpec, Outcome};
use std::sync::Arc;

/// Payload keys that may name the device, in priority order.
const DEVICE_KEYS: [&str; 3] = ["device_id", "device", "target"];
/// Payload keys that may name the interface, in priority order.
const INTERFACE_KEYS: [&str; 2] = ["interface", "if_name"];

/// The `link_down` reading of events.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkDown;

/// Logs interface-down events, deduplicated per target.
pub type LinkDownHandler = FirstParty<LinkDown>;

impl FirstPartySpec for LinkDown {
    const ID: &'static str = "link_down";
    const PATTERN: &'static str = "sensory.link_down.>";
    const DEDUP_WINDOW_MS: u64 = 60_000;

    fn handle(event: &Envelope, now: SimTime, dedup: &mut Dedup<'_>) -> Result<Outcome, String> {
        let payload = &*event.payload;
        if let Some(error) = not_a_dict(payload) {
            return Err(error);
        }
        let sensory = Sensory::parse(event.subject.as_str());
        let interface = get_or(payload, &INTERFACE_KEYS);
        let target = LinkDownHandler::target(payload);
        if dedup.seen(&sensory, target.as_deref(), None) {
            return Ok(dedup.duplicate(LinkDown::ID, event, &sensory, target, ""));
        }
        let rationale = format!(
            "link_down on {} from {}; dev3 dedup wired, no remediation yet",
            py_repr_str_opt(target.as_deref()),
            py_repr_str(sensory.source)
        );
        let mut outcome = new_outcome(
            LinkDown::ID,
            event,
            now,
            OutcomeKind::Logged,
            Severity::High,
            target,
            rationale,
        );
        let mut built = Object::new();
        built.insert("source".into(), Value::String(sensory.source.to_string()));
        built.insert(
            "interface".into(),
            interface.cloned().unwrap_or(Value::Null),
        );
        built.insert(
            "upstream_keys".into(),
            upstream_keys(payload, PAYLOAD_KEYS_MAX),
        );
        outcome.payload = Arc::new(Value::Object(built));
        Ok(outcome)
    }
}

impl LinkDownHandler {
    /// `device|interface`, or the device alone, or `None` (an interface alone is no target).
    pub fn target(payload: &Value) -> Option<String> {
        let device = get_or(payload, &DEVICE_KEYS).filter(|v| truthy(v))?;
        let mut target = String::new();
        push_py_str(&mut target, device);
        if let Some(interface) = get_or(payload, &INTERFACE_KEYS).filter(|v| truthy(v)) {
            target.push('|');
            push_py_str(&mut target, interface);
        }
        Some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Object;
    use crate::engine::reflex::common::test_support::envelope;
    use crate::engine::reflex::{HandlerOutput, ReflexHandler};
    use serde_json::json;

    const SUBJECT: &str = "sensory.link_down.snmp_poll.r1|Gi0/1";

    fn snmp_poll() -> Value {
        json!({
            "device": "r1",
            "device_id": "dev:1",
            "interface": "Gi0/1",
            "oper_status": "down",
            "prior_oper_status": "up",
            "source": "snmp_poll",
            "recorded_at": "2026-01-01T00:00:00+00:00",
        })
    }

    fn handle_at(h: &mut LinkDownHandler, id: u64, payload: Value, at_ms: u64) -> HandlerOutput {
        let e = envelope(id, SUBJECT, payload, at_ms);
        h.handle(&e, SimTime(at_ms)).unwrap().unwrap()
    }

    #[test]
    fn a_fresh_copy_has_the_configuration_and_none_of_the_memory() {
        let mut h = LinkDownHandler::new();
        assert_eq!(
            handle_at(&mut h, 0, snmp_poll(), 0).outcome.outcome,
            OutcomeKind::Logged
        );
        assert_eq!(
            handle_at(&mut h, 1, snmp_poll(), 1).outcome.outcome,
            OutcomeKind::Skipped
        );
        let mut fresh = h.fresh().expect("first-party handlers make fresh copies");
        assert_eq!(fresh.id(), h.id());
        assert_eq!(fresh.pattern(), h.pattern());
        assert_eq!(fresh.fingerprint(), h.fingerprint());
        let e = envelope(2, SUBJECT, snmp_poll(), 2);
        let out = fresh.handle(&e, SimTime(2)).unwrap().unwrap();
        assert_eq!(
            out.outcome.outcome,
            OutcomeKind::Logged,
            "its window is empty"
        );
        // The original keeps its memory.
        assert_eq!(
            handle_at(&mut h, 3, snmp_poll(), 3).outcome.outcome,
            OutcomeKind::Skipped
        );
    }

    #[test]
    fn the_snmp_poll_sample_targets_device_id_and_interface() {
        let mut h = LinkDownHandler::new();
        let out = handle_at(&mut h, 0, snmp_poll(), 0);
        let o = &out.outcome;
        assert_eq!(o.target.as_deref(), Some("dev:1|Gi0/1"));
        assert_eq!(
            (o.outcome, o.severity),
            (OutcomeKind::Logged, Severity::High)
        );
        assert_eq!(o.handler, "link_down");
        assert_eq!(
            *o.payload,
            json!({
                "source": "snmp_poll",
                "interface": "Gi0/1",
                "upstream_keys": ["device", "device_id", "interface", "oper_status",
                    "prior_oper_status", "recorded_at", "source"],
            })
        );
        assert_eq!(
            o.rationale,
            "link_down on 'dev:1|Gi0/1' from 'snmp_poll'; dev3 dedup wired, no remediation yet"
        );
        assert!(out.dispatch.is_empty());
    }

    #[test]
    fn device_is_device_id_then_device_then_target() {
        let t = LinkDownHandler::target;
        assert_eq!(
            t(&json!({"device": "r1", "device_id": "dev:1", "interface": "Gi0/1"})),
            Some("dev:1|Gi0/1".into())
        );
        assert_eq!(
            t(&json!({"device_id": "", "device": "r1", "if_name": "eth0"})),
            Some("r1|eth0".into())
        );
        assert_eq!(
            t(&json!({"target": "x", "if_name": "eth0"})),
            Some("x|eth0".into())
        );
    }

    #[test]
    fn interface_prefers_interface_over_if_name() {
        assert_eq!(
            LinkDownHandler::target(
                &json!({"device": "r1", "interface": "Gi0/1", "if_name": "eth0"})
            ),
            Some("r1|Gi0/1".into())
        );
    }

    #[test]
    fn an_interface_alone_is_no_target() {
        assert_eq!(LinkDownHandler::target(&json!({"if_name": "eth0"})), None);
        assert_eq!(
            LinkDownHandler::target(&json!({"interface": "Gi0/1"})),
            None
        );
        assert_eq!(
            LinkDownHandler::target(&json!({"device": "r1"})),
            Some("r1".into())
        );
        assert_eq!(
            LinkDownHandler::target(&json!({"oper_status": "down"})),
            None
        );
    }

    #[test]
    fn non_string_ids_are_written_as_python_writes_them() {
        assert_eq!(
            LinkDownHandler::target(&json!({"device_id": 7, "interface": 12})),
            Some("7|12".into())
        );
        assert_eq!(
            LinkDownHandler::target(&json!({"device": true, "if_name": 1.5})),
            Some("True|1.5".into())
        );
    }

    #[test]
    fn repeat_within_60s_is_skipped_as_info_with_only_its_source() {
        let mut h = LinkDownHandler::new();
        handle_at(&mut h, 0, snmp_poll(), 0);
        let dup = handle_at(&mut h, 1, snmp_poll(), 59_999).outcome;
        assert_eq!(
            (dup.outcome, dup.severity),
            (OutcomeKind::Skipped, Severity::Info)
        );
        assert_eq!(
            dup.rationale,
            "duplicate link_down within 60.0s dedup window (source='snmp_poll')"
        );
        assert_eq!(dup.target.as_deref(), Some("dev:1|Gi0/1"));
        assert_eq!(*dup.payload, json!({"source": "snmp_poll"}));
    }

    #[test]
    fn repeat_at_exactly_60s_is_accepted_again() {
        let mut h = LinkDownHandler::new();
        handle_at(&mut h, 0, snmp_poll(), 0);
        let again = handle_at(&mut h, 1, snmp_poll(), 60_000).outcome;
        assert_eq!(
            (again.outcome, again.severity),
            (OutcomeKind::Logged, Severity::High)
        );
    }

    #[test]
    fn events_without_a_target_are_never_duplicates() {
        let mut h = LinkDownHandler::new();
        for i in 0..3 {
            let o = handle_at(&mut h, i, json!({"interface": "Gi0/1"}), i).outcome;
            assert_eq!((o.outcome, o.target), (OutcomeKind::Logged, None));
        }
    }

    #[test]
    fn short_subjects_are_never_duplicates_and_have_no_source() {
        let mut h = LinkDownHandler::new();
        for i in 0..2 {
            let e = envelope(i, "sensory.link_down.trap", json!({"device": "r1"}), 0);
            let o = h.handle(&e, SimTime(0)).unwrap().unwrap().outcome;
            assert_eq!(o.outcome, OutcomeKind::Logged);
            assert_eq!(o.payload["source"], "");
        }
    }

    #[test]
    fn another_interface_is_not_a_duplicate() {
        let mut h = LinkDownHandler::new();
        handle_at(&mut h, 0, snmp_poll(), 0);
        let other = json!({"device_id": "dev:1", "interface": "Gi0/2"});
        assert_eq!(
            handle_at(&mut h, 1, other, 10).outcome.outcome,
            OutcomeKind::Logged
        );
    }

    #[test]
    fn restart_forgets_dedup_memory() {
        let mut h = LinkDownHandler::new();
        handle_at(&mut h, 0, snmp_poll(), 0);
        h.restart();
        assert_eq!(
            handle_at(&mut h, 1, snmp_poll(), 10).outcome.outcome,
            OutcomeKind::Logged
        );
    }

    #[test]
    fn upstream_keys_are_capped_at_16_and_the_interface_may_be_missing() {
        let mut map = Object::new();
        map.insert("device".into(), json!("r1"));
        for i in 0..30 {
            map.insert(format!("extra_{i:02}"), json!(i));
        }
        let mut h = LinkDownHandler::new();
        let payload = handle_at(&mut h, 0, Value::Object(map), 0).outcome.payload;
        let keys = payload["upstream_keys"].as_array().unwrap();
        assert_eq!(keys.len(), 16);
        assert_eq!(keys[0], "device");
        assert_eq!(keys[15], "extra_14");
        assert_eq!(payload["interface"], Value::Null);
    }

    #[test]
    fn a_payload_that_is_not_an_object_raises() {
        let mut h = LinkDownHandler::new();
        let e = envelope(0, SUBJECT, json!(["r1"]), 0);
        let err = h.handle(&e, SimTime(0)).unwrap_err();
        assert!(err.starts_with("AttributeError: 'list'"), "{err}");
    }

    #[test]
    fn a_window_override_changes_the_window_and_the_rationale() {
        let mut h = LinkDownHandler::with(
            crate::bus::Pattern::new("sensory.snmp.trap.link_down.>").unwrap(),
            30_000,
        );
        assert_eq!(h.pattern().as_str(), "sensory.snmp.trap.link_down.>");
        assert_ne!(h.fingerprint(), LinkDownHandler::new().fingerprint());
        handle_at(&mut h, 0, snmp_poll(), 0);
        let dup = handle_at(&mut h, 1, snmp_poll(), 29_999).outcome;
        assert!(dup.rationale.contains("within 30.0s"), "{}", dup.rationale);
        let again = handle_at(&mut h, 2, snmp_poll(), 30_000).outcome;
        assert_eq!(again.outcome, OutcomeKind::Logged);
    }
}
