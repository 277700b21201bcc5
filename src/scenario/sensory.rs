//! Inputs as netcortex publishes them: a scenario's `[[event]] webhook = "meraki"` or
//! `snmp = "poll" | "trap"` takes what the vendor sent (or what the poller saw) and becomes
//! the publication netcortex's publisher would make of it: the normalized payload on the
//! derived subject.
//!
//! The facts come from stevenca/netcortex: the Meraki mapper (`webhooks/meraki_events.py`:
//! which alert types it maps, the `meraki:<serial>` device id, the port name, the IDS fields
//! it lifts, `severity_raw`), the SNMP link-state publisher
//! (`adapters/snmp_link_state_publisher.py`: transitions only, `<device>|<ifname>`), and the
//! `SensoryPublisher` every publisher goes through (`thalamus/sensory_publisher.py`: each
//! whitespace run in a target part becomes `_`, the parts are joined with `.`, and the payload
//! gains `source` and `recorded_at`). `recorded_at` is the event's virtual time, written as
//! Python's `datetime.isoformat()` writes a UTC time.
//!
//! netcortex has no SNMP trap receiver at the commit Ripple follows; `snmp = "trap"` follows
//! the subject table of its `docs/architecture/subjects.md` (`<device>|<interface>` for link
//! events, `<device>|<peer_ip>` for BGP, `<device>` for device events) and the same publisher.
//!
//! An input netcortex would not publish (an unmapped alert type, a port event without a
//! serial, a poll that saw no transition, a target part with a `.` in it) is an error here,
//! with the reason: a scenario line that does nothing is almost always a mistake.

use crate::core::SimTime;
use crate::core::Subject;
use crate::core::{Object, Value};
use crate::engine::reflex::{py_or, py_str, py_strip, truthy};

/// The closed vocabulary of event classes (netcortex's `SENSORY_EVENT_CLASSES`).
pub const SENSORY_EVENT_CLASSES: [&str; 11] = [
    "link_down",
    "link_up",
    "bgp_drop",
    "bgp_up",
    "device_reboot",
    "device_unreachable",
    "device_reachable",
    "security_alert",
    "config_change",
    "topology_change",
    "route_advertisement_change",
];

/// A publication: the subject and the payload as subscribers receive them.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    pub subject: Subject,
    pub payload: Value,
}

/// `datetime.isoformat()` of a UTC time at virtual time `at`:
/// `2026-01-01T00:00:00.120000+00:00` (no fraction on a whole second).
pub fn python_isoformat(at: SimTime) -> String {
    let iso = at.iso8601(); // 2026-01-01T00:00:00.120Z
    let (seconds, fraction) = iso
        .trim_end_matches('Z')
        .split_once('.')
        .expect("iso8601 writes milliseconds");
    if fraction == "000" {
        format!("{seconds}+00:00")
    } else {
        format!("{seconds}.{fraction}000+00:00")
    }
}

/// What netcortex's `SensoryPublisher(source).publish(event_class, *target_parts, payload)`
/// puts on the bus at `at`, or why it would raise.
pub fn publish(
    event_class: &str,
    source: &str,
    target_parts: &[String],
    payload: Object,
    at: SimTime,
) -> Result<Publication, String> {
    publish_with(event_class, source, target_parts, payload, at, false)
}

/// [`publish`]; with `dots`, a `.` in a target part splits it into tokens instead of being
/// refused (see [`snmp_trap`]).
fn publish_with(
    event_class: &str,
    source: &str,
    target_parts: &[String],
    mut payload: Object,
    at: SimTime,
    dots: bool,
) -> Result<Publication, String> {
    if !SENSORY_EVENT_CLASSES.contains(&event_class) {
        return Err(format!(
            "unknown sensory event class {event_class:?}; netcortex knows {}",
            SENSORY_EVENT_CLASSES.join(", ")
        ));
    }
    if target_parts.is_empty() {
        return Err("a sensory subject needs at least one target part".into());
    }
    let mut subject = format!("sensory.{event_class}.{source}");
    for (i, part) in target_parts.iter().enumerate() {
        let part = sanitize(part);
        if part.is_empty() {
            return Err(format!("target part {i} is empty"));
        }
        if part.contains('.') && !dots {
            return Err(format!(
                "target part {i} {part:?} contains '.', the token separator: netcortex's publisher raises and publishes nothing"
            ));
        }
        subject.push('.');
        subject.push_str(&part);
    }
    let subject =
        Subject::new(subject).map_err(|m| format!("the derived subject is invalid: {m}"))?;
    payload
        .entry("source")
        .or_insert_with(|| Value::String(source.to_string()));
    payload
        .entry("recorded_at")
        .or_insert_with(|| Value::String(python_isoformat(at)));
    Ok(Publication {
        subject,
        payload: Value::Object(payload),
    })
}

/// Each run of whitespace becomes one `_` (`"Port 12"` -> `Port_12`).
fn sanitize(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    let mut in_space = false;
    for c in part.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push('_');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

/// The alert types netcortex's Meraki mapper routes, normalized (lower-case, spaces as `_`).
const MERAKI_ROUTES: [(&str, MerakiKind); 10] = [
    ("port_connectivity", MerakiKind::Port),
    ("switch_port_connection_changed", MerakiKind::Port),
    ("uplink_status_change", MerakiKind::Uplink),
    ("uplink_status", MerakiKind::Uplink),
    ("ids_alerted", MerakiKind::Ids),
    ("ids_alert", MerakiKind::Ids),
    ("malware_detected", MerakiKind::Ids),
    ("settings_changed", MerakiKind::Config),
    ("configuration_change", MerakiKind::Config),
    ("configuration_changes", MerakiKind::Config),
];

#[derive(Debug, Clone, Copy)]
enum MerakiKind {
    Port,
    Uplink,
    Ids,
    Config,
}

/// A Meraki webhook as netcortex publishes it, from source `meraki_webhook`.
pub fn meraki_webhook(webhook: &Value, at: SimTime) -> Result<Publication, String> {
    let Some(body) = webhook.as_object() else {
        return Err("a Meraki webhook's payload is a table (the JSON body Meraki posts)".into());
    };
    // `payload.get("alertType") or payload.get("alertTypeId") or ""`
    let raw_type = py_or(&[body.get("alertType"), body.get("alertTypeId")]).filter(|v| truthy(v));
    let alert_type = py_strip(&raw_type.map(py_str).unwrap_or_default()).to_string();
    if alert_type.is_empty() {
        return Err(
            "the webhook has no alertType or alertTypeId: netcortex publishes nothing".into(),
        );
    }
    let normalized = py_strip(&alert_type).to_lowercase().replace(' ', "_");
    let Some((_, kind)) = MERAKI_ROUTES.iter().find(|(name, _)| *name == normalized) else {
        return Err(format!(
            "netcortex does not map Meraki alert type {alert_type:?} and publishes nothing; it maps {}",
            MERAKI_ROUTES.map(|(n, _)| n).join(", ")
        ));
    };
    let empty = Object::new();
    let data = body
        .get("alertData")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let top = |key: &str| body.get(key);
    let inner = |key: &str| data.get(key);
    let owned = |v: Option<&Value>| v.cloned().unwrap_or(Value::Null);
    let serial = py_or(&[top("deviceSerial"), inner("deviceSerial")]);
    let mut payload = Object::new();
    let (event_class, parts) = match kind {
        MerakiKind::Port | MerakiKind::Uplink => {
            let Some(serial) = serial.filter(|v| truthy(v)) else {
                return Err("a Meraki port or uplink event without deviceSerial: netcortex publishes nothing".into());
            };
            let device_id = format!("meraki:{}", py_str(serial));
            let (interface, current, current_state) = if let MerakiKind::Port = kind {
                let port_num = inner("portNum")
                    .filter(|v| truthy(v))
                    .map(|n| Value::String(format!("Port {}", py_str(n))));
                let port = py_or(&[inner("portName"), inner("port"), port_num.as_ref()])
                    .filter(|v| truthy(v))
                    .cloned()
                    .ok_or("a Meraki port event without portName, port or portNum: netcortex publishes nothing")?;
                let current = py_or(&[inner("currentValue")]);
                (port, current, owned(inner("currentValue")))
            } else {
                let uplink = py_or(&[inner("uplinkName"), inner("uplink"), inner("interface")])
                    .filter(|v| truthy(v))
                    .cloned()
                    .unwrap_or_else(|| Value::String("wan".into()));
                let current = py_or(&[inner("currentValue"), inner("status")]);
                (uplink, current, owned(current))
            };
            let state = py_strip(
                &current
                    .filter(|v| truthy(v))
                    .map(py_str)
                    .unwrap_or_default(),
            )
            .to_lowercase();
            let event_class = match (kind, state.as_str()) {
                (MerakiKind::Port, "connected")
                | (MerakiKind::Uplink, "active" | "ready" | "connected" | "up") => "link_up",
                (MerakiKind::Port, "disconnected")
                | (MerakiKind::Uplink, "failed" | "not connected" | "disconnected" | "down") => {
                    "link_down"
                }
                _ => {
                    return Err(format!(
                        "netcortex maps no link state from currentValue {state:?} and publishes nothing"
                    ))
                }
            };
            let device = top("deviceName")
                .filter(|v| truthy(v))
                .cloned()
                .unwrap_or_else(|| Value::String(device_id.clone()));
            let parts = vec![device_id.clone(), py_str(&interface)];
            payload.insert("device".into(), device);
            payload.insert("device_id".into(), Value::String(device_id));
            payload.insert("interface".into(), interface);
            payload.insert(
                "meraki_alert_type".into(),
                Value::String(alert_type.clone()),
            );
            payload.insert("meraki_network_id".into(), owned(top("networkId")));
            payload.insert("occurred_at".into(), owned(top("occurredAt")));
            payload.insert("previous_state".into(), owned(inner("previousValue")));
            payload.insert("current_state".into(), current_state);
            (event_class, parts)
        }
        MerakiKind::Ids | MerakiKind::Config => {
            let network = py_or(&[top("networkId"), inner("networkId")]);
            let serial_known = serial.is_some_and(truthy);
            if !serial_known && !network.is_some_and(truthy) {
                return Err(
                    "a Meraki alert without deviceSerial or networkId: netcortex publishes nothing"
                        .into(),
                );
            }
            let (device_id, device, scope) = match serial.filter(|v| truthy(v)) {
                Some(serial) => {
                    let id = format!("meraki:{}", py_str(serial));
                    let device = top("deviceName")
                        .filter(|v| truthy(v))
                        .cloned()
                        .unwrap_or_else(|| Value::String(id.clone()));
                    (Value::String(id.clone()), device, id)
                }
                None => {
                    let scope = format!("meraki:{}", network.map(py_str).unwrap_or_default());
                    let device = top("networkName")
                        .filter(|v| truthy(v))
                        .cloned()
                        .unwrap_or_else(|| Value::String(scope.clone()));
                    (Value::Null, device, scope)
                }
            };
            payload.insert("device".into(), device);
            payload.insert("device_id".into(), device_id);
            payload.insert(
                "meraki_alert_type".into(),
                Value::String(alert_type.clone()),
            );
            payload.insert("meraki_network_id".into(), owned(network));
            payload.insert("occurred_at".into(), owned(top("occurredAt")));
            if let MerakiKind::Ids = kind {
                let client = py_or(&[inner("clientMac"), inner("srcMac"), inner("src_mac")]);
                let mut parts = vec![scope];
                if let Some(mac) = client.filter(|v| truthy(v)) {
                    parts.push(py_str(mac));
                }
                payload.insert("alertType".into(), Value::String(alert_type.clone()));
                payload.insert("clientMac".into(), owned(client));
                payload.insert("deviceSerial".into(), owned(serial));
                payload.insert("networkId".into(), owned(network));
                payload.insert(
                    "signature".into(),
                    owned(py_or(&[inner("signature"), inner("signatureId")])),
                );
                payload.insert(
                    "message".into(),
                    owned(py_or(&[inner("message"), inner("description")])),
                );
                payload.insert("severity_raw".into(), owned(inner("severity")));
                ("security_alert", parts)
            } else {
                payload.insert(
                    "admin_email".into(),
                    owned(py_or(&[inner("adminEmail"), inner("admin")])),
                );
                payload.insert(
                    "change_summary".into(),
                    owned(py_or(&[inner("description"), inner("changes")])),
                );
                ("config_change", vec![scope])
            }
        }
    };
    publish(event_class, "meraki_webhook", &parts, payload, at)
}

/// The keys an SNMP poll observation has: what the link-state publisher writes.
pub const SNMP_POLL_KEYS: [&str; 5] = [
    "device",
    "device_id",
    "interface",
    "oper_status",
    "prior_oper_status",
];

/// An SNMP poll that saw an interface change state, as netcortex's link-state publisher
/// publishes it from source `snmp_poll`. `observed` holds [`SNMP_POLL_KEYS`]; without
/// `prior_oper_status` it is the first observation of the interface.
pub fn snmp_poll(observed: &Value, at: SimTime) -> Result<Publication, String> {
    let Some(o) = observed.as_object() else {
        return Err("an SNMP poll's payload is a table".into());
    };
    if let Some(key) = o.keys().find(|k| !SNMP_POLL_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "an SNMP poll has no key {key:?}; netcortex's poller publishes {}",
            SNMP_POLL_KEYS.join(", ")
        ));
    }
    let device = match o.get("device") {
        Some(Value::String(d)) if !d.is_empty() => d.clone(),
        _ => {
            return Err(
                "an SNMP poll needs `device`, the device's name (a non-empty string)".into(),
            )
        }
    };
    let interface = o
        .get("interface")
        .filter(|v| truthy(v))
        .map(py_str)
        .ok_or("an SNMP poll needs `interface`, the polled interface's name")?;
    let oper = o.get("oper_status").and_then(Value::as_str);
    let Some(oper @ ("up" | "down")) = oper else {
        return Err(
            "`oper_status` is \"up\" or \"down\"; netcortex's poller skips any other".into(),
        );
    };
    let prior = match o.get("prior_oper_status") {
        None | Some(Value::Null) => None,
        Some(p) => Some(py_str(p)),
    };
    let event_class = match (prior.as_deref(), oper) {
        (None, "down") => "link_down",
        (None, _) => {
            return Err("a first observation of an up interface publishes nothing (netcortex only reports interfaces first seen down)".into())
        }
        (Some(p), _) if p == oper => {
            return Err(format!("oper_status and prior_oper_status are both {oper:?}: no transition, nothing published"))
        }
        (Some(_), "down") => "link_down",
        (Some(_), _) => "link_up",
    };
    let mut payload = Object::new();
    payload.insert("device".into(), Value::String(device.clone()));
    payload.insert(
        "device_id".into(),
        o.get("device_id").cloned().unwrap_or(Value::Null),
    );
    payload.insert("interface".into(), Value::String(interface.clone()));
    payload.insert("oper_status".into(), Value::String(oper.to_string()));
    payload.insert(
        "prior_oper_status".into(),
        prior.map_or(Value::Null, Value::String),
    );
    publish(
        event_class,
        "snmp_poll",
        &[format!("{device}|{interface}")],
        payload,
        at,
    )
}

/// An SNMP trap of `event_class`, published from source `snmp_trap` with the payload as it
/// is (plus `source` and `recorded_at`). The target part is `<device>|<interface>` for link
/// events, `<device>|<peer>` for BGP events and `<device>` otherwise, the device being
/// `device`, else `device_id`.
///
/// Unlike netcortex's publisher, a `.` in the target is kept (it separates tokens): its own
/// subject table and tests write BGP subjects as `sensory.bgp_drop.snmp_trap.r1|10.0.1.5`,
/// a peer's IP split over four tokens, which its `sensory_subject` would refuse to build.
pub fn snmp_trap(event_class: &str, payload: &Value, at: SimTime) -> Result<Publication, String> {
    let Some(p) = payload.as_object() else {
        return Err("an SNMP trap's payload is a table".into());
    };
    let device = py_or(&[p.get("device"), p.get("device_id")])
        .filter(|v| truthy(v))
        .map(py_str)
        .ok_or("an SNMP trap needs `device` or `device_id`")?;
    let second = match event_class {
        "link_down" | "link_up" => Some(("interface", ["interface", "if_name"])),
        "bgp_drop" | "bgp_up" => Some(("peer", ["peer", "peer_ip"])),
        _ => None,
    };
    let target = match second {
        Some((what, keys)) => {
            let part = py_or(&[p.get(keys[0]), p.get(keys[1])])
                .filter(|v| truthy(v))
                .map(py_str)
                .ok_or(format!(
                    "a {event_class} trap needs `{}` (or `{}`): its subject names the {what}",
                    keys[0], keys[1]
                ))?;
            format!("{device}|{part}")
        }
        None => device,
    };
    publish_with(event_class, "snmp_trap", &[target], p.clone(), at, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn port_webhook() -> Value {
        json!({
            "alertType": "Port connectivity",
            "alertTypeId": "port_connectivity",
            "organizationId": "549236",
            "networkId": "L_646829496481105433",
            "deviceSerial": "Q4CD-7XKL-2JPM",
            "deviceName": "sw-floor2",
            "alertId": "643451796765463301",
            "occurredAt": "2026-01-01T00:00:00.120Z",
            "alertData": {"portNum": "12", "portName": "Port 12",
                "previousValue": "Connected", "currentValue": "Disconnected"},
        })
    }

    #[test]
    fn recorded_at_is_written_as_python_writes_it() {
        assert_eq!(python_isoformat(SimTime(0)), "2026-01-01T00:00:00+00:00");
        assert_eq!(
            python_isoformat(SimTime(120)),
            "2026-01-01T00:00:00.120000+00:00"
        );
    }

    #[test]
    fn a_port_down_webhook_is_normalized_onto_a_five_token_subject() {
        let p = meraki_webhook(&port_webhook(), SimTime(120)).unwrap();
        assert_eq!(
            p.subject.as_str(),
            "sensory.link_down.meraki_webhook.meraki:Q4CD-7XKL-2JPM.Port_12"
        );
        assert_eq!(
            p.payload,
            json!({
                "device": "sw-floor2",
                "device_id": "meraki:Q4CD-7XKL-2JPM",
                "interface": "Port 12",
                "meraki_alert_type": "Port connectivity",
                "meraki_network_id": "L_646829496481105433",
                "occurred_at": "2026-01-01T00:00:00.120Z",
                "previous_state": "Connected",
                "current_state": "Disconnected",
                "source": "meraki_webhook",
                "recorded_at": "2026-01-01T00:00:00.120000+00:00",
            })
        );
    }

    #[test]
    fn a_port_without_a_name_is_named_from_its_number_and_connected_is_link_up() {
        let mut w = port_webhook();
        w["alertData"] = json!({"portNum": 7, "currentValue": "connected"});
        w.as_object_mut().unwrap().remove("deviceName");
        let p = meraki_webhook(&w, SimTime(0)).unwrap();
        assert_eq!(
            p.subject.as_str(),
            "sensory.link_up.meraki_webhook.meraki:Q4CD-7XKL-2JPM.Port_7"
        );
        assert_eq!(p.payload["device"], "meraki:Q4CD-7XKL-2JPM");
        assert_eq!(p.payload["interface"], "Port 7");
    }

    #[test]
    fn an_ids_alert_lifts_the_client_and_keeps_the_vendor_severity_raw() {
        let w = json!({
            "alertType": "IDS alerted",
            "networkId": "L_1",
            "alertData": {"clientMac": "aa:bb:cc:00:11:22", "signature": "1:2027865:3",
                "message": "ET POLICY", "severity": "high"},
        });
        let p = meraki_webhook(&w, SimTime(0)).unwrap();
        assert_eq!(
            p.subject.as_str(),
            "sensory.security_alert.meraki_webhook.meraki:L_1.aa:bb:cc:00:11:22"
        );
        assert_eq!(p.payload["clientMac"], "aa:bb:cc:00:11:22");
        assert_eq!(p.payload["severity_raw"], "high");
        assert_eq!(p.payload["alertType"], "IDS alerted");
        assert_eq!(p.payload["device"], "meraki:L_1");
        assert_eq!(p.payload["device_id"], Value::Null);
        assert_eq!(p.payload["deviceSerial"], Value::Null);
        assert!(p.payload.get("severity").is_none());
    }

    #[test]
    fn a_config_change_targets_the_device() {
        let w = json!({"alertType": "Settings changed", "deviceSerial": "Q2XX",
            "alertData": {"adminEmail": "a@b"}});
        let p = meraki_webhook(&w, SimTime(0)).unwrap();
        assert_eq!(
            p.subject.as_str(),
            "sensory.config_change.meraki_webhook.meraki:Q2XX"
        );
        assert_eq!(p.payload["admin_email"], "a@b");
    }

    #[test]
    fn webhooks_netcortex_would_not_publish_are_errors_that_say_why() {
        let cases = [
            (json!({"alertData": {}}), "no alertType"),
            (json!({"alertType": "Motion detected"}), "does not map"),
            (
                json!({"alertType": "Port connectivity", "alertData": {"portNum": "1"}}),
                "without deviceSerial",
            ),
            (
                json!({"alertType": "Port connectivity", "deviceSerial": "Q", "alertData": {}}),
                "without portName",
            ),
            (
                json!({"alertType": "Port connectivity", "deviceSerial": "Q",
                "alertData": {"portName": "Port 1", "currentValue": "flapping"}}),
                "no link state",
            ),
            (
                json!({"alertType": "Port connectivity", "deviceSerial": "Q",
                "alertData": {"portName": "Gi0/1.100", "currentValue": "Connected"}}),
                "contains '.'",
            ),
            (
                json!({"alertType": "IDS alerted"}),
                "without deviceSerial or networkId",
            ),
            (json!(["not", "a", "table"]), "is a table"),
        ];
        for (w, why) in cases {
            let err = meraki_webhook(&w, SimTime(0)).unwrap_err();
            assert!(err.contains(why), "{w}: {err}");
        }
    }

    #[test]
    fn an_snmp_poll_publishes_transitions_only() {
        let seen = json!({"device": "r1", "device_id": "dev:1", "interface": "Gi0/1",
            "oper_status": "down", "prior_oper_status": "up"});
        let p = snmp_poll(&seen, SimTime(30_000)).unwrap();
        assert_eq!(p.subject.as_str(), "sensory.link_down.snmp_poll.r1|Gi0/1");
        assert_eq!(
            p.payload,
            json!({"device": "r1", "device_id": "dev:1", "interface": "Gi0/1",
                "oper_status": "down", "prior_oper_status": "up", "source": "snmp_poll",
                "recorded_at": "2026-01-01T00:00:30+00:00"})
        );
        let up = json!({"device": "r1", "interface": "Gi0/1", "oper_status": "up",
            "prior_oper_status": "down"});
        assert_eq!(
            snmp_poll(&up, SimTime(0)).unwrap().subject.as_str(),
            "sensory.link_up.snmp_poll.r1|Gi0/1"
        );
        let first_down = json!({"device": "r1", "interface": "Gi0/1", "oper_status": "down"});
        assert_eq!(
            snmp_poll(&first_down, SimTime(0)).unwrap().payload["prior_oper_status"],
            Value::Null
        );
        for (bad, why) in [
            (
                json!({"device": "r1", "interface": "Gi0/1", "oper_status": "up"}),
                "first observation",
            ),
            (
                json!({"device": "r1", "interface": "Gi0/1", "oper_status": "up", "prior_oper_status": "up"}),
                "no transition",
            ),
            (
                json!({"device": "r1", "interface": "Gi0/1", "oper_status": "testing"}),
                "oper_status",
            ),
            (
                json!({"interface": "Gi0/1", "oper_status": "down"}),
                "needs `device`",
            ),
            (
                json!({"device": "r1", "interface": "Gi0/1", "oper_status": "down", "speed": 1}),
                "no key \"speed\"",
            ),
        ] {
            let err = snmp_poll(&bad, SimTime(0)).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn an_snmp_trap_keeps_its_payload_and_names_its_target() {
        let bgp = json!({"device_id": "r1", "peer": "10.0.1.5", "peer_asn": 65001,
            "last_state": "Established"});
        let p = snmp_trap("bgp_drop", &bgp, SimTime(2_000)).unwrap();
        assert_eq!(p.subject.as_str(), "sensory.bgp_drop.snmp_trap.r1|10.0.1.5");
        assert_eq!(p.payload["peer_asn"], 65001);
        assert_eq!(p.payload["source"], "snmp_trap");
        let reboot = snmp_trap("device_reboot", &json!({"device": "r9"}), SimTime(0)).unwrap();
        assert_eq!(
            reboot.subject.as_str(),
            "sensory.device_reboot.snmp_trap.r9"
        );
        let err = snmp_trap("link_down", &json!({"device": "r1"}), SimTime(0)).unwrap_err();
        assert!(err.contains("needs `interface`"), "{err}");
        let err = snmp_trap("link_flap", &json!({"device": "r1"}), SimTime(0)).unwrap_err();
        assert!(err.contains("unknown sensory event class"), "{err}");
    }

    #[test]
    fn whitespace_runs_become_one_underscore() {
        assert_eq!(sanitize("Port  12\t x"), "Port_12_x");
    }
}
