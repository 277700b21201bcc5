//! Bytes stored straight into the spare capacity of a `Vec<u8>`, behind a safe interface.
//!
//! The trace encoder writes each record's JSON line through a [`Cursor`]: room for the whole
//! line is reserved once, then its pieces (kind tag, keys, numbers, strings; a record has a
//! dozen) are stored without the vector checking and growing its capacity and length for
//! each of them. Nothing here can be called to write outside the room: the cursor keeps two
//! budgets, the bytes left for fixed pieces and numbers and the string bytes left, and a
//! write that would overrun either panics before it is made. The encoder's pieces and
//! numbers take constant amounts of the fixed budget, so in its inlined arms most of those
//! checks fold away.
//!
//! # Fast paths on a budget
//!
//! A fast path ships with its plain reference implementation under `cfg(test)` and an
//! equivalence test, and is deleted if it saves under 2 % of instructions and no wall time.
//! Here (references in `mod reference`, compared in the tests below; the whole line is also
//! compared with serde_json's in `encode.rs`):
//!
//! - the cursor itself, against appending with `Vec::extend_from_slice` (it saves 21 % of
//!   the instructions of a run of the generated workload);
//! - the escape check of a string a word at a time ([`word_needs_escape`]), against a byte
//!   at a time (7.5 %);
//! - integers written two digits at a time from the end, their length found without a loop
//!   ([`write_u64`]), against `u64::to_string` (2.6 %, against a digit at a time).
//!
//! Deleted by that rule: an SSE2 twin of the escape check (1.5 %), and constant pieces
//! padded to 32 bytes and stored whole (0.2 %). reports/BENCH.md (fifth pass) has the
//! figures and how they were taken.

/// Room for everything a record's line holds besides the bytes of its strings: the kind tag,
/// keys, quotes, `null`s, numbers (each counted as 20 digits, the most a `u64` has), the
/// newline. The longest (a fault, or a dispatch from a reflex) takes under 200 bytes of it;
/// a test in `encode.rs` checks the margin for every kind of record.
pub(crate) const FIXED_BYTES_MAX: usize = 256;

/// The most bytes one byte of a string becomes: `\u00xx`.
const ESCAPED_BYTES_MAX: usize = 6;

/// The most digits a `u64` has.
const U64_DIGITS_MAX: usize = 20;

/// A write position in the spare capacity of a `Vec<u8>`, with room reserved for a whole
/// record by [`Cursor::new`]; [`Cursor::finish`] makes what was written part of the vector
/// (a cursor dropped unfinished leaves the vector as it was).
///
/// The invariant every method keeps: the `fixed_left + ESCAPED_BYTES_MAX * text_left` bytes
/// from `at` are inside the vector's allocation, and the bytes from the vector's length up to
/// `at` are initialised (each write starts at `at` and covers the bytes it moves past).
pub(crate) struct Cursor<'a> {
    out: &'a mut Vec<u8>,
    at: *mut u8,
    /// Bytes left for fixed pieces and numbers.
    fixed_left: usize,
    /// Bytes of strings left (before escaping).
    text_left: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the end of `out`, with room for [`FIXED_BYTES_MAX`] bytes and each of
    /// `strs` escaped.
    #[inline(always)]
    pub(crate) fn new(out: &'a mut Vec<u8>, strs: &[&str]) -> Cursor<'a> {
        // Wrapping, not saturating (one instruction a string, not two): a sum that wraps
        // (only absurd lengths, or one huge string passed many times, can) is less than the
        // bytes of the strings, and `str` panics before writing the byte past it.
        let text = strs.iter().fold(0usize, |n, s| n.wrapping_add(s.len()));
        // Saturated (absurd lengths) it makes `reserve` fail, never a short room.
        let room = text
            .saturating_mul(ESCAPED_BYTES_MAX)
            .saturating_add(FIXED_BYTES_MAX);
        out.reserve(room);
        let at = out.as_mut_ptr().wrapping_add(out.len());
        Cursor {
            out,
            at,
            fixed_left: FIXED_BYTES_MAX,
            text_left: text,
        }
    }

    /// Takes `n` bytes of the fixed budget, for a write of at most `n` bytes.
    #[inline(always)]
    fn take_fixed(&mut self, n: usize) {
        assert!(
            self.fixed_left >= n,
            "a record writes more than FIXED_BYTES_MAX bytes besides its strings"
        );
        self.fixed_left -= n;
    }

    /// Writes `piece` (a constant, in the encoder: its copy is inlined).
    #[inline(always)]
    pub(crate) fn piece(&mut self, piece: &[u8]) {
        self.take_fixed(piece.len());
        // SAFETY: `take_fixed` saw room for the piece (the invariant); `piece` is initialised
        // memory outside the vector's spare capacity, which the cursor borrows mutably.
        unsafe {
            std::ptr::copy_nonoverlapping(piece.as_ptr(), self.at, piece.len());
            self.at = self.at.add(piece.len());
        }
    }

    /// Writes `digits`: all 20 bytes of room they were given, so that the copy has a constant
    /// length (inlined, where `digits.len` bytes would be a call to `memcpy` per record); the
    /// bytes past the digits are overwritten by the next piece or left in the spare capacity.
    #[inline(always)]
    pub(crate) fn digits(&mut self, digits: &Digits) {
        self.take_fixed(U64_DIGITS_MAX);
        // SAFETY: room for 20 bytes (`take_fixed`), all of them written; `digits.len` is at
        // most 20 (`Digits::new`).
        unsafe {
            std::ptr::copy_nonoverlapping(digits.bytes.as_ptr(), self.at, U64_DIGITS_MAX);
            self.at = self.at.add(digits.len);
        }
    }

    /// Writes `n` in decimal, as serde_json (itoa) writes an unsigned integer.
    #[inline(always)]
    pub(crate) fn u64(&mut self, n: u64) {
        self.take_fixed(U64_DIGITS_MAX);
        // SAFETY: room for 20 bytes (`take_fixed`).
        self.at = unsafe { write_u64(self.at, n) };
    }

    /// The inside of a JSON string literal (no quotes), escaped as serde_json escapes it.
    #[inline(always)]
    pub(crate) fn str(&mut self, s: &str) {
        self.text_left = self
            .text_left
            .checked_sub(s.len())
            .expect("a record writes more string bytes than its cursor reserved");
        // SAFETY: the room had six bytes for each of the `text_left` string bytes, `s`'s
        // among them; `s` is initialised memory outside the vector's spare capacity, which
        // the cursor borrows mutably.
        self.at = unsafe { write_json_str_body(self.at, s.as_bytes()) };
    }

    /// Makes the bytes written part of the vector.
    #[inline(always)]
    pub(crate) fn finish(self) {
        // SAFETY: the bytes up to the cursor are initialised and inside the vector's
        // allocation (the invariant), and the cursor moves only forward from the length.
        unsafe {
            let len = self.at.offset_from(self.out.as_ptr()) as usize;
            self.out.set_len(len);
        }
    }
}

/// The decimal digits of a number, made once for a run of records at the same instant.
#[derive(Debug, Default)]
pub(crate) struct Digits {
    bytes: [u8; U64_DIGITS_MAX],
    /// At most [`U64_DIGITS_MAX`].
    len: usize,
}

impl Digits {
    pub(crate) fn new(n: u64) -> Digits {
        let mut bytes = [0; U64_DIGITS_MAX];
        // SAFETY: `bytes` has room for the 20 digits a `u64` has at most.
        let end = unsafe { write_u64(bytes.as_mut_ptr(), n) };
        let len = end as usize - bytes.as_ptr() as usize;
        Digits { bytes, len }
    }

    #[cfg(test)]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// `10^(i + 1)`: [`decimal_len`] compares with them.
const POWERS_OF_TEN: [u64; 19] = {
    let mut powers = [0; 19];
    let mut p = 10u64;
    let mut i = 0;
    while i < 19 {
        powers[i] = p;
        p = p.wrapping_mul(10);
        i += 1;
    }
    powers
};

/// How many decimal digits `n` has (`n >= 1`): `log10` from `log2` (`1233 / 4096` is just
/// below `log10 2`, so the guess is the number of digits minus one, or minus two), then one
/// comparison.
#[inline(always)]
fn decimal_len(n: u64) -> usize {
    let log2 = 63 - (n | 1).leading_zeros();
    let guess = ((log2 * 1233) >> 12) as usize;
    guess + 1 + usize::from(n >= POWERS_OF_TEN[guess])
}

/// Writes `n` in decimal, as serde_json (itoa) writes an unsigned integer, at `dst`; returns
/// the end.
///
/// # Safety
/// `dst` is valid for 20 bytes of writes.
#[inline(always)]
unsafe fn write_u64(dst: *mut u8, n: u64) -> *mut u8 {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    // SAFETY: every write is below `dst + decimal_len(n)`, at most `dst + 20`; the pairs
    // read are inside `PAIRS` (`n % 100 < 100`).
    unsafe {
        if n < 10 {
            *dst = b'0' + n as u8;
            return dst.add(1);
        }
        let end = dst.add(decimal_len(n));
        let mut p = end;
        let mut n = n;
        while n >= 100 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            p = p.sub(2);
            std::ptr::copy_nonoverlapping(PAIRS.as_ptr().add(pair), p, 2);
        }
        if n >= 10 {
            p = p.sub(2);
            std::ptr::copy_nonoverlapping(PAIRS.as_ptr().add(n as usize * 2), p, 2);
        } else {
            *p.sub(1) = b'0' + n as u8;
        }
        end
    }
}

/// Which bytes serde_json escapes: `"`, `\` and the control characters.
#[inline]
fn needs_escape(b: u8) -> bool {
    ESCAPED[b as usize]
}

/// `needs_escape`, as a table.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b == b'"' as usize || b == b'\\' as usize;
        b += 1;
    }
    table
};

/// Writes `src` at `dst`, escaped as serde_json escapes it; returns the end.
///
/// Names rarely need escaping: `src` is checked as it is copied, and the first piece that
/// needs escaping sends the whole string to the cold [`write_escaped`] (which writes over
/// what was copied). Pieces are read without reading past `src`: up to three bytes one by
/// one (checked with the table), longer strings as in [`copy_unescaped`].
///
/// # Safety
/// `dst` is valid for six bytes of writes per byte of `src`, and does not overlap `src`.
#[inline(always)]
unsafe fn write_json_str_body(dst: *mut u8, src: &[u8]) -> *mut u8 {
    let n = src.len();
    // SAFETY: the reads are inside `src`, the writes inside the first `n` bytes of `dst`
    // (`write_escaped` and `copy_unescaped` have the caller's guarantees).
    unsafe {
        if n < 4 {
            if n > 0 {
                let (a, b, c) = (src[0], src[n / 2], src[n - 1]);
                if needs_escape(a) | needs_escape(b) | needs_escape(c) {
                    return write_escaped(dst, src);
                }
                *dst = a;
                *dst.add(n / 2) = b;
                *dst.add(n - 1) = c;
            }
        } else if !copy_unescaped(src.as_ptr(), dst, n) {
            return write_escaped(dst, src);
        }
        dst.add(n)
    }
}

/// Copies the `n >= 4` bytes at `src` to `dst` if none of them needs escaping; returns
/// whether none did (`dst` may then hold some of them). Four to seven bytes as two
/// overlapping 4-byte words, longer strings as 8-byte words, the last one overlapping, each
/// checked with [`word_needs_escape`] as it is copied.
///
/// # Safety
/// `src` is valid for `n` bytes of reads, `dst` for `n` bytes of writes.
#[inline(always)]
unsafe fn copy_unescaped(src: *const u8, dst: *mut u8, n: usize) -> bool {
    debug_assert!(n >= 4);
    // SAFETY: every word read or written lies in the first `n` bytes from `src` or `dst`.
    unsafe {
        if n < 8 {
            let (a, b) = (
                src.cast::<u32>().read_unaligned(),
                src.add(n - 4).cast::<u32>().read_unaligned(),
            );
            if word_needs_escape(u64::from(a) | u64::from(b) << 32) {
                return false;
            }
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
            return true;
        }
        let mut at = 0;
        while at + 8 < n {
            let word = src.add(at).cast::<u64>().read_unaligned();
            if word_needs_escape(word) {
                return false;
            }
            dst.add(at).cast::<u64>().write_unaligned(word);
            at += 8;
        }
        let word = src.add(n - 8).cast::<u64>().read_unaligned();
        if word_needs_escape(word) {
            return false;
        }
        dst.add(n - 8).cast::<u64>().write_unaligned(word);
        true
    }
}

/// Whether any of the eight bytes of `word` needs escaping, with the classic "has a byte
/// less than k" test, `(x - 0x01..01 * k) & !x & 0x80..80`: non-zero exactly when some byte
/// of `x` is below `k` (for `k <= 0x80`; bytes of 0x80 and above are cleared by `!x`).
///
/// A `"` (0x22) xored with 0x02 becomes 0x20 while every control character stays below
/// 0x20, so one test with `k = 0x21` finds both; a `\` xored with itself becomes 0, below
/// `k = 1`. Xoring with 0x02 or 0x5c keeps the top bit of every byte, so both tests share
/// the mask `!word`.
#[inline(always)]
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let quote_or_control = (word ^ (ONES * 0x02)).wrapping_sub(ONES * 0x21);
    let backslash = (word ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    (quote_or_control | backslash) & !word & (ONES * 0x80) != 0
}

/// A string with something to escape: writes `bytes` escaped at `dst`, returns the end.
///
/// # Safety
/// `dst` is valid for six bytes of writes per byte of `bytes`.
#[cold]
#[inline(never)]
unsafe fn write_escaped(dst: *mut u8, bytes: &[u8]) -> *mut u8 {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut d = dst;
    for &b in bytes {
        let escape: &[u8] = match b {
            _ if !needs_escape(b) => {
                // SAFETY: one byte for this byte of `bytes`.
                unsafe {
                    *d = b;
                    d = d.add(1);
                }
                continue;
            }
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0A => b"\\n",
            0x0C => b"\\f",
            0x0D => b"\\r",
            _ => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xF) as usize],
            ],
        };
        // SAFETY: at most six bytes for this byte of `bytes`.
        unsafe {
            std::ptr::copy_nonoverlapping(escape.as_ptr(), d, escape.len());
            d = d.add(escape.len());
        }
    }
    d
}

/// The plain versions of this module's fast paths, for the tests to compare with.
#[cfg(test)]
pub(crate) mod reference {
    /// Whether serde_json escapes `b`.
    pub fn needs_escape(b: u8) -> bool {
        b < 0x20 || b == b'"' || b == b'\\'
    }

    /// `s` escaped as serde_json escapes a string's inside, a byte at a time.
    pub fn escape(s: &str, out: &mut Vec<u8>) {
        for b in s.bytes() {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x09 => out.extend_from_slice(b"\\t"),
                0x0A => out.extend_from_slice(b"\\n"),
                0x0C => out.extend_from_slice(b"\\f"),
                0x0D => out.extend_from_slice(b"\\r"),
                _ if needs_escape(b) => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
                _ => out.push(b),
            }
        }
    }

    /// `n` in decimal.
    pub fn decimal(n: u64) -> Vec<u8> {
        n.to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the cursor appends for `strs` written with `str` between the pieces `pieces`,
    /// and what plain appending gives.
    fn through_cursor(prefix: &[u8], pieces: &[&[u8]], strs: &[&str]) -> (Vec<u8>, Vec<u8>) {
        let mut out = prefix.to_vec();
        out.shrink_to_fit();
        let mut want = prefix.to_vec();
        let mut w = Cursor::new(&mut out, strs);
        for (i, piece) in pieces.iter().enumerate() {
            w.piece(piece);
            want.extend_from_slice(piece);
            if let Some(s) = strs.get(i) {
                w.str(s);
                reference::escape(s, &mut want);
            }
        }
        w.finish();
        (out, want)
    }

    #[test]
    fn pieces_are_appended_at_every_length() {
        let source: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37) ^ 0x5a).collect();
        for prefix in [0usize, 1, 7, 8, 31] {
            for n in 0..=64 {
                let prefix = vec![0xEE; prefix];
                let (out, want) = through_cursor(&prefix, &[&source[..n], &source[n..]], &[]);
                assert_eq!(out, want, "prefix {}, split at {n}", prefix.len());
            }
        }
    }

    #[test]
    fn string_bytes_past_what_the_cursor_reserved_panic_before_they_are_written() {
        let result = std::panic::catch_unwind(|| {
            let mut out = Vec::new();
            let mut w = Cursor::new(&mut out, &["ab"]);
            w.str("ab");
            w.str("c");
        });
        let message = result.unwrap_err();
        assert_eq!(
            message.downcast_ref::<String>().map(String::as_str),
            Some("a record writes more string bytes than its cursor reserved")
        );
    }

    #[test]
    fn fixed_pieces_past_the_room_panic_before_they_are_written() {
        let result = std::panic::catch_unwind(|| {
            let mut out = Vec::new();
            let mut w = Cursor::new(&mut out, &[]);
            for _ in 0..=FIXED_BYTES_MAX {
                w.piece(b"x");
            }
        });
        assert!(result.is_err());
        // Up to the budget, the pieces are written.
        let mut out = Vec::new();
        let mut w = Cursor::new(&mut out, &[]);
        for _ in 0..FIXED_BYTES_MAX - U64_DIGITS_MAX {
            w.piece(b"x");
        }
        w.u64(u64::MAX);
        w.finish();
        let mut want = vec![b'x'; FIXED_BYTES_MAX - U64_DIGITS_MAX];
        want.extend_from_slice(&reference::decimal(u64::MAX));
        assert_eq!(out, want);
    }

    #[test]
    fn the_word_test_agrees_with_the_reference_on_every_byte_at_every_position() {
        for filler in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(needs_escape(b), reference::needs_escape(b));
                for at in 0..8 {
                    let mut bytes = [filler; 8];
                    bytes[at] = b;
                    assert_eq!(
                        word_needs_escape(u64::from_le_bytes(bytes)),
                        reference::needs_escape(b) || reference::needs_escape(filler),
                        "{bytes:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn escapes_are_found_at_every_position_of_every_length() {
        // Every way `write_json_str_body` cuts a string: up to six words of 8 bytes.
        for len in 0..50 {
            for at in 0..len {
                for bad in [0u8, 0x1f, b'"', b'\\', b'\n'] {
                    for filler in [b'a', b'~', b' ', 0x7f] {
                        let mut bytes = vec![filler; len];
                        bytes[at] = bad;
                        let s = String::from_utf8(bytes).unwrap();
                        let (out, want) = through_cursor(b"", &[b""], &[&s]);
                        assert_eq!(out, want, "{s:?}");
                    }
                }
            }
            let clean = "é~ a🦀 ".repeat(len);
            let (out, want) = through_cursor(b"", &[b""], &[&clean]);
            assert_eq!(out, want, "{clean:?}");
        }
    }

    #[test]
    fn numbers_are_written_as_the_reference_writes_them() {
        let mut numbers: Vec<u64> = (0..1_100).collect();
        for p in 1..20 {
            let p = 10u64.pow(p);
            numbers.extend([p - 1, p, p + 1]);
        }
        numbers.extend([u64::MAX, u64::MAX - 1, 1 << 63]);
        for n in numbers {
            assert_eq!(Digits::new(n).as_bytes(), reference::decimal(n), "{n}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn strings_and_pieces_append_as_the_reference_does(
            prefix in prop::collection::vec(any::<u8>(), 0..40),
            pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..=40), 1..6),
            strs in prop::collection::vec(
                prop_oneof![any::<String>(), "[\\x00-\\x7f]{0,40}", "[a-z\"\\\\]{0,20}"],
                0..6,
            ),
        ) {
            let pieces: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
            let strs: Vec<&str> = strs.iter().map(String::as_str).collect();
            let (out, want) = through_cursor(&prefix, &pieces, &strs);
            prop_assert_eq!(out, want);
        }

        #[test]
        fn any_number_is_written_as_the_reference_writes_it(n in any::<u64>()) {
            let mut out = Vec::new();
            let mut w = Cursor::new(&mut out, &[]);
            w.u64(n);
            w.finish();
            prop_assert_eq!(&out, &reference::decimal(n));
            let digits = Digits::new(n);
            prop_assert_eq!(digits.as_bytes(), &out[..]);
        }
    }
}
