//! `--speed`: how fast virtual time runs on the wall clock when a scenario is published.

use std::fmt;
use std::time::Duration;

/// `1x` publishes at the scenario's own pace, `10x` ten times faster, `max` as fast as the
/// connection takes them (order kept, gaps dropped).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    Factor(f64),
    Max,
}

impl Speed {
    /// Parses `1x`, `10x`, `0.5x` or `max`.
    pub fn parse(text: &str) -> Result<Speed, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let Some(number) = t.strip_suffix(['x', 'X']) else {
            return Err("write a factor with an x (1x, 10x, 0.5x) or max".into());
        };
        match number.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Factor(f)),
            _ => Err("the factor must be a positive number (1x, 10x, 0.5x), or max".into()),
        }
    }

    /// The wall-clock offset of virtual time `at_ms` from the start; `None` for `max`.
    pub fn wall_offset(self, at_ms: u64) -> Option<Duration> {
        match self {
            Speed::Max => None,
            Speed::Factor(f) => Some(Duration::from_secs_f64(at_ms as f64 / 1000.0 / f)),
        }
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Speed::Max => f.write_str("max"),
            Speed::Factor(x) => write!(f, "{x}x"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_parse_as_factors_or_max() {
        assert_eq!(Speed::parse("1x"), Ok(Speed::Factor(1.0)));
        assert_eq!(Speed::parse("10x"), Ok(Speed::Factor(10.0)));
        assert_eq!(Speed::parse("0.5x"), Ok(Speed::Factor(0.5)));
        assert_eq!(Speed::parse("max"), Ok(Speed::Max));
        for bad in ["10", "0x", "-1x", "fastx", "infx", "NaNx", ""] {
            assert!(Speed::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ten_x_makes_a_second_of_virtual_time_a_tenth_of_a_second() {
        assert_eq!(
            Speed::Factor(10.0).wall_offset(1000),
            Some(Duration::from_millis(100))
        );
        assert_eq!(Speed::Max.wall_offset(1000), None);
    }
}
