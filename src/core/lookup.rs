//! Hash maps for lookups on the hot path: entities by id, rules and specs by name.
//!
//! The crate bans `HashMap` and `HashSet` (clippy.toml) because iterating one is random, and
//! anything that reaches a trace must not depend on that. These aliases are for maps that
//! are only ever looked up, never iterated (their order is nobody's business), and their
//! hasher has no random state. Whoever needs an order keeps it beside the map (the store
//! keeps its ids in a sorted set).
//!
//! The hasher is rustc's FxHash from the `rustc-hash` crate (an add and a multiply per
//! word, a byte string folded into one word first), with no random state. Keys are short
//! names and ids, not chosen by an adversary, so a fast, fixed hash is the right one here.
//! No hash value is ever observed: another hasher would change how fast a lookup is, never
//! what it finds (a hand-written FxHasher stood here until the crate replaced it).

use rustc_hash::FxBuildHasher;

/// A hash map that is looked up, never iterated.
#[allow(clippy::disallowed_types)]
pub type LookupMap<K, V> = std::collections::HashMap<K, V, FxBuildHasher>;

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
    }
}
