//! Typed conditions over one entity: the guards of temper's I/O-automaton actions and the
//! `assert`s of their invariants, once parsed (`scenario/temper/expr.rs` reads the text).
//!
//! Temper keeps an entity's state variables by type: counters (non-negative integers),
//! booleans, strings. Ripple keeps them as fields, so the semantics here are temper's read
//! over fields: a missing counter is 0, a missing boolean is false, a missing string is
//! empty. A counter that holds something other than a number (a param merged over it, say)
//! makes every comparison that reads it false, so such a guard does not pass and such an
//! assert does not hold: the run shows it instead of guessing.
//!
//! Not here: `no_further_transitions`, `never(S)` and `ordering(A, B)`, which are about the
//! entity's history rather than one state (`check/spec_invariant.rs` watches transitions for
//! those), and cross-entity guards, which temper evaluates against the store and Ripple does
//! not simulate on actions (the loader rejects them with a place).

use crate::core::Value;
use crate::engine::{CmpOp, Fields};
use std::fmt;

/// A condition over one entity's status and fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every one holds (`a && b`, or a guard given as a list of clauses). Empty: true.
    All(Vec<Expr>),
    /// At least one holds (`a || b`). Empty: false.
    Any(Vec<Expr>),
    Not(Box<Expr>),
    /// `a => b`: `b` holds wherever `a` does.
    Implies(Box<Expr>, Box<Expr>),
    /// `items > 0`, `used_bytes <= quota_limit`, `min items 1`: a counter against a number or
    /// another counter.
    Counter {
        var: String,
        op: CmpOp,
        rhs: CounterRhs,
    },
    /// `has_content`, `is_true has_reviewer`: a boolean is true (missing: false).
    Flag {
        var: String,
    },
    /// A string variable standing alone in an assert: it is not empty (missing: empty).
    Text {
        var: String,
    },
    /// `status in ['Submitted', 'Confirmed']`, or a `state_in` guard.
    StateIn(Vec<String>),
}

/// The right side of a counter comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterRhs {
    Number(u64),
    Var(String),
}

impl Expr {
    /// Whether the condition holds for an entity in `status` with these fields.
    pub fn holds(&self, status: &str, fields: &Fields) -> bool {
        match self {
            Expr::All(items) => items.iter().all(|e| e.holds(status, fields)),
            Expr::Any(items) => items.iter().any(|e| e.holds(status, fields)),
            Expr::Not(inner) => !inner.holds(status, fields),
            Expr::Implies(a, b) => !a.holds(status, fields) || b.holds(status, fields),
            Expr::Counter { var, op, rhs } => {
                let Some(left) = counter(fields, var) else {
                    return false;
                };
                let right = match rhs {
                    CounterRhs::Number(n) => *n as f64,
                    CounterRhs::Var(other) => match counter(fields, other) {
                        Some(v) => v,
                        None => return false,
                    },
                };
                match op {
                    CmpOp::Eq => left == right,
                    CmpOp::Ne => left != right,
                    CmpOp::Lt => left < right,
                    CmpOp::Le => left <= right,
                    CmpOp::Gt => left > right,
                    CmpOp::Ge => left >= right,
                }
            }
            Expr::Flag { var } => matches!(fields.get(var), Some(Value::Bool(true))),
            Expr::Text { var } => {
                matches!(fields.get(var), Some(Value::String(s)) if !s.is_empty())
            }
            Expr::StateIn(states) => states.iter().any(|s| s == status),
        }
    }

    /// The variables the condition reads, in order of appearance, each once.
    pub fn vars(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_vars(&mut out);
        out
    }

    fn collect_vars<'a>(&'a self, out: &mut Vec<&'a str>) {
        let mut push = |v: &'a str| {
            if !out.contains(&v) {
                out.push(v);
            }
        };
        match self {
            Expr::All(items) | Expr::Any(items) => {
                for e in items {
                    e.collect_vars(out);
                }
            }
            Expr::Not(inner) => inner.collect_vars(out),
            Expr::Implies(a, b) => {
                a.collect_vars(out);
                b.collect_vars(out);
            }
            Expr::Counter { var, rhs, .. } => {
                push(var);
                if let CounterRhs::Var(other) = rhs {
                    push(other);
                }
            }
            Expr::Flag { var } | Expr::Text { var } => push(var),
            Expr::StateIn(_) => {}
        }
    }
}

/// A counter's value: a number, or 0 when missing; `None` when the field holds something
/// else.
fn counter(fields: &Fields, var: &str) -> Option<f64> {
    match fields.get(var) {
        None | Some(Value::Null) => Some(0.0),
        Some(Value::Number(n)) => n.as_f64(),
        Some(_) => None,
    }
}

impl fmt::Display for Expr {
    /// A canonical text, for messages and traces: `items > 0 && !(status in ['A'])`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn join(f: &mut fmt::Formatter<'_>, items: &[Expr], sep: &str) -> fmt::Result {
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                match e {
                    Expr::All(_) | Expr::Any(_) | Expr::Implies(..) => write!(f, "({e})")?,
                    _ => write!(f, "{e}")?,
                }
            }
            Ok(())
        }
        match self {
            Expr::All(items) if items.is_empty() => f.write_str("true"),
            Expr::Any(items) if items.is_empty() => f.write_str("false"),
            Expr::All(items) => join(f, items, " && "),
            Expr::Any(items) => join(f, items, " || "),
            Expr::Not(inner) => match **inner {
                Expr::Flag { .. } | Expr::Text { .. } => write!(f, "!{inner}"),
                _ => write!(f, "!({inner})"),
            },
            Expr::Implies(a, b) => write!(f, "{a} => {b}"),
            Expr::Counter { var, op, rhs } => {
                let op = match op {
                    CmpOp::Eq => "==",
                    CmpOp::Ne => "!=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                match rhs {
                    CounterRhs::Number(n) => write!(f, "{var} {op} {n}"),
                    CounterRhs::Var(other) => write!(f, "{var} {op} {other}"),
                }
            }
            Expr::Flag { var } | Expr::Text { var } => f.write_str(var),
            Expr::StateIn(states) => {
                f.write_str("status in [")?;
                for (i, s) in states.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "'{s}'")?;
                }
                f.write_str("]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        v.as_object().cloned().expect("an object").into()
    }

    fn cmp(var: &str, op: CmpOp, n: u64) -> Expr {
        Expr::Counter {
            var: var.into(),
            op,
            rhs: CounterRhs::Number(n),
        }
    }

    #[test]
    fn missing_counter_is_zero_and_missing_flag_is_false() {
        let f = Fields::new();
        assert!(cmp("items", CmpOp::Ge, 0).holds("Draft", &f));
        assert!(!cmp("items", CmpOp::Gt, 0).holds("Draft", &f));
        assert!(!Expr::Flag { var: "ok".into() }.holds("Draft", &f));
        assert!(Expr::Not(Box::new(Expr::Flag { var: "ok".into() })).holds("Draft", &f));
        assert!(!Expr::Text { var: "name".into() }.holds("Draft", &f));
    }

    #[test]
    fn a_counter_that_is_not_a_number_makes_comparisons_false() {
        let f = fields(json!({"items": "three"}));
        assert!(!cmp("items", CmpOp::Ge, 0).holds("Draft", &f));
        assert!(!cmp("items", CmpOp::Lt, 100).holds("Draft", &f));
    }

    #[test]
    fn counters_compare_with_each_other() {
        let f = fields(json!({"used": 5, "quota": 4}));
        let e = Expr::Counter {
            var: "used".into(),
            op: CmpOp::Le,
            rhs: CounterRhs::Var("quota".into()),
        };
        assert!(!e.holds("Active", &f));
        assert_eq!(e.to_string(), "used <= quota");
    }

    #[test]
    fn implication_over_states_holds_outside_its_states() {
        let e = Expr::Implies(
            Box::new(Expr::StateIn(vec!["Submitted".into()])),
            Box::new(cmp("items", CmpOp::Gt, 0)),
        );
        let empty = Fields::new();
        assert!(e.holds("Draft", &empty));
        assert!(!e.holds("Submitted", &empty));
        assert!(e.holds("Submitted", &fields(json!({"items": 1}))));
        assert_eq!(e.to_string(), "status in ['Submitted'] => items > 0");
        assert_eq!(e.vars(), vec!["items"]);
    }
}
