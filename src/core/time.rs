//! Virtual time: milliseconds since the start of a run, and the durations scenarios write.
//!
//! Nothing in a run reads a wall clock. Timestamps shown to users (`occurred_at`, ISO strings
//! in payloads) are the virtual epoch plus virtual time, so they are the same on every machine.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The virtual epoch: 2026-01-01T00:00:00Z, in Unix milliseconds. Virtual time 0 is this
/// instant; `sim_uuid` and ISO timestamps are derived from it.
pub const EPOCH_UNIX_MS: u64 = 1_767_225_600_000;

/// A point in virtual time, in milliseconds since the start of the run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub fn ms(self) -> u64 {
        self.0
    }

    pub fn saturating_add_ms(self, ms: u64) -> SimTime {
        SimTime(self.0.saturating_add(ms))
    }

    /// `2026-01-01T00:00:00.050Z` for `SimTime(50)`.
    pub fn iso8601(self) -> String {
        let unix_ms = EPOCH_UNIX_MS + self.0;
        let secs = unix_ms / 1000;
        let millis = unix_ms % 1000;
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (rem / 3600, (rem / 60) % 60, rem % 60);
        if !(0..=9999).contains(&y) {
            return format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{millis:03}Z");
        }
        // Every reflex outcome carries one of these: written digit by digit, not formatted.
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut n: u64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, y as u64);
        put(5, 2, u64::from(m));
        put(8, 2, u64::from(d));
        put(11, 2, hh);
        put(14, 2, mm);
        put(17, 2, ss);
        put(20, 3, millis);
        String::from_utf8(out.to_vec()).expect("ASCII digits")
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", format_duration_ms(self.0))
    }
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `"150ms"`, `"2s"`, `"5m"`, `"1h"`, `"0"`, or a compound like `"1m30s"`, into
/// milliseconds. Returns a message that says what is accepted on failure.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let s = text.trim();
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("empty duration; write e.g. \"150ms\", \"2s\", \"5m\" or \"1h\"".into());
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration {text:?}: expected a number; write e.g. \"150ms\", \"2s\", \"5m\" or \"1h\""
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let factor = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => {
                return Err(format!(
                    "invalid duration {text:?}: missing unit; write e.g. \"{n}ms\" or \"{n}s\""
                ))
            }
            other => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {other:?}; use ms, s, m, h or d"
                ))
            }
        };
        total = n
            .checked_mul(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("invalid duration {text:?}: too large"))?;
    }
    Ok(total)
}

/// The shortest exact rendering: `1h`, `1m30s`, `150ms`, `0ms`.
pub fn format_duration_ms(ms: u64) -> String {
    if ms == 0 {
        return "0ms".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration_ms("150ms"), Ok(150));
        assert_eq!(parse_duration_ms("2s"), Ok(2_000));
        assert_eq!(parse_duration_ms("5m"), Ok(300_000));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("1m30s"), Ok(90_000));
        assert_eq!(parse_duration_ms("0"), Ok(0));
    }

    #[test]
    fn bad_durations_say_what_is_accepted() {
        assert!(parse_duration_ms("10")
            .unwrap_err()
            .contains("missing unit"));
        assert!(parse_duration_ms("3w")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration_ms("ms")
            .unwrap_err()
            .contains("expected a number"));
    }

    #[test]
    fn durations_round_trip_through_format() {
        for ms in [0, 1, 150, 2_000, 90_000, 3_600_000, 3_723_004] {
            assert_eq!(parse_duration_ms(&format_duration_ms(ms)), Ok(ms));
        }
    }

    #[test]
    fn iso8601_starts_at_the_virtual_epoch() {
        assert_eq!(SimTime(0).iso8601(), "2026-01-01T00:00:00.000Z");
        assert_eq!(SimTime(50).iso8601(), "2026-01-01T00:00:00.050Z");
        assert_eq!(
            SimTime(86_400_000 * 59 + 3_723_004).iso8601(),
            "2026-03-01T01:02:03.004Z"
        );
        for t in [
            0,
            1,
            999,
            86_399_999,
            31_622_400_000,
            253_402_300_799_999,
            u64::MAX / 2,
        ] {
            let t = SimTime(t);
            let unix_ms = EPOCH_UNIX_MS + t.0;
            let secs = unix_ms / 1000;
            let rem = secs % 86_400;
            let (y, m, d) = civil_from_days((secs / 86_400) as i64);
            let formatted = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                rem / 3600,
                (rem / 60) % 60,
                rem % 60,
                unix_ms % 1000
            );
            assert_eq!(t.iso8601(), formatted);
        }
    }
}
