//! The expressions of temper specs: action `guard`s and invariant `assert`s, read into the
//! engine's typed [`Expr`] (or, for an assert about history, a [`SpecAssert`]).
//!
//! What temper writes, and what each means here (temper's spec parser and its
//! `parse_assert_expr`, `guards.rs`):
//!
//! ```text
//! items > 0            counter comparison (>, >=, <, <=, ==, !=) with a number
//! used <= quota        ...or with another counter
//! has_content          a bool is true; a string standing alone is not empty
//! !has_content         a bool is false
//! min items 1          items >= 1        (guard clause forms)
//! max items 1          items < 1
//! is_true x, is_false x
//! a && b, a || b, ( )  (a guard given as a list of clauses: all of them)
//! status in ['A', 'B'] the status is one of these
//! a => b               b wherever a (asserts)
//! no_further_transitions, never(State), ordering(A, B)   (asserts, standing alone)
//! ```
//!
//! Ripple is stricter than temper's hand-written parser where a typo would change what a
//! spec means: a variable must be a declared state variable of the right type (temper reads
//! an undeclared counter as 0, so `iems > 0` would silently never pass), and anything it
//! does not understand is an error at its column, where temper's classifier returns nothing
//! and skips the invariant.
//!
//! Not supported (an error that says so): `list_contains` and `list_length_min`, because
//! Ripple keeps a list and a param of the same name in one field, where temper keeps two.

use crate::engine::{CmpOp, CounterRhs, Expr};
use crate::scenario::temper::SpecAssert;
use std::collections::BTreeMap;

/// A state variable's type, as the spec declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    Counter,
    Bool,
    Text,
    List,
}

impl VarType {
    pub fn as_str(self) -> &'static str {
        match self {
            VarType::Counter => "counter",
            VarType::Bool => "bool",
            VarType::Text => "string",
            VarType::List => "list",
        }
    }
}

/// What an expression may name: the spec's state variables and states.
pub struct Scope<'a> {
    pub vars: &'a BTreeMap<String, VarType>,
    pub states: &'a [String],
}

/// A problem at a byte offset of the expression, with a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
    pub hint: String,
}

fn err(offset: usize, message: impl Into<String>, hint: impl Into<String>) -> ExprError {
    ExprError {
        offset,
        message: message.into(),
        hint: hint.into(),
    }
}

/// Expressions longer than this are rejected (a budget on the parser's work).
const EXPR_BYTES_MAX: usize = 4096;
/// Nesting (parentheses, `!`) deeper than this is rejected.
const EXPR_DEPTH_MAX: usize = 32;

/// Parses one guard clause.
pub fn parse_guard(text: &str, scope: &Scope<'_>) -> Result<Expr, ExprError> {
    if let Some(e) = clause_form(text, scope)? {
        return Ok(e);
    }
    let mut p = Parser::new(text, scope, false)?;
    let e = p.expr()?;
    p.end()?;
    Ok(e)
}

/// Parses an invariant's `assert`.
pub fn parse_assert(text: &str, scope: &Scope<'_>) -> Result<SpecAssert, ExprError> {
    let mut p = Parser::new(text, scope, true)?;
    if let Some(history) = p.history()? {
        p.end()?;
        return Ok(history);
    }
    let e = p.expr()?;
    p.end()?;
    Ok(SpecAssert::State(e))
}

/// Temper's word-first guard clauses: `min v n`, `max v n`, `is_true v`, `is_false v`.
fn clause_form(text: &str, scope: &Scope<'_>) -> Result<Option<Expr>, ExprError> {
    let lead = text.len() - text.trim_start().len();
    let words: Vec<(usize, &str)> = text
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
        .collect();
    let Some(&(_, first)) = words.first() else {
        return Err(err(
            lead,
            "the guard is empty",
            "write a condition, e.g. \"items > 0\"",
        ));
    };
    let var = |i: usize, want: VarType| -> Result<String, ExprError> {
        let (at, name) = words.get(i).copied().ok_or_else(|| {
            err(
                text.len(),
                format!("`{first}` needs a variable"),
                format!("e.g. \"{first} items 1\""),
            )
        })?;
        check_var(name, at, want, scope)?;
        Ok(name.to_string())
    };
    let number = |i: usize| -> Result<u64, ExprError> {
        let (at, n) = words.get(i).copied().ok_or_else(|| {
            err(
                text.len(),
                format!("`{first}` needs a number"),
                format!("e.g. \"{first} items 1\""),
            )
        })?;
        n.parse::<u64>().map_err(|_| {
            err(
                at,
                format!("{n:?} is not a non-negative integer"),
                "counters are whole numbers",
            )
        })
    };
    let arity = |n: usize| -> Result<(), ExprError> {
        match words.get(n) {
            Some(&(at, extra)) => Err(err(
                at,
                format!("unexpected {extra:?} after the `{first}` clause"),
                "one clause per string; list several as an array",
            )),
            None => Ok(()),
        }
    };
    let e = match first {
        "min" | "max" => {
            let v = var(1, VarType::Counter)?;
            let n = number(2)?;
            arity(3)?;
            // Temper's `max v n` is `v < n` (its MaxCount is exclusive).
            let op = if first == "min" { CmpOp::Ge } else { CmpOp::Lt };
            Expr::Counter {
                var: v,
                op,
                rhs: CounterRhs::Number(n),
            }
        }
        "is_true" | "is_false" => {
            let v = var(1, VarType::Bool)?;
            arity(2)?;
            let flag = Expr::Flag { var: v };
            if first == "is_true" {
                flag
            } else {
                Expr::Not(Box::new(flag))
            }
        }
        "list_contains" | "list_length_min" => {
            return Err(err(
                lead,
                format!("`{first}` guards are not supported"),
                "Ripple keeps a list and a param of the same name in one field, where temper keeps two, so it cannot read lists as temper does",
            ))
        }
        _ => return Ok(None),
    };
    Ok(Some(e))
}

fn check_var(name: &str, at: usize, want: VarType, scope: &Scope<'_>) -> Result<(), ExprError> {
    match scope.vars.get(name) {
        Some(t) if *t == want => Ok(()),
        Some(t) => Err(err(
            at,
            format!(
                "`{name}` is a {} variable, not a {}",
                t.as_str(),
                want.as_str()
            ),
            "check the [[state]] declaration",
        )),
        None => Err(err(
            at,
            format!("`{name}` is not a declared state variable"),
            known_vars(scope),
        )),
    }
}

fn known_vars(scope: &Scope<'_>) -> String {
    if scope.vars.is_empty() {
        "the spec declares no [[state]] variables; declare it with [[state]] name = ..., type = ..."
            .into()
    } else {
        format!(
            "declared: {}",
            scope
                .vars
                .iter()
                .map(|(k, t)| format!("{k} ({})", t.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Number(u64),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    And,
    Or,
    Not,
    Implies,
    Cmp(CmpOp),
}

struct Parser<'a> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    len: usize,
    scope: &'a Scope<'a>,
    assert: bool,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &str, scope: &'a Scope<'a>, assert: bool) -> Result<Parser<'a>, ExprError> {
        if text.len() > EXPR_BYTES_MAX {
            return Err(err(
                0,
                format!("the expression is longer than {EXPR_BYTES_MAX} bytes"),
                "split it",
            ));
        }
        Ok(Parser {
            toks: tokenize(text)?,
            pos: 0,
            len: text.len(),
            scope,
            assert,
            depth: 0,
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |(o, _)| *o)
    }

    fn next(&mut self) -> Option<(usize, Tok)> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn end(&self) -> Result<(), ExprError> {
        match self.toks.get(self.pos) {
            None => Ok(()),
            Some((at, t)) => Err(err(
                *at,
                format!("unexpected {} here", describe(t)),
                "join conditions with && or ||",
            )),
        }
    }

    /// `no_further_transitions`, `never(S)`, `ordering(A, B)`: only as the whole assert.
    fn history(&mut self) -> Result<Option<SpecAssert>, ExprError> {
        let Some(Tok::Ident(word)) = self.peek().cloned() else {
            return Ok(None);
        };
        match word.as_str() {
            "no_further_transitions" => {
                self.pos += 1;
                Ok(Some(SpecAssert::NoFurtherTransitions))
            }
            "never" | "ordering"
                if self.toks.get(self.pos + 1).map(|t| &t.1) == Some(&Tok::LParen) =>
            {
                self.pos += 2;
                let a = self.state_name()?;
                let assert = if word == "never" {
                    SpecAssert::State(Expr::Not(Box::new(Expr::StateIn(vec![a]))))
                } else {
                    self.expect(Tok::Comma, "ordering(Before, After) takes two states")?;
                    let b = self.state_name()?;
                    SpecAssert::Ordering {
                        before: a,
                        after: b,
                    }
                };
                self.expect(Tok::RParen, "close the parenthesis")?;
                Ok(Some(assert))
            }
            _ => Ok(None),
        }
    }

    fn expect(&mut self, want: Tok, hint: &str) -> Result<(), ExprError> {
        let at = self.at();
        match self.next() {
            Some((_, t)) if t == want => Ok(()),
            Some((_, t)) => Err(err(
                at,
                format!("expected {} but found {}", describe(&want), describe(&t)),
                hint,
            )),
            None => Err(err(
                at,
                format!("expected {} at the end", describe(&want)),
                hint,
            )),
        }
    }

    fn state_name(&mut self) -> Result<String, ExprError> {
        let at = self.at();
        let name = match self.next() {
            Some((_, Tok::Ident(s))) | Some((_, Tok::Str(s))) => s,
            _ => {
                return Err(err(
                    at,
                    "expected a state name",
                    "name one of the automaton's states",
                ))
            }
        };
        if !self.scope.states.contains(&name) {
            return Err(err(
                at,
                format!("{name:?} is not a state of the automaton"),
                format!("states: {}", self.scope.states.join(", ")),
            ));
        }
        Ok(name)
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        let left = self.or()?;
        if self.peek() == Some(&Tok::Implies) {
            if !self.assert {
                return Err(err(
                    self.at(),
                    "`=>` is for invariants, not guards",
                    "a guard is a condition the action needs",
                ));
            }
            self.pos += 1;
            let right = self.or()?;
            return Ok(Expr::Implies(Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Any(items)
        })
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut items = vec![self.unary()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::All(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        self.depth += 1;
        if self.depth > EXPR_DEPTH_MAX {
            return Err(err(
                self.at(),
                format!("nested deeper than {EXPR_DEPTH_MAX}"),
                "flatten the expression",
            ));
        }
        let e = if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            Expr::Not(Box::new(self.unary()?))
        } else {
            self.atom()?
        };
        self.depth -= 1;
        Ok(e)
    }

    fn atom(&mut self) -> Result<Expr, ExprError> {
        let at = self.at();
        match self.next() {
            Some((_, Tok::LParen)) => {
                let e = self.expr()?;
                self.expect(Tok::RParen, "close the parenthesis")?;
                Ok(e)
            }
            Some((_, Tok::Ident(name))) => self.after_ident(name, at),
            Some((_, t)) => Err(err(
                at,
                format!("expected a condition but found {}", describe(&t)),
                "e.g. \"items > 0\" or \"has_content\"",
            )),
            None => Err(err(
                at,
                "expected a condition at the end",
                "e.g. \"items > 0\"",
            )),
        }
    }

    fn after_ident(&mut self, name: String, at: usize) -> Result<Expr, ExprError> {
        match name.as_str() {
            "status" if self.peek() == Some(&Tok::Ident("in".into())) => {
                self.pos += 1;
                self.expect(Tok::LBracket, "write status in ['A', 'B']")?;
                let mut states = Vec::new();
                loop {
                    if self.peek() == Some(&Tok::RBracket) {
                        self.pos += 1;
                        break;
                    }
                    states.push(self.state_name()?);
                    match self.peek() {
                        Some(Tok::Comma) => self.pos += 1,
                        Some(Tok::RBracket) => {}
                        _ => {
                            return Err(err(
                                self.at(),
                                "expected `,` or `]`",
                                "write status in ['A', 'B']",
                            ))
                        }
                    }
                }
                return Ok(Expr::StateIn(states));
            }
            "no_further_transitions" | "never" | "ordering" => {
                return Err(err(
                    at,
                    format!("`{name}` is about the entity's history and must stand alone"),
                    if self.assert {
                        "write it as the whole assert, one invariant each"
                    } else {
                        "guards read the current state only"
                    },
                ))
            }
            _ => {}
        }
        if let Some(Tok::Cmp(op)) = self.peek().cloned() {
            self.pos += 1;
            check_var(&name, at, VarType::Counter, self.scope)?;
            let rhs_at = self.at();
            let rhs = match self.next() {
                Some((_, Tok::Number(n))) => CounterRhs::Number(n),
                Some((_, Tok::Ident(other))) => {
                    check_var(&other, rhs_at, VarType::Counter, self.scope)?;
                    CounterRhs::Var(other)
                }
                Some((_, t)) => {
                    return Err(err(
                        rhs_at,
                        format!(
                            "a counter compares with a number or another counter, not {}",
                            describe(&t)
                        ),
                        "e.g. \"items > 0\" or \"used <= quota\"",
                    ))
                }
                None => return Err(err(rhs_at, "nothing to compare with", "e.g. \"items > 0\"")),
            };
            return Ok(Expr::Counter { var: name, op, rhs });
        }
        match self.scope.vars.get(&name) {
            Some(VarType::Bool) => Ok(Expr::Flag { var: name }),
            Some(VarType::Text) if self.assert => Ok(Expr::Text { var: name }),
            Some(VarType::Counter) => Err(err(
                at,
                format!("`{name}` is a counter; a counter alone is not a condition"),
                format!("compare it, e.g. \"{name} > 0\""),
            )),
            Some(t) => Err(err(
                at,
                format!(
                    "`{name}` is a {} variable and cannot stand alone here",
                    t.as_str()
                ),
                "only bools stand alone in guards (and strings, meaning not empty, in asserts)",
            )),
            None => Err(err(
                at,
                format!("`{name}` is not a declared state variable"),
                known_vars(self.scope),
            )),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Number(n) => format!("the number {n}"),
        Tok::Str(s) => format!("the string {s:?}"),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Comma => "`,`".into(),
        Tok::And => "`&&`".into(),
        Tok::Or => "`||`".into(),
        Tok::Not => "`!`".into(),
        Tok::Implies => "`=>`".into(),
        Tok::Cmp(_) => "a comparison".into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Tok)>, ExprError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let two = |s: &str| text[i..].starts_with(s);
        let (tok, len) = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b',' => (Tok::Comma, 1),
            _ if two("&&") => (Tok::And, 2),
            _ if two("||") => (Tok::Or, 2),
            _ if two("=>") => (Tok::Implies, 2),
            _ if two("==") => (Tok::Cmp(CmpOp::Eq), 2),
            _ if two("!=") => (Tok::Cmp(CmpOp::Ne), 2),
            _ if two(">=") => (Tok::Cmp(CmpOp::Ge), 2),
            _ if two("<=") => (Tok::Cmp(CmpOp::Le), 2),
            b'>' => (Tok::Cmp(CmpOp::Gt), 1),
            b'<' => (Tok::Cmp(CmpOp::Lt), 1),
            b'!' => (Tok::Not, 1),
            b'\'' | b'"' => {
                let close = text[i + 1..]
                    .find(c as char)
                    .ok_or_else(|| err(i, "the quote is never closed", "close the string"))?;
                let s = text[i + 1..i + 1 + close].to_string();
                (Tok::Str(s), close + 2)
            }
            b'0'..=b'9' => {
                let len = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                let n = text[i..i + len]
                    .parse::<u64>()
                    .map_err(|_| err(i, "the number is too large", "counters fit in 64 bits"))?;
                (Tok::Number(n), len)
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let len = b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                (Tok::Ident(text[i..i + len].to_string()), len)
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(err(
                    i,
                    format!("unexpected character {ch:?}"),
                    "use names, numbers, comparisons, &&, ||, ! and parentheses",
                ));
            }
        };
        out.push((i, tok));
        i += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_vars() -> BTreeMap<String, VarType> {
        [
            ("items", VarType::Counter),
            ("quota", VarType::Counter),
            ("ok", VarType::Bool),
            ("name", VarType::Text),
        ]
        .into_iter()
        .map(|(k, t)| (k.to_string(), t))
        .collect()
    }

    fn states() -> Vec<String> {
        vec!["Draft".into(), "Done".into()]
    }

    fn guard(text: &str) -> Result<String, ExprError> {
        let (v, s) = (scope_vars(), states());
        parse_guard(
            text,
            &Scope {
                vars: &v,
                states: &s,
            },
        )
        .map(|e| e.to_string())
    }

    fn assert(text: &str) -> Result<SpecAssert, ExprError> {
        let (v, s) = (scope_vars(), states());
        parse_assert(
            text,
            &Scope {
                vars: &v,
                states: &s,
            },
        )
    }

    #[test]
    fn temper_guard_forms_read_as_temper_reads_them() {
        assert_eq!(guard("items > 0").unwrap(), "items > 0");
        assert_eq!(guard("min items 1").unwrap(), "items >= 1");
        assert_eq!(
            guard("max items 1").unwrap(),
            "items < 1",
            "temper's max is exclusive"
        );
        assert_eq!(guard("is_true ok").unwrap(), "ok");
        assert_eq!(guard("is_false ok").unwrap(), "!ok");
        assert_eq!(guard("!ok").unwrap(), "!ok");
        assert_eq!(guard("ok").unwrap(), "ok");
        assert_eq!(
            guard("items <= quota && ok").unwrap(),
            "items <= quota && ok"
        );
    }

    #[test]
    fn typos_and_unsupported_forms_are_errors_at_their_column() {
        let e = guard("iems > 0").unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(e.message.contains("not a declared state variable"), "{e:?}");
        assert!(e.hint.contains("items (counter)"), "{e:?}");
        let e = guard("items > ok").unwrap_err();
        assert_eq!(e.offset, 8);
        let e = guard("items").unwrap_err();
        assert!(e.message.contains("a counter alone"), "{e:?}");
        let e = guard("list_contains tags x").unwrap_err();
        assert!(e.message.contains("not supported"), "{e:?}");
        let e = guard("ok => items > 0").unwrap_err();
        assert!(e.message.contains("for invariants"), "{e:?}");
        let e = guard("items > 0 ok").unwrap_err();
        assert_eq!(e.offset, 10);
    }

    #[test]
    fn asserts_cover_implication_history_and_strings() {
        let SpecAssert::State(e) = assert("status in ['Done'] => items > 0").unwrap() else {
            panic!("a state assert");
        };
        assert_eq!(e.to_string(), "status in ['Done'] => items > 0");
        assert_eq!(
            assert("no_further_transitions").unwrap(),
            SpecAssert::NoFurtherTransitions
        );
        assert_eq!(
            assert("ordering(Draft, Done)").unwrap(),
            SpecAssert::Ordering {
                before: "Draft".into(),
                after: "Done".into()
            }
        );
        let SpecAssert::State(e) = assert("never(Done)").unwrap() else {
            panic!("never is a state assert");
        };
        assert!(!e.holds("Done", &Default::default()));
        assert!(matches!(
            assert("name").unwrap(),
            SpecAssert::State(Expr::Text { .. })
        ));
        let e = assert("ok && no_further_transitions").unwrap_err();
        assert!(e.message.contains("must stand alone"), "{e:?}");
        let e = assert("never(Nope)").unwrap_err();
        assert!(e.message.contains("not a state"), "{e:?}");
    }
}
