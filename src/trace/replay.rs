//! Comparing a recorded trace with a fresh one, line by line.

/// The first step (0-based record index) at which two canonical traces differ, with the
/// recorded and the replayed line (`None` for a line one side does not have), and what is
/// around it: the lines both share just before, and each side's lines after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceDiff {
    pub step: usize,
    pub recorded: Option<String>,
    pub replayed: Option<String>,
    /// Up to the context's length of lines both traces have just before `step`, in order.
    pub before: Vec<String>,
    /// Each side's lines after `step`, up to the context's length.
    pub recorded_after: Vec<String>,
    pub replayed_after: Vec<String>,
    /// How many lines (steps) each trace has.
    pub recorded_steps: usize,
    pub replayed_steps: usize,
}

/// Lines of context [`first_difference`] keeps on each side.
pub const DIFF_CONTEXT_LINES: usize = 5;

/// `None` when the traces are byte-identical.
pub fn first_difference(recorded: &[u8], replayed: &[u8]) -> Option<TraceDiff> {
    first_difference_within(recorded, replayed, DIFF_CONTEXT_LINES)
}

/// [`first_difference`], keeping up to `context` lines before the difference and after it
/// on each side.
pub fn first_difference_within(
    recorded: &[u8],
    replayed: &[u8],
    context: usize,
) -> Option<TraceDiff> {
    first_difference_streams(recorded, replayed, context).expect("reading a slice cannot fail")
}

/// [`first_difference_within`] on two streams of lines, read once each: memory holds the
/// context, not the traces (`ripple replay` of a trace of gigabytes). Same answer as on
/// the whole texts.
pub fn first_difference_streams(
    mut recorded: impl std::io::BufRead,
    mut replayed: impl std::io::BufRead,
    context: usize,
) -> std::io::Result<Option<TraceDiff>> {
    let text = |b: &[u8]| String::from_utf8_lossy(b.strip_suffix(b"\n").unwrap_or(b)).into_owned();
    let next = |r: &mut dyn std::io::BufRead, line: &mut Vec<u8>| -> std::io::Result<bool> {
        line.clear();
        Ok(r.read_until(b'\n', line)? > 0)
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut before: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut step = 0;
    loop {
        let (has_a, has_b) = (next(&mut recorded, &mut a)?, next(&mut replayed, &mut b)?);
        let same = has_a == has_b
            && (!has_a
                || a.strip_suffix(b"\n").unwrap_or(&a) == b.strip_suffix(b"\n").unwrap_or(&b));
        if !has_a && !has_b {
            return Ok(None);
        }
        if !same {
            break;
        }
        if context > 0 {
            if before.len() == context {
                before.pop_front();
            }
            before.push_back(text(&a));
        }
        step += 1;
    }
    // Each side's differing line, then up to `context` lines after it, then a count.
    let rest = |r: &mut dyn std::io::BufRead,
                first: &[u8],
                has: bool|
     -> std::io::Result<(Option<String>, Vec<String>, usize)> {
        let line = has.then(|| text(first));
        let (mut after, mut n, mut buf) = (Vec::new(), step + usize::from(has), Vec::new());
        while has && next(r, &mut buf)? {
            if after.len() < context {
                after.push(text(&buf));
            }
            n += 1;
        }
        Ok((line, after, n))
    };
    let has_a = !a.is_empty();
    let has_b = !b.is_empty();
    let (recorded_line, recorded_after, recorded_steps) = rest(&mut recorded, &a, has_a)?;
    let (replayed_line, replayed_after, replayed_steps) = rest(&mut replayed, &b, has_b)?;
    Ok(Some(TraceDiff {
        step,
        recorded: recorded_line,
        replayed: replayed_line,
        before: before.into(),
        recorded_after,
        replayed_after,
        recorded_steps,
        replayed_steps,
    }))
}

#[cfg(test)]
/// Lines, without the empty piece after a final newline: a shorter trace has no line where
/// the longer one goes on.
fn lines(text: &[u8]) -> Vec<&[u8]> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    if text.is_empty() {
        Vec::new()
    } else {
        text.split(|b| *b == b'\n').collect()
    }
}

/// The reference: both texts split into lines whole, then compared.
#[cfg(test)]
fn first_difference_whole(recorded: &[u8], replayed: &[u8], context: usize) -> Option<TraceDiff> {
    if recorded == replayed {
        return None;
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (a, b) = (lines(recorded), lines(replayed));
    let step = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if step == a.len() && step == b.len() {
        // Same lines, different bytes: only a final newline differs.
        return None;
    }
    let after = |side: &[&[u8]]| -> Vec<String> {
        side.iter()
            .skip(step + 1)
            .take(context)
            .map(|l| text(l))
            .collect()
    };
    Some(TraceDiff {
        step,
        recorded: a.get(step).map(|l| text(l)),
        replayed: b.get(step).map(|l| text(l)),
        before: a[step.saturating_sub(context)..step]
            .iter()
            .map(|l| text(l))
            .collect(),
        recorded_after: after(&a),
        replayed_after: after(&b),
        recorded_steps: a.len(),
        replayed_steps: b.len(),
    })
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
        assert_eq!(d.recorded, None, "the shorter trace has no line there");
        assert_eq!((d.recorded_steps, d.replayed_steps), (1, 2));
    }

    #[test]
    fn keeps_the_shared_lines_before_and_each_sides_lines_after() {
        let d = first_difference_within(b"1\n2\n3\nA\nx\ny\nz\n", b"1\n2\n3\nB\nq\n", 2).unwrap();
        assert_eq!(d.step, 3);
        assert_eq!(d.before, ["2", "3"]);
        assert_eq!(d.recorded_after, ["x", "y"]);
        assert_eq!(d.replayed_after, ["q"]);
        assert_eq!(first_difference(b"a\nb", b"a\nb\n"), None);
    }

    proptest::proptest! {
        /// Read as streams, two traces differ where, and as, they do read whole.
        #[test]
        fn streams_differ_as_whole_texts_do(
            a in proptest::collection::vec(0u8..4, 0..12),
            b in proptest::collection::vec(0u8..4, 0..12),
            final_a in proptest::bool::ANY,
            final_b in proptest::bool::ANY,
            context in 0usize..4,
        ) {
            let text = |lines: &[u8], last: bool| {
                let mut t = lines.iter().map(|n| format!("{{\"n\":{n}}}")).collect::<Vec<_>>().join("\n");
                if last && !t.is_empty() {
                    t.push('\n');
                }
                t.into_bytes()
            };
            let (ta, tb) = (text(&a, final_a), text(&b, final_b));
            let whole = first_difference_whole(&ta, &tb, context);
            let streamed = first_difference_streams(&ta[..], &tb[..], context).unwrap();
            proptest::prop_assert_eq!(streamed, whole);
        }
    }
}
