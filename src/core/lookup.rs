//! Hash maps for lookups on the hot path: entities by id, rules and specs by name.
//!
//! The crate bans `HashMap` and `HashSet` (clippy.toml) because iterating one is random, and
//! anything that reaches a trace must not depend on that. These aliases are for maps that
//! are only ever looked up, never iterated (their order is nobody's business), and their
//! hasher has no random state. Whoever needs an order keeps it beside the map (the store
//! keeps its ids in a sorted set).

use std::hash::{BuildHasherDefault, Hasher};

/// A hash map that is looked up, never iterated.
#[allow(clippy::disallowed_types)]
pub type LookupMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// rustc's FxHash: a multiply and a rotate per word, no random state. Keys are short names
/// and ids, not chosen by an adversary, so a fast, fixed hash is the right one here.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FxHasher::SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.add(tail_word(rest));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// The 1 to 7 bytes of `rest` as a little-endian word padded with zeros, read without a
/// `memcpy` call (ids are short: the tail is most of a hash). Overlapping reads put the same
/// byte at the same place twice, which `|` leaves as it is.
#[inline(always)]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    debug_assert!((1..8).contains(&n));
    if n >= 4 {
        let lo = u64::from(u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")));
        let hi = u64::from(u32::from_le_bytes(
            rest[n - 4..].try_into().expect("4 bytes"),
        ));
        lo | hi << (8 * (n - 4))
    } else {
        let mut word = u64::from(rest[0]);
        if n >= 2 {
            word |= u64::from(rest[1]) << 8;
        }
        if n == 3 {
            word |= u64::from(rest[2]) << 16;
        }
        word
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_word_is_the_zero_padded_bytes() {
        for n in 1..8usize {
            let bytes: Vec<u8> = (0..n as u8).map(|i| 0xA1 ^ i.wrapping_mul(37)).collect();
            let mut padded = [0u8; 8];
            padded[..n].copy_from_slice(&bytes);
            assert_eq!(tail_word(&bytes), u64::from_le_bytes(padded), "{n} bytes");
        }
    }

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
