//! Payloads between the wire and a scenario file: JSON bytes to TOML text for `record`, a
//! scenario's value to bytes for `publish`.
//!
//! TOML has no `null` and no integers past `i64`: those are the only JSON values a scenario
//! cannot hold as they are. An object key whose value is `null` is left out (the handlers
//! read a missing field and a `null` one alike: "absent"); a `null` anywhere else becomes
//! the string `"null"`, and a too-large integer its decimal string. Each is counted, and
//! `record` reports the counts.

use crate::core::Value;

/// What writing payloads as TOML could not keep exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lossy {
    /// Object keys left out because their value was `null`.
    pub null_keys_dropped: u64,
    /// `null`s in arrays or as a whole payload, written as the string `"null"`.
    pub nulls_as_strings: u64,
    /// Integers beyond `i64`, written as decimal strings.
    pub big_integers_as_strings: u64,
}

impl Lossy {
    /// One line per kind of loss, for the report and the file's header.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.null_keys_dropped > 0 {
            out.push(format!(
                "{} payload keys whose value was null were left out (TOML has no null)",
                self.null_keys_dropped
            ));
        }
        if self.nulls_as_strings > 0 {
            out.push(format!(
                "{} nulls in arrays (or whole null payloads) were written as the string \"null\"",
                self.nulls_as_strings
            ));
        }
        if self.big_integers_as_strings > 0 {
            out.push(format!(
                "{} integers larger than TOML allows were written as strings",
                self.big_integers_as_strings
            ));
        }
        out
    }
}

/// `value` as TOML, counting what TOML cannot hold into `lossy`.
pub fn to_toml(value: &Value, lossy: &mut Lossy) -> toml::Value {
    match value {
        Value::Null => {
            lossy.nulls_as_strings += 1;
            toml::Value::String("null".into())
        }
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                toml::Value::Integer(i)
            } else if n.is_u64() {
                lossy.big_integers_as_strings += 1;
                toml::Value::String(n.to_string())
            } else {
                toml::Value::Float(
                    n.as_f64()
                        .expect("a JSON number is an i64, a u64 or an f64"),
                )
            }
        }
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => {
            toml::Value::Array(items.iter().map(|v| to_toml(v, lossy)).collect())
        }
        Value::Object(map) => {
            let mut table = toml::map::Map::new();
            for (k, v) in map {
                if v.is_null() {
                    lossy.null_keys_dropped += 1;
                } else {
                    table.insert(k.clone(), to_toml(v, lossy));
                }
            }
            toml::Value::Table(table)
        }
    }
}

/// `value` written inline (`{ device = "r1" }`), for one `payload = ...` line.
pub fn toml_inline(value: &Value, lossy: &mut Lossy) -> String {
    to_toml(value, lossy).to_string()
}

/// The bytes `publish` sends for a scenario payload: a string as its own text (so a
/// recorded non-JSON payload goes back on the wire as it came), anything else as JSON.
pub fn payload_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::String(s) => s.as_bytes().to_vec(),
        other => serde_json::to_vec(other).expect("a JSON value serializes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Loads `payload = <text>` back as the scenario loader would (TOML into a JSON value).
    fn reload(text: &str) -> Value {
        let doc: toml::Table = toml::from_str(&format!("payload = {text}")).expect(text);
        serde_json::to_value(&doc["payload"]).unwrap()
    }

    #[test]
    fn json_payloads_come_back_from_toml_unchanged() {
        let payloads = [
            json!({"device": "r1", "device_id": "dev:1", "interface": "Gi0/1", "n": 3, "x": 1.0}),
            json!({"alertData": {"portNum": "12", "previousValue": "Connected"}, "list": [1, "a", true]}),
            json!({"weird key": 1, "a.b": "dots", "": "empty", "quote\"d": "\\ and 'single'"}),
            json!({"unicode": "é \u{1F600} \t tab", "neg": -5, "big": 9_223_372_036_854_775_807_i64}),
            json!("a plain string payload"),
            json!([1, 2, 3]),
            json!({"f": 1e300, "g": -0.25}),
        ];
        for p in payloads {
            let mut lossy = Lossy::default();
            let text = toml_inline(&p, &mut lossy);
            assert_eq!(reload(&text), p, "{text}");
            assert_eq!(lossy, Lossy::default());
        }
    }

    #[test]
    fn what_toml_cannot_hold_is_counted() {
        let mut lossy = Lossy::default();
        let text = toml_inline(
            &json!({"gone": null, "kept": [null, 1], "huge": 18_446_744_073_709_551_615_u64}),
            &mut lossy,
        );
        assert_eq!(
            reload(&text),
            json!({"kept": ["null", 1], "huge": "18446744073709551615"})
        );
        assert_eq!(
            lossy,
            Lossy {
                null_keys_dropped: 1,
                nulls_as_strings: 1,
                big_integers_as_strings: 1
            }
        );
        assert_eq!(lossy.lines().len(), 3);
    }

    #[test]
    fn strings_go_on_the_wire_as_text_and_the_rest_as_json() {
        assert_eq!(payload_bytes(&json!("not json")), b"not json");
        assert_eq!(payload_bytes(&json!({"a": 1})), br#"{"a":1}"#);
    }
}
