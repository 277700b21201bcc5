//! Text for a terminal or a CI log: names, ids and payloads come from scenarios and from
//! the systems under test, and may hold control characters, so a report printed as text
//! escapes them (an escape sequence in a payload could otherwise rewrite what a log shows).

use std::borrow::Cow;

/// `text` with every control character but the line feed written as `\u{..}` (a tab as
/// `\t`, a carriage return as `\r`). Text without one is returned as it is.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_lines_kept() {
        assert!(matches!(escape_controls("plain\ntext"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("a\u{1b}[2Jb\r\n\tc\u{7f}\u{9b}"),
            "a\\u{1b}[2Jb\\r\n\\tc\\u{7f}\\u{9b}"
        );
    }
}
