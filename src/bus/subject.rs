//! Subjects and patterns with NATS semantics.
//!
//! A subject is dot-separated tokens with no empty token, no whitespace and no wildcard.
//! A pattern may use `*` (exactly one token) and `>` (one or more tokens, last only).
//! `Pattern::matches` is the reference semantics; the subscription trie must agree with it.

use crate::core::check_token;
use crate::core::Subject;
use serde::{Serialize, Serializer};
use std::fmt;

/// A validated subscription pattern, e.g. `sensory.link_down.>` or `entity.*.MarkDown.*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pattern(String);

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
    let mut out = String::with_capacity(raw.len());
    sanitize_token_into(raw, &mut out);
    out
}

/// [`sanitize_token`], appended to `out` (a subject being built in a reused buffer).
pub fn sanitize_token_into(raw: &str, out: &mut String) {
    let start = out.len();
    // Ids are usually plain already: copy them in one go.
    if !raw.is_empty()
        && raw
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'.' && b != b'*' && b != b'>')
    {
        out.push_str(raw);
        return;
    }
    out.extend(raw.chars().filter(|c| *c != '*' && *c != '>').map(|c| {
        if c.is_whitespace() || c == '.' {
            '_'
        } else {
            c
        }
    }));
    if out.len() == start {
        out.push('_');
    }
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

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, written the slow way.
    fn reference(raw: &str) -> String {
        let out: String = raw
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
            "_".to_string()
        } else {
            out
        }
    }

    #[test]
    fn sanitized_tokens_make_valid_subjects() {
        for raw in ["r1|Gi0/1", "Port 12", "a.b", "*", ">", "", "é\u{a0}x", "\t"] {
            let token = sanitize_token(raw);
            assert_eq!(token, reference(raw), "{raw:?}");
            assert!(
                Subject::new(format!("entity.T.A.{token}")).is_ok(),
                "{raw:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn sanitizing_into_a_buffer_appends_what_sanitize_token_gives(
            prefix in "[a-z.]{0,8}",
            raw in any::<String>(),
        ) {
            let mut out = prefix.clone();
            sanitize_token_into(&raw, &mut out);
            prop_assert_eq!(out, format!("{prefix}{}", reference(&raw)));
        }
    }
}
