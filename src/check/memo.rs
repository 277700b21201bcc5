//! A table of answers keyed by two names, for checkers that judge millions of records by the
//! same few names (`tenant_isolation`: tenant and rule; `valid_transition`: type and action),
//! and for the simulator, which asks it of every commit (type and action: the subject's
//! prefix and whether anyone may hear it).
//!
//! It is filled once, when the checker is built, with the answer for every pair a correct
//! run can ask about (each tenant with each of its rules; each type with each of its
//! actions), and only read during runs: the runs of a sweep share one table, and a run
//! allocates nothing for it. A pair not in it names something undeclared: for
//! `tenant_isolation` that is the answer, `valid_transition` looks further to say what.
//!
//! It is an open-addressing table. A pair's first slot comes from each name's length and
//! its first and last eight bytes (two loads, not a hash over the bytes); slots are probed
//! in turn until the pair, compared in line, or an empty slot. A hit costs no `memcmp` call
//! and no second lookup, where the hash maps behind it cost both, twice.

use crate::core::{same_name, short_word, word_at};

type Slot<V> = Option<(Box<str>, Box<str>, V)>;

#[derive(Clone)]
pub(crate) struct NameMemo<V> {
    slots: Vec<Slot<V>>,
    len: usize,
}

impl<V: Copy> NameMemo<V> {
    /// A table for `pairs` (a pair given twice keeps its last answer).
    pub(crate) fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str, V)>) -> NameMemo<V> {
        let mut memo = NameMemo {
            slots: (0..8).map(|_| None).collect(),
            len: 0,
        };
        for (a, b, value) in pairs {
            memo.insert(a, b, value);
        }
        memo
    }

    /// The answer for `(a, b)`, if the table has it.
    #[inline]
    pub(crate) fn get(&self, a: &str, b: &str) -> Option<V> {
        let mask = self.slots.len() - 1;
        let mut i = slot_of(a, b, mask);
        while let Some((have_a, have_b, value)) = &self.slots[i] {
            if same_name(have_a, a) && same_name(have_b, b) {
                return Some(*value);
            }
            i = (i + 1) & mask;
        }
        None
    }

    fn insert(&mut self, a: &str, b: &str, value: V) {
        let mask = self.slots.len() - 1;
        let mut i = slot_of(a, b, mask);
        while let Some((have_a, have_b, have)) = &mut self.slots[i] {
            if same_name(have_a, a) && same_name(have_b, b) {
                *have = value;
                return;
            }
            i = (i + 1) & mask;
        }
        self.slots[i] = Some((a.into(), b.into(), value));
        self.len += 1;
        // At most half full: probes stay short, and a miss always finds an empty slot.
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = (0..old.len() * 2).map(|_| None).collect();
        let mask = self.slots.len() - 1;
        for (a, b, value) in old.into_iter().flatten() {
            let mut i = slot_of(&a, &b, mask);
            while self.slots[i].is_some() {
                i = (i + 1) & mask;
            }
            self.slots[i] = Some((a, b, value));
        }
    }
}

/// The first slot for `(a, b)`: both names' [`sketch`]es, Fibonacci-hashed.
#[inline]
fn slot_of(a: &str, b: &str, mask: usize) -> usize {
    let key = sketch(a.as_bytes()).wrapping_add(sketch(b.as_bytes()).rotate_left(29));
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

/// The length and the first and last eight bytes of `bytes` (overlapping for shorter
/// names), folded into a word.
#[inline]
fn sketch(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let body = if n >= 8 {
        word_at(bytes, 0) ^ word_at(bytes, n - 8).rotate_left(23)
    } else {
        short_word(bytes, 0)
    };
    body ^ (n as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_answers_for_the_pairs_it_was_built_with_and_no_others() {
        let names: Vec<String> = (0..300).map(|i| format!("n{i}")).collect();
        let pairs: Vec<(usize, usize)> = (0..300).map(|i| (i, (i * 7 + 3) % 300)).collect();
        let memo = NameMemo::new(
            pairs
                .iter()
                .map(|&(a, b)| (names[a].as_str(), names[b].as_str(), a * 1000 + b)),
        );
        assert!(memo.slots.len() >= 2 * memo.len);
        assert_eq!(memo.len, 300);
        for &(a, b) in &pairs {
            // The same names, held elsewhere: found by content, not address.
            let (a_copy, b_copy) = (names[a].clone(), names[b].clone());
            assert_eq!(memo.get(&a_copy, &b_copy), Some(a * 1000 + b), "{a} {b}");
            // The pair the other way round (unless it is a pair too), or with a name
            // changed, is not there.
            if !pairs.contains(&(b, a)) {
                assert_eq!(memo.get(&names[b], &names[a]), None, "{b} {a}");
            }
            assert_eq!(memo.get(&format!("{}x", names[a]), &names[b]), None);
        }
        assert_eq!(memo.get("", ""), None);
        let last = NameMemo::new([("t", "r", 1), ("t", "r", 2)]);
        assert_eq!((last.get("t", "r"), last.len), (Some(2), 1));
    }
}
