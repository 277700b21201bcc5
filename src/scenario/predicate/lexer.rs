//! The predicate lexer: text to tokens, each with its column.

use super::PredicateError;
use crate::core::Value;
use crate::engine::CmpOp;
use serde_json::Number;

// ---------------------------------------------------------------------------------------
// Tokenizer

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok<'s> {
    Ident(&'s str),
    Str(String),
    Num(Value),
    LBracket,
    RBracket,
    LParen,
    RParen,
    Dot,
    Cmp(CmpOp),
    And,
    Or,
    Not,
    End,
}

#[derive(Debug, Clone)]
pub(super) struct Token<'s> {
    pub(super) tok: Tok<'s>,
    /// 1-based, in characters.
    pub(super) column: usize,
    /// Byte range in the text.
    pub(super) start: usize,
    pub(super) end: usize,
}

pub(super) const TOKENS_EXPECTED: &str = "expected a name, a quoted string, a number, `[`, `]`, `.`, `(`, `)`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||` or `!`";

pub(super) fn tokenize(text: &str) -> Result<Vec<Token<'_>>, PredicateError> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let byte_at = |k: usize| chars.get(k).map_or(text.len(), |&(b, _)| b);
    let unknown = |column: usize, token: &str, suggestion: &str| {
        PredicateError::new(
            column,
            format!("unknown token `{token}`; did you mean `{suggestion}`?"),
        )
    };
    let mut out = Vec::new();
    let mut i = 0;
    // Each pass consumes at least one character: bounded by the text's length.
    while let Some(c) = at(i) {
        let column = i + 1;
        let (tok, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '.' => (Tok::Dot, 1),
            '=' => match at(i + 1) {
                Some('=') if at(i + 2) == Some('=') => {
                    return Err(unknown(column, "===", "=="));
                }
                Some('=') => (Tok::Cmp(CmpOp::Eq), 2),
                Some('>') => return Err(unknown(column, "=>", ">=")),
                Some('<') => return Err(unknown(column, "=<", "<=")),
                _ => {
                    return Err(unknown(column, "=", "==")
                        .hint("`==` compares; a predicate assigns nothing"))
                }
            },
            '!' if at(i + 1) == Some('=') => (Tok::Cmp(CmpOp::Ne), 2),
            '!' => (Tok::Not, 1),
            '<' => match at(i + 1) {
                Some('=') => (Tok::Cmp(CmpOp::Le), 2),
                Some('>') => return Err(unknown(column, "<>", "!=")),
                _ => (Tok::Cmp(CmpOp::Lt), 1),
            },
            '>' if at(i + 1) == Some('=') => (Tok::Cmp(CmpOp::Ge), 2),
            '>' => (Tok::Cmp(CmpOp::Gt), 1),
            '&' if at(i + 1) == Some('&') => (Tok::And, 2),
            '&' => return Err(unknown(column, "&", "&&")),
            '|' if at(i + 1) == Some('|') => (Tok::Or, 2),
            '|' => return Err(unknown(column, "|", "||")),
            '\'' | '"' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match at(j) {
                        None => {
                            return Err(PredicateError::new(column, "unterminated string")
                                .hint(format!("close it with {c}")))
                        }
                        Some(q) if q == c => break,
                        Some('\\') => match at(j + 1) {
                            Some(e @ ('\\' | '\'' | '"')) => {
                                s.push(e);
                                j += 2;
                            }
                            _ => {
                                return Err(PredicateError::new(
                                    j + 1,
                                    "unknown escape in a string",
                                )
                                .hint(r#"only \\, \' and \" are escapes"#))
                            }
                        },
                        Some(ch) => {
                            s.push(ch);
                            j += 1;
                        }
                    }
                }
                (Tok::Str(s), j + 1 - i)
            }
            c if c.is_ascii_digit()
                || (c == '-' && at(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let digits = |mut j: usize| {
                    while at(j).is_some_and(|d| d.is_ascii_digit()) {
                        j += 1;
                    }
                    j
                };
                let mut j = digits(i + 1);
                let mut integer = true;
                if at(j) == Some('.') {
                    if !at(j + 1).is_some_and(|d| d.is_ascii_digit()) {
                        return Err(PredicateError::new(
                            j + 1,
                            format!(
                                "expected a digit after `{}`",
                                &text[byte_at(i)..byte_at(j + 1)]
                            ),
                        )
                        .hint("write a number like 1.5"));
                    }
                    j = digits(j + 1);
                    integer = false;
                }
                if matches!(at(j), Some('e' | 'E')) {
                    let sign = usize::from(matches!(at(j + 1), Some('+' | '-')));
                    if at(j + 1 + sign).is_some_and(|d| d.is_ascii_digit()) {
                        j = digits(j + 1 + sign);
                        integer = false;
                    }
                }
                let src = &text[byte_at(i)..byte_at(j)];
                let value = if integer {
                    src.parse::<i64>()
                        .map(Value::from)
                        .or_else(|_| src.parse::<u64>().map(Value::from))
                        .ok()
                } else {
                    None
                };
                let value = match value {
                    Some(v) => v,
                    None => src
                        .parse::<f64>()
                        .ok()
                        .and_then(Number::from_f64)
                        .map(Value::Number)
                        .ok_or_else(|| {
                            PredicateError::new(column, format!("number `{src}` is out of range"))
                        })?,
                };
                (Tok::Num(value), j - i)
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while at(j).is_some_and(|d| d.is_alphanumeric() || d == '_') {
                    j += 1;
                }
                (Tok::Ident(&text[byte_at(i)..byte_at(j)]), j - i)
            }
            '-' => {
                return Err(PredicateError::new(column, "unknown token `-`")
                    .hint("there is no arithmetic; a negative number is written like -5"))
            }
            other => {
                return Err(
                    PredicateError::new(column, format!("unknown token `{other}`"))
                        .hint(TOKENS_EXPECTED),
                )
            }
        };
        out.push(Token {
            tok,
            column,
            start: byte_at(i),
            end: byte_at(i + len),
        });
        i += len;
    }
    out.push(Token {
        tok: Tok::End,
        column: chars.len() + 1,
        start: text.len(),
        end: text.len(),
    });
    Ok(out)
}
