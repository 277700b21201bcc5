//! An entity's fields: a small map from names to JSON values, kept in key order.
//!
//! Entities carry a handful of fields, and a cascade reads and writes them on every hop: a
//! rule's params are merged into its target, guards and resolvers read the source. A
//! `BTreeMap<String, Value>` (serde_json's map) costs a node walk per lookup and a pointer
//! chase to each key's bytes. Here the entries are one sorted `Vec`, and a key of up to
//! [`KEY_INLINE_MAX`] bytes (every field name in practice) is stored inside its entry, so
//! finding a field reads one contiguous block: lengths and bytes compared in line, no
//! allocation, no `memcmp` call.
//!
//! Everything observable is what the B-tree gave: iteration, serialization and `Debug` are in
//! key (byte) order, a key is present once, inserting an existing key replaces its value.
//! The tests below run random operations on both and compare.

use crate::core::{same_bytes, Value};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

/// Names up to this many bytes are stored in line.
pub const KEY_INLINE_MAX: usize = 22;

/// Up to this many entries, a field is found by a scan; beyond, by binary search.
const SCANNED_MAX: usize = 12;

/// A name stored in line when short (up to [`KEY_INLINE_MAX`] bytes), boxed otherwise: 24
/// bytes either way, like a `String`, but reading a short one touches no other memory. Field
/// names are keys here; entity ids are keys of the store's tables. It hashes, compares and
/// borrows as the bytes of the `str` it holds, so a map keyed by it is looked up with the
/// `&[u8]` of a `&str`.
#[derive(Clone)]
pub(crate) struct Key(Repr);

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        bytes: [u8; KEY_INLINE_MAX],
    },
    Boxed(Box<str>),
}

impl Key {
    pub(crate) fn new(name: &str) -> Key {
        Key(if name.len() <= KEY_INLINE_MAX {
            let mut bytes = [0u8; KEY_INLINE_MAX];
            bytes[..name.len()].copy_from_slice(name.as_bytes());
            Repr::Inline {
                len: name.len() as u8,
                bytes,
            }
        } else {
            Repr::Boxed(name.into())
        })
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Boxed(name) => name.as_bytes(),
        }
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match &self.0 {
            // An inline key holds the bytes of a `&str` it was made from, whole: never `Err`.
            Repr::Inline { .. } => std::str::from_utf8(self.as_bytes()).expect("a whole str"),
            Repr::Boxed(name) => name,
        }
    }

    #[inline]
    fn is(&self, name: &str) -> bool {
        same_bytes(self.as_bytes(), name.as_bytes())
    }
}

/// Bytes, not `str`: a probe of the store's table compares through this, and reading an
/// inline key as a `str` checks its UTF-8 (see [`Key::as_str`]).
impl std::borrow::Borrow<[u8]> for Key {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::hash::Hash for Key {
    /// As the bytes hash: `Borrow<[u8]>` requires it.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        same_bytes(self.as_bytes(), other.as_bytes())
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The fields of an entity (and of a scenario's initial entities): field name to value, in
/// key order.
#[derive(Clone, Default)]
pub struct Fields {
    /// Sorted by key bytes, keys unique.
    entries: Vec<(Key, Value)>,
}

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `key` is: `Ok(index)`, or `Err(where it would go)`.
    #[inline]
    fn find(&self, key: &str) -> Result<usize, usize> {
        if self.entries.len() <= SCANNED_MAX {
            if let Some(i) = self.entries.iter().position(|(k, _)| k.is(key)) {
                return Ok(i);
            }
            // Absent: only an insert needs to know where it would go.
            return Err(self.insertion_point(key));
        }
        self.entries
            .binary_search_by(|(k, _)| k.as_bytes().cmp(key.as_bytes()))
    }

    #[cold]
    fn insertion_point(&self, key: &str) -> usize {
        self.entries
            .partition_point(|(k, _)| k.as_bytes().cmp(key.as_bytes()) == Ordering::Less)
    }

    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value> {
        let i = self.find(key).ok()?;
        Some(&self.entries[i].1)
    }

    #[inline]
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let i = self.find(key).ok()?;
        Some(&mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaces.
    pub fn insert(&mut self, key: &str, value: Value) -> Option<Value> {
        match self.slot(key) {
            Ok(slot) => Some(std::mem::replace(slot, value)),
            Err(vacant) => {
                vacant.insert(value);
                None
            }
        }
    }

    /// [`Fields::find`], trying first where `hint` says `key` was found last time.
    #[inline]
    fn find_hinted(&self, key: &str, hint: &Hint) -> Result<usize, usize> {
        let at = hint.get();
        if self.entries.get(at).is_some_and(|(k, _)| k.is(key)) {
            return Ok(at);
        }
        let found = self.find(key);
        if let Ok(i) = found {
            hint.set(i);
        }
        found
    }

    /// [`Fields::get`], trying `hint` first ([`Hint`]).
    #[inline]
    pub(crate) fn get_hinted(&self, key: &str, hint: &Hint) -> Option<&Value> {
        let i = self.find_hinted(key, hint).ok()?;
        Some(&self.entries[i].1)
    }

    /// The value of `key`, or `Err(vacant)` to insert it with [`Vacant::insert`] without
    /// searching again.
    #[inline]
    pub(crate) fn slot<'k>(&mut self, key: &'k str) -> Result<&mut Value, Vacant<'_, 'k>> {
        let found = self.find(key);
        self.slot_at(key, found)
    }

    /// [`Fields::slot`], trying `hint` first ([`Hint`]).
    #[inline]
    pub(crate) fn slot_hinted<'k>(
        &mut self,
        key: &'k str,
        hint: &Hint,
    ) -> Result<&mut Value, Vacant<'_, 'k>> {
        let found = self.find_hinted(key, hint);
        self.slot_at(key, found)
    }

    #[inline]
    fn slot_at<'k>(
        &mut self,
        key: &'k str,
        found: Result<usize, usize>,
    ) -> Result<&mut Value, Vacant<'_, 'k>> {
        match found {
            Ok(i) => Ok(&mut self.entries[i].1),
            Err(at) => Err(Vacant {
                fields: self,
                at,
                key,
            }),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.find(key).ok()?;
        Some(self.entries.remove(i).1)
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &Value)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&str, &mut Value)> + ExactSizeIterator {
        self.entries.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut Value> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The fields as a JSON object (serde_json's map), in the same order.
    pub fn to_object(&self) -> serde_json::Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

/// `fields["name"]`: the value of a field that must be there (panics otherwise, as a
/// map's index does).
impl std::ops::Index<&str> for Fields {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or_else(|| panic!("no field {key:?}"))
    }
}

/// Where a key was found the last time one caller looked it up: an inline cache. The
/// entities a rule reads and writes share a shape (the same fields, so the same positions),
/// so the caller's next lookup of that key usually finds it at the same index with one
/// comparison instead of a scan. A wrong hint costs one comparison, then the search; it
/// never changes an answer. Kept in a relaxed atomic so that plans shared by sweep threads
/// stay `Sync` (a plain load and store on x86), and written only when it was wrong.
#[derive(Debug, Default)]
pub(crate) struct Hint(AtomicU8);

impl Hint {
    #[inline]
    fn get(&self) -> usize {
        usize::from(self.0.load(Relaxed))
    }

    #[inline]
    fn set(&self, at: usize) {
        // Positions past `u8` are not remembered (a hint of 255 is just wrong).
        let at = u8::try_from(at).unwrap_or(u8::MAX);
        if self.0.load(Relaxed) != at {
            self.0.store(at, Relaxed);
        }
    }
}

impl Clone for Hint {
    fn clone(&self) -> Hint {
        Hint(AtomicU8::new(self.0.load(Relaxed)))
    }
}

/// An absent key and where it goes (see [`Fields::slot`]).
pub(crate) struct Vacant<'a, 'k> {
    fields: &'a mut Fields,
    at: usize,
    key: &'k str,
}

impl Vacant<'_, '_> {
    /// Inserts the key with `value`.
    pub(crate) fn insert(self, value: Value) {
        self.fields
            .entries
            .insert(self.at, (Key::new(self.key), value));
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Fields) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Fields {
    /// As the map it stands for: `{"a": Number(1)}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>> FromIterator<(K, Value)> for Fields {
    /// Later entries replace earlier ones with the same key, as in a map.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Fields {
        let mut fields = Fields::new();
        fields.extend(iter);
        fields
    }
}

impl<K: AsRef<str>> Extend<(K, Value)> for Fields {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k.as_ref(), v);
        }
    }
}

impl From<serde_json::Map<String, Value>> for Fields {
    fn from(map: serde_json::Map<String, Value>) -> Fields {
        // The map iterates in key order already (serde_json's `preserve_order` is off): no
        // entry moves.
        let fields = Fields {
            entries: map.into_iter().map(|(k, v)| (Key::new(&k), v)).collect(),
        };
        debug_assert!(fields
            .entries
            .windows(2)
            .all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()));
        fields
    }
}

impl From<Fields> for serde_json::Map<String, Value> {
    fn from(fields: Fields) -> serde_json::Map<String, Value> {
        fields
            .entries
            .into_iter()
            .map(|(k, v)| (k.as_str().to_string(), v))
            .collect()
    }
}

impl From<Fields> for Value {
    fn from(fields: Fields) -> Value {
        Value::Object(fields.into())
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fields, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // serde_json's map says the same: scenario errors read as they did.
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Fields, A::Error> {
                let mut fields = Fields::new();
                while let Some((k, v)) = access.next_entry::<String, crate::core::Finite>()? {
                    fields.insert(&k, v.0);
                }
                Ok(fields)
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A hint changes how fast a key is found, never what is found: every hint, right,
    /// wrong or past the end, gives what the plain lookup gives, and a hit leaves the hint
    /// at the key's index; an absent key is inserted in order.
    #[test]
    fn hinted_lookups_answer_as_plain_ones_whatever_the_hint() {
        let names = ["hop", "lane", "peer", "quiet", "touches", "via"];
        let mut fields = Fields::new();
        for (i, name) in names.iter().enumerate() {
            fields.insert(name, Value::from(i));
        }
        for key in names.iter().copied().chain(["absent", "", "zz", "a"]) {
            for start in 0..=u8::MAX {
                let hint = Hint(AtomicU8::new(start));
                assert_eq!(
                    fields.get_hinted(key, &hint),
                    fields.get(key),
                    "{key} {start}"
                );
                if let Ok(i) = fields.find(key) {
                    assert_eq!(hint.get(), i, "{key} from {start}");
                    assert_eq!(fields.get_hinted(key, &hint), fields.get(key));
                }
                let mut changed = fields.clone();
                match changed.slot_hinted(key, &Hint(AtomicU8::new(start))) {
                    Ok(value) => *value = Value::Null,
                    Err(vacant) => vacant.insert(Value::Null),
                }
                let mut expected = fields.clone();
                expected.insert(key, Value::Null);
                assert_eq!(changed, expected, "{key} {start}");
                assert!(changed.keys().is_sorted(), "{key} {start}");
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(String, i64),
        Remove(String),
        Set(String, i64),
    }

    fn key() -> impl Strategy<Value = String> {
        // Short and long keys (both sides of the in-line limit), shared prefixes, non-ASCII.
        prop_oneof![
            "[a-c]{0,3}",
            "[a-c]{20,24}",
            Just("é".to_string()),
            Just("e\u{301}".to_string()),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (key(), any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            key().prop_map(Op::Remove),
            (key(), any::<i64>()).prop_map(|(k, v)| Op::Set(k, v)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn behaves_as_the_btree_map(ops in proptest::collection::vec(op(), 0..80)) {
            let mut ours = Fields::new();
            let mut theirs: BTreeMap<String, Value> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        prop_assert_eq!(ours.insert(&k, Value::from(v)), theirs.insert(k, Value::from(v)));
                    }
                    Op::Remove(k) => prop_assert_eq!(ours.remove(&k), theirs.remove(&k)),
                    Op::Set(k, v) => {
                        if let Some(slot) = ours.get_mut(&k) {
                            *slot = Value::from(v);
                        }
                        if let Some(slot) = theirs.get_mut(&k) {
                            *slot = Value::from(v);
                        }
                    }
                }
                prop_assert_eq!(ours.len(), theirs.len());
            }
            let pairs: Vec<(&str, &Value)> = ours.iter().collect();
            let expected: Vec<(&str, &Value)> = theirs.iter().map(|(k, v)| (k.as_str(), v)).collect();
            prop_assert_eq!(pairs, expected);
            for k in theirs.keys() {
                prop_assert_eq!(ours.get(k), theirs.get(k));
                prop_assert!(ours.contains_key(k));
            }
            prop_assert_eq!(ours.get("zzz-absent"), None);
            let map: serde_json::Map<String, Value> = theirs.clone().into_iter().collect();
            prop_assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&map).unwrap());
            prop_assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
            prop_assert_eq!(Fields::from(map.clone()), ours.clone());
            prop_assert_eq!(serde_json::Map::from(ours.clone()), map.clone());
            prop_assert_eq!(ours.to_object(), map);
        }
    }

    #[test]
    fn reads_tables_and_objects_with_the_last_duplicate_winning() {
        let f: Fields = serde_json::from_str(r#"{"b": 1, "a": "x", "b": 2}"#).unwrap();
        assert_eq!(serde_json::to_string(&f).unwrap(), r#"{"a":"x","b":2}"#);
        let t: Fields = toml::from_str("total = 1.5\nname = 'n'").unwrap();
        assert_eq!(t.keys().collect::<Vec<_>>(), ["name", "total"]);
        assert_eq!(t.get("total"), Some(&serde_json::json!(1.5)));
        let err = serde_json::from_str::<Fields>("[1]").unwrap_err();
        assert!(err.to_string().contains("expected a map"), "{err}");
    }

    #[test]
    fn a_long_key_is_boxed_and_found_like_a_short_one() {
        let long = "k".repeat(KEY_INLINE_MAX + 1);
        let edge = "k".repeat(KEY_INLINE_MAX);
        let mut f = Fields::new();
        f.insert(&long, Value::from(1));
        f.insert(&edge, Value::from(2));
        assert!(matches!(f.entries[0].0 .0, Repr::Inline { .. }));
        assert!(matches!(f.entries[1].0 .0, Repr::Boxed(_)));
        assert_eq!(f.get(&long), Some(&Value::from(1)));
        assert_eq!(f.get(&edge), Some(&Value::from(2)));
        assert_eq!(std::mem::size_of::<Key>(), 24);
    }

    #[test]
    fn many_fields_are_searched_in_order() {
        let mut f = Fields::new();
        for i in (0..100).rev() {
            f.insert(&format!("f{i:03}"), Value::from(i));
        }
        assert_eq!(f.len(), 100);
        for i in 0..100 {
            assert_eq!(f.get(&format!("f{i:03}")), Some(&Value::from(i)));
        }
        assert!(f.keys().collect::<Vec<_>>().windows(2).all(|w| w[0] < w[1]));
        assert_eq!(f.get("f100"), None);
        assert_eq!(f.remove("f050"), Some(Value::from(50)));
        assert_eq!(f.get("f050"), None);
        assert_eq!(f.len(), 99);
    }
}
