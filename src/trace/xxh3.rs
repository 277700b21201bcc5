//! xxh3-128 of a stream, with AVX2 when the machine running it has AVX2.
//!
//! `xxhash_rust` picks its SIMD loop when it is compiled: a binary that must run on every
//! x86-64 gets SSE2, two 64-bit lanes an instruction, and the trace of every run goes
//! through it. [`TraceHasher`] asks the CPU once, when it is made: with AVX2 it runs its own
//! long-input loop on four lanes an instruction; without (or off x86-64) it hands everything
//! to the crate's [`Xxh3`].
//!
//! Either way the digest is `xxh3_128` of all the bytes given to `update`, however they were
//! split: the tests below compare both paths with the crate's one-shot hash. Seeds, custom
//! secrets and the 64-bit digest are left out; the trace hash needs none of them.

use xxhash_rust::xxh3::Xxh3;

/// A streaming xxh3-128 hasher that uses AVX2 when the CPU has it.
#[derive(Clone)]
pub struct TraceHasher(Path);

#[derive(Clone)]
enum Path {
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::Stream),
    Portable(Xxh3),
}

impl TraceHasher {
    pub fn new() -> TraceHasher {
        #[cfg(target_arch = "x86_64")]
        if let Some(stream) = avx2::Stream::new() {
            return TraceHasher(Path::Avx2(stream));
        }
        TraceHasher::portable()
    }

    /// The crate's hasher, whatever the CPU has.
    fn portable() -> TraceHasher {
        TraceHasher(Path::Portable(Xxh3::new()))
    }

    pub fn update(&mut self, input: &[u8]) {
        match &mut self.0 {
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(stream) => stream.update(input),
            Path::Portable(xxh3) => xxh3.update(input),
        }
    }

    /// `xxh3_128` of everything given to `update` so far.
    pub fn digest128(&self) -> u128 {
        match &self.0 {
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(stream) => stream.digest128(),
            Path::Portable(xxh3) => xxh3.digest128(),
        }
    }
}

impl Default for TraceHasher {
    fn default() -> TraceHasher {
        TraceHasher::new()
    }
}

/// XXH3's long-input loop with AVX2, as `xxhash_rust` compiles it with
/// `-C target-feature=+avx2`: the input goes in 64-byte stripes into eight 64-bit
/// accumulators, each stripe keyed with the secret 8 bytes further on, and the accumulators
/// are scrambled after every block of 16 stripes. The last stripe of the input (the last 64
/// bytes, overlapping the stripe before when the length is not a multiple of 64) is keyed
/// apart, at the digest, so the stream always holds back at least one byte.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::*;
    use xxhash_rust::xxh3::xxh3_128;

    const STRIPE_LEN: usize = 64;
    /// Stripes between two scrambles: the secret has 64 bytes for the first stripe of a block
    /// and 8 more for each of the others.
    const STRIPES_PER_BLOCK: usize = (SECRET.len() - STRIPE_LEN) / 8;
    /// Input held back between updates, at most.
    const PENDING_LEN: usize = 256;

    /// XXH3's default secret (`kSecret` in the specification).
    const SECRET: [u8; 192] = [
        0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad,
        0x1c, 0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3,
        0x67, 0x1f, 0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc,
        0xff, 0x72, 0x21, 0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6,
        0x81, 0x3a, 0x26, 0x4c, 0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65,
        0x8b, 0x1b, 0x53, 0x2e, 0xa3, 0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19,
        0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8, 0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9,
        0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d, 0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31,
        0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64, 0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb,
        0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb, 0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0,
        0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e, 0x2b, 0x16, 0xbe, 0x58, 0x7d,
        0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce, 0x45, 0xcb, 0x3a, 0x8f,
        0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
    ];

    /// The key of each stripe of a block, laid out whole so that the loop indexes nothing.
    const STRIPE_KEYS: [[u8; STRIPE_LEN]; STRIPES_PER_BLOCK] = {
        let mut keys = [[0; STRIPE_LEN]; STRIPES_PER_BLOCK];
        let mut stripe = 0;
        while stripe < STRIPES_PER_BLOCK {
            let mut byte = 0;
            while byte < STRIPE_LEN {
                keys[stripe][byte] = SECRET[stripe * 8 + byte];
                byte += 1;
            }
            stripe += 1;
        }
        keys
    };

    const SCRAMBLE_KEY_START: usize = SECRET.len() - STRIPE_LEN;
    const LAST_STRIPE_KEY_START: usize = SECRET.len() - STRIPE_LEN - 7;
    const MERGE_LOW_KEY_START: usize = 11;
    const MERGE_HIGH_KEY_START: usize = SECRET.len() - STRIPE_LEN - 11;

    const PRIME32_1: u64 = 0x9E3779B1;
    const PRIME32_2: u64 = 0x85EBCA77;
    const PRIME32_3: u64 = 0xC2B2AE3D;
    const PRIME64_1: u64 = 0x9E3779B185EBCA87;
    const PRIME64_2: u64 = 0xC2B2AE3D27D4EB4F;
    const PRIME64_3: u64 = 0x165667B19E3779F9;
    const PRIME64_4: u64 = 0x85EBCA77C2B2AE63;
    const PRIME64_5: u64 = 0x27D4EB2F165667C5;

    const INITIAL_ACC: [u64; 8] = [
        PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME32_2, PRIME64_5, PRIME32_1,
    ];

    #[derive(Clone)]
    pub(super) struct Stream {
        acc: [u64; 8],
        /// Stripes accumulated since the last scramble.
        stripes_in_block: usize,
        /// Input not accumulated yet (the first `pending_len` bytes): at least one byte once
        /// any came, as the last stripe is the digest's.
        pending: [u8; PENDING_LEN],
        pending_len: usize,
        /// The last stripe accumulated: the digest's last stripe starts in it when fewer than
        /// 64 bytes are pending.
        last_accumulated: [u8; STRIPE_LEN],
        total_len: u64,
    }

    impl Stream {
        /// A stream, if the CPU has AVX2 (every method relies on it).
        pub(super) fn new() -> Option<Stream> {
            is_x86_feature_detected!("avx2").then_some(Stream {
                acc: INITIAL_ACC,
                stripes_in_block: 0,
                pending: [0; PENDING_LEN],
                pending_len: 0,
                last_accumulated: [0; STRIPE_LEN],
                total_len: 0,
            })
        }

        pub(super) fn update(&mut self, mut input: &[u8]) {
            self.total_len += input.len() as u64;
            let room = PENDING_LEN - self.pending_len;
            if input.len() <= room {
                self.pending[self.pending_len..][..input.len()].copy_from_slice(input);
                self.pending_len += input.len();
                return;
            }
            if self.pending_len > 0 {
                let (head, rest) = input.split_at(room);
                self.pending[self.pending_len..].copy_from_slice(head);
                // SAFETY: a `Stream` exists only when the CPU has AVX2 (see `new`).
                unsafe { accumulate(&mut self.acc, &mut self.stripes_in_block, &self.pending) };
                self.last_accumulated
                    .copy_from_slice(&self.pending[PENDING_LEN - STRIPE_LEN..]);
                input = rest;
            }
            // Stripes straight from the input, but for the last byte at least.
            if input.len() > PENDING_LEN {
                let (body, rest) = input.split_at((input.len() - 1) / STRIPE_LEN * STRIPE_LEN);
                // SAFETY: a `Stream` exists only when the CPU has AVX2 (see `new`).
                unsafe { accumulate(&mut self.acc, &mut self.stripes_in_block, body) };
                self.last_accumulated
                    .copy_from_slice(&body[body.len() - STRIPE_LEN..]);
                input = rest;
            }
            self.pending[..input.len()].copy_from_slice(input);
            self.pending_len = input.len();
        }

        pub(super) fn digest128(&self) -> u128 {
            let pending = &self.pending[..self.pending_len];
            // Nothing accumulated: the whole input is here, and may be short enough for the
            // short-input algorithms, which the one-shot hash picks.
            if self.total_len == pending.len() as u64 {
                return xxh3_128(pending);
            }
            let mut acc = self.acc;
            let mut stripes_in_block = self.stripes_in_block;
            let whole = (pending.len() - 1) / STRIPE_LEN * STRIPE_LEN;
            let mut last = [0; STRIPE_LEN];
            match pending.len().checked_sub(STRIPE_LEN) {
                Some(start) => last.copy_from_slice(&pending[start..]),
                None => {
                    let (before, pending_part) = last.split_at_mut(STRIPE_LEN - pending.len());
                    before.copy_from_slice(&self.last_accumulated[pending.len()..]);
                    pending_part.copy_from_slice(pending);
                }
            }
            let last_key = SECRET[LAST_STRIPE_KEY_START..].first_chunk().unwrap();
            // SAFETY: a `Stream` exists only when the CPU has AVX2 (see `new`).
            unsafe {
                accumulate(&mut acc, &mut stripes_in_block, &pending[..whole]);
                accumulate_last(&mut acc, &last, last_key);
            }
            let low = merge(
                &acc,
                MERGE_LOW_KEY_START,
                self.total_len.wrapping_mul(PRIME64_1),
            );
            let high = merge(
                &acc,
                MERGE_HIGH_KEY_START,
                !self.total_len.wrapping_mul(PRIME64_2),
            );
            u128::from(low) | (u128::from(high) << 64)
        }
    }

    /// Accumulates `input`, a whole number of stripes, scrambling at the end of each block.
    #[target_feature(enable = "avx2")]
    fn accumulate(acc: &mut [u64; 8], stripes_in_block: &mut usize, input: &[u8]) {
        let (mut stripes, rest) = input.as_chunks::<STRIPE_LEN>();
        debug_assert!(rest.is_empty());
        let mut lanes = load_halves(acc);
        while !stripes.is_empty() {
            let keys = &STRIPE_KEYS[*stripes_in_block..];
            let n = keys.len().min(stripes.len());
            // Four stripes a turn: the compiler unrolls a loop of four (and not one of up to
            // 16), whose counter would cost a stripe 3 instructions in 17.
            let (stripes_4, stripes_rest) = stripes[..n].as_chunks::<4>();
            let (keys_4, keys_rest) = keys[..n].as_chunks::<4>();
            for (stripes, keys) in stripes_4.iter().zip(keys_4) {
                for (stripe, key) in stripes.iter().zip(keys) {
                    accumulate_stripe(&mut lanes, stripe, key);
                }
            }
            for (stripe, key) in stripes_rest.iter().zip(keys_rest) {
                accumulate_stripe(&mut lanes, stripe, key);
            }
            stripes = &stripes[n..];
            *stripes_in_block += n;
            if *stripes_in_block == STRIPES_PER_BLOCK {
                scramble(&mut lanes);
                *stripes_in_block = 0;
            }
        }
        store_halves(lanes, acc);
    }

    #[target_feature(enable = "avx2")]
    fn accumulate_last(acc: &mut [u64; 8], stripe: &[u8; STRIPE_LEN], key: &[u8; STRIPE_LEN]) {
        let mut lanes = load_halves(acc);
        accumulate_stripe(&mut lanes, stripe, key);
        store_halves(lanes, acc);
    }

    /// Each 64-bit lane adds the product of the low and high halves of (input ^ key) and the
    /// input of its neighbour lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn accumulate_stripe(
        lanes: &mut [__m256i; 2],
        stripe: &[u8; STRIPE_LEN],
        key: &[u8; STRIPE_LEN],
    ) {
        let data = load_bytes(stripe);
        let key = load_bytes(key);
        for ((lane, data), key) in lanes.iter_mut().zip(data).zip(key) {
            let keyed = _mm256_xor_si256(data, key);
            let product = _mm256_mul_epu32(keyed, _mm256_srli_epi64::<32>(keyed));
            let swapped = _mm256_shuffle_epi32::<0b01_00_11_10>(data);
            *lane = _mm256_add_epi64(*lane, _mm256_add_epi64(swapped, product));
        }
    }

    /// `lane = (lane ^ lane >> 47 ^ key) * PRIME32_1`, the 64-bit product made of two 32-bit
    /// ones (AVX2 has no 64-bit multiply).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn scramble(lanes: &mut [__m256i; 2]) {
        let key = load_bytes(SECRET[SCRAMBLE_KEY_START..].first_chunk().unwrap());
        let prime = _mm256_set1_epi32(PRIME32_1 as i32);
        for (lane, key) in lanes.iter_mut().zip(key) {
            let mixed =
                _mm256_xor_si256(_mm256_xor_si256(*lane, _mm256_srli_epi64::<47>(*lane)), key);
            let low = _mm256_mul_epu32(mixed, prime);
            let high = _mm256_mul_epu32(_mm256_srli_epi64::<32>(mixed), prime);
            *lane = _mm256_add_epi64(low, _mm256_slli_epi64::<32>(high));
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn load_bytes(bytes: &[u8; 64]) -> [__m256i; 2] {
        // SAFETY: each load reads 32 of the 64 bytes; `loadu` takes any alignment.
        unsafe {
            [
                _mm256_loadu_si256(bytes.as_ptr().cast()),
                _mm256_loadu_si256(bytes.as_ptr().add(32).cast()),
            ]
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn load_halves(acc: &[u64; 8]) -> [__m256i; 2] {
        // SAFETY: each load reads 4 of the 8 words; `loadu` takes any alignment.
        unsafe {
            [
                _mm256_loadu_si256(acc.as_ptr().cast()),
                _mm256_loadu_si256(acc.as_ptr().add(4).cast()),
            ]
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn store_halves(lanes: [__m256i; 2], acc: &mut [u64; 8]) {
        // SAFETY: each store writes 4 of the 8 words; `storeu` takes any alignment.
        unsafe {
            _mm256_storeu_si256(acc.as_mut_ptr().cast(), lanes[0]);
            _mm256_storeu_si256(acc.as_mut_ptr().add(4).cast(), lanes[1]);
        }
    }

    /// Folds the accumulators into 64 bits, keyed with the secret from `key_start`.
    fn merge(acc: &[u64; 8], key_start: usize, start: u64) -> u64 {
        let key =
            |i: usize| u64::from_le_bytes(*SECRET[key_start + 8 * i..].first_chunk().unwrap());
        let mut result = start;
        for i in (0..8).step_by(2) {
            let product = u128::from(acc[i] ^ key(i)) * u128::from(acc[i + 1] ^ key(i + 1));
            result = result.wrapping_add(product as u64 ^ (product >> 64) as u64);
        }
        avalanche(result)
    }

    fn avalanche(mut h: u64) -> u64 {
        h ^= h >> 37;
        h = h.wrapping_mul(0x165667919E3779F9);
        h ^ (h >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use xxhash_rust::xxh3::xxh3_128;

    /// Bytes that differ from stripe to stripe and lane to lane.
    fn bytes(len: usize) -> Vec<u8> {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    /// The digest of `input` fed in pieces cut at `cuts` (sorted, each at most its length),
    /// by the hasher `new` makes.
    fn digest_cut(new: fn() -> TraceHasher, input: &[u8], cuts: &[usize]) -> u128 {
        let mut hasher = new();
        let mut from = 0;
        for &cut in cuts.iter().chain([&input.len()]) {
            hasher.update(&input[from..cut]);
            from = cut;
        }
        hasher.digest128()
    }

    /// Both paths, on `input` cut at `cuts`, against the one-shot hash.
    fn check_cut(input: &[u8], cuts: &[usize]) -> Result<(), TestCaseError> {
        let expected = xxh3_128(input);
        prop_assert_eq!(digest_cut(TraceHasher::new, input, cuts), expected, "new");
        prop_assert_eq!(
            digest_cut(TraceHasher::portable, input, cuts),
            expected,
            "portable"
        );
        Ok(())
    }

    fn cuts_every(len: usize, step: usize) -> Vec<usize> {
        (step..len).step_by(step).collect()
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_avx2_path_is_taken_when_the_cpu_has_avx2() {
        let avx2 = matches!(TraceHasher::new().0, Path::Avx2(_));
        assert_eq!(avx2, is_x86_feature_detected!("avx2"));
    }

    #[test]
    fn every_length_to_1100_in_one_update_and_in_fixed_pieces() {
        let input = bytes(1100);
        for len in 0..=input.len() {
            let input = &input[..len];
            check_cut(input, &[]).unwrap();
            for step in [1, 63, 64, 65, 255, 256, 257] {
                check_cut(input, &cuts_every(len, step)).unwrap();
            }
        }
    }

    #[test]
    fn empty_updates_change_nothing() {
        let input = bytes(3000);
        for len in [0, 1, 240, 241, 256, 257, 1024, 1025, 3000] {
            let cuts = [0, 0, len / 2, len / 2, len, len];
            check_cut(&input[..len], &cuts).unwrap();
        }
    }

    #[test]
    fn a_digest_leaves_the_stream_as_it_was() {
        let input = bytes(5000);
        for new in [
            TraceHasher::new as fn() -> TraceHasher,
            TraceHasher::portable,
        ] {
            let mut hasher = new();
            for (n, piece) in input.chunks(300).enumerate() {
                hasher.update(piece);
                let hashed = ((n + 1) * 300).min(input.len());
                assert_eq!(hasher.digest128(), xxh3_128(&input[..hashed]));
                assert_eq!(hasher.clone().digest128(), xxh3_128(&input[..hashed]));
            }
        }
    }

    /// An input and up to 12 places to cut it.
    fn cut_input(len_max: usize) -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
        (
            proptest::collection::vec(any::<u8>(), 0..=len_max),
            proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        )
            .prop_map(|(input, at)| {
                let mut cuts: Vec<usize> = at.iter().map(|i| i.index(input.len() + 1)).collect();
                cuts.sort_unstable();
                (input, cuts)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_input_cut_anywhere_hashes_as_xxh3_128((input, cuts) in cut_input(5000)) {
            check_cut(&input, &cuts)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn long_inputs_cut_anywhere_hash_as_xxh3_128((input, cuts) in cut_input(70_000)) {
            check_cut(&input, &cuts)?;
        }
    }
}
