//! The few pieces of Python's semantics that netcortex's handlers and publishers lean on,
//! applied to JSON values: truthiness, `a or b or c`, `str(x)` and `repr(x)`.
//!
//! netcortex reads payloads with `payload.get("device_id") or payload.get("device")`, builds
//! targets with f-strings (`f"{device}|{interface}"`, which is `str()` of whatever the
//! payload held) and quotes values in rationales with `{x!r}`. Ripple's first-party handlers
//! and its model of netcortex's publishers do the same, so that an outcome (and a subject)
//! is the one netcortex would write, byte for byte, for the values JSON can carry.
//!
//! What it leaves out: Python's `repr` of a dict follows insertion order, and a JSON object
//! here is kept in key order, so a dict-valued id renders with its keys sorted; integers
//! beyond 64 bits arrive as floats; `repr` escapes the C0 and C1 control characters but
//! writes other non-printable characters (a zero-width space) as they are, where Python
//! escapes them. None of these occurs in a real payload's id fields.

use crate::core::Value;

/// Python truthiness: `None`, `False`, `0`, `0.0`, `""`, `[]` and `{}` are false.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// `payload.get(k1) or payload.get(k2) or ...`: the first truthy value, or else the last
/// key's value (`None` when that key is missing), as Python's `or` returns its last operand.
/// A payload that is not an object has no keys (netcortex would have raised before this; the
/// callers check the payload's shape first).
pub fn get_or<'a>(payload: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let mut last = None;
    for key in keys {
        last = payload.get(key);
        if last.is_some_and(truthy) {
            return last;
        }
    }
    // A falsy `None` is `None`: a missing key and an explicit null read alike.
    last.filter(|v| !v.is_null())
}

/// `a or b or ...` over values that may be missing: the first truthy one, or else the last
/// (`None` when it is missing or null).
pub fn py_or<'a>(values: &[Option<&'a Value>]) -> Option<&'a Value> {
    let mut last = None;
    for v in values {
        last = *v;
        if last.is_some_and(truthy) {
            return last;
        }
    }
    last.filter(|v| !v.is_null())
}

/// [`get_or`], kept only when truthy: what `if device:` lets through.
pub fn get_truthy<'a>(payload: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    get_or(payload, keys).filter(|v| truthy(v))
}

/// Python's `str(value)`: a string as it is, anything else as `repr` writes it.
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// `str(value)` appended to `out`.
pub fn push_py_str(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        other => out.push_str(&py_repr(other)),
    }
}

/// Python's `repr(value)` of the value `json.loads` would give.
pub fn py_repr(value: &Value) -> String {
    let mut out = String::new();
    push_repr(&mut out, value);
    out
}

/// `repr(x)` of an optional value: `None` when absent.
pub fn py_repr_opt(value: Option<&Value>) -> String {
    value.map_or_else(|| "None".to_string(), py_repr)
}

/// `repr(s)` of a string: single quotes unless the text holds a single quote and no double
/// one, backslash escapes for the quote, `\\`, `\n`, `\r`, `\t` and other control characters.
pub fn py_repr_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_repr_str(&mut out, text);
    out
}

/// `repr(s)` of an optional string: `None` when absent.
pub fn py_repr_str_opt(text: Option<&str>) -> String {
    text.map_or_else(|| "None".to_string(), py_repr_str)
}

fn push_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&py_float_repr(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        Value::String(s) => push_repr_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_repr_str(out, k);
                out.push_str(": ");
                push_repr(out, v);
            }
            out.push('}');
        }
    }
}

fn push_repr_str(out: &mut String, text: &str) {
    // Most ids need no escape: copied whole, not a character at a time.
    if !text
        .bytes()
        .any(|b| b == b'\'' || b == b'\\' || !(0x20..0x7f).contains(&b))
    {
        out.reserve(text.len() + 2);
        out.push('\'');
        out.push_str(text);
        out.push('\'');
        return;
    }
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python's `repr(float)`: the shortest text that reads back as the same float, with `.0`
/// on integral values, and exponent form (`1e+16`, `1e-05`) outside `1e-4 <= |x| < 1e16`.
pub fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let magnitude = x.abs();
    if x == 0.0 || (1e-4..1e16).contains(&magnitude) {
        // Rust's `{:?}` is the shortest round-trip text with a `.0` on integral values, and
        // in this range it never switches to an exponent.
        return format!("{x:?}");
    }
    // `{:e}` gives the shortest digits as `1.5e-7`; Python writes `1.5e-07`.
    let text = format!("{x:e}");
    let (mantissa, exponent) = text.split_once('e').expect("`{:e}` has an exponent");
    let exponent: i32 = exponent.parse().expect("an integer exponent");
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// Python's `str.strip()`: leading and trailing whitespace, Unicode's included.
pub fn py_strip(text: &str) -> &str {
    text.trim_matches(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truthiness_follows_python() {
        for falsy in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!truthy(&falsy), "{falsy}");
        }
        for t in [
            json!(true),
            json!(-1),
            json!(0.5),
            json!("0"),
            json!([0]),
            json!({"a": null}),
        ] {
            assert!(truthy(&t), "{t}");
        }
    }

    #[test]
    fn or_chain_returns_the_first_truthy_value_or_the_last_operand() {
        let p = json!({"device_id": "", "device": 0, "target": "x"});
        assert_eq!(
            get_or(&p, &["device_id", "device", "target"]),
            Some(&json!("x"))
        );
        // All falsy: the last operand, as Python returns it.
        let p = json!({"device_id": "", "device": 0, "target": []});
        assert_eq!(
            get_or(&p, &["device_id", "device", "target"]),
            Some(&json!([]))
        );
        assert_eq!(get_truthy(&p, &["device_id", "device", "target"]), None);
        // The last key missing (or null): None.
        let p = json!({"device_id": ""});
        assert_eq!(get_or(&p, &["device_id", "device"]), None);
        assert_eq!(get_or(&json!({"interface": null}), &["interface"]), None);
    }

    #[test]
    fn str_and_repr_write_what_python_writes() {
        assert_eq!(py_str(&json!("r1")), "r1");
        assert_eq!(py_str(&json!(65001)), "65001");
        assert_eq!(py_str(&json!(-3)), "-3");
        assert_eq!(py_str(&json!(1.0)), "1.0");
        assert_eq!(py_str(&json!(0.5)), "0.5");
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_str(&json!(null)), "None");
        assert_eq!(py_str(&json!(["a", 1, null])), "['a', 1, None]");
        assert_eq!(py_str(&json!({"b": 1, "a": "x"})), "{'a': 'x', 'b': 1}");
        assert_eq!(py_repr(&json!("r1|Gi0/1")), "'r1|Gi0/1'");
        assert_eq!(py_repr_str("it's"), "\"it's\"");
        assert_eq!(py_repr_str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_repr_str("tab\there\\"), "'tab\\there\\\\'");
        assert_eq!(py_repr_str("\u{1}"), "'\\x01'");
        assert_eq!(py_repr_str("é"), "'é'");
        assert_eq!(py_repr_str("a\u{85}b"), "'a\\x85b'");
        assert_eq!(py_repr_str_opt(None), "None");
    }

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (60.0, "60.0"),
            (300.0, "300.0"),
            (0.5, "0.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.25e20, "1.25e+20"),
            (-2.5, "-2.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.0, "0.0"),
        ];
        for (x, want) in cases {
            assert_eq!(py_float_repr(x), want, "{x}");
        }
    }

    #[test]
    fn strip_removes_unicode_whitespace() {
        assert_eq!(py_strip("\u{a0} Port 3\t"), "Port 3");
    }
}
