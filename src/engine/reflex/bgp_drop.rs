//! The first-party `bgp_drop` reflex: a BGP session to a peer dropped.
//!
//! It behaves as netcortex's `BgpDropHandler` with dedup wired (stevenca/netcortex,
//! `netcortex/reflex/handlers/bgp_drop.py`, the version its tests at `41f274f9` exercise):
//!
//! - device: the first truthy of `device_id`, `device`, `target`; peer: `peer`, else
//!   `peer_ip`; the peer's AS: `peer_asn`, else `remote_as`; the last state: `last_state`,
//!   else `previous_state`. Values need not be strings (written as Python's `str()` would).
//! - target: `device|peer`, else the peer alone, else the device alone, else none.
//! - a `logged`/`high` outcome whose payload is `{source, device, peer, peer_asn,
//!   last_state}`, each as the payload held it (or null).
//! - a repeat of `bgp_drop|<target>` within 60 s is `skipped`/`info` with payload `{source}`;
//!   no target, or a subject of fewer than 4 tokens, means no dedup.
//!
//! It dispatches no entity action and does not interpret `last_state` or the AS number.

use crate::bus::Envelope;
use crate::core::SimTime;
use crate::core::{Object, Value};
use crate::core::{OutcomeKind, Severity};
use crate::engine::reflex::common::{not_a_dict, Sensory};
use crate::engine::reflex::python::{
    get_or, push_py_str, py_repr_opt, py_repr_str, py_repr_str_opt, truthy,
};
use crate::engine::reflex::{new_outcome, Dedup, FirstParty, FirstPartySpec, Outcome};
use std::sync::Arc;

/// Payload keys that may name the device, in priority order.
const DEVICE_KEYS: [&str; 3] = ["device_id", "device", "target"];
/// Payload keys that may name the peer, in priority order.
const PEER_KEYS: [&str; 2] = ["peer", "peer_ip"];
const PEER_ASN_KEYS: [&str; 2] = ["peer_asn", "remote_as"];
const LAST_STATE_KEYS: [&str; 2] = ["last_state", "previous_state"];

/// The `bgp_drop` reading of events.
#[derive(Debug, Clone, Copy, Default)]
pub struct BgpDrop;

/// Logs BGP session drops, deduplicated per target.
pub type BgpDropHandler = FirstParty<BgpDrop>;

impl FirstPartySpec for BgpDrop {
    const ID: &'static str = "bgp_drop";
    const PATTERN: &'static str = "sensory.bgp_drop.>";
    const DEDUP_WINDOW_MS: u64 = 60_000;

    fn handle(event: &Envelope, now: SimTime, dedup: &mut Dedup<'_>) -> Result<Outcome, String> {
        let payload = &*event.payload;
        if let Some(error) = not_a_dict(payload) {
            return Err(error);
        }
        let sensory = Sensory::parse(event.subject.as_str());
        let target = BgpDropHandler::target(payload);
        if dedup.seen(&sensory, target.as_deref(), None) {
            return Ok(dedup.duplicate(BgpDrop::ID, event, &sensory, target, ""));
        }
        let last_state = get_or(payload, &LAST_STATE_KEYS);
        let rationale = format!(
            "bgp_drop on {} from {}; last_state={} \u{2014} dev3 dedup wired",
            py_repr_str_opt(target.as_deref()),
            py_repr_str(sensory.source),
            py_repr_opt(last_state)
        );
        let mut outcome = new_outcome(
            BgpDrop::ID,
            event,
            now,
            OutcomeKind::Logged,
            Severity::High,
            target,
            rationale,
        );
        let value = |v: Option<&Value>| v.cloned().unwrap_or(Value::Null);
        let mut built = Object::new();
        built.insert("source".into(), Value::String(sensory.source.to_string()));
        built.insert("device".into(), value(get_or(payload, &DEVICE_KEYS)));
        built.insert("peer".into(), value(get_or(payload, &PEER_KEYS)));
        built.insert("peer_asn".into(), value(get_or(payload, &PEER_ASN_KEYS)));
        built.insert("last_state".into(), value(last_state));
        outcome.payload = Arc::new(Value::Object(built));
        Ok(outcome)
    }
}

impl BgpDropHandler {
    /// `device|peer`, or the peer alone, or the device alone, or `None`.
    pub fn target(payload: &Value) -> Option<String> {
        let device = get_or(payload, &DEVICE_KEYS).filter(|v| truthy(v));
        let peer = get_or(payload, &PEER_KEYS).filter(|v| truthy(v));
        let mut target = String::new();
        match (device, peer) {
            (Some(device), Some(peer)) => {
                push_py_str(&mut target, device);
                target.push('|');
                push_py_str(&mut target, peer);
            }
            (None, Some(one)) | (Some(one), None) => push_py_str(&mut target, one),
            (None, None) => return None,
        }
        Some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn bgp_trap_targets_device_and_peer_with_a_built_payload() {
        let mut h = BgpDropHandler::new();
        let out = handle_at(&mut h, 0, bgp_trap(), 0);
        let o = &out.outcome;
        assert_eq!(o.target.as_deref(), Some("r1|10.0.1.5"));
        assert_eq!(
            (o.outcome, o.severity),
            (OutcomeKind::Logged, Severity::High)
        );
        assert_eq!(o.handler, "bgp_drop");
        assert_eq!(
            *o.payload,
            json!({"source": "snmp_trap", "device": "r1", "peer": "10.0.1.5",
                "peer_asn": 65001, "last_state": "Established"})
        );
        assert_eq!(
            o.rationale,
            "bgp_drop on 'r1|10.0.1.5' from 'snmp_trap'; last_state='Established' \u{2014} dev3 dedup wired"
        );
        assert!(out.dispatch.is_empty());
    }

    #[test]
    fn peer_falls_back_to_peer_ip_and_asn_to_remote_as() {
        let mut h = BgpDropHandler::new();
        let p = json!({"device": "r2", "peer_ip": "10.0.0.9", "remote_as": 65002});
        let o = handle_at(&mut h, 0, p, 0).outcome;
        assert_eq!(o.target.as_deref(), Some("r2|10.0.0.9"));
        assert_eq!(o.payload["peer_asn"], 65002);
        assert_eq!(o.payload["last_state"], Value::Null);
        assert!(
            o.rationale
                .ends_with("last_state=None \u{2014} dev3 dedup wired"),
            "{}",
            o.rationale
        );
    }

    #[test]
    fn target_is_the_peer_then_the_device_or_none() {
        let t = BgpDropHandler::target;
        assert_eq!(t(&json!({"peer": "10.0.1.5"})), Some("10.0.1.5".into()));
        assert_eq!(t(&json!({"target": "r3"})), Some("r3".into()));
        assert_eq!(t(&json!({"peer_asn": 65001})), None);
        assert_eq!(t(&json!({"device_id": 1, "peer": 2})), Some("1|2".into()));
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
        assert_eq!(
            dup.rationale,
            "duplicate bgp_drop within 60.0s dedup window (source='snmp_trap')"
        );
        assert_eq!(*dup.payload, json!({"source": "snmp_trap"}));
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
