//! Seeded random streams, one per purpose.
//!
//! Every stream is ChaCha8 keyed by the run's seed, on a stream number that names its
//! purpose. A new draw in one purpose (an extra fault roll, say) never shifts another
//! purpose's sequence. ChaCha8 is fully specified, so a seed means the same thing on every
//! machine and every version, unlike `StdRng`.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A run's seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seed(pub u64);

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a stream is for. The discriminant is the ChaCha stream number: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Order of concurrent inputs and of fan-out.
    Scheduling = 1,
    /// Fault decisions (delay, drop, duplicate, ...).
    Faults = 2,
    /// `sim_uuid` randomness.
    Ids = 3,
    /// Generated root events.
    Generators = 4,
    /// Swarm configuration drawn from the seed.
    Swarm = 5,
}

/// One purpose's stream.
#[derive(Debug, Clone)]
pub struct RngStream {
    rng: ChaCha8Rng,
}

impl RngStream {
    pub fn new(seed: Seed, purpose: Purpose) -> RngStream {
        let mut rng = ChaCha8Rng::seed_from_u64(seed.0);
        rng.set_stream(purpose as u64);
        RngStream { rng }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    pub fn fill_bytes(&mut self, out: &mut [u8]) {
        self.rng.fill_bytes(out)
    }

    /// Uniform in `0..n` (n > 0), without modulo bias (Lemire's method).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        loop {
            let x = self.next_u64();
            let m = (x as u128) * (n as u128);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi);
        if hi - lo == u64::MAX {
            return self.next_u64();
        }
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in [0, 1) with 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (0 never draws true, 1 always; both still consume a draw
    /// so that turning a fault on or off does not shift later draws of the same purpose).
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_purpose_give_the_same_stream() {
        let mut a = RngStream::new(Seed(42), Purpose::Faults);
        let mut b = RngStream::new(Seed(42), Purpose::Faults);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn purposes_are_independent_streams() {
        let mut a = RngStream::new(Seed(42), Purpose::Faults);
        let mut b = RngStream::new(Seed(42), Purpose::Ids);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_ne!(xs, ys);
    }

    #[test]
    fn chacha8_stream_is_pinned() {
        // Pins the algorithm: if a dependency update changed ChaCha8's output, every
        // committed trace hash would change. This test says so first.
        let mut a = RngStream::new(Seed(0), Purpose::Scheduling);
        insta::assert_snapshot!(format!("{:016x} {:016x}", a.next_u64(), a.next_u64()), @"c16a7b0fc8d48f13 bcf538626f559066");
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = RngStream::new(Seed(7), Purpose::Scheduling);
        let mut seen = [false; 5];
        for _ in 0..200 {
            let x = r.below(5) as usize;
            seen[x] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert!((0..100).all(|_| r.between(3, 4) >= 3));
    }

    #[test]
    fn chance_is_about_its_rate() {
        let mut r = RngStream::new(Seed(9), Purpose::Faults);
        let hits = (0..10_000).filter(|_| r.chance(0.1)).count();
        assert!((800..1200).contains(&hits), "{hits}");
        assert!(!(0..1000).any(|_| r.chance(0.0)));
        assert!((0..1000).all(|_| r.chance(1.0)));
    }
}
