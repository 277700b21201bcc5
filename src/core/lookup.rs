//! Hash maps for lookups on the hot path: entities by id, rules and specs by name.
//!
//! The crate bans `HashMap` and `HashSet` (clippy.toml) because iterating one is random, and
//! anything that reaches a trace must not depend on that. [`LookupMap`] is a hash map that
//! can only be looked up: it has no way to iterate, so its order is nobody's business, and
//! its hasher has no random state. Whoever needs an order keeps it beside the map (the store
//! keeps its ids in a sorted set).
//!
//! The hasher is rustc's FxHash from the `rustc-hash` crate (an add and a multiply per
//! word, a byte string folded into one word first), with no random state. Keys are short
//! names and ids, not chosen by an adversary, so a fast, fixed hash is the right one here.
//! No hash value is ever observed: another hasher would change how fast a lookup is, never
//! what it finds (a hand-written FxHasher stood here until the crate replaced it).

use rustc_hash::FxBuildHasher;
use std::borrow::Borrow;
use std::hash::Hash;

/// A hash map that is looked up, never iterated: it has no method that visits its entries,
/// so no order of theirs can reach a trace (or anything else).
#[derive(Clone)]
pub struct LookupMap<K, V>(
    #[allow(clippy::disallowed_types)] std::collections::HashMap<K, V, FxBuildHasher>,
);

impl<K, V> Default for LookupMap<K, V> {
    fn default() -> LookupMap<K, V> {
        LookupMap(Default::default())
    }
}

impl<K: Hash + Eq, V> LookupMap<K, V> {
    #[inline]
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.0.get(key)
    }

    #[inline]
    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.0.get_mut(key)
    }

    /// The value that was under `key`, if any.
    #[inline]
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.0.insert(key, value)
    }

    #[inline]
    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.0.remove(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// The same entries, whatever order they went in.
impl<K: Hash + Eq, V: PartialEq> PartialEq for LookupMap<K, V> {
    fn eq(&self, other: &LookupMap<K, V>) -> bool {
        self.0 == other.0
    }
}

/// The value of `key`; panics when there is none, as `HashMap`'s index does.
impl<K: Hash + Eq + Borrow<Q>, Q: Hash + Eq + ?Sized, V> std::ops::Index<&Q> for LookupMap<K, V> {
    type Output = V;

    #[inline]
    fn index(&self, key: &Q) -> &V {
        &self.0[key]
    }
}

/// Only the size: printing the entries would print them in the table's order.
impl<K, V> std::fmt::Debug for LookupMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupMap")
            .field("len", &self.0.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_find_what_was_put_and_nothing_else() {
        let mut map: LookupMap<String, usize> = LookupMap::default();
        let mut long: LookupMap<String, usize> = LookupMap::default();
        for i in 0..1000 {
            map.insert(format!("e{i}"), i);
            long.insert(format!("rule_{i}_with_a_longer_name"), i);
        }
        for i in 0..1000 {
            assert_eq!(map.get(format!("e{i}").as_str()), Some(&i));
            let key = format!("rule_{i}_with_a_longer_name");
            assert_eq!(long.get(key.as_str()), Some(&i));
        }
        assert_eq!(map.get("e1000"), None);
        assert_eq!(long.get("rule_1000_with_a_longer_name"), None);
        assert_eq!(map.remove("e7"), Some(7));
        assert_eq!((map.get("e7"), map.len()), (None, 999));
        assert_eq!(map.insert("e8".into(), 80), Some(8));
        assert_eq!(map["e8"], 80);
        assert_eq!(format!("{map:?}"), "LookupMap { len: 999 }");
    }
}
