//! Canonical hashing for the JSON values the engine carries, so that model states can hold
//! real engine data (entity fields, params, payloads) and still be `Hash + Eq`.
//!
//! `serde_json::Value` is not `Hash`. Hashing it through its serialization would allocate on
//! every state; this walks the value instead. It agrees with `Value`'s `PartialEq`: integers
//! and floats hash apart (JSON equality says `1 != 1.0`), and `-0.0` hashes like `0.0`
//! because they compare equal. Objects are ordered maps here (the crate never enables
//! `preserve_order`), so iteration order is key order and equal objects hash alike.

use crate::core::Value;
use crate::engine::Fields;
use std::hash::{Hash, Hasher};

/// Feeds `value` into `state`, consistently with `Value`'s equality.
pub fn hash_value<H: Hasher>(value: &Value, state: &mut H) {
    match value {
        Value::Null => 0u8.hash(state),
        Value::Bool(b) => {
            1u8.hash(state);
            b.hash(state);
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                2u8.hash(state);
                i.hash(state);
            } else if let Some(u) = n.as_u64() {
                3u8.hash(state);
                u.hash(state);
            } else {
                4u8.hash(state);
                let f = n.as_f64().unwrap_or(0.0);
                // Equal floats must hash alike: 0.0 == -0.0.
                let f = if f == 0.0 { 0.0 } else { f };
                f.to_bits().hash(state);
            }
        }
        Value::String(s) => {
            5u8.hash(state);
            s.hash(state);
        }
        Value::Array(items) => {
            6u8.hash(state);
            items.len().hash(state);
            for item in items {
                hash_value(item, state);
            }
        }
        Value::Object(map) => {
            7u8.hash(state);
            hash_entries(map.len(), map.iter().map(|(k, v)| (k.as_str(), v)), state);
        }
    }
}

/// Feeds an object's entries, in key order.
pub fn hash_fields<H: Hasher>(fields: &Fields, state: &mut H) {
    hash_entries(fields.len(), fields.iter(), state);
}

/// Feeds `len` entries (an object's, or an entity's fields), in key order.
fn hash_entries<'a, H: Hasher>(
    len: usize,
    entries: impl Iterator<Item = (&'a str, &'a Value)>,
    state: &mut H,
) {
    len.hash(state);
    for (k, v) in entries {
        k.hash(state);
        hash_value(v, state);
    }
}

/// Renders a value as compact JSON (object keys in order): the text used in paths and
/// findings.
pub fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "<unprintable>".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::hash_map::DefaultHasher;

    fn h(v: &Value) -> u64 {
        let mut s = DefaultHasher::new();
        hash_value(v, &mut s);
        s.finish()
    }

    #[test]
    fn equal_values_hash_alike_and_int_float_apart() {
        assert_eq!(
            h(&json!({"a": [1, "x"], "b": null})),
            h(&json!({"b": null, "a": [1, "x"]}))
        );
        assert_ne!(h(&json!(1)), h(&json!(1.0)));
        assert_eq!(json!(0.0), json!(-0.0));
        assert_eq!(h(&json!(0.0)), h(&json!(-0.0)));
        assert_ne!(h(&json!("1")), h(&json!(1)));
    }
}
