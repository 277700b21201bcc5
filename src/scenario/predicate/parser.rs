//! The predicate parser: tokens to a syntax tree, rejecting what can only be constant.

use super::lexer::{tokenize, Tok, Token};
use super::syntax::{Expr, Property, Ref, RefId, PREDICATE_CHARS_MAX, PREDICATE_DEPTH_MAX};
use super::{Predicate, PredicateError};
use crate::core::Value;
use crate::engine::CmpOp;

impl Predicate {
    /// Parses a predicate. Errors carry the column of the offending token.
    pub fn parse(text: &str) -> Result<Predicate, PredicateError> {
        let chars = text.chars().count();
        if chars > PREDICATE_CHARS_MAX {
            return Err(PredicateError::new(
                PREDICATE_CHARS_MAX + 1,
                format!(
                    "the expression is {chars} characters long; the limit is {PREDICATE_CHARS_MAX}"
                ),
            )
            .hint("split it into several [[invariant]] entries"));
        }
        let toks = tokenize(text)?;
        let mut parser = Parser {
            text,
            toks,
            pos: 0,
            depth: 0,
            variable: None,
            refs: Vec::new(),
        };
        let node = parser.parse_or()?;
        let next = parser.peek();
        match next.tok {
            Tok::End => {}
            Tok::RParen => {
                return Err(PredicateError::new(
                    next.column,
                    "unexpected `)`: there is no `(` to close",
                ))
            }
            _ => {
                let err = PredicateError::new(
                    next.column,
                    format!(
                        "expected `&&`, `||` or the end after `{}`, found {}",
                        parser.slice(node.start, node.end),
                        parser.shown(next)
                    ),
                );
                return Err(match word_operator_hint(&next.tok) {
                    Some(h) => err.hint(h),
                    None => err,
                });
            }
        }
        assert!(
            node.kind.is_condition_like(),
            "the parser lets only conditions reach the top"
        );
        assert_eq!(parser.depth, 0, "every nesting level entered was left");
        let Parser { variable, refs, .. } = parser;
        let mut entity_types: Vec<String> = refs.iter().map(|r| r.entity_type.clone()).collect();
        entity_types.sort();
        entity_types.dedup();
        let mut bound_types: Vec<String> = refs
            .iter()
            .filter(|r| r.id == RefId::Variable)
            .map(|r| r.entity_type.clone())
            .collect();
        bound_types.sort();
        bound_types.dedup();
        Ok(Predicate {
            expr: node.expr,
            variable,
            bound_types,
            entity_types,
            refs,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Parser

/// What a subexpression can be, known at parse time: enough to reject comparisons that are
/// always false and values used as conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A comparison, `!`, `&&`, `||`, `exists`, `true` or `false`.
    Condition,
    /// A status or a string literal.
    Text,
    Number,
    Null,
    /// A field: any JSON value, known only at run time.
    Field,
}

impl Kind {
    pub(super) fn is_condition_like(self) -> bool {
        matches!(self, Kind::Condition | Kind::Field)
    }

    pub(super) fn noun(self) -> &'static str {
        match self {
            Kind::Condition => "a condition (true or false)",
            Kind::Text => "a string",
            Kind::Number => "a number",
            Kind::Null => "null",
            Kind::Field => "a field",
        }
    }
}

pub(super) struct Node {
    pub(super) expr: Expr,
    pub(super) kind: Kind,
    pub(super) column: usize,
    pub(super) start: usize,
    pub(super) end: usize,
}

pub(super) struct Parser<'s> {
    pub(super) text: &'s str,
    pub(super) toks: Vec<Token<'s>>,
    pub(super) pos: usize,
    pub(super) depth: usize,
    pub(super) variable: Option<String>,
    pub(super) refs: Vec<Ref>,
}

pub(super) fn is_keyword(word: &str) -> bool {
    matches!(word, "true" | "false" | "null")
}

/// `and`, `or`, `not` where an operator was meant.
pub(super) fn word_operator_hint(tok: &Tok) -> Option<&'static str> {
    match tok {
        Tok::Ident("and" | "AND") => Some("did you mean `&&`?"),
        Tok::Ident("or" | "OR") => Some("did you mean `||`?"),
        Tok::Ident("not" | "NOT") => Some("did you mean `!`?"),
        _ => None,
    }
}

impl<'s> Parser<'s> {
    pub(super) fn peek(&self) -> &Token<'s> {
        &self.toks[self.pos]
    }

    /// Moves past the current token (never past the end) and returns it.
    pub(super) fn advance(&mut self) -> Token<'s> {
        let t = self.toks[self.pos].clone();
        if t.tok != Tok::End {
            self.pos += 1;
        }
        t
    }

    pub(super) fn slice(&self, start: usize, end: usize) -> &'s str {
        &self.text[start..end]
    }

    pub(super) fn shown(&self, t: &Token) -> String {
        match t.tok {
            Tok::End => "the end of the expression".to_string(),
            _ => format!("`{}`", self.slice(t.start, t.end)),
        }
    }

    pub(super) fn enter(&mut self, column: usize) -> Result<(), PredicateError> {
        self.depth += 1;
        if self.depth > PREDICATE_DEPTH_MAX {
            return Err(PredicateError::new(
                column,
                format!(
                    "the expression nests deeper than {PREDICATE_DEPTH_MAX} levels of `(` and `!`"
                ),
            )
            .hint("split it into several [[invariant]] entries"));
        }
        Ok(())
    }

    pub(super) fn parse_or(&mut self) -> Result<Node, PredicateError> {
        self.parse_chain(Tok::Or, Self::parse_and, Expr::Or)
    }

    pub(super) fn parse_and(&mut self) -> Result<Node, PredicateError> {
        self.parse_chain(Tok::And, Self::parse_comparison, Expr::And)
    }

    /// `item { op item }`, flattened into one list (no recursion per operand).
    pub(super) fn parse_chain(
        &mut self,
        op: Tok<'static>,
        item: fn(&mut Self) -> Result<Node, PredicateError>,
        wrap: fn(Vec<Expr>) -> Expr,
    ) -> Result<Node, PredicateError> {
        let first = item(self)?;
        if self.peek().tok != op {
            return Ok(first);
        }
        let (column, start) = (first.column, first.start);
        let mut end = first.end;
        let mut items = vec![first.expr];
        // Each pass consumes the operator: bounded by the token count.
        while self.peek().tok == op {
            self.advance();
            let next = item(self)?;
            end = next.end;
            items.push(next.expr);
        }
        Ok(Node {
            expr: wrap(items),
            kind: Kind::Condition,
            column,
            start,
            end,
        })
    }

    pub(super) fn parse_comparison(&mut self) -> Result<Node, PredicateError> {
        let lhs = self.parse_unary()?;
        let op = match self.peek().tok {
            Tok::Cmp(op) => op,
            ref next => {
                let follows_ok = matches!(next, Tok::And | Tok::Or | Tok::RParen | Tok::End);
                if !lhs.kind.is_condition_like() || (lhs.kind == Kind::Field && !follows_ok) {
                    let next = self.peek();
                    let lhs_text = self.slice(lhs.start, lhs.end);
                    return Err(PredicateError::new(
                        next.column,
                        format!(
                            "expected a comparison operator after `{lhs_text}`, found {}",
                            self.shown(next)
                        ),
                    )
                    .hint(match lhs.kind {
                        Kind::Text => format!(
                            "{} is not a condition on its own; compare it, e.g. `{lhs_text} == 'Confirmed'`",
                            Kind::Text.noun()
                        ),
                        _ => "compare with `==`, `!=`, `<`, `<=`, `>` or `>=`".to_string(),
                    }));
                }
                return Ok(lhs);
            }
        };
        let op_tok = self.advance();
        let rhs = self.parse_unary()?;
        let op_text = self.slice(op_tok.start, op_tok.end);
        if matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge) {
            for side in [&lhs, &rhs] {
                if !matches!(side.kind, Kind::Number | Kind::Field) {
                    return Err(PredicateError::new(
                        side.column,
                        format!(
                            "`{op_text}` compares numbers, but `{}` is {}",
                            self.slice(side.start, side.end),
                            side.kind.noun()
                        ),
                    )
                    .hint("compare strings and conditions with `==` or `!=`"));
                }
            }
        } else if lhs.kind != rhs.kind && lhs.kind != Kind::Field && rhs.kind != Kind::Field {
            return Err(PredicateError::new(
                rhs.column,
                format!(
                    "`{op_text}` compares `{}` ({}) with `{}` ({}), which can never be equal",
                    self.slice(lhs.start, lhs.end),
                    lhs.kind.noun(),
                    self.slice(rhs.start, rhs.end),
                    rhs.kind.noun()
                ),
            )
            .hint(match (lhs.kind, rhs.kind) {
                (Kind::Text, Kind::Number) | (Kind::Number, Kind::Text) => {
                    "a status is a string: quote the value, e.g. 'Confirmed' or '3'"
                }
                (Kind::Condition, _) | (_, Kind::Condition) => {
                    "`.exists` and comparisons are true or false: compare them with true or false"
                }
                _ => "compare values of the same kind",
            }));
        }
        if let Tok::Cmp(_) = self.peek().tok {
            let next = self.peek();
            return Err(PredicateError::new(
                next.column,
                format!(
                    "comparisons do not chain: `{}` is already complete",
                    self.slice(lhs.start, rhs.end)
                ),
            )
            .hint(
                "join two comparisons with `&&`, e.g. `1 < Order[id].items && Order[id].items < 5`",
            ));
        }
        Ok(Node {
            expr: Expr::Cmp(op, Box::new(lhs.expr), Box::new(rhs.expr)),
            kind: Kind::Condition,
            column: lhs.column,
            start: lhs.start,
            end: rhs.end,
        })
    }

    pub(super) fn parse_unary(&mut self) -> Result<Node, PredicateError> {
        if self.peek().tok != Tok::Not {
            return self.parse_primary();
        }
        let bang = self.advance();
        self.enter(bang.column)?;
        let operand = self.parse_unary()?;
        self.depth -= 1;
        if !operand.kind.is_condition_like() {
            let text = self.slice(operand.start, operand.end);
            return Err(PredicateError::new(
                operand.column,
                format!(
                    "`!` needs a condition, but `{text}` is {}",
                    operand.kind.noun()
                ),
            )
            .hint(format!(
                "`!` binds tighter than comparisons: write `!({text} == ...)`, or use `!=`"
            )));
        }
        Ok(Node {
            expr: Expr::Not(Box::new(operand.expr)),
            kind: Kind::Condition,
            column: bang.column,
            start: bang.start,
            end: operand.end,
        })
    }

    pub(super) fn parse_primary(&mut self) -> Result<Node, PredicateError> {
        let t = self.advance();
        let leaf = |expr, kind| Node {
            expr,
            kind,
            column: t.column,
            start: t.start,
            end: t.end,
        };
        match t.tok {
            Tok::LParen => {
                self.enter(t.column)?;
                let inner = self.parse_or()?;
                let close = self.advance();
                if close.tok != Tok::RParen {
                    return Err(PredicateError::new(
                        close.column,
                        format!(
                            "expected `)` to close the `(` at column {}, found {}",
                            t.column,
                            self.shown(&close)
                        ),
                    ));
                }
                self.depth -= 1;
                Ok(Node {
                    expr: inner.expr,
                    kind: inner.kind,
                    column: t.column,
                    start: t.start,
                    end: close.end,
                })
            }
            Tok::Str(ref s) => Ok(leaf(Expr::Lit(Value::String(s.clone())), Kind::Text)),
            Tok::Num(ref n) => Ok(leaf(Expr::Lit(n.clone()), Kind::Number)),
            Tok::Ident("true") => Ok(leaf(Expr::Lit(Value::Bool(true)), Kind::Condition)),
            Tok::Ident("false") => Ok(leaf(Expr::Lit(Value::Bool(false)), Kind::Condition)),
            Tok::Ident("null") => Ok(leaf(Expr::Lit(Value::Null), Kind::Null)),
            Tok::Ident(name) => match self.peek().tok {
                Tok::LBracket => self.parse_ref(&t, name),
                Tok::Dot => {
                    let dot = self.peek();
                    Err(PredicateError::new(
                        dot.column,
                        format!("`{name}` needs an id before the property"),
                    )
                    .hint(format!(
                        "write `{name}[id]` for every id, or `{name}['o1']` for one entity"
                    )))
                }
                _ => {
                    let err = PredicateError::new(t.column, format!("`{name}` is not a value"));
                    Err(match word_operator_hint(&t.tok) {
                        Some(h) => err.hint(h),
                        None => err.hint(format!(
                            "did you mean the string '{name}'? An entity is written like `{name}[id].status`"
                        )),
                    })
                }
            },
            _ => {
                // `advance` does not move past the end: find where `t` sits, then what precedes it.
                let t_index = if t.tok == Tok::End {
                    self.pos
                } else {
                    self.pos - 1
                };
                let err = match t_index.checked_sub(1) {
                    Some(prev) => self.expected_value_after(prev, &t),
                    None => PredicateError::new(
                        t.column,
                        format!("expected an expression, found {}", self.shown(&t)),
                    ),
                };
                Err(err.hint("a value is an entity property like `Order[id].status`, a quoted string, a number, true, false or null"))
            }
        }
    }

    pub(super) fn expected_value_after(&self, prev: usize, t: &Token) -> PredicateError {
        let prev = &self.toks[prev];
        PredicateError::new(
            t.column,
            format!(
                "expected a value after `{}`, found {}",
                self.slice(prev.start, prev.end),
                self.shown(t)
            ),
        )
    }

    /// `Type[x].property`, the type name already consumed and `[` next.
    pub(super) fn parse_ref(
        &mut self,
        type_tok: &Token<'s>,
        entity_type: &str,
    ) -> Result<Node, PredicateError> {
        self.advance(); // `[`
        let t = self.advance();
        let id = match t.tok {
            Tok::Ident(var) if !is_keyword(var) => {
                match &self.variable {
                    None => self.variable = Some(var.to_string()),
                    Some(v) if v == var => {}
                    Some(v) => {
                        return Err(PredicateError::new(
                            t.column,
                            format!(
                                "a second variable `{var}`: this expression already ranges over `{v}`"
                            ),
                        )
                        .hint(format!(
                            "only one variable is supported: write `{v}` here, or a quoted id like '{var}' for one entity"
                        )))
                    }
                }
                RefId::Variable
            }
            Tok::Str(ref s) => RefId::Literal(s.clone()),
            _ => {
                return Err(PredicateError::new(
                    t.column,
                    format!(
                        "expected an id after `{entity_type}[`, found {}",
                        self.shown(&t)
                    ),
                )
                .hint("a variable like `id`, or a quoted id like 'o1'"))
            }
        };
        let close = self.advance();
        if close.tok != Tok::RBracket {
            return Err(PredicateError::new(
                close.column,
                format!(
                    "expected `]` after `{}`, found {}",
                    self.slice(type_tok.start, t.end),
                    self.shown(&close)
                ),
            ));
        }
        let head = self.slice(type_tok.start, close.end);
        let dot = self.peek();
        if dot.tok != Tok::Dot {
            return Err(PredicateError::new(
                dot.column,
                format!("`{head}` needs a property: `.status`, `.exists` or a field name"),
            )
            .hint(format!(
                "e.g. `{head}.status == 'Confirmed'` or `{head}.exists`"
            )));
        }
        self.advance();
        let prop = self.advance();
        let (property, kind) = match prop.tok {
            Tok::Ident("status") => (Property::Status, Kind::Text),
            Tok::Ident("exists") => (Property::Exists, Kind::Condition),
            Tok::Ident(field) => (Property::Field(field.to_string()), Kind::Field),
            _ => {
                return Err(PredicateError::new(
                    prop.column,
                    format!(
                        "expected a property after `{head}.`, found {}",
                        self.shown(&prop)
                    ),
                )
                .hint("`.status`, `.exists` or a field name"))
            }
        };
        let r = Ref {
            entity_type: entity_type.to_string(),
            id,
            property,
        };
        if !self.refs.contains(&r) {
            self.refs.push(r.clone());
        }
        Ok(Node {
            expr: Expr::Ref(r),
            kind,
            column: type_tok.column,
            start: type_tok.start,
            end: prop.end,
        })
    }
}
