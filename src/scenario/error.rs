//! User-facing input errors: a place in a file, what is wrong, and how to fix it.
//!
//! Bad input is a value, never a panic. Every error that comes from a file carries its path,
//! a 1-based line and column, and a hint. The CLI maps these to exit status 2.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error in a scenario or rule file, located to a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub file: PathBuf,
    /// 1-based; 0 when the place is unknown (then the file is still named).
    pub line: usize,
    /// 1-based; 0 when the place is unknown.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl SourceError {
    /// An error at byte offset `offset` of `text` (the contents of `file`).
    pub fn at(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, offset);
        SourceError {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            hint: None,
        }
    }

    /// An error about a whole file (it could not be read, for instance).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        SourceError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Converts a `toml` deserialization error, keeping its span and its message but not its
    /// multi-line rendering (we render the place ourselves).
    pub fn from_toml(file: &Path, text: &str, err: &toml::de::Error) -> Self {
        // No span: a whole-document problem (a missing top-level table, most often), placed
        // at the file's first line.
        let offset = err.span().map(|s| s.start).unwrap_or(0);
        let mut e = SourceError::at(file, text, offset, err.message().trim().to_string());
        e.hint = hint_for_toml_message(err.message());
        e
    }
}

/// Hints for the serde/toml messages users meet most.
fn hint_for_toml_message(message: &str) -> Option<String> {
    if message.contains("unknown field") {
        Some("check the spelling; unknown keys are rejected so that a typo cannot silently change what a rule does".into())
    } else if message.contains("unknown variant") {
        Some("use one of the expected values listed above (snake_case)".into())
    } else if message.contains("missing field") {
        Some("add the missing key".into())
    } else if message.contains(crate::core::NOT_FINITE) {
        Some("write a number (or a string such as \"nan\" if the text is what you mean); nan and inf would become null".into())
    } else if message.contains("value pool") {
        Some("a pool is a non-empty list of finite values, or a table with exactly `min` and `max` (integers)".into())
    } else if message.contains("invalid type") {
        Some("give the key a value of the type docs/scenario.md lists for it".into())
    } else {
        // TOML syntax: the message says what the parser expected at this place.
        Some(
            "fix the TOML syntax at this place (docs/scenario.md shows every table written out)"
                .into(),
        )
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )?;
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 8), (2, 3));
    }

    #[test]
    fn display_names_file_line_column_and_hint() {
        let e = SourceError::at(Path::new("x.toml"), "a\nbc", 3, "bad thing").with_hint("do this");
        assert_eq!(e.to_string(), "x.toml:2:2: bad thing\n  hint: do this");
    }
}
