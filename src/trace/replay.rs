//! Comparing a recorded trace with a fresh one, line by line.

/// The first step (0-based record index) at which two canonical traces differ, with the
/// recorded and the replayed line (`None` for a line one side does not have).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceDiff {
    pub step: usize,
    pub recorded: Option<String>,
    pub replayed: Option<String>,
}

/// `None` when the traces are byte-identical.
pub fn first_difference(recorded: &[u8], replayed: &[u8]) -> Option<TraceDiff> {
    if recorded == replayed {
        return None;
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut a = recorded.split(|b| *b == b'\n');
    let mut b = replayed.split(|b| *b == b'\n');
    let mut step = 0;
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => step += 1,
            (None, None) => unreachable!("equal traces returned early"),
            (x, y) => {
                return Some(TraceDiff {
                    step,
                    recorded: x.map(text),
                    replayed: y.map(text),
                });
            }
        }
    }
}

impl std::fmt::Display for TraceDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "first difference at step {}:", self.step)?;
        writeln!(
            f,
            "  recorded: {}",
            self.recorded.as_deref().unwrap_or("(trace ended)")
        )?;
        write!(
            f,
            "  replayed: {}",
            self.replayed.as_deref().unwrap_or("(trace ended)")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_differing_line_or_a_shorter_trace() {
        assert_eq!(first_difference(b"a\nb\n", b"a\nb\n"), None);
        let d = first_difference(b"a\nb\nc\n", b"a\nX\nc\n").unwrap();
        assert_eq!(
            (d.step, d.recorded.as_deref(), d.replayed.as_deref()),
            (1, Some("b"), Some("X"))
        );
        let d = first_difference(b"a\n", b"a\nb\n").unwrap();
        assert_eq!(d.step, 1);
        assert_eq!(d.recorded.as_deref(), Some(""));
    }
}
