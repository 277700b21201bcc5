//! The first-party `security_alert` reflex: an IDS or other security alert (Meraki-style
//! webhooks and the like).
//!
//! It names the target (a client MAC, a device serial, a network or a generic target), maps
//! the upstream severity onto ripple's four levels, logs one outcome per target and alert
//! type per 300 s, and reports repeats inside the window as `skipped`. It dispatches no
//! entity action and does not interpret the signature or message.

use crate::bus::Envelope;
use crate::core::Severity;
use crate::core::Value;
use crate::engine::reflex::common::{concat, first_str, str_field, UNKNOWN_TARGET};
use crate::engine::reflex::{FirstParty, FirstPartySpec, Reading};

/// Payload keys that may name the target, most specific first.
const TARGET_KEYS: [&str; 4] = ["clientMac", "deviceSerial", "networkId", "target"];
/// Payload keys that may name the alert type, in priority order.
const EVENT_TYPE_KEYS: [&str; 2] = ["alertType", "eventType"];
/// The object webhooks nest the alert's details under.
const DETAILS_KEY: &str = "alertData";

/// The `security_alert` reading of events.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityAlert;

/// Logs security alerts, deduplicated per target and alert type.
pub type SecurityAlertHandler = FirstParty<SecurityAlert>;

impl FirstPartySpec for SecurityAlert {
    const ID: &'static str = "security_alert";
    const PATTERN: &'static str = "sensory.security_alert.>";
    const DEDUP_WINDOW_MS: u64 = 300_000;

    fn read(event: &Envelope) -> Reading {
        let payload = &*event.payload;
        let target = SecurityAlertHandler::target(payload);
        let event_type = SecurityAlertHandler::event_type(payload).unwrap_or("");
        let raw_severity = SecurityAlertHandler::raw_severity(payload);
        Reading {
            rationale: concat(&[
                "security alert `",
                if event_type.is_empty() {
                    "unknown"
                } else {
                    event_type
                },
                "` on ",
                target.as_deref().unwrap_or(UNKNOWN_TARGET),
                " (upstream severity ",
                raw_severity.unwrap_or("missing"),
                ")",
            ]),
            target,
            severity: SecurityAlertHandler::map_severity(raw_severity),
            payload: None,
            // The alert type is part of the key: a client tripping two different
            // signatures is two alerts, not one repeated.
            key_extra: Some(event_type.to_string()),
        }
    }
}

impl SecurityAlertHandler {
    /// The first target key found, each looked up at the top level and then under
    /// `alertData`.
    ///
    /// Keys are tried in order of specificity before levels: a Meraki IDS alert carries the
    /// appliance's `networkId` and `deviceSerial` at the top level but the offending client's
    /// `clientMac` under `alertData`, and the client is what the alert is about.
    pub fn target(payload: &Value) -> Option<String> {
        let details = payload.get(DETAILS_KEY);
        TARGET_KEYS
            .iter()
            .find_map(|key| {
                str_field(payload, key).or_else(|| details.and_then(|d| str_field(d, key)))
            })
            .map(str::to_string)
    }

    /// `alertType` or `eventType` at the top level, if any.
    pub fn event_type(payload: &Value) -> Option<&str> {
        first_str(payload, &EVENT_TYPE_KEYS)
    }

    /// The upstream severity: `severity` at the top level, else under `alertData`.
    pub fn raw_severity(payload: &Value) -> Option<&str> {
        str_field(payload, "severity").or_else(|| {
            payload
                .get(DETAILS_KEY)
                .and_then(|d| str_field(d, "severity"))
        })
    }

    /// Maps an upstream severity, case-insensitively. Anything unrecognised, and a missing
    /// severity, is `warn`: an alert of unknown weight is worth a look but not a page.
    pub fn map_severity(raw: Option<&str>) -> Severity {
        match raw.map(|s| s.trim().to_lowercase()).as_deref() {
            Some("informational" | "info") => Severity::Info,
            Some("warning" | "warn") => Severity::Warn,
            Some("high") => Severity::High,
            Some("critical") => Severity::Critical,
            _ => Severity::Warn,
        }
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

    const SUBJECT: &str = "sensory.security_alert.meraki_webhook.meraki:Q4CD-1234";

    fn ids_alert() -> Value {
        json!({
            "alertType": "IDS alerted",
            "alertTypeId": "ids_alerted",
            "organizationId": "123",
            "networkId": "L_646829496481105433",
            "deviceSerial": "Q4CD-1234",
            "alertData": {
                "clientMac": "aa:bb:cc:dd:ee:ff",
                "signature": "1:2019401:3",
                "message": "ET POLICY Vulnerable Java Version",
                "severity": "Warning",
            },
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
    fn meraki_ids_alert_targets_the_client_mac_with_warn() {
        let mut h = SecurityAlertHandler::new();
        let o = handle_at(&mut h, 0, ids_alert(), 0).outcome;
        assert_eq!(o.target.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        assert_eq!(o.severity, Severity::Warn);
        assert_eq!(o.outcome, OutcomeKind::Logged);
        assert_eq!(o.handler, "security_alert");
        assert!(o.rationale.contains("IDS alerted"), "{}", o.rationale);
    }

    #[test]
    fn top_level_key_wins_over_the_same_key_under_alert_data() {
        let p = json!({"clientMac": "11:11", "alertData": {"clientMac": "22:22"}});
        assert_eq!(SecurityAlertHandler::target(&p), Some("11:11".into()));
    }

    #[test]
    fn target_falls_back_through_serial_network_and_target() {
        let p = json!({"networkId": "L_1", "alertData": {"deviceSerial": "Q4CD-9"}});
        assert_eq!(SecurityAlertHandler::target(&p), Some("Q4CD-9".into()));
        assert_eq!(
            SecurityAlertHandler::target(&json!({"networkId": "L_1"})),
            Some("L_1".into())
        );
        let p = json!({"alertData": {"target": "fw1"}});
        assert_eq!(SecurityAlertHandler::target(&p), Some("fw1".into()));
        assert_eq!(
            SecurityAlertHandler::target(&json!({"alertType": "x"})),
            None
        );
    }

    #[test]
    fn event_type_is_alert_type_then_event_type() {
        assert_eq!(
            SecurityAlertHandler::event_type(&json!({"alertType": "a", "eventType": "b"})),
            Some("a")
        );
        assert_eq!(
            SecurityAlertHandler::event_type(&json!({"eventType": "b"})),
            Some("b")
        );
    }

    #[test]
    fn severity_mapping_table() {
        let cases = [
            ("informational", Severity::Info),
            ("Info", Severity::Info),
            ("WARNING", Severity::Warn),
            ("warn", Severity::Warn),
            ("High", Severity::High),
            ("critical", Severity::Critical),
        ];
        for (raw, want) in cases {
            assert_eq!(SecurityAlertHandler::map_severity(Some(raw)), want, "{raw}");
        }
    }

    #[test]
    fn unknown_or_missing_severity_falls_back_to_warn() {
        assert_eq!(
            SecurityAlertHandler::map_severity(Some("emergency")),
            Severity::Warn
        );
        assert_eq!(SecurityAlertHandler::map_severity(Some("")), Severity::Warn);
        assert_eq!(SecurityAlertHandler::map_severity(None), Severity::Warn);
        let mut h = SecurityAlertHandler::new();
        let o = handle_at(&mut h, 0, json!({"clientMac": "aa"}), 0).outcome;
        assert_eq!(o.severity, Severity::Warn);
    }

    #[test]
    fn top_level_severity_wins_over_alert_data() {
        let p = json!({"severity": "critical", "alertData": {"severity": "info"}});
        assert_eq!(SecurityAlertHandler::raw_severity(&p), Some("critical"));
        let mut h = SecurityAlertHandler::new();
        assert_eq!(
            handle_at(&mut h, 0, p, 0).outcome.severity,
            Severity::Critical
        );
    }

    #[test]
    fn repeat_within_300s_is_skipped_and_at_300s_accepted() {
        let mut h = SecurityAlertHandler::new();
        handle_at(&mut h, 0, ids_alert(), 0);
        let dup = handle_at(&mut h, 1, ids_alert(), 299_999).outcome;
        assert_eq!(
            (dup.outcome, dup.severity),
            (OutcomeKind::Skipped, Severity::Info)
        );
        assert!(
            dup.rationale.contains("5m"),
            "names the window: {}",
            dup.rationale
        );
        let again = handle_at(&mut h, 2, ids_alert(), 300_000).outcome;
        assert_eq!(
            (again.outcome, again.severity),
            (OutcomeKind::Logged, Severity::Warn)
        );
    }

    #[test]
    fn another_alert_type_on_the_same_target_is_not_a_duplicate() {
        let mut h = SecurityAlertHandler::new();
        handle_at(&mut h, 0, ids_alert(), 0);
        let mut other = ids_alert();
        other["alertType"] = json!("Malware blocked");
        assert_eq!(
            handle_at(&mut h, 1, other, 10).outcome.outcome,
            OutcomeKind::Logged
        );
    }

    #[test]
    fn restart_forgets_dedup_memory() {
        let mut h = SecurityAlertHandler::new();
        handle_at(&mut h, 0, ids_alert(), 0);
        h.restart();
        assert_eq!(
            handle_at(&mut h, 1, ids_alert(), 10).outcome.outcome,
            OutcomeKind::Logged
        );
    }
}
