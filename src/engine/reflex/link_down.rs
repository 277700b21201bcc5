//! The first-party `link_down` reflex: an interface went down.
//!
//! It names the target `device|interface` from whichever poller, trap or webhook reported
//! it, logs one `high` outcome per target per 60 s, and reports repeats inside the window as
//! `skipped`. It dispatches no entity action and does not check that the link is really down
//! (`oper_status` is carried in the payload, not interpreted).

use crate::bus::Envelope;
use crate::core::Severity;
use crate::core::Value;
use crate::engine::reflex::common::{
    cap_payload_keys, first_str, join_target, sighting, PAYLOAD_KEYS_MAX,
};
use crate::engine::reflex::{FirstParty, FirstPartySpec, Reading};

/// Payload keys that may name the device, in priority order.
const DEVICE_KEYS: [&str; 3] = ["device", "device_id", "target"];
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

    fn read(event: &Envelope) -> Reading {
        let target = LinkDownHandler::target(&event.payload);
        Reading {
            rationale: sighting("link down", target.as_deref(), event),
            target,
            severity: Severity::High,
            payload: Some(cap_payload_keys(&event.payload, PAYLOAD_KEYS_MAX)),
            key_extra: None,
        }
    }
}

impl LinkDownHandler {
    /// `device|interface`, or whichever of the two the payload names.
    pub fn target(payload: &Value) -> Option<String> {
        join_target(
            first_str(payload, &DEVICE_KEYS),
            first_str(payload, &INTERFACE_KEYS),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Object;
    use crate::core::OutcomeKind;
    use crate::core::SimTime;
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
            "recorded_at": "2026-01-01T00:00:00.000Z",
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
    fn snmp_poll_targets_device_and_interface() {
        let mut h = LinkDownHandler::new();
        let out = handle_at(&mut h, 0, snmp_poll(), 0);
        assert_eq!(out.outcome.target.as_deref(), Some("r1|Gi0/1"));
        assert_eq!(out.outcome.outcome, OutcomeKind::Logged);
        assert_eq!(out.outcome.severity, Severity::High);
        assert_eq!(out.outcome.handler, "link_down");
        assert!(
            out.outcome.rationale.contains("snmp_poll"),
            "{}",
            out.outcome.rationale
        );
        assert_eq!(out.dispatch, None);
    }

    #[test]
    fn device_falls_back_to_device_id_then_target() {
        assert_eq!(
            LinkDownHandler::target(
                &json!({"device_id": "dev:1", "target": "x", "if_name": "eth0"})
            ),
            Some("dev:1|eth0".into())
        );
        assert_eq!(
            LinkDownHandler::target(&json!({"target": "x", "if_name": "eth0"})),
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
    fn target_is_whichever_part_is_known_or_none() {
        assert_eq!(
            LinkDownHandler::target(&json!({"device": "r1"})),
            Some("r1".into())
        );
        assert_eq!(
            LinkDownHandler::target(&json!({"if_name": "eth0"})),
            Some("eth0".into())
        );
        assert_eq!(
            LinkDownHandler::target(&json!({"oper_status": "down"})),
            None
        );
    }

    #[test]
    fn repeat_within_60s_is_skipped_as_info() {
        let mut h = LinkDownHandler::new();
        handle_at(&mut h, 0, snmp_poll(), 0);
        let dup = handle_at(&mut h, 1, snmp_poll(), 59_999).outcome;
        assert_eq!(dup.outcome, OutcomeKind::Skipped);
        assert_eq!(dup.severity, Severity::Info);
        assert!(dup.rationale.contains("duplicate"), "{}", dup.rationale);
        assert!(
            dup.rationale.contains("1m"),
            "names the window: {}",
            dup.rationale
        );
        assert_eq!(dup.target.as_deref(), Some("r1|Gi0/1"));
    }

    #[test]
    fn repeat_at_exactly_60s_is_accepted_again() {
        let mut h = LinkDownHandler::new();
        handle_at(&mut h, 0, snmp_poll(), 0);
        let again = handle_at(&mut h, 1, snmp_poll(), 60_000).outcome;
        assert_eq!(again.outcome, OutcomeKind::Logged);
        assert_eq!(again.severity, Severity::High);
    }

    #[test]
    fn another_interface_is_not_a_duplicate() {
        let mut h = LinkDownHandler::new();
        handle_at(&mut h, 0, snmp_poll(), 0);
        let other = json!({"device": "r1", "interface": "Gi0/2"});
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
    fn payload_keeps_at_most_16_upstream_keys() {
        let mut map = Object::new();
        map.insert("device".into(), json!("r1"));
        map.insert("interface".into(), json!("Gi0/1"));
        for i in 0..30 {
            map.insert(format!("extra_{i:02}"), json!(i));
        }
        let mut h = LinkDownHandler::new();
        let payload = handle_at(&mut h, 0, Value::Object(map), 0).outcome.payload;
        let kept = payload.as_object().unwrap();
        assert_eq!(kept.len(), 16);
        // Key order: "device" < "extra_00".."extra_29" < "interface".
        assert!(kept.contains_key("device"));
        assert!(kept.contains_key("extra_14"));
        assert!(!kept.contains_key("extra_15"));
        assert!(!kept.contains_key("interface"));
    }

    #[test]
    fn small_payload_is_kept_whole() {
        let mut h = LinkDownHandler::new();
        assert_eq!(
            *handle_at(&mut h, 0, snmp_poll(), 0).outcome.payload,
            snmp_poll()
        );
    }
}
