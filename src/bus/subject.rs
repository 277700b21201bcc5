//! Subjects and patterns with NATS semantics.
//!
//! A subject is dot-separated tokens with no empty token, no whitespace and no wildcard.
//! A pattern may use `*` (exactly one token) and `>` (one or more tokens, last only).
//! `Pattern::matches` is the reference semantics; the subscription trie must agree with it.

use serde::{Serialize, Serializer};
use std::fmt;

/// A validated publish subject, e.g. `sensory.link_down.snmp_trap.r1|Gi0/1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subject(String);

/// A validated subscription pattern, e.g. `sensory.link_down.>` or `entity.*.MarkDown.*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pattern(String);

fn check_token(text: &str, token: &str) -> Result<(), String> {
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

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn tokens(&self) -> std::str::Split<'_, char> {
        self.0.split('.')
    }
}

impl Pattern {
    /// Validates a subscription pattern.
    pub fn new(text: impl Into<String>) -> Result<Pattern, String> {
        let text = text.into();
        if text.is_empty() {
            return Err("empty pattern".into());
        }
        let count = text.split('.').count();
        for (i, token) in text.split('.').enumerate() {
            check_token(&text, token)?;
            let has_wild = token.contains('*') || token.contains('>');
            if has_wild && token != "*" && token != ">" {
                return Err(format!(
                    "pattern {text:?}: a wildcard must be a whole token (`*` or `>`), not part of {token:?}"
                ));
            }
            if token == ">" && i + 1 != count {
                return Err(format!("pattern {text:?}: `>` may only be the last token"));
            }
        }
        Ok(Pattern(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn tokens(&self) -> std::str::Split<'_, char> {
        self.0.split('.')
    }

    /// The reference matcher: a direct reading of NATS semantics.
    pub fn matches(&self, subject: &Subject) -> bool {
        let mut subject_tokens = subject.tokens();
        for p in self.tokens() {
            match p {
                ">" => return subject_tokens.next().is_some(),
                "*" => {
                    if subject_tokens.next().is_none() {
                        return false;
                    }
                }
                literal => {
                    if subject_tokens.next() != Some(literal) {
                        return false;
                    }
                }
            }
        }
        subject_tokens.next().is_none()
    }
}

/// Makes a string usable as one subject token: whitespace and dots become `_`, wildcards are
/// dropped, and an empty result becomes `_`. (Meraki's `Port 12` becomes `Port_12`.)
pub fn sanitize_token(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .filter(|c| *c != '*' && *c != '>')
        .map(|c| {
            if c.is_whitespace() || c == '.' {
                '_'
            } else {
                c
            }
        })
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// Makes a generated subject valid: each token is sanitized (whitespace becomes `_`,
/// wildcards are dropped, an empty token becomes `_`).
pub fn sanitize_subject(raw: &str) -> String {
    let tokens: Vec<String> = raw
        .split('.')
        .map(|t| {
            let mut out: String = t
                .chars()
                .filter(|c| *c != '*' && *c != '>')
                .map(|c| if c.is_whitespace() { '_' } else { c })
                .collect();
            if out.is_empty() {
                out.push('_');
            }
            out
        })
        .collect();
    tokens.join(".")
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Subject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
