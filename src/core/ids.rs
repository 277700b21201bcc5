//! Newtypes for names that must not be mixed up, and the JSON value types entities carry.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A JSON value: entity fields, params and payloads. Equality is JSON equality (`1 != 1.0`).
pub type Value = serde_json::Value;
/// A JSON object: payloads and params. serde_json's map is a `BTreeMap` unless
/// `preserve_order` is on, which this crate never enables: iteration order is key order, so
/// it is deterministic. (An entity's fields are the engine's `Fields`.)
pub type Object = serde_json::Map<String, Value>;

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                $name(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// A tenant: rules, lookups and targets never cross from one tenant to another.
    TenantId
);
string_newtype!(
    /// An entity's id, unique within its tenant and entity type.
    EntityId
);

/// A publication's sequence number within one run (0, 1, 2, ... in publish order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct EventId(pub u64);

/// A subscription's id. The bus hands them out as 0, 1, 2, ... in subscription order, so
/// sorting by id is sorting by subscription order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SubId(pub u32);

impl fmt::Display for SubId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sub#{}", self.0)
    }
}

/// How many causal hops separate a dispatch from its root input. Reactions fired by a root
/// action have depth 0.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Depth(pub u32);

impl fmt::Display for Depth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The reaction engine's bound: reaction results carry depth 0..=7.
pub const MAX_REACTION_DEPTH: u32 = 8;
/// Guards deeper than this are rejected when rules are parsed.
pub const MAX_GUARD_DEPTH: usize = 4;
/// At most this many rules per tenant.
pub const MAX_RULES_PER_TENANT: usize = 256;

/// Whether two names are equal, compared in line: names (tenants, types, actions, rules,
/// states, field keys, ids) are a few bytes long, and the hot path compares them millions of
/// times, where a call into the C library's `memcmp` costs more than the comparison itself.
/// Long strings still go to `memcmp`.
#[inline]
pub fn same_name(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same_name`] on bytes. Up to 16 bytes are compared as at most two pairs of words,
/// overlapping when the length is not a multiple of the word (no loop over single bytes).
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4"));
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word_at(a, 0) == word_at(b, 0) && word_at(a, n - 8) == word_at(b, n - 8),
        _ => a == b,
    }
}

/// The eight bytes of `bytes` from `at` (little-endian).
#[inline(always)]
pub(crate) fn word_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// The bytes of a string shorter than eight bytes as one word, without a loop: two
/// overlapping 4-byte loads for 4 to 7 bytes; the first, middle and last byte, then `pad`,
/// for 1 to 3 (which covers every byte); all `pad` for none. Each byte may be read twice,
/// so the word tells whether some byte has a property, or (for two strings of one length)
/// whether they are equal, not where a byte is.
#[inline(always)]
pub(crate) fn short_word(bytes: &[u8], pad: u8) -> u64 {
    let n = bytes.len();
    debug_assert!(n < 8);
    let half = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")));
    let pads = u64::from_le_bytes([pad; 8]);
    match n {
        0 => pads,
        1..=3 => {
            u64::from(bytes[0])
                | u64::from(bytes[n / 2]) << 8
                | u64::from(bytes[n - 1]) << 16
                | pads << 24
        }
        _ => half(0) | half(n - 4) << 32,
    }
}

/// Maps and lists keyed by names this short are scanned with [`same_name`]; longer ones are
/// searched.
const NAMES_SCANNED_MAX: usize = 16;

/// The value of `key` in `list`, sorted by key: a scan comparing in line for a short list (a
/// scenario's tenants, a tenant's types, a trie node's tokens), a binary search otherwise.
#[inline]
pub(crate) fn get_in<'a, K: std::borrow::Borrow<str>, V>(
    list: &'a [(K, V)],
    key: &str,
) -> Option<&'a V> {
    if list.len() <= NAMES_SCANNED_MAX {
        list.iter()
            .find(|(k, _)| same_name(k.borrow(), key))
            .map(|(_, v)| v)
    } else {
        search_named(list, key).ok().map(|at| &list[at].1)
    }
}

/// Where `key` is in `list`, sorted by key: `Ok(index)`, or `Err(where it would go)`.
pub(crate) fn find_named<K: std::borrow::Borrow<str>, V>(
    list: &[(K, V)],
    key: &str,
) -> Result<usize, usize> {
    if list.len() <= NAMES_SCANNED_MAX {
        if let Some(at) = list.iter().position(|(k, _)| same_name(k.borrow(), key)) {
            return Ok(at);
        }
    }
    search_named(list, key)
}

/// The binary search behind [`get_in`] and [`find_named`], out of line: a run scans.
#[inline(never)]
fn search_named<K: std::borrow::Borrow<str>, V>(
    list: &[(K, V)],
    key: &str,
) -> Result<usize, usize> {
    list.binary_search_by(|(k, _)| k.borrow().cmp(key))
}

/// `map.get(key)` for a map keyed by names: a few entries (the usual case: a scenario's
/// tenants, entity types, a type's actions) are scanned comparing in line, which beats a
/// tree search whose every step calls `memcmp`; a big map is searched.
#[inline]
pub fn get_named<'a, K, V>(map: &'a std::collections::BTreeMap<K, V>, key: &str) -> Option<&'a V>
where
    K: std::borrow::Borrow<str> + Ord,
{
    if map.len() > NAMES_SCANNED_MAX {
        return map.get(key);
    }
    map.iter()
        .find(|(k, _)| same_name((*k).borrow(), key))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_named_finds_what_get_finds() {
        for n in [0usize, 1, 5, 16, 17, 100] {
            let map: std::collections::BTreeMap<String, usize> =
                (0..n).map(|i| (format!("k{i}"), i)).collect();
            for i in 0..n + 3 {
                let key = format!("k{i}");
                assert_eq!(get_named(&map, &key), map.get(&key), "{n} {key}");
            }
        }
    }

    #[test]
    fn sorted_lists_are_scanned_or_searched_with_the_same_answers() {
        for n in [0usize, 1, 5, 16, 17, 40] {
            let list: Vec<(String, usize)> = (0..n).map(|i| (format!("k{i:02}"), i)).collect();
            for i in 0..n {
                let key = format!("k{i:02}");
                assert_eq!(get_in(&list, &key), Some(&i), "{n} {key}");
                assert_eq!(find_named(&list, &key), Ok(i), "{n} {key}");
            }
            for (key, at) in [("a", 0), ("k00x", 1.min(n)), ("z", n)] {
                assert_eq!(get_in(&list, key), None, "{n} {key}");
                assert_eq!(find_named(&list, key), Err(at), "{n} {key}");
            }
        }
    }

    #[test]
    fn same_name_is_string_equality() {
        let names = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "L0",
            "L1",
            "e12",
            "e21",
            "touches",
            "touchez",
            "exactly8",
            "exactly9!",
            "sixteen_bytes_xx",
            "sixteen_bytes_xy",
            "seventeen_bytes_x",
            "seventeen_bytes_y",
            "é",
            "e\u{301}",
        ];
        for a in names {
            for b in names {
                assert_eq!(same_name(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn same_bytes_sees_a_difference_at_every_position_of_every_length() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(29) ^ 0x41).collect();
            assert!(same_bytes(&a, &a.clone()), "{n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x01;
                assert!(!same_bytes(&a, &b), "length {n}, differing at {at}");
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(!same_bytes(&a, &longer), "length {n} against {}", n + 1);
        }
    }
}
