//! The first-party `security_alert` reflex: an IDS or other security alert.
//!
//! It behaves as netcortex's `SecurityAlertHandler` (stevenca/netcortex,
//! `netcortex/reflex/handlers/security_alert.py`, the version its tests at `41f274f9`
//! exercise), which reads only the top level of the payload:
//!
//! - severity: `str(payload["severity"]).lower()` mapped `informational`/`info` -> info,
//!   `warning`/`warn` -> warn, `high`, `critical`; anything else (a missing severity, or one
//!   with surrounding spaces) -> warn.
//! - target: the first truthy of `clientMac`, `deviceSerial`, `networkId`, `target`, written
//!   with Python's `str()`. Keys nested under `alertData` are not read: a raw Meraki webhook
//!   keeps its client MAC there, and netcortex's publisher lifts it before publishing.
//! - event type: `alertType`, else `eventType`; part of the dedup key
//!   (`security_alert|<target>|<event_type>`) when truthy, so two alert types on one client
//!   are two facts. Window: 300 s (Meraki retries a webhook 2-3 times within minutes).
//! - a `logged` outcome with payload `{source, alert_id, event_type, network_id}`; a repeat is
//!   `skipped`/`info` with payload `{source, event_type}`.
//!
//! Worth knowing, and kept as netcortex has it: its Meraki publisher puts the vendor's
//! severity in `severity_raw`, which this handler does not read, so every alert that went
//! through the publisher is `warn`. It dispatches no entity action.

use crate::bus::Envelope;
use crate::core::SimTime;
use crate::core::{Object, Value};
use crate::core::{OutcomeKind, Severity};
use crate::engine::reflex::common::{not_a_dict, Sensory};
use crate::engine::reflex::python::{
    get_or, py_repr_opt, py_repr_str, py_repr_str_opt, py_str, truthy,
};
use crate::engine::reflex::{new_outcome, Dedup, FirstParty, FirstPartySpec, Outcome};
use std::sync::Arc;

/// Payload keys that may name the target, most specific first.
const TARGET_KEYS: [&str; 4] = ["clientMac", "deviceSerial", "networkId", "target"];
/// Payload keys that may name the alert type, in priority order.
const EVENT_TYPE_KEYS: [&str; 2] = ["alertType", "eventType"];

/// The `security_alert` reading of events.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityAlert;

/// Logs security alerts, deduplicated per target and alert type.
pub type SecurityAlertHandler = FirstParty<SecurityAlert>;

impl FirstPartySpec for SecurityAlert {
    const ID: &'static str = "security_alert";
    const PATTERN: &'static str = "sensory.security_alert.>";
    const DEDUP_WINDOW_MS: u64 = 300_000;

    fn handle(event: &Envelope, now: SimTime, dedup: &mut Dedup<'_>) -> Result<Outcome, String> {
        let payload = &*event.payload;
        if let Some(error) = not_a_dict(payload) {
            return Err(error);
        }
        let sensory = Sensory::parse(event.subject.as_str());
        let target = SecurityAlertHandler::target(payload);
        let event_type = get_or(payload, &EVENT_TYPE_KEYS);
        let extra = event_type.filter(|v| truthy(v)).map(py_str);
        if dedup.seen(&sensory, target.as_deref(), extra.as_deref()) {
            let more = format!(", event_type={}", py_repr_opt(event_type));
            let mut outcome = dedup.duplicate(SecurityAlert::ID, event, &sensory, target, &more);
            let mut built = Object::new();
            built.insert("source".into(), Value::String(sensory.source.to_string()));
            built.insert(
                "event_type".into(),
                event_type.cloned().unwrap_or(Value::Null),
            );
            outcome.payload = Arc::new(Value::Object(built));
            return Ok(outcome);
        }
        let rationale = format!(
            "security_alert {} on {} from {}; dev3 dedup wired",
            py_repr_opt(event_type),
            py_repr_str_opt(target.as_deref()),
            py_repr_str(sensory.source)
        );
        let mut outcome = new_outcome(
            SecurityAlert::ID,
            event,
            now,
            OutcomeKind::Logged,
            SecurityAlertHandler::severity(payload),
            target,
            rationale,
        );
        let raw = |key: &str| payload.get(key).cloned().unwrap_or(Value::Null);
        let mut built = Object::new();
        built.insert("source".into(), Value::String(sensory.source.to_string()));
        built.insert("alert_id".into(), raw("alertId"));
        built.insert(
            "event_type".into(),
            event_type.cloned().unwrap_or(Value::Null),
        );
        built.insert("network_id".into(), raw("networkId"));
        outcome.payload = Arc::new(Value::Object(built));
        Ok(outcome)
    }
}

impl SecurityAlertHandler {
    /// The first truthy target key at the top level, written with `str()`.
    pub fn target(payload: &Value) -> Option<String> {
        get_or(payload, &TARGET_KEYS)
            .filter(|v| truthy(v))
            .map(py_str)
    }

    /// The top-level `severity`, mapped (see [`SecurityAlertHandler::map_severity`]).
    pub fn severity(payload: &Value) -> Severity {
        let raw = payload
            .get("severity")
            .filter(|v| truthy(v))
            .map(py_str)
            .unwrap_or_default();
        SecurityAlertHandler::map_severity(&raw)
    }

    /// Maps an upstream severity, lower-cased (not trimmed). Anything unrecognised is `warn`:
    /// an alert of unknown weight is worth a look but not a page.
    pub fn map_severity(raw: &str) -> Severity {
        match raw.to_lowercase().as_str() {
            "informational" | "info" => Severity::Info,
            "warning" | "warn" => Severity::Warn,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => Severity::Warn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::reflex::common::test_support::envelope;
    use crate::engine::reflex::{HandlerOutput, ReflexHandler};
    use serde_json::json;

    const SUBJECT: &str = "sensory.security_alert.meraki_webhook.N_1|aabbccddeeff";

    fn alert() -> Value {
        json!({
            "clientMac": "aa:bb:cc:dd:ee:ff",
            "networkId": "N_1",
            "severity": "warning",
            "alertId": "abc-123",
            "alertType": "ids_alerted",
        })
    }

    fn handle_at(
        h: &mut SecurityAlertHandler,
        id: u64,
        payload: Value,
        at_ms: u64,
    ) -> HandlerOutput {
        let e = envelope(id, SUBJECT, payload, at_ms);
        h.handle(&e, SimTime(at_ms)).unwrap().unwrap()
    }

    #[test]
    fn an_alert_targets_the_client_mac_with_a_built_payload() {
        let mut h = SecurityAlertHandler::new();
        let o = handle_at(&mut h, 0, alert(), 0).outcome;
        assert_eq!(o.target.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        assert_eq!(
            (o.outcome, o.severity),
            (OutcomeKind::Logged, Severity::Warn)
        );
        assert_eq!(o.handler, "security_alert");
        assert_eq!(
            *o.payload,
            json!({"source": "meraki_webhook", "alert_id": "abc-123",
                "event_type": "ids_alerted", "network_id": "N_1"})
        );
        assert_eq!(
            o.rationale,
            "security_alert 'ids_alerted' on 'aa:bb:cc:dd:ee:ff' from 'meraki_webhook'; dev3 dedup wired"
        );
    }

    #[test]
    fn only_top_level_keys_are_read() {
        let nested = json!({"alertData": {"clientMac": "22:22", "severity": "critical"}});
        assert_eq!(SecurityAlertHandler::target(&nested), None);
        assert_eq!(SecurityAlertHandler::severity(&nested), Severity::Warn);
        // The publisher's `severity_raw` is not read either.
        assert_eq!(
            SecurityAlertHandler::severity(&json!({"severity_raw": "high"})),
            Severity::Warn
        );
    }

    #[test]
    fn target_falls_back_through_serial_network_and_target() {
        let t = SecurityAlertHandler::target;
        assert_eq!(
            t(&json!({"deviceSerial": "Q2XX", "networkId": "N_1"})),
            Some("Q2XX".into())
        );
        assert_eq!(t(&json!({"networkId": "L_1"})), Some("L_1".into()));
        assert_eq!(t(&json!({"target": 42})), Some("42".into()));
        assert_eq!(t(&json!({"alertType": "x"})), None);
    }

    #[test]
    fn severity_mapping_table() {
        let cases = [
            ("informational", Severity::Info),
            ("Info", Severity::Info),
            ("WARNING", Severity::Warn),
            ("warn", Severity::Warn),
            ("High", Severity::High),
            ("CRITICAL", Severity::Critical),
            ("", Severity::Warn),
            ("totally-bogus", Severity::Warn),
            (" high", Severity::Warn),
        ];
        for (raw, want) in cases {
            assert_eq!(SecurityAlertHandler::map_severity(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn repeat_within_300s_is_skipped_and_at_300s_accepted() {
        let mut h = SecurityAlertHandler::new();
        handle_at(&mut h, 0, alert(), 0);
        let dup = handle_at(&mut h, 1, alert(), 299_999).outcome;
        assert_eq!(
            (dup.outcome, dup.severity),
            (OutcomeKind::Skipped, Severity::Info)
        );
        assert_eq!(
            dup.rationale,
            "duplicate security_alert within 300.0s dedup window (source='meraki_webhook', event_type='ids_alerted')"
        );
        assert_eq!(
            *dup.payload,
            json!({"source": "meraki_webhook", "event_type": "ids_alerted"})
        );
        let again = handle_at(&mut h, 2, alert(), 300_000).outcome;
        assert_eq!(
            (again.outcome, again.severity),
            (OutcomeKind::Logged, Severity::Warn)
        );
    }

    #[test]
    fn another_alert_type_on_the_same_target_is_not_a_duplicate() {
        let mut h = SecurityAlertHandler::new();
        handle_at(&mut h, 0, alert(), 0);
        let mut other = alert();
        other["alertType"] = json!("malware_detected");
        assert_eq!(
            handle_at(&mut h, 1, other, 10).outcome.outcome,
            OutcomeKind::Logged
        );
        // Without an alert type, the key is the target alone: a third fact.
        let mut untyped = alert();
        untyped.as_object_mut().unwrap().remove("alertType");
        assert_eq!(
            handle_at(&mut h, 2, untyped.clone(), 20).outcome.outcome,
            OutcomeKind::Logged
        );
        assert_eq!(
            handle_at(&mut h, 3, untyped, 30).outcome.outcome,
            OutcomeKind::Skipped
        );
    }

    #[test]
    fn restart_forgets_dedup_memory() {
        let mut h = SecurityAlertHandler::new();
        handle_at(&mut h, 0, alert(), 0);
        h.restart();
        assert_eq!(
            handle_at(&mut h, 1, alert(), 10).outcome.outcome,
            OutcomeKind::Logged
        );
    }
}
