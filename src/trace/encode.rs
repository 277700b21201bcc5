//! The canonical encoding of a record: its JSON line, written by hand.
//!
//! The bytes are exactly what `serde_json::to_vec(&record)` gives for the [`Record`] (the
//! trace hash, the corpus and every trace file depend on them): keys in declaration order,
//! the `kind` tag first, the flattened `origin` (`by`) and fault target (`of`) in place,
//! `None` as `null`, `copy` only when true, and strings escaped as serde_json escapes them
//! (`"` `\` and the control characters below 0x20; `\b \t \n \f \r` short, the others
//! `\u00xx` with lowercase hex; everything else, DEL and non-ASCII included, verbatim).
//! Records carry no floats and no JSON values, so none of serde_json's number or map
//! formatting is needed here.
//!
//! Why by hand: serde_json goes through the `Serialize` machinery for every field of every
//! record, and the flattened enums make it buffer each of those records as a map; a run of
//! the generated workload writes 5.6 million of them. The tests below compare this writer
//! with serde_json on every kind of record, on generated names full of escapes and
//! non-ASCII text.
//!
//! How: each record reserves, once, room for the most it can take (its fixed pieces, and
//! six bytes for each byte of its strings, the size of a `\u00xx` escape), then stores its
//! pieces through a [`Cursor`] without checking the capacity piece by piece.

use crate::core::{FaultTarget, OriginRef, RecordRef};

/// A constant [`Piece`] of a record.
macro_rules! lit {
    ($text:expr) => {{
        const PIECE: Piece = Piece::new($text.as_bytes());
        &PIECE
    }};
}

/// `,"key":`
macro_rules! key {
    ($key:literal) => {
        lit!(concat!(",\"", $key, "\":"))
    };
}

/// `,"key":"`: a key and the opening quote of its string value.
macro_rules! key_quote {
    ($key:literal) => {
        lit!(concat!(",\"", $key, "\":\""))
    };
}

/// `{"kind":"<kind>","at":`
macro_rules! head {
    ($kind:literal) => {
        lit!(concat!("{\"kind\":\"", $kind, "\",\"at\":"))
    };
}

/// Room for everything a record's line holds besides the bytes of its strings: the kind tag,
/// keys, quotes, `null`s, numbers of up to 20 digits, the newline; and 32 bytes more, as
/// constant pieces and `at` are stored whole, 32 bytes at most (see [`Piece`] and
/// [`Digits`]). The longest of these (a fault, or a dispatch from a reflex) is under 200
/// bytes; a test checks the margin.
const FIXED_BYTES_MAX: usize = 256;

/// The most bytes one byte of a string becomes: `\u00xx`.
const ESCAPED_BYTES_MAX: usize = 6;

#[cfg(test)]
/// Appends the canonical JSON of `record` (no newline) to `out`.
pub fn encode_record(record: &RecordRef<'_>, out: &mut Vec<u8>) {
    Encoder::default().encode(record, out);
}

/// Encodes a stream of records: [`encode_record`], remembering the digits of the last `at`
/// (consecutive records mostly share their instant).
#[derive(Debug, Default)]
pub struct Encoder {
    at: Option<u64>,
    at_digits: Digits,
}

impl Encoder {
    #[cfg(test)]
    /// Appends the canonical JSON of `record` (no newline) to `out`: [`Encoder::encode_line`]
    /// without its newline.
    pub fn encode(&mut self, record: &RecordRef<'_>, out: &mut Vec<u8>) {
        self.encode_line(record, out);
        out.pop();
    }

    /// Appends the line of `record` to `out`: its canonical JSON and a newline, written with
    /// the rest of the record (in its room, with its closing brace).
    pub fn encode_line(&mut self, record: &RecordRef<'_>, out: &mut Vec<u8>) {
        let at = record.at().0;
        if self.at != Some(at) {
            self.at = Some(at);
            self.at_digits = Digits::new(at);
        }
        encode_with_at(record, &self.at_digits, out);
    }
}

/// The line of `record`, whose `at` has the digits `at`.
fn encode_with_at(record: &RecordRef<'_>, at: &Digits, out: &mut Vec<u8>) {
    // SAFETY: every arm makes its cursor with all the strings it writes (`Cursor::new`
    // reserves six bytes for each of their bytes, and `str` writes at most that; string
    // bytes past that budget panic in `str`, in release builds too, before they are
    // written), and writes besides them only kind tags, keys, quotes, literals, `at` and
    // numbers, which together, with the 32 bytes that any of them may store past its end,
    // stay within `FIXED_BYTES_MAX` (see its doc and the test of its margin, which measures
    // every kind).
    unsafe {
        match *record {
            RecordRef::Input { event, .. } => {
                let mut w = Cursor::new(out, &[]);
                w.head(head!("input"), at);
                w.key_u64(key!("event"), u64::from(event));
                w.close();
            }
            RecordRef::Publish {
                event,
                tenant,
                subject,
                depth,
                subscribers,
                ..
            } => {
                let mut w = Cursor::new(out, &[tenant, subject]);
                w.head(head!("publish"), at);
                w.key_u64(key!("event"), event.0);
                w.key_str(key_quote!("tenant"), tenant);
                w.key_str(key_quote!("subject"), subject);
                w.key_u64(key!("depth"), u64::from(depth.0));
                w.key_u64(key!("subscribers"), u64::from(subscribers));
                w.close();
            }
            RecordRef::Deliver {
                event,
                sub,
                handler,
                ..
            } => {
                let mut w = Cursor::new(out, &[handler]);
                w.head(head!("deliver"), at);
                w.key_u64(key!("event"), event.0);
                w.key_u64(key!("sub"), u64::from(sub.0));
                w.key_str(key_quote!("handler"), handler);
                w.close();
            }
            RecordRef::Outcome {
                event,
                handler,
                id,
                outcome,
                severity,
                target,
                ..
            } => {
                let (outcome, severity) = (outcome.as_str(), severity.as_str());
                let mut w = Cursor::new(
                    out,
                    &[handler, id, outcome, severity, target.unwrap_or_default()],
                );
                w.head(head!("outcome"), at);
                w.key_u64(key!("event"), event.0);
                w.key_str(key_quote!("handler"), handler);
                w.key_str(key_quote!("id"), id);
                w.key_str(key_quote!("outcome"), outcome);
                w.key_str(key_quote!("severity"), severity);
                w.key_opt_str(key!("target"), target);
                w.close();
            }
            RecordRef::Dispatch {
                tenant,
                source_tenant,
                entity_type,
                id,
                action,
                depth,
                origin,
                ..
            } => {
                let by = match origin {
                    OriginRef::Root { .. } => "",
                    OriginRef::Reflex { handler, .. } => handler,
                    OriginRef::Rule { rule, .. } => rule,
                };
                let mut w = Cursor::new(out, &[tenant, source_tenant, entity_type, id, action, by]);
                w.head(head!("dispatch"), at);
                w.key_str(key_quote!("tenant"), tenant);
                w.key_str(key_quote!("source_tenant"), source_tenant);
                w.key_str(key_quote!("entity_type"), entity_type);
                w.key_str(key_quote!("id"), id);
                w.key_str(key_quote!("action"), action);
                w.key_u64(key!("depth"), u64::from(depth.0));
                match origin {
                    OriginRef::Root { event } => {
                        w.piece(lit!(",\"by\":\"root\""));
                        w.key_u64(key!("event"), u64::from(event));
                    }
                    OriginRef::Reflex { handler, event } => {
                        w.piece(lit!(",\"by\":\"reflex\""));
                        w.key_str(key_quote!("handler"), handler);
                        w.key_u64(key!("event"), event.0);
                    }
                    OriginRef::Rule { rule, copy } => {
                        w.piece(lit!(",\"by\":\"rule\""));
                        w.key_str(key_quote!("rule"), rule);
                        if copy {
                            w.piece(lit!(",\"copy\":true"));
                        }
                    }
                }
                w.close();
            }
            RecordRef::Transition {
                tenant,
                entity_type,
                id,
                action,
                from,
                to,
                created,
                ..
            } => {
                let mut w = Cursor::new(out, &[tenant, entity_type, id, action, from, to]);
                w.head(head!("transition"), at);
                w.key_str(key_quote!("tenant"), tenant);
                w.key_str(key_quote!("entity_type"), entity_type);
                w.key_str(key_quote!("id"), id);
                w.key_str(key_quote!("action"), action);
                w.key_str(key_quote!("from"), from);
                w.key_str(key_quote!("to"), to);
                w.key_bool(key!("created"), created);
                w.close();
            }
            RecordRef::ActionFailed {
                tenant,
                entity_type,
                id,
                action,
                error,
                ..
            } => {
                let mut w = Cursor::new(out, &[tenant, entity_type, id, action, error]);
                w.head(head!("action_failed"), at);
                w.key_str(key_quote!("tenant"), tenant);
                w.key_str(key_quote!("entity_type"), entity_type);
                w.key_str(key_quote!("id"), id);
                w.key_str(key_quote!("action"), action);
                w.key_str(key_quote!("error"), error);
                w.close();
            }
            RecordRef::Reaction {
                tenant,
                rule,
                depth,
                success,
                target_type,
                target_id,
                target_status,
                error,
                ..
            } => {
                let mut w = Cursor::new(
                    out,
                    &[
                        tenant,
                        rule,
                        target_type,
                        target_id.unwrap_or_default(),
                        target_status.unwrap_or_default(),
                        error.unwrap_or_default(),
                    ],
                );
                w.head(head!("reaction"), at);
                w.key_str(key_quote!("tenant"), tenant);
                w.key_str(key_quote!("rule"), rule);
                w.key_u64(key!("depth"), u64::from(depth.0));
                w.key_bool(key!("success"), success);
                w.key_str(key_quote!("target_type"), target_type);
                w.key_opt_str(key!("target_id"), target_id);
                w.key_opt_str(key!("target_status"), target_status);
                w.key_opt_str(key!("error"), error);
                w.close();
            }
            RecordRef::GuardSkip {
                tenant,
                rule,
                depth,
                ..
            }
            | RecordRef::DepthLimit {
                tenant,
                rule,
                depth,
                ..
            } => {
                let head = match record {
                    RecordRef::GuardSkip { .. } => head!("guard_skip"),
                    _ => head!("depth_limit"),
                };
                let mut w = Cursor::new(out, &[tenant, rule]);
                w.head(head, at);
                w.key_str(key_quote!("tenant"), tenant);
                w.key_str(key_quote!("rule"), rule);
                w.key_u64(key!("depth"), u64::from(depth.0));
                w.close();
            }
            RecordRef::Fault {
                fault,
                on,
                nth,
                event,
                delay_ms,
                ..
            } => {
                let fault = fault.as_str();
                let (a, b) = match on {
                    FaultTarget::Reaction { rule, target } => (rule, target),
                    FaultTarget::Delivery { subject, handler } => (subject, handler),
                    FaultTarget::Action { target, action } => (target, action),
                    FaultTarget::Handler { handler, subject } => (handler, subject),
                };
                let mut w = Cursor::new(out, &[fault, a, b]);
                w.head(head!("fault"), at);
                w.key_str(key_quote!("fault"), fault);
                match on {
                    FaultTarget::Reaction { .. } => {
                        w.piece(lit!(",\"of\":\"reaction\""));
                        w.key_str(key_quote!("rule"), a);
                        w.key_str(key_quote!("target"), b);
                    }
                    FaultTarget::Delivery { .. } => {
                        w.piece(lit!(",\"of\":\"delivery\""));
                        w.key_str(key_quote!("subject"), a);
                        w.key_str(key_quote!("handler"), b);
                    }
                    FaultTarget::Action { .. } => {
                        w.piece(lit!(",\"of\":\"action\""));
                        w.key_str(key_quote!("target"), a);
                        w.key_str(key_quote!("action"), b);
                    }
                    FaultTarget::Handler { .. } => {
                        w.piece(lit!(",\"of\":\"handler\""));
                        w.key_str(key_quote!("handler"), a);
                        w.key_str(key_quote!("subject"), b);
                    }
                }
                w.key_u64(key!("nth"), u64::from(nth));
                match event {
                    Some(e) => w.key_u64(key!("event"), e.0),
                    None => w.piece(lit!(",\"event\":null")),
                }
                w.key_u64(key!("delay_ms"), delay_ms);
                w.close();
            }
            RecordRef::Warning { message, .. } => {
                let mut w = Cursor::new(out, &[message]);
                w.head(head!("warning"), at);
                w.key_str(key_quote!("message"), message);
                w.close();
            }
        }
    }
}

/// A write position in the spare capacity of a `Vec<u8>`, where [`Cursor::new`] reserved
/// room for a whole record: its pieces are then stored without checking and updating the
/// vector's capacity and length for each of them (a record has a dozen).
///
/// Every write is `unsafe`: the caller keeps within the room reserved. The bytes from the
/// vector's length to the cursor are initialised; [`Cursor::finish`] makes them its own.
struct Cursor<'a> {
    out: &'a mut Vec<u8>,
    at: *mut u8,
    /// How many bytes of strings the room still has for (before escaping). Checked in
    /// release builds too: a string the cursor was not made with panics instead of writing
    /// past the room.
    text_left: usize,
    /// The end of the room reserved, checked by every write in debug builds (and optimised
    /// away in release builds).
    end: *const u8,
}

impl<'a> Cursor<'a> {
    /// A cursor at the end of `out`, with room for `FIXED_BYTES_MAX` bytes and each of
    /// `strs` escaped.
    #[inline(always)]
    fn new(out: &'a mut Vec<u8>, strs: &[&str]) -> Cursor<'a> {
        // Wrapping, not saturating (one instruction a string, not two): a sum that wraps
        // (only absurd lengths, or one huge string passed many times, can) is less than the
        // bytes of the strings, and `str` panics before writing the byte past it.
        let text = strs.iter().fold(0usize, |n, s| n.wrapping_add(s.len()));
        // Saturated (absurd lengths) it makes `reserve` fail, never a short room.
        let room = text
            .saturating_mul(ESCAPED_BYTES_MAX)
            .saturating_add(FIXED_BYTES_MAX);
        out.reserve(room);
        // SAFETY: `reserve` leaves room for `room` bytes past the length.
        let at = unsafe { out.as_mut_ptr().add(out.len()) };
        Cursor {
            end: at.wrapping_add(room),
            out,
            at,
            text_left: text,
        }
    }

    /// Checks (in debug builds) that `n` more bytes from the cursor are in the room.
    #[inline(always)]
    fn check(&self, n: usize) {
        debug_assert!(
            self.at.wrapping_add(n).cast_const() <= self.end,
            "record room"
        );
    }

    /// Makes the bytes written part of the vector.
    #[inline(always)]
    fn finish(self) {
        // SAFETY: the bytes up to the cursor are initialised, inside the vector's
        // allocation (its room), and the cursor moves only forward from the length.
        unsafe {
            let len = self.at.offset_from(self.out.as_ptr()) as usize;
            self.out.set_len(len);
        }
    }

    /// Writes `piece`.
    ///
    /// # Safety
    /// There is room for 32 bytes.
    #[inline(always)]
    unsafe fn piece(&mut self, piece: &Piece) {
        self.check(piece.bytes.len());
        // Whole, in one store for the usual short piece: the bytes past the piece are
        // overwritten by the next one or left in the spare capacity. For a constant piece
        // (all of them but in tests), the branches fold away.
        let (at, bytes) = (self.at, piece.bytes);
        if piece.len <= 4 {
            at.cast::<[u8; 4]>()
                .write_unaligned(bytes[..4].try_into().unwrap());
        } else if piece.len <= 8 {
            at.cast::<[u8; 8]>()
                .write_unaligned(bytes[..8].try_into().unwrap());
        } else if piece.len <= 16 {
            at.cast::<[u8; 16]>()
                .write_unaligned(bytes[..16].try_into().unwrap());
        } else {
            at.cast::<[u8; 32]>().write_unaligned(bytes);
        }
        self.at = at.add(piece.len);
    }

    /// `{"kind":"<kind>","at":N`
    ///
    /// # Safety
    /// There is room for `head` and 32 bytes past it.
    #[inline(always)]
    unsafe fn head(&mut self, head: &Piece, at: &Digits) {
        self.piece(head);
        self.check(at.bytes.len());
        // Whole: the bytes past the digits are overwritten by the next piece or left in the
        // spare capacity.
        self.at.cast::<[u8; 32]>().write_unaligned(at.bytes);
        self.at = self.at.add(at.len);
    }

    /// # Safety
    /// There is room for `key` and 20 bytes, and for 32 bytes past the cursor.
    #[inline(always)]
    unsafe fn key_u64(&mut self, key: &Piece, n: u64) {
        self.piece(key);
        self.check(20);
        self.at = write_u64(self.at, n);
    }

    /// `key` ends with the value's opening quote (`key_quote!`).
    ///
    /// # Safety
    /// There is room for `key`, `s` escaped and a quote, and for 32 bytes past each.
    #[inline(always)]
    unsafe fn key_str(&mut self, key: &Piece, s: &str) {
        self.piece(key);
        self.str(s);
        self.piece(lit!("\""));
    }

    /// # Safety
    /// There is room for `key`, `s` escaped and two quotes (or `null`), and for 32 bytes
    /// past each.
    #[inline(always)]
    unsafe fn key_opt_str(&mut self, key: &Piece, s: Option<&str>) {
        self.piece(key);
        match s {
            Some(s) => {
                self.piece(lit!("\""));
                self.str(s);
                self.piece(lit!("\""));
            }
            None => self.piece(lit!("null")),
        }
    }

    /// # Safety
    /// There is room for `key` and `false`, and for 32 bytes past each.
    #[inline(always)]
    unsafe fn key_bool(&mut self, key: &Piece, b: bool) {
        self.piece(key);
        self.piece(if b { lit!("true") } else { lit!("false") });
    }

    /// The inside of a JSON string literal (no quotes), escaped as serde_json escapes it.
    ///
    /// # Safety
    /// There is room for six bytes per byte of `s`.
    #[inline(always)]
    unsafe fn str(&mut self, s: &str) {
        self.text_left = self
            .text_left
            .checked_sub(s.len())
            .expect("a record writes more string bytes than its cursor reserved");
        self.check(s.len() * ESCAPED_BYTES_MAX);
        self.at = write_json_str_body(self.at, s.as_bytes());
        // What was written, escapes included, is in the room.
        self.check(0);
    }

    /// Closes the record and its line, and makes them part of the vector.
    ///
    /// # Safety
    /// There is room for 32 bytes.
    #[inline(always)]
    unsafe fn close(mut self) {
        self.piece(lit!("}\n"));
        self.check(0);
        self.finish();
    }
}

/// A constant piece of a record (a kind tag, a key, a literal), padded to 32 bytes so that
/// it is stored whole, in one store of 4, 8 or 16 bytes (two for a piece longer than 16),
/// where storing exactly its bytes takes two overlapping stores, or four.
struct Piece {
    bytes: [u8; 32],
    len: usize,
}

impl Piece {
    const fn new(text: &[u8]) -> Piece {
        assert!(text.len() <= 32, "a piece of at most 32 bytes");
        let mut bytes = [0; 32];
        let mut i = 0;
        while i < text.len() {
            bytes[i] = text[i];
            i += 1;
        }
        Piece {
            bytes,
            len: text.len(),
        }
    }
}

/// The decimal digits of a number, zero-padded to a fixed size so that they are copied
/// whole, without a loop or a branch on their length.
#[derive(Debug, Default)]
struct Digits {
    bytes: [u8; 32],
    len: usize,
}

impl Digits {
    fn new(n: u64) -> Digits {
        let mut bytes = [0; 32];
        // SAFETY: a `u64` has at most 20 digits.
        let end = unsafe { write_u64(bytes.as_mut_ptr(), n) };
        let len = end as usize - bytes.as_ptr() as usize;
        Digits { bytes, len }
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
/// `dst` has room for 20 bytes.
#[inline(always)]
unsafe fn write_u64(dst: *mut u8, n: u64) -> *mut u8 {
    if n < 10 {
        *dst = b'0' + n as u8;
        return dst.add(1);
    }
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
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
    let s = src.as_ptr();
    if n < 4 {
        if n > 0 {
            let (a, b, c) = (*s, *s.add(n / 2), *s.add(n - 1));
            if needs_escape(a) | needs_escape(b) | needs_escape(c) {
                return write_escaped(dst, src);
            }
            *dst = a;
            *dst.add(n / 2) = b;
            *dst.add(n - 1) = c;
        }
    } else if !copy_unescaped(s, dst, n) {
        return write_escaped(dst, src);
    }
    dst.add(n)
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

#[cfg(test)]
/// A JSON string literal, escaped exactly as serde_json escapes it.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let mut w = Cursor::new(out, &[s]);
    // SAFETY: the cursor has room for six bytes per byte of `s`, and for the two quotes with
    // 32 bytes past each.
    unsafe {
        w.piece(lit!("\""));
        w.str(s);
        w.piece(lit!("\""));
    }
    w.finish();
}

/// [`Cursor::str`] for a string with something to escape: writes `bytes` escaped at `dst`,
/// returns the end.
///
/// # Safety
/// `dst` has room for six bytes per byte of `bytes`.
#[cold]
#[inline(never)]
unsafe fn write_escaped(dst: *mut u8, bytes: &[u8]) -> *mut u8 {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut d = dst;
    for &b in bytes {
        let escape: &[u8] = match b {
            _ if !needs_escape(b) => {
                *d = b;
                d = d.add(1);
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
        std::ptr::copy_nonoverlapping(escape.as_ptr(), d, escape.len());
        d = d.add(escape.len());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::core::SimTime;
    use crate::core::{Depth, EntityId, TenantId};
    use crate::core::{EventId, SubId, Subject};
    use crate::core::{FaultKind, Origin, Record, RecordKind};
    use crate::core::{OutcomeKind, Severity};
    use proptest::prelude::*;

    #[test]
    fn string_bytes_past_what_the_cursor_reserved_panic_in_release_builds_too() {
        let result = std::panic::catch_unwind(|| {
            let mut out = Vec::new();
            // SAFETY: the test is that the byte past the budget panics (before `str` writes
            // anything) instead of being written.
            unsafe {
                let mut w = Cursor::new(&mut out, &["ab"]);
                w.str("ab");
                w.str("c");
            }
        });
        let message = result.unwrap_err();
        assert_eq!(
            message.downcast_ref::<String>().map(String::as_str),
            Some("a record writes more string bytes than its cursor reserved")
        );
    }

    fn ours(record: &Record) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(&record.view(), &mut out);
        out
    }

    fn serde(record: &Record) -> Vec<u8> {
        serde_json::to_vec(record).unwrap()
    }

    /// Appends `bytes` as the encoder appends the pieces of a record: through a cursor, as
    /// pieces of up to 32 bytes.
    fn put(out: &mut Vec<u8>, bytes: &[u8]) {
        for chunk in bytes.chunks(32) {
            let mut w = Cursor::new(out, &[]);
            // SAFETY: the cursor has room for `FIXED_BYTES_MAX` bytes, 32 of them enough.
            unsafe { w.piece(&Piece::new(chunk)) };
            w.finish();
        }
    }

    /// Whether the string writer escapes anything in `s`.
    fn any_needs_escape(s: &[u8]) -> bool {
        let mut out = Vec::new();
        write_json_str(&mut out, std::str::from_utf8(s).unwrap());
        out[1..out.len() - 1] != *s
    }

    /// `n` as `key_u64` writes it.
    fn decimal(n: u64) -> Vec<u8> {
        let digits = Digits::new(n);
        digits.bytes[..digits.len].to_vec()
    }

    fn same(record: &Record) {
        assert_eq!(
            String::from_utf8(ours(record)).unwrap(),
            String::from_utf8(serde(record)).unwrap(),
            "{record:?}"
        );
        assert_eq!(&record.view().to_record(), record, "round trip");
    }

    #[test]
    fn short_pieces_are_appended_whole_at_every_length() {
        let source: Vec<u8> = (0..80u8).map(|b| b.wrapping_mul(37) ^ 0x5a).collect();
        for prefix in [0usize, 1, 7, 8, 31] {
            for n in 0..source.len() {
                let mut out = vec![0xEE; prefix];
                out.shrink_to_fit();
                put(&mut out, &source[..n]);
                put(&mut out, &source[n..]);
                let mut want = vec![0xEE; prefix];
                want.extend_from_slice(&source);
                assert_eq!(out, want, "prefix {prefix}, split at {n}");
            }
        }
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut every_byte = String::new();
        for c in 0u8..0x80 {
            every_byte.push(c as char);
        }
        for s in [
            "",
            "plain",
            "quote \" backslash \\ slash / tab \t newline \n cr \r",
            "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}",
            "é ü 日本 🦀 \u{2028}\u{2029} \u{feff}",
            every_byte.as_str(),
        ] {
            let mut out = Vec::new();
            write_json_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn escapes_are_found_at_every_position_and_numbers_written_as_itoa_does() {
        // Every way `copy_unescaped` cuts a string: up to six words of 8 bytes.
        for len in 0..50 {
            for at in 0..len {
                for bad in [0u8, 0x1f, b'"', b'\\', b'\n'] {
                    for filler in [b'a', b'~', b' ', 0x7f] {
                        let mut bytes = vec![filler; len];
                        bytes[at] = bad;
                        let s = String::from_utf8(bytes).unwrap();
                        assert!(any_needs_escape(s.as_bytes()), "{s:?}");
                        let mut out = Vec::new();
                        write_json_str(&mut out, &s);
                        assert_eq!(out, serde_json::to_vec(&s).unwrap());
                    }
                }
            }
            let clean = "é~ a🦀 ".repeat(len);
            assert!(!any_needs_escape(clean.as_bytes()), "{clean:?}");
        }
        let mut numbers: Vec<u64> = (0..1_100).collect();
        for p in 1..20 {
            let p = 10u64.pow(p);
            numbers.extend([p - 1, p, p + 1]);
        }
        numbers.extend([u64::MAX, u64::MAX - 1, 1 << 63]);
        for n in numbers {
            assert_eq!(decimal(n), serde_json::to_vec(&n).unwrap(), "{n}");
        }
    }

    #[test]
    fn every_record_kind_encodes_as_serde_json_does() {
        let t = |s: &str| TenantId::new(s);
        let at = SimTime(u64::MAX);
        let records = vec![
            Record::Input { at, event: 0 },
            Record::Publish {
                at: SimTime(0),
                event: EventId(12),
                tenant: t("shop"),
                subject: Subject::new("entity.Order.Confirm.o\"1").unwrap(),
                depth: Depth(3),
                subscribers: 2,
            },
            Record::Deliver {
                at,
                event: EventId(1),
                sub: SubId(u32::MAX),
                handler: "h\\1".into(),
            },
            Record::Outcome {
                at,
                event: EventId(1),
                handler: "h".into(),
                id: "abc".into(),
                outcome: OutcomeKind::Errored,
                severity: Severity::Critical,
                target: None,
            },
            Record::Outcome {
                at,
                event: EventId(1),
                handler: "h".into(),
                id: "abc".into(),
                outcome: OutcomeKind::Applied,
                severity: Severity::Warn,
                target: Some("r1|Gi0/1".into()),
            },
            Record::Warning {
                at,
                message: "rule x: \u{1}".into(),
            },
        ];
        for r in &records {
            same(r);
        }
        for kind in [
            FaultKind::Delay,
            FaultKind::Drop,
            FaultKind::Duplicate,
            FaultKind::HandlerPanic,
            FaultKind::ActionFailure,
            FaultKind::ReflexRestart,
        ] {
            for on in [
                FaultTarget::Reaction {
                    rule: "r".into(),
                    target: "T/1".into(),
                },
                FaultTarget::Delivery {
                    subject: "a.b".into(),
                    handler: "h".into(),
                },
                FaultTarget::Action {
                    target: "T/1".into(),
                    action: "Go".into(),
                },
                FaultTarget::Handler {
                    handler: "h".into(),
                    subject: "a.b".into(),
                },
            ] {
                for event in [None, Some(EventId(7))] {
                    same(&Record::Fault {
                        at,
                        fault: kind,
                        on: on.clone(),
                        nth: 3,
                        event,
                        delay_ms: 50,
                    });
                }
            }
        }
        for outcome in [
            OutcomeKind::Logged,
            OutcomeKind::Applied,
            OutcomeKind::Skipped,
            OutcomeKind::Errored,
        ] {
            for severity in [
                Severity::Info,
                Severity::Warn,
                Severity::High,
                Severity::Critical,
            ] {
                same(&Record::Outcome {
                    at,
                    event: EventId(0),
                    handler: "h".into(),
                    id: "i".into(),
                    outcome,
                    severity,
                    target: Some("t".into()),
                });
            }
        }
    }

    #[test]
    fn the_word_test_agrees_with_the_table_on_every_byte_at_every_position() {
        for filler in 0..=255u8 {
            for b in 0..=255u8 {
                for at in 0..8 {
                    let mut bytes = [filler; 8];
                    bytes[at] = b;
                    assert_eq!(
                        word_needs_escape(u64::from_le_bytes(bytes)),
                        needs_escape(b) || needs_escape(filler),
                        "{bytes:?}"
                    );
                }
            }
        }
    }

    /// A record of every kind (and every origin and fault target) whose strings are all
    /// `name` (the subject is `name`, or `s` when `name` is not a valid subject) and whose
    /// numbers are all `n`.
    fn every_kind(name: &str, n: u64) -> Vec<Record> {
        let at = SimTime(n);
        let s = || name.to_string();
        let n32 = n as u32;
        let mut records = vec![
            Record::Input { at, event: n32 },
            Record::Publish {
                at,
                event: EventId(n),
                tenant: TenantId(s()),
                subject: Subject::new(name).unwrap_or_else(|_| Subject::new("s").unwrap()),
                depth: Depth(n32),
                subscribers: n32,
            },
            Record::Deliver {
                at,
                event: EventId(n),
                sub: SubId(n32),
                handler: s(),
            },
            Record::Outcome {
                at,
                event: EventId(n),
                handler: s(),
                id: s(),
                outcome: OutcomeKind::Errored,
                severity: Severity::Critical,
                target: Some(s()),
            },
            Record::Transition {
                at,
                tenant: TenantId(s()),
                entity_type: s(),
                id: EntityId(s()),
                action: s(),
                from: s(),
                to: s(),
                created: false,
            },
            Record::ActionFailed {
                at,
                tenant: TenantId(s()),
                entity_type: s(),
                id: EntityId(s()),
                action: s(),
                error: s(),
            },
            Record::GuardSkip {
                at,
                tenant: TenantId(s()),
                rule: s(),
                depth: Depth(n32),
            },
            Record::DepthLimit {
                at,
                tenant: TenantId(s()),
                rule: s(),
                depth: Depth(n32),
            },
            Record::Warning { at, message: s() },
        ];
        for target in [None, Some(s())] {
            records.push(Record::Reaction {
                at,
                tenant: TenantId(s()),
                rule: s(),
                depth: Depth(n32),
                success: false,
                target_type: s(),
                target_id: target.clone().map(EntityId),
                target_status: target.clone(),
                error: target,
            });
        }
        for origin in [
            Origin::Root { event: n32 },
            Origin::Reflex {
                handler: s(),
                event: EventId(n),
            },
            Origin::Rule {
                rule: s(),
                copy: true,
            },
        ] {
            records.push(Record::Dispatch {
                at,
                tenant: TenantId(s()),
                source_tenant: TenantId(s()),
                entity_type: s(),
                id: EntityId(s()),
                action: s(),
                depth: Depth(n32),
                origin,
            });
        }
        for on in [
            FaultTarget::Reaction {
                rule: s(),
                target: s(),
            },
            FaultTarget::Delivery {
                subject: s(),
                handler: s(),
            },
            FaultTarget::Action {
                target: s(),
                action: s(),
            },
            FaultTarget::Handler {
                handler: s(),
                subject: s(),
            },
        ] {
            for event in [None, Some(EventId(n))] {
                records.push(Record::Fault {
                    at,
                    fault: FaultKind::ReflexRestart,
                    on: on.clone(),
                    nth: n32,
                    event,
                    delay_ms: n,
                });
            }
        }
        records
    }

    /// The room a record reserves for its keys, literals and numbers covers the longest of
    /// them, with the 32 bytes a piece or `at` may store past its end (the kind names that
    /// records carry as strings are reserved for as strings, so they are left out here).
    #[test]
    fn the_fixed_room_covers_every_kind_of_record() {
        let mut longest = 0;
        let mut records = every_kind("", u64::MAX);
        let kinds: std::collections::BTreeSet<RecordKind> =
            records.iter().map(|r| r.view().kind()).collect();
        assert_eq!(kinds.len(), RecordKind::COUNT, "every kind is measured");
        // `null` is longer than an empty string in quotes.
        let mut no_target = records
            .iter()
            .find(|r| matches!(r, Record::Outcome { .. }))
            .expect("an outcome")
            .clone();
        if let Record::Outcome { target, .. } = &mut no_target {
            *target = None;
        }
        records.push(no_target);
        for record in records {
            let strings = match &record {
                Record::Publish { .. } => "s".len(),
                Record::Outcome {
                    outcome, severity, ..
                } => outcome.as_str().len() + severity.as_str().len(),
                Record::Fault { fault, .. } => fault.as_str().len(),
                _ => 0,
            };
            longest = longest.max(ours(&record).len() - strings);
            same(&record);
        }
        // With the newline the encoder writes with the record.
        let longest = longest + 1;
        assert!(longest + 32 <= FIXED_BYTES_MAX, "{longest}");
        assert!(
            longest + 32 > FIXED_BYTES_MAX / 2,
            "{longest}: room to spare"
        );
    }

    /// Long strings, and strings that escape into six times their length, in every field
    /// of every kind of record; one encoder writes their lines after one another into one
    /// vector, as the sink does.
    #[test]
    fn long_strings_full_of_escapes_encode_as_serde_json_does() {
        let mut encoder = Encoder::default();
        let (mut out, mut want) = (Vec::new(), Vec::new());
        for len in [1, 3, 4, 7, 8, 9, 16, 17, 31, 33, 64, 100, 1000] {
            for unit in ["\u{1}", "\u{1f}", "\"", "\\", "\n", "a", "é", "a\u{1}b"] {
                let name = unit.repeat(len);
                for (i, record) in every_kind(&name, len as u64 * 1_000_003).iter().enumerate() {
                    same(record);
                    if i % 3 == 0 {
                        // A vector without spare capacity: the record's room grows it.
                        out.shrink_to_fit();
                    }
                    encoder.encode_line(&record.view(), &mut out);
                    want.extend_from_slice(&serde(record));
                    want.push(b'\n');
                    assert_eq!(out, want, "{record:?}");
                }
            }
        }
    }

    /// Names with everything that needs escaping, and text beyond ASCII.
    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9_|/.-]{0,12}",
            "\\PC{0,12}",
            any::<String>(),
            prop::collection::vec(0u8..0x80, 0..12)
                .prop_map(|b| b.into_iter().map(char::from).collect()),
        ]
    }

    fn origin() -> impl Strategy<Value = Origin> {
        prop_oneof![
            any::<u32>().prop_map(|event| Origin::Root { event }),
            (name(), any::<u64>()).prop_map(|(handler, e)| Origin::Reflex {
                handler,
                event: EventId(e)
            }),
            (name(), any::<bool>()).prop_map(|(rule, copy)| Origin::Rule { rule, copy }),
        ]
    }

    fn subject() -> impl Strategy<Value = Subject> {
        prop::collection::vec("[^.*> \\t\\n\\r\\x0b\\x0c]{1,8}", 1..5)
            .prop_filter_map("a valid subject", |tokens| {
                Subject::new(tokens.join(".")).ok()
            })
    }

    fn record() -> impl Strategy<Value = Record> {
        let at = any::<u64>().prop_map(SimTime);
        let depth = any::<u32>().prop_map(Depth);
        let opt = || prop::option::of(name());
        prop_oneof![
            (at.clone(), any::<u32>()).prop_map(|(at, event)| Record::Input { at, event }),
            (
                at.clone(),
                any::<u64>(),
                name(),
                subject(),
                depth.clone(),
                any::<u32>()
            )
                .prop_map(|(at, e, tenant, subject, depth, subscribers)| {
                    Record::Publish {
                        at,
                        event: EventId(e),
                        tenant: TenantId(tenant),
                        subject,
                        depth,
                        subscribers,
                    }
                }),
            (at.clone(), any::<u64>(), any::<u32>(), name()).prop_map(|(at, e, s, handler)| {
                Record::Deliver {
                    at,
                    event: EventId(e),
                    sub: SubId(s),
                    handler,
                }
            }),
            (
                at.clone(),
                (name(), name(), name(), name(), name()),
                depth.clone(),
                origin()
            )
                .prop_map(|(at, (t, s, ty, id, action), depth, origin)| {
                    Record::Dispatch {
                        at,
                        tenant: TenantId(t),
                        source_tenant: TenantId(s),
                        entity_type: ty,
                        id: EntityId(id),
                        action,
                        depth,
                        origin,
                    }
                }),
            (
                at.clone(),
                (name(), name(), name(), name(), name(), name()),
                any::<bool>()
            )
                .prop_map(|(at, (t, ty, id, action, from, to), created)| {
                    Record::Transition {
                        at,
                        tenant: TenantId(t),
                        entity_type: ty,
                        id: EntityId(id),
                        action,
                        from,
                        to,
                        created,
                    }
                }),
            (at.clone(), (name(), name(), name(), name(), name())).prop_map(
                |(at, (t, ty, id, action, error))| Record::ActionFailed {
                    at,
                    tenant: TenantId(t),
                    entity_type: ty,
                    id: EntityId(id),
                    action,
                    error,
                }
            ),
            (
                at.clone(),
                (name(), name(), name()),
                depth.clone(),
                any::<bool>(),
                (opt(), opt(), opt())
            )
                .prop_map(
                    |(at, (t, rule, ty), depth, success, (id, status, error))| {
                        Record::Reaction {
                            at,
                            tenant: TenantId(t),
                            rule,
                            depth,
                            success,
                            target_type: ty,
                            target_id: id.map(EntityId),
                            target_status: status,
                            error,
                        }
                    }
                ),
            (at.clone(), name(), name(), depth.clone(), any::<bool>()).prop_map(
                |(at, t, rule, depth, skip)| {
                    let tenant = TenantId(t);
                    if skip {
                        Record::GuardSkip {
                            at,
                            tenant,
                            rule,
                            depth,
                        }
                    } else {
                        Record::DepthLimit {
                            at,
                            tenant,
                            rule,
                            depth,
                        }
                    }
                }
            ),
            (at.clone(), name()).prop_map(|(at, message)| Record::Warning { at, message }),
            (
                at,
                (name(), name(), name(), opt()),
                any::<u32>(),
                prop::option::of(any::<u64>()),
                any::<u64>()
            )
                .prop_map(|(at, (a, b, ty, handler_target), nth, event, delay_ms)| {
                    let on = match ty.len() % 4 {
                        0 => FaultTarget::Reaction { rule: a, target: b },
                        1 => FaultTarget::Delivery {
                            subject: a,
                            handler: b,
                        },
                        2 => FaultTarget::Action {
                            target: a,
                            action: b,
                        },
                        _ => FaultTarget::Handler {
                            handler: a,
                            subject: b,
                        },
                    };
                    let outcome_record = handler_target.is_some();
                    if outcome_record {
                        Record::Outcome {
                            at,
                            event: EventId(delay_ms),
                            handler: ty,
                            id: format!("{nth:x}"),
                            outcome: OutcomeKind::Skipped,
                            severity: Severity::High,
                            target: handler_target,
                        }
                    } else {
                        Record::Fault {
                            at,
                            fault: FaultKind::Duplicate,
                            on,
                            nth,
                            event: event.map(EventId),
                            delay_ms,
                        }
                    }
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn hand_written_encoding_is_byte_identical_to_serde_json(r in record()) {
            prop_assert_eq!(ours(&r), serde(&r));
            prop_assert_eq!(&r.view().to_record(), &r);
        }
    }
}
