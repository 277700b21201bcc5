//! A memo of answers keyed by two names, for checkers that judge millions of records by the
//! same few names (`tenant_isolation`: tenant and rule; `valid_transition`: type and action).
//!
//! It is a small open-addressing table that remembers every pair it was asked about (a run
//! asks about a few dozen). A pair's first slot comes from each name's length and its first
//! and last eight bytes (two loads, not a hash over the bytes); slots are probed in turn
//! until the pair, compared in line, or an empty slot. A hit costs no `memcmp` call and no
//! second lookup, where the hash maps behind it cost both, twice.

use crate::engine::same_name;

/// Slots to start with; a power of two. The table doubles when half full.
const SLOTS_INITIAL: usize = 64;

type Slot<V> = Option<(Box<str>, Box<str>, V)>;

#[derive(Clone)]
pub(crate) struct NameMemo<V> {
    slots: Vec<Slot<V>>,
    len: usize,
}

impl<V: Copy> NameMemo<V> {
    pub(crate) fn new() -> NameMemo<V> {
        NameMemo {
            slots: (0..SLOTS_INITIAL).map(|_| None).collect(),
            len: 0,
        }
    }

    /// The answer for `(a, b)`: remembered, or `compute`d and remembered.
    #[inline]
    pub(crate) fn get(&mut self, a: &str, b: &str, compute: impl FnOnce() -> V) -> V {
        let mask = self.slots.len() - 1;
        let mut i = slot_of(a, b, mask);
        while let Some((have_a, have_b, value)) = &self.slots[i] {
            if same_name(have_a, a) && same_name(have_b, b) {
                return *value;
            }
            i = (i + 1) & mask;
        }
        let value = compute();
        self.slots[i] = Some((a.into(), b.into(), value));
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
        value
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
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let half = |at: usize| {
        u64::from(u32::from_le_bytes(
            bytes[at..at + 4].try_into().expect("4 bytes"),
        ))
    };
    let body = if n >= 8 {
        word(0) ^ word(n - 8).rotate_left(23)
    } else if n >= 4 {
        half(0) | half(n - 4) << 32
    } else if n > 0 {
        u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16
    } else {
        0
    };
    body ^ (n as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_per_pair_of_names_wherever_they_are() {
        let mut memo = NameMemo::new();
        let computed = std::cell::Cell::new(0);
        let ask = |memo: &mut NameMemo<usize>, a: &str, b: &str| {
            memo.get(a, b, || {
                computed.set(computed.get() + 1);
                a.len() * 100 + b.len()
            })
        };
        let (t, r) = ("tenant".to_string(), "rule_one".to_string());
        assert_eq!(ask(&mut memo, &t, &r), 608);
        assert_eq!(ask(&mut memo, &t, &r), 608);
        // The same names elsewhere in memory, and other names: never a stale answer.
        let (t2, r2) = (t.clone(), r.clone());
        assert_eq!(ask(&mut memo, &t2, &r2), 608);
        assert_eq!(ask(&mut memo, &t, "rule"), 604);
        assert_eq!(ask(&mut memo, "x", &r), 108);
        // A buffer rewritten in place keeps its address but not its answer.
        let mut buffer = String::from("abc");
        assert_eq!(ask(&mut memo, &t, &buffer), 603);
        buffer.clear();
        buffer.push_str("abcd");
        assert_eq!(ask(&mut memo, &t, &buffer), 604);
        assert_eq!(ask(&mut memo, &t, &r), 608);
        // Five distinct pairs, each computed once.
        assert_eq!(computed.get(), 5);
    }

    #[test]
    fn many_pairs_share_the_slots_without_mixing_answers() {
        let names: Vec<String> = (0..300).map(|i| format!("n{i}")).collect();
        let mut memo = NameMemo::new();
        let mut computed = 0;
        for round in 0..3 {
            for (i, a) in names.iter().enumerate() {
                let b = &names[(i * 7 + round) % names.len()];
                let want = (i, (i * 7 + round) % names.len());
                let got = memo.get(a, b, || {
                    computed += 1;
                    want
                });
                assert_eq!(got, want, "{a} {b}");
            }
        }
        // Every distinct pair is computed once, then answered from the table.
        let distinct: std::collections::BTreeSet<(usize, usize)> = (0..3)
            .flat_map(|round| (0..300).map(move |i| (i, (i * 7 + round) % 300)))
            .collect();
        assert_eq!(
            computed,
            distinct.len(),
            "every pair computed once, then remembered"
        );
        assert!(memo.slots.len() >= 2 * memo.len);
    }
}
