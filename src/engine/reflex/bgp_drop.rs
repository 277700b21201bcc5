//! The first-party `bgp_drop` reflex: a BGP session to a peer dropped.
//!
//! It names the target `device|peer` (or whichever of the two is known), logs one `high`
//! outcome per target per 60 s, and reports repeats inside the window as `skipped`. It
//! dispatches no entity action and does not interpret `last_state` or the peer's AS number.

use crate::bus::Envelope;
use crate::core::Severity;
use crate::core::Value;
use crate::engine::reflex::common::{first_str, join_target, sighting};
use crate::engine::reflex::{FirstParty, FirstPartySpec, Reading};

/// Payload keys that may name the device, in priority order.
const DEVICE_KEYS: [&str; 3] = ["device", "device_id", "target"];
/// Payload keys that may name the peer, in priority order.
const PEER_KEYS: [&str; 2] = ["peer", "peer_ip"];

/// The `bgp_drop` reading of events.
#[derive(Debug, Clone, Copy, Default)]
pub struct BgpDrop;

/// Logs BGP session drops, deduplicated per target.
pub type BgpDropHandler = FirstParty<BgpDrop>;

impl FirstPartySpec for BgpDrop {
    const ID: &'static str = "bgp_drop";
    const PATTERN: &'static str = "sensory.bgp_drop.>";
    const DEDUP_WINDOW_MS: u64 = 60_000;

    fn read(event: &Envelope) -> Reading {
        let target = BgpDropHandler::target(&event.payload);
        Reading {
            rationale: sighting("BGP session dropped", target.as_deref(), event),
            target,
            severity: Severity::High,
            payload: None,
            key_extra: None,
        }
    }
}

impl BgpDropHandler {
    /// `device|peer`, or whichever of the two the payload names.
    pub fn target(payload: &Value) -> Option<String> {
        join_target(
            first_str(payload, &DEVICE_KEYS),
            first_str(payload, &PEER_KEYS),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::OutcomeKind;
    use crate::core::SimTime;
    use crate::engine::reflex::common::test_support::envelope;
    use crate::engine::reflex::{HandlerOutput, ReflexHandler};
    use serde_json::json;

    const SUBJECT: &str = "sensory.bgp_drop.snmp_trap.r1|10.0.1.5";

    fn bgp_trap() -> Value {
        json!({"device_id": "r1", "peer": "10.0.1.5", "peer_asn": 65001, "last_state": "Established"})
    }

    fn handle_at(h: &mut BgpDropHandler, id: u64, payload: Value, at_ms: u64) -> HandlerOutput {
        let e = envelope(id, SUBJECT, payload, at_ms);
        h.handle(&e, SimTime(at_ms)).unwrap().unwrap()
    }

    #[test]
    fn bgp_trap_targets_device_and_peer() {
        let mut h = BgpDropHandler::new();
        let out = handle_at(&mut h, 0, bgp_trap(), 0);
        assert_eq!(out.outcome.target.as_deref(), Some("r1|10.0.1.5"));
        assert_eq!(out.outcome.outcome, OutcomeKind::Logged);
        assert_eq!(out.outcome.severity, Severity::High);
        assert_eq!(out.outcome.handler, "bgp_drop");
        assert_eq!(*out.outcome.payload, bgp_trap());
        assert_eq!(out.dispatch, None);
    }

    #[test]
    fn peer_falls_back_to_peer_ip() {
        assert_eq!(
            BgpDropHandler::target(&json!({"device": "r2", "peer_ip": "10.0.0.9"})),
            Some("r2|10.0.0.9".into())
        );
    }

    #[test]
    fn target_is_whichever_part_is_known_or_none() {
        assert_eq!(
            BgpDropHandler::target(&json!({"peer": "10.0.1.5"})),
            Some("10.0.1.5".into())
        );
        assert_eq!(
            BgpDropHandler::target(&json!({"target": "r3"})),
            Some("r3".into())
        );
        assert_eq!(BgpDropHandler::target(&json!({"peer_asn": 65001})), None);
    }

    #[test]
    fn repeat_within_60s_is_skipped_and_at_60s_accepted() {
        let mut h = BgpDropHandler::new();
        handle_at(&mut h, 0, bgp_trap(), 1_000);
        let dup = handle_at(&mut h, 1, bgp_trap(), 60_999).outcome;
        assert_eq!(
            (dup.outcome, dup.severity),
            (OutcomeKind::Skipped, Severity::Info)
        );
        assert!(dup.rationale.contains("duplicate"), "{}", dup.rationale);
        let again = handle_at(&mut h, 2, bgp_trap(), 61_000).outcome;
        assert_eq!(
            (again.outcome, again.severity),
            (OutcomeKind::Logged, Severity::High)
        );
    }

    #[test]
    fn another_peer_is_not_a_duplicate() {
        let mut h = BgpDropHandler::new();
        handle_at(&mut h, 0, bgp_trap(), 0);
        let other = json!({"device_id": "r1", "peer": "10.0.1.6"});
        assert_eq!(
            handle_at(&mut h, 1, other, 5).outcome.outcome,
            OutcomeKind::Logged
        );
    }

    #[test]
    fn restart_forgets_dedup_memory() {
        let mut h = BgpDropHandler::new();
        handle_at(&mut h, 0, bgp_trap(), 0);
        h.restart();
        assert_eq!(
            handle_at(&mut h, 1, bgp_trap(), 1).outcome.outcome,
            OutcomeKind::Logged
        );
    }
}
