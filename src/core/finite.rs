//! JSON values read from a scenario, refusing what JSON cannot hold.
//!
//! TOML has `nan` and `inf`; JSON has neither, and `serde_json` turns them into `null`
//! without a word, so `params = { x = nan }` would silently become `x = null`. Values read
//! through [`Finite`] (or the `deserialize_with` helpers below) fail instead, at the value's
//! own line and column. Everything else is what `serde_json::Value` would build.
//!
//! Not handled here: datetimes (the `toml` crate hands them over as a one-key table, which
//! the rule loader turns into strings).

use crate::core::Value;
use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use std::fmt;
use toml::Spanned;

/// The message of the error a non-finite number raises (the hint of `SourceError::from_toml`
/// looks for it).
pub const NOT_FINITE: &str = "is not a finite number";

/// A JSON value with no NaN or infinity in it, at any depth.
#[derive(Debug, Clone, PartialEq)]
pub struct Finite(pub Value);

impl<'de> Deserialize<'de> for Finite {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Finite, D::Error> {
        d.deserialize_any(FiniteVisitor).map(Finite)
    }
}

struct FiniteVisitor;

impl<'de> Visitor<'de> for FiniteVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{v} {NOT_FINITE}: JSON has no NaN or infinity")))
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Finite::deserialize(d).map(|f| f.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Finite(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some((k, Finite(v))) = map.next_entry::<String, Finite>()? {
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// `#[serde(deserialize_with = "finite")]` for a `Value` field.
pub fn finite<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Finite::deserialize(d).map(|f| f.0)
}

/// `#[serde(default, deserialize_with = "finite_opt")]` for an `Option<Value>` field.
pub fn finite_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Finite::deserialize(d).map(|f| Some(f.0))
}

/// `#[serde(default, deserialize_with = "finite_spanned")]` for an `Option<Spanned<Value>>`.
pub fn finite_spanned<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Spanned<Value>>, D::Error> {
    let s = Spanned::<Finite>::deserialize(d)?;
    let span = s.span();
    Ok(Some(Spanned::new(span, s.into_inner().0)))
}

/// `#[serde(default, deserialize_with = "finite_list_spanned")]` for an
/// `Option<Spanned<Vec<Value>>>`.
pub fn finite_list_spanned<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Spanned<Vec<Value>>>, D::Error> {
    let s = Spanned::<Vec<Finite>>::deserialize(d)?;
    let span = s.span();
    Ok(Some(Spanned::new(
        span,
        s.into_inner().into_iter().map(|f| f.0).collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Doc {
        #[serde(deserialize_with = "finite")]
        v: Value,
    }

    #[test]
    fn nan_and_inf_are_refused_at_any_depth() {
        for text in [
            "v = nan",
            "v = -inf",
            "v = { a = [1, { b = +inf }] }",
            "v = [nan]",
        ] {
            let e = toml::from_str::<Doc>(text).unwrap_err();
            assert!(e.message().contains(NOT_FINITE), "{text}: {e}");
            assert!(e.span().is_some(), "{text}: {e}");
        }
    }

    #[test]
    fn finite_values_read_as_serde_json_reads_them() {
        let text = "v = { a = [1, 2.5, \"x\", true], b = { c = -3 } }";
        let d: Doc = toml::from_str(text).unwrap();
        let expected: Value = toml::from_str::<toml::Table>(text).unwrap()["v"]
            .clone()
            .try_into()
            .unwrap();
        assert_eq!(d.v, expected);
    }
}
