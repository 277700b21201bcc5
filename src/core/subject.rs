//! A publish subject: dot-separated tokens with no empty token, no whitespace and no
//! wildcard, e.g. `sensory.link_down.snmp_trap.r1|Gi0/1`. Patterns, which may hold
//! wildcards, and matching live in `bus`.

use serde::{Serialize, Serializer};
use std::fmt;

/// A validated publish subject, e.g. `sensory.link_down.snmp_trap.r1|Gi0/1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subject(String);

pub(crate) fn check_token(text: &str, token: &str) -> Result<(), String> {
    if token.is_empty() {
        return Err(format!(
            "{text:?} has an empty token; tokens are separated by single dots, with none at either end"
        ));
    }
    if token.chars().any(char::is_whitespace) {
        return Err(format!(
            "{text:?} contains whitespace; replace it (e.g. with '_')"
        ));
    }
    Ok(())
}

impl Subject {
    /// Validates a publish subject.
    pub fn new(text: impl Into<String>) -> Result<Subject, String> {
        let text = text.into();
        if text.is_empty() {
            return Err("empty subject".into());
        }
        for token in text.split('.') {
            check_token(&text, token)?;
            if token.contains('*') || token.contains('>') {
                return Err(format!(
                    "subject {text:?} contains a wildcard ('*' or '>'); wildcards belong in patterns, not in published subjects"
                ));
            }
        }
        Ok(Subject(text))
    }

    /// A subject the caller has already validated (or built from validated parts), without
    /// checking it again.
    pub(crate) fn new_unchecked(text: String) -> Subject {
        debug_assert!(Subject::new(text.as_str()).is_ok(), "{text:?}");
        Subject(text)
    }

    /// Makes this subject `text`, which the caller has already validated, in the room this
    /// one has (the simulator writes over the subjects of envelopes it delivered).
    pub(crate) fn set_unchecked(&mut self, text: &str) {
        debug_assert!(Subject::new(text).is_ok(), "{text:?}");
        self.0.clear();
        self.0.push_str(text);
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn tokens(&self) -> std::str::Split<'_, char> {
        self.0.split('.')
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Subject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
