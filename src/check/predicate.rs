//! `[[invariant]]`: the scenario's own invariants, written in a small predicate language over
//! entity status and fields, checked in one tenant after every scheduler step.
//!
//! ```toml
//! [[invariant]]
//! name = "no_authorized_payment_for_cancelled_order"
//! never = "Order[id].status == 'Cancelled' && Payment[id].status == 'Authorized'"
//!
//! [[invariant]]
//! name = "large_payments_are_not_authorized"
//! always = "Payment[id].amount <= 1000 || Payment[id].status != 'Authorized'"
//!
//! [[invariant]]
//! name = "pager_is_not_flooded"
//! always = "Pager['oncall'].pages < 3"
//! ```
//!
//! Grammar (precedence, tightest first: `!`, comparisons, `&&`, `||`):
//!
//! ```text
//! predicate  = or ;
//! or         = and , { "||" , and } ;
//! and        = comparison , { "&&" , comparison } ;
//! comparison = unary , [ cmp_op , unary ] ;          (* no chaining: a < b < c is an error *)
//! unary      = "!" , unary | primary ;
//! primary    = reference | literal | "(" , or , ")" ;
//! reference  = identifier , "[" , ( identifier | string ) , "]" , "." , identifier ;
//! cmp_op     = "==" | "!=" | "<" | "<=" | ">" | ">=" ;
//! literal    = string | number | "true" | "false" | "null" ;
//! string     = "'" , { char | escape } , "'" | '"' , { char | escape } , '"' ;
//! escape     = "\" , ( "\" | "'" | '"' ) ;
//! number     = [ "-" ] , digits , [ "." , digits ] , [ ( "e" | "E" ) , [ "+" | "-" ] , digits ] ;
//! identifier = ( letter | "_" ) , { letter | digit | "_" } ;
//! ```
//!
//! Semantics. `Type[x].status` is the entity's status, `Type[x].exists` whether it exists,
//! `Type[x].name` its field `name` (a JSON value). `[id]` (any identifier) is the variable:
//! it ranges over the sorted union of the ids, in the tenant checked, of every type written
//! with it; `['o1']` is a fixed id. A missing entity or field is *Missing*: every comparison
//! with it is false except `!=`, which is true. Numbers compare by value (`1 == 1.0`); `<`,
//! `<=`, `>`, `>=` are false unless both sides are numbers. A field standing alone as a
//! condition holds only when it is `true`. `never` is violated by a binding under which the
//! predicate is true, `always` by one under which it is false; the first such binding in id
//! order is reported with every value the predicate reads.
//!
//! Mistakes that can only make a predicate constant are parse errors, not silent
//! always-false comparisons: `Order[id].status < 3`, `Order[id].status == 5`, a bare word
//! where a quoted string was meant, a value where a condition is needed.
//!
//! What it does not verify: it sees the store between scheduler steps, not states inside
//! one step; it has no history or temporal operators (`eventually`, "was ever"); it has one
//! variable, no arithmetic, no nested field paths, and cannot name a field called `status`
//! or `exists` (those words are the properties). It does not check that the types, states
//! or fields it names are declared: the scenario validator does that.

use crate::engine::{CmpOp, Entity, EntityId, Store, Value};
use serde_json::Number;
use std::cmp::Ordering;
use std::fmt::{self, Write as _};

/// Expressions longer than this many characters are rejected.
pub const PREDICATE_CHARS_MAX: usize = 4096;
/// Parentheses and `!` nested deeper than this are rejected.
pub const PREDICATE_DEPTH_MAX: usize = 64;
/// A field value longer than this (in characters of JSON) is cut in a violation message.
const VALUE_CHARS_SHOWN_MAX: usize = 200;

/// Which way an invariant's predicate must go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvariantKind {
    /// The predicate holds under every binding.
    Always,
    /// The predicate holds under no binding.
    Never,
}

impl InvariantKind {
    /// The scenario key: `always` or `never`.
    pub fn as_str(self) -> &'static str {
        match self {
            InvariantKind::Always => "always",
            InvariantKind::Never => "never",
        }
    }
}

impl fmt::Display for InvariantKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A predicate that does not parse: where (a 1-based column, in characters, within the
/// expression text), what was wrong or expected, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredicateError {
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl PredicateError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        PredicateError {
            column,
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for PredicateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PredicateError {}

/// A parsed predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    expr: Expr,
    /// The variable's name (`id`), if the predicate has one.
    variable: Option<String>,
    /// Types written with the variable: the binding ranges over the union of their ids.
    bound_types: Vec<String>,
    /// Every type referenced, sorted and deduplicated.
    entity_types: Vec<String>,
    /// Each distinct reference in order of first appearance: what a violation shows.
    refs: Vec<Ref>,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Lit(Value),
    Ref(Ref),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ref {
    entity_type: String,
    id: RefId,
    property: Property,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RefId {
    Variable,
    Literal(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Property {
    Status,
    Exists,
    Field(String),
}

impl Property {
    fn name(&self) -> &str {
        match self {
            Property::Status => "status",
            Property::Exists => "exists",
            Property::Field(f) => f,
        }
    }
}

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

    /// Every entity type the predicate references, sorted and deduplicated.
    pub fn entity_types(&self) -> Vec<String> {
        self.entity_types.clone()
    }

    /// The variable's name, if the predicate has one (`id` in `Order[id].status`).
    pub fn variable(&self) -> Option<&str> {
        self.variable.as_deref()
    }

    /// The types written with the variable, sorted: the variable ranges over their ids.
    pub fn bound_types(&self) -> &[String] {
        &self.bound_types
    }

    /// Evaluates the predicate with the variable bound to `binding`, looking entities up
    /// with `lookup(entity_type, id)`. With no binding, references through the variable
    /// are Missing. This is the store-independent core (a model checker can bring its own
    /// state).
    pub fn holds_with<'e>(
        &self,
        binding: Option<&str>,
        lookup: impl Fn(&str, &str) -> Option<&'e Entity>,
    ) -> bool {
        let env = Env {
            lookup: &|ty, id| lookup(ty, id),
            binding,
        };
        env.holds(&self.expr)
    }

    /// Evaluates the predicate in `tenant` of `store`, with the variable bound to `binding`.
    pub fn eval(&self, store: &Store, tenant: &str, binding: Option<&str>) -> bool {
        self.holds_with(binding, |ty, id| store.get(tenant, ty, id))
    }

    /// Calls `visit` on each binding of the variable (or once with `None` when there is no
    /// variable) in id order until it returns `Some`. The loop is bounded by the number of
    /// entities in the tenant.
    fn first_binding<T>(
        &self,
        store: &Store,
        tenant: &str,
        mut visit: impl FnMut(Option<&str>) -> Option<T>,
    ) -> Option<T> {
        if self.variable.is_none() {
            return visit(None);
        }
        match self.bound_types.as_slice() {
            // One type: its ids are already sorted and distinct, no need to collect.
            [ty] => store
                .ids_of(tenant, ty)
                .find_map(|id| visit(Some(id.as_str()))),
            types => {
                let mut ids: Vec<&str> = types
                    .iter()
                    .flat_map(|ty| store.ids_of(tenant, ty).map(EntityId::as_str))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids.into_iter().find_map(|id| visit(Some(id)))
            }
        }
    }

    /// `with id = "o1": Order[o1].status = "Cancelled", Payment[o1].status = "Authorized"`.
    fn describe(&self, store: &Store, tenant: &str, binding: Option<&str>) -> String {
        let mut out = String::new();
        if let (Some(var), Some(id)) = (&self.variable, binding) {
            let _ = write!(out, "with {var} = {}: ", Value::from(id));
        }
        if self.refs.is_empty() {
            out.push_str("(the predicate reads no entity)");
        }
        for (i, r) in self.refs.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let id = match &r.id {
                RefId::Variable => binding,
                RefId::Literal(s) => Some(s.as_str()),
            };
            let entity = id.and_then(|id| store.get(tenant, &r.entity_type, id));
            let _ = write!(
                out,
                "{}[{}].{} = ",
                r.entity_type,
                id.unwrap_or("?"),
                r.property.name()
            );
            match (&r.property, entity) {
                (Property::Exists, e) => out.push_str(if e.is_some() { "true" } else { "false" }),
                (_, None) => out.push_str("(no entity)"),
                (Property::Status, Some(e)) => {
                    let _ = write!(out, "{}", Value::from(e.status.as_str()));
                }
                (Property::Field(f), Some(e)) => match e.fields.get(f) {
                    None => out.push_str("(no field)"),
                    Some(v) => push_cut(&mut out, &v.to_string()),
                },
            }
        }
        out
    }
}

/// Appends `s`, cut to `VALUE_CHARS_SHOWN_MAX` characters.
fn push_cut(out: &mut String, s: &str) {
    match s.char_indices().nth(VALUE_CHARS_SHOWN_MAX) {
        None => out.push_str(s),
        Some((cut, _)) => {
            out.push_str(&s[..cut]);
            out.push('…');
        }
    }
}

/// A scenario's `[[invariant]]`: a named predicate that must always or never hold.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInvariant {
    pub name: String,
    pub kind: InvariantKind,
    pub predicate: Predicate,
    /// The predicate as written.
    pub text: String,
}

impl UserInvariant {
    /// Parses `text` into an invariant named `name`.
    pub fn parse(
        name: impl Into<String>,
        kind: InvariantKind,
        text: &str,
    ) -> Result<UserInvariant, PredicateError> {
        Ok(UserInvariant {
            name: name.into(),
            kind,
            predicate: Predicate::parse(text)?,
            text: text.to_string(),
        })
    }

    /// Checks the invariant in `tenant`: `Some(message)` names the first violating binding
    /// (in id order) and the values the predicate read under it. With a variable and no
    /// entity of a bound type, there is nothing to check.
    ///
    /// ```
    /// use ripple::check::{InvariantKind, UserInvariant};
    /// use ripple::engine::{Entity, EntityId, Store, TenantId};
    ///
    /// let inv = UserInvariant::parse(
    ///     "no_authorized_payment_for_cancelled_order",
    ///     InvariantKind::Never,
    ///     "Order[id].status == 'Cancelled' && Payment[id].status == 'Authorized'",
    /// )
    /// .unwrap();
    /// let mut store = Store::default();
    /// let shop = TenantId::new("shop");
    /// for (entity_type, status) in [("Order", "Cancelled"), ("Payment", "Authorized")] {
    ///     let entity = Entity { status: status.into(), fields: Default::default() };
    ///     store.insert(&shop, entity_type, &EntityId::new("o1"), entity);
    /// }
    /// assert_eq!(
    ///     inv.check(&store, "shop").as_deref(),
    ///     Some(r#"with id = "o1": Order[o1].status = "Cancelled", Payment[o1].status = "Authorized""#)
    /// );
    /// assert_eq!(inv.check(&store, "other_tenant"), None);
    /// ```
    pub fn check(&self, store: &Store, tenant: &str) -> Option<String> {
        let violating = match self.kind {
            InvariantKind::Always => false,
            InvariantKind::Never => true,
        };
        self.predicate.first_binding(store, tenant, |binding| {
            if self.predicate.eval(store, tenant, binding) == violating {
                Some(self.predicate.describe(store, tenant, binding))
            } else {
                None
            }
        })
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation

/// A value met during evaluation. Borrowed from the predicate or the store: evaluating
/// allocates nothing.
#[derive(Clone, Copy)]
enum Val<'a> {
    Missing,
    Bool(bool),
    Str(&'a str),
    Json(&'a Value),
}

/// A present value, with statuses and JSON strings (and booleans) brought together.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    Num(&'a Number),
    Str(&'a str),
    /// Arrays and objects: equal by JSON equality, never ordered.
    Composite(&'a Value),
}

impl<'a> Val<'a> {
    fn scalar(self) -> Option<Scalar<'a>> {
        Some(match self {
            Val::Missing => return None,
            Val::Bool(b) => Scalar::Bool(b),
            Val::Str(s) => Scalar::Str(s),
            Val::Json(Value::Null) => Scalar::Null,
            Val::Json(Value::Bool(b)) => Scalar::Bool(*b),
            Val::Json(Value::Number(n)) => Scalar::Num(n),
            Val::Json(Value::String(s)) => Scalar::Str(s),
            Val::Json(v) => Scalar::Composite(v),
        })
    }

    /// As a condition: only `true` holds (a missing or non-boolean field is false).
    fn truthy(self) -> bool {
        matches!(self, Val::Bool(true) | Val::Json(Value::Bool(true)))
    }
}

/// Numbers by value: exactly for two integers, as `f64` otherwise (`1 == 1.0`).
fn num_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn equal(a: Scalar, b: Scalar) -> bool {
    match (a, b) {
        (Scalar::Null, Scalar::Null) => true,
        (Scalar::Bool(x), Scalar::Bool(y)) => x == y,
        (Scalar::Num(x), Scalar::Num(y)) => num_cmp(x, y) == Some(Ordering::Equal),
        (Scalar::Str(x), Scalar::Str(y)) => x == y,
        (Scalar::Composite(x), Scalar::Composite(y)) => x == y,
        _ => false,
    }
}

fn compare(op: CmpOp, a: Val, b: Val) -> bool {
    let (Some(x), Some(y)) = (a.scalar(), b.scalar()) else {
        // Missing: every comparison is false except `!=`.
        return op == CmpOp::Ne;
    };
    let ord = match (op, x, y) {
        (CmpOp::Eq, x, y) => return equal(x, y),
        (CmpOp::Ne, x, y) => return !equal(x, y),
        (_, Scalar::Num(x), Scalar::Num(y)) => num_cmp(x, y),
        // Ordering compares numbers only.
        _ => None,
    };
    match (op, ord) {
        (_, None) => false,
        (CmpOp::Lt, Some(o)) => o.is_lt(),
        (CmpOp::Le, Some(o)) => o.is_le(),
        (CmpOp::Gt, Some(o)) => o.is_gt(),
        (_, Some(o)) => o.is_ge(),
    }
}

struct Env<'a, 'b> {
    lookup: &'b dyn Fn(&str, &str) -> Option<&'a Entity>,
    binding: Option<&'b str>,
}

impl<'a> Env<'a, '_> {
    fn holds(&self, expr: &'a Expr) -> bool {
        self.eval(expr).truthy()
    }

    // Recursion is bounded by the parse-time depth budget.
    fn eval(&self, expr: &'a Expr) -> Val<'a> {
        match expr {
            Expr::Lit(v) => Val::Json(v),
            Expr::Ref(r) => self.eval_ref(r),
            Expr::Cmp(op, a, b) => Val::Bool(compare(*op, self.eval(a), self.eval(b))),
            Expr::Not(e) => Val::Bool(!self.holds(e)),
            Expr::And(es) => Val::Bool(es.iter().all(|e| self.holds(e))),
            Expr::Or(es) => Val::Bool(es.iter().any(|e| self.holds(e))),
        }
    }

    fn eval_ref(&self, r: &'a Ref) -> Val<'a> {
        let id = match &r.id {
            RefId::Variable => self.binding,
            RefId::Literal(s) => Some(s.as_str()),
        };
        let entity = id.and_then(|id| (self.lookup)(&r.entity_type, id));
        match (&r.property, entity) {
            (Property::Exists, e) => Val::Bool(e.is_some()),
            (_, None) => Val::Missing,
            (Property::Status, Some(e)) => Val::Str(&e.status),
            (Property::Field(f), Some(e)) => e.fields.get(f).map_or(Val::Missing, Val::Json),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tokenizer

#[derive(Debug, Clone, PartialEq)]
enum Tok<'s> {
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
struct Token<'s> {
    tok: Tok<'s>,
    /// 1-based, in characters.
    column: usize,
    /// Byte range in the text.
    start: usize,
    end: usize,
}

const TOKENS_EXPECTED: &str = "expected a name, a quoted string, a number, `[`, `]`, `.`, `(`, `)`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||` or `!`";

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, PredicateError> {
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

// ---------------------------------------------------------------------------------------
// Parser

/// What a subexpression can be, known at parse time: enough to reject comparisons that are
/// always false and values used as conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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
    fn is_condition_like(self) -> bool {
        matches!(self, Kind::Condition | Kind::Field)
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Condition => "a condition (true or false)",
            Kind::Text => "a string",
            Kind::Number => "a number",
            Kind::Null => "null",
            Kind::Field => "a field",
        }
    }
}

struct Node {
    expr: Expr,
    kind: Kind,
    column: usize,
    start: usize,
    end: usize,
}

struct Parser<'s> {
    text: &'s str,
    toks: Vec<Token<'s>>,
    pos: usize,
    depth: usize,
    variable: Option<String>,
    refs: Vec<Ref>,
}

fn is_keyword(word: &str) -> bool {
    matches!(word, "true" | "false" | "null")
}

/// `and`, `or`, `not` where an operator was meant.
fn word_operator_hint(tok: &Tok) -> Option<&'static str> {
    match tok {
        Tok::Ident("and" | "AND") => Some("did you mean `&&`?"),
        Tok::Ident("or" | "OR") => Some("did you mean `||`?"),
        Tok::Ident("not" | "NOT") => Some("did you mean `!`?"),
        _ => None,
    }
}

impl<'s> Parser<'s> {
    fn peek(&self) -> &Token<'s> {
        &self.toks[self.pos]
    }

    /// Moves past the current token (never past the end) and returns it.
    fn advance(&mut self) -> Token<'s> {
        let t = self.toks[self.pos].clone();
        if t.tok != Tok::End {
            self.pos += 1;
        }
        t
    }

    fn slice(&self, start: usize, end: usize) -> &'s str {
        &self.text[start..end]
    }

    fn shown(&self, t: &Token) -> String {
        match t.tok {
            Tok::End => "the end of the expression".to_string(),
            _ => format!("`{}`", self.slice(t.start, t.end)),
        }
    }

    fn enter(&mut self, column: usize) -> Result<(), PredicateError> {
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

    fn parse_or(&mut self) -> Result<Node, PredicateError> {
        self.parse_chain(Tok::Or, Self::parse_and, Expr::Or)
    }

    fn parse_and(&mut self) -> Result<Node, PredicateError> {
        self.parse_chain(Tok::And, Self::parse_comparison, Expr::And)
    }

    /// `item { op item }`, flattened into one list (no recursion per operand).
    fn parse_chain(
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

    fn parse_comparison(&mut self) -> Result<Node, PredicateError> {
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

    fn parse_unary(&mut self) -> Result<Node, PredicateError> {
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

    fn parse_primary(&mut self) -> Result<Node, PredicateError> {
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

    fn expected_value_after(&self, prev: usize, t: &Token) -> PredicateError {
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
    fn parse_ref(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::TenantId;
    use serde_json::json;

    /// A store from `(tenant, type, id, status, fields)`.
    fn store(entities: &[(&str, &str, &str, &str, Value)]) -> Store {
        let mut s = Store::default();
        for (tenant, ty, id, status, fields) in entities {
            s.insert(
                &TenantId::new(*tenant),
                ty,
                &EntityId::new(*id),
                Entity {
                    status: status.to_string(),
                    fields: serde_json::from_value(fields.clone()).unwrap(),
                },
            );
        }
        s
    }

    fn parse_err(text: &str) -> PredicateError {
        match Predicate::parse(text) {
            Ok(p) => panic!("{text:?} parsed: {p:?}"),
            Err(e) => e,
        }
    }

    fn never(text: &str) -> UserInvariant {
        UserInvariant::parse("n", InvariantKind::Never, text).unwrap()
    }

    fn always(text: &str) -> UserInvariant {
        UserInvariant::parse("a", InvariantKind::Always, text).unwrap()
    }

    fn eval(text: &str, s: &Store, binding: Option<&str>) -> bool {
        Predicate::parse(text).unwrap().eval(s, "t", binding)
    }

    // --- parse errors: each class at the column of the offending token ---

    #[test]
    fn single_equals_is_unknown_and_suggests_double_equals() {
        let e = parse_err("Order[id].status = 'x'");
        assert_eq!(e.column, 18);
        assert_eq!(e.message, "unknown token `=`; did you mean `==`?");
        assert_eq!(
            e.to_string(),
            "column 18: unknown token `=`; did you mean `==`?\n  hint: `==` compares; a predicate assigns nothing"
        );
        assert_eq!(
            parse_err("Order[id].n === 1").message,
            "unknown token `===`; did you mean `==`?"
        );
        assert_eq!(
            parse_err("Order[id].n => 1").message,
            "unknown token `=>`; did you mean `>=`?"
        );
        assert_eq!(
            parse_err("Order[id].n <> 1").message,
            "unknown token `<>`; did you mean `!=`?"
        );
    }

    #[test]
    fn single_ampersand_and_pipe_suggest_doubled_operators() {
        let e = parse_err("A[id].x & B[id].y");
        assert_eq!(
            (e.column, e.message.as_str()),
            (9, "unknown token `&`; did you mean `&&`?")
        );
        let e = parse_err("A[id].x | B[id].y");
        assert_eq!(
            (e.column, e.message.as_str()),
            (9, "unknown token `|`; did you mean `||`?")
        );
    }

    #[test]
    fn unknown_character_is_an_error_at_its_column() {
        let e = parse_err("Order[id].n > 1 # comment");
        assert_eq!((e.column, e.message.as_str()), (17, "unknown token `#`"));
    }

    #[test]
    fn unterminated_string_points_at_its_opening_quote() {
        let e = parse_err("Order[id].status == 'Cancel");
        assert_eq!((e.column, e.message.as_str()), (21, "unterminated string"));
        let e = parse_err("Order[\"o1].status == 'x'");
        assert_eq!((e.column, e.message.as_str()), (7, "unterminated string"));
    }

    #[test]
    fn status_without_operator_expects_a_comparison_operator() {
        let e = parse_err("Order[id].status 'Cancelled'");
        assert_eq!(e.column, 18);
        assert_eq!(
            e.message,
            "expected a comparison operator after `Order[id].status`, found `'Cancelled'`"
        );
        let e = parse_err("Order[id].status && Payment[id].exists");
        assert_eq!(e.column, 18);
        assert!(e
            .message
            .starts_with("expected a comparison operator after `Order[id].status`"));
        let e = parse_err("Order[id].status");
        assert_eq!(e.column, 17, "at the end of the expression");
        let e = parse_err("Payment[id].amount 5");
        assert_eq!(
            e.column, 20,
            "a field followed by a value also lacks an operator"
        );
        assert!(e
            .message
            .starts_with("expected a comparison operator after `Payment[id].amount`"));
    }

    #[test]
    fn reference_without_property_lists_the_properties() {
        let e = parse_err("Order[id] == 'x'");
        assert_eq!(e.column, 11);
        assert_eq!(
            e.message,
            "`Order[id]` needs a property: `.status`, `.exists` or a field name"
        );
        let e = parse_err("Order['o1'].");
        assert_eq!(e.column, 13);
        assert!(e
            .message
            .starts_with("expected a property after `Order['o1'].`"));
    }

    #[test]
    fn reference_without_id_or_bracket_is_an_error_at_the_missing_part() {
        let e = parse_err("Order.status == 'x'");
        assert_eq!(
            (e.column, e.message.as_str()),
            (6, "`Order` needs an id before the property")
        );
        let e = parse_err("Order[].status == 'x'");
        assert_eq!(e.column, 7);
        assert!(e.message.starts_with("expected an id after `Order[`"));
        let e = parse_err("Order[id.status == 'x'");
        assert_eq!(e.column, 9);
        assert!(e.message.starts_with("expected `]` after `Order[id`"));
    }

    #[test]
    fn second_distinct_variable_is_an_error_at_its_column() {
        let e = parse_err("Order[id].status == 'x' && Payment[pid].exists");
        assert_eq!(e.column, 36);
        assert!(e.message.contains("second variable `pid`"), "{}", e.message);
        assert!(Predicate::parse("Order[oid].exists && Payment[oid].exists").is_ok());
    }

    #[test]
    fn bare_word_value_suggests_quoting_it() {
        let e = parse_err("Order[id].status == Cancelled");
        assert_eq!(
            (e.column, e.message.as_str()),
            (21, "`Cancelled` is not a value")
        );
        assert!(e.hint.unwrap().contains("'Cancelled'"));
        let e = parse_err("Order[id].exists and Payment[id].exists");
        assert_eq!(e.column, 18);
        assert_eq!(e.hint.as_deref(), Some("did you mean `&&`?"));
    }

    #[test]
    fn missing_value_after_operator_names_the_operator() {
        let e = parse_err("Order[id].status ==");
        assert_eq!(e.column, 20);
        assert_eq!(
            e.message,
            "expected a value after `==`, found the end of the expression"
        );
        let e = parse_err("Order[id].exists && && true");
        assert_eq!(e.column, 21);
        assert_eq!(e.message, "expected a value after `&&`, found `&&`");
        let e = parse_err("");
        assert_eq!(
            (e.column, e.message.as_str()),
            (1, "expected an expression, found the end of the expression")
        );
        assert_eq!(parse_err("   ").column, 4);
    }

    #[test]
    fn unbalanced_parentheses_are_errors_where_noticed() {
        let e = parse_err("(Order[id].exists");
        assert_eq!(e.column, 18);
        assert!(e
            .message
            .starts_with("expected `)` to close the `(` at column 1"));
        let e = parse_err("Order[id].exists)");
        assert_eq!(
            (e.column, e.message.as_str()),
            (17, "unexpected `)`: there is no `(` to close")
        );
    }

    #[test]
    fn comparisons_do_not_chain() {
        let e = parse_err("1 < Order[id].n < 3");
        assert_eq!(e.column, 17);
        assert!(e.message.starts_with("comparisons do not chain"));
    }

    #[test]
    fn constant_comparisons_are_rejected_at_the_offending_operand() {
        let e = parse_err("Order[id].status < 3");
        assert_eq!(e.column, 1);
        assert_eq!(
            e.message,
            "`<` compares numbers, but `Order[id].status` is a string"
        );
        let e = parse_err("Order[id].n >= 'x'");
        assert_eq!(e.column, 16);
        let e = parse_err("Order[id].status == 5");
        assert_eq!(e.column, 21);
        assert!(e.message.contains("can never be equal"));
        assert!(Predicate::parse("Order[id].n == 'x' || Order[id].n == 5").is_ok());
    }

    #[test]
    fn not_needs_a_condition_and_binds_tighter_than_comparison() {
        let e = parse_err("!Order[id].status == 'x'");
        assert_eq!(e.column, 2);
        assert_eq!(
            e.message,
            "`!` needs a condition, but `Order[id].status` is a string"
        );
        assert!(Predicate::parse("!(Order[id].status == 'x')").is_ok());
    }

    #[test]
    fn bad_numbers_and_escapes_are_errors() {
        let e = parse_err("Order[id].n > 1.");
        assert_eq!(
            (e.column, e.message.as_str()),
            (16, "expected a digit after `1.`")
        );
        let e = parse_err("Order[id].n > 1e999");
        assert_eq!(
            (e.column, e.message.as_str()),
            (15, "number `1e999` is out of range")
        );
        let e = parse_err(r"Order[id].s == 'a\nb'");
        assert_eq!(
            (e.column, e.message.as_str()),
            (18, "unknown escape in a string")
        );
        let e = parse_err("Order[id].n > - 1");
        assert_eq!((e.column, e.message.as_str()), (15, "unknown token `-`"));
    }

    #[test]
    fn parse_error_columns_count_characters_not_bytes() {
        let e = parse_err("Order['日本'].status = 'x'");
        assert_eq!(e.column, 20);
    }

    #[test]
    fn expressions_over_the_length_budget_are_rejected() {
        let ok = format!("Order['{}'].exists", "x".repeat(PREDICATE_CHARS_MAX - 16));
        assert_eq!(ok.chars().count(), PREDICATE_CHARS_MAX);
        assert!(Predicate::parse(&ok).is_ok());
        let long = format!("Order['{}'].exists", "x".repeat(PREDICATE_CHARS_MAX - 15));
        let e = parse_err(&long);
        assert_eq!(e.column, PREDICATE_CHARS_MAX + 1);
        assert!(e.message.contains("limit is 4096"));
    }

    #[test]
    fn nesting_over_the_depth_budget_is_rejected_at_the_deepest_opener() {
        let nest = |n: usize| format!("{}true{}", "(".repeat(n), ")".repeat(n));
        assert!(Predicate::parse(&nest(PREDICATE_DEPTH_MAX)).is_ok());
        let e = parse_err(&nest(PREDICATE_DEPTH_MAX + 1));
        assert_eq!(e.column, PREDICATE_DEPTH_MAX + 1);
        assert!(e.message.contains("deeper than 64"));
        let bangs = format!("{}true", "!".repeat(PREDICATE_DEPTH_MAX + 1));
        assert_eq!(parse_err(&bangs).column, PREDICATE_DEPTH_MAX + 1);
        // `&&` chains are flat: long ones are fine.
        let chain = vec!["true"; 500].join(" && ");
        assert!(Predicate::parse(&chain).is_ok());
    }

    // --- checking ---

    #[test]
    fn never_catches_cancelled_order_with_authorized_payment_and_names_the_id() {
        let inv = never("Order[id].status == 'Cancelled' && Payment[id].status == 'Authorized'");
        let s = store(&[
            ("t", "Order", "o1", "Cancelled", json!({})),
            ("t", "Payment", "o1", "Authorized", json!({})),
            ("t", "Order", "o2", "Cancelled", json!({})),
            ("t", "Payment", "o2", "Failed", json!({})),
        ]);
        assert_eq!(
            inv.check(&s, "t").as_deref(),
            Some(
                r#"with id = "o1": Order[o1].status = "Cancelled", Payment[o1].status = "Authorized""#
            )
        );
        let ok = store(&[
            ("t", "Order", "o1", "Cancelled", json!({})),
            ("t", "Payment", "o1", "Failed", json!({})),
            ("t", "Order", "o2", "Confirmed", json!({})),
            ("t", "Payment", "o2", "Authorized", json!({})),
        ]);
        assert_eq!(inv.check(&ok, "t"), None);
    }

    #[test]
    fn always_reports_the_first_counterexample_in_id_order() {
        let inv = always("Payment[id].amount <= 1000 || Payment[id].status != 'Authorized'");
        let s = store(&[
            ("t", "Payment", "p1", "Authorized", json!({"amount": 500})),
            ("t", "Payment", "p3", "Authorized", json!({"amount": 5000})),
            ("t", "Payment", "p2", "Authorized", json!({"amount": 2000})),
            ("t", "Payment", "p0", "Failed", json!({"amount": 9000})),
        ]);
        assert_eq!(
            inv.check(&s, "t").as_deref(),
            Some(r#"with id = "p2": Payment[p2].amount = 2000, Payment[p2].status = "Authorized""#)
        );
    }

    #[test]
    fn missing_entity_makes_comparisons_false_except_not_equal() {
        let s = store(&[("t", "Order", "o1", "Draft", json!({"n": 1}))]);
        let b = Some("o1");
        assert!(eval("Payment[id].status != 'X'", &s, b));
        assert!(!eval("Payment[id].status == 'X'", &s, b));
        assert!(!eval("Payment[id].amount < 1", &s, b));
        assert!(!eval("Payment[id].amount >= 1", &s, b));
        assert!(
            !eval("Payment[id].amount == null", &s, b),
            "Missing is not null"
        );
        assert!(!eval("Payment[id].amount == Order[id].missing", &s, b));
        assert!(eval("Payment[id].amount != Order[id].missing", &s, b));
        let inv = never("Payment[id].status != 'X'");
        let s2 = store(&[
            ("t", "Order", "o1", "Draft", json!({})),
            ("t", "Payment", "o1", "X", json!({})),
        ]);
        assert_eq!(inv.check(&s2, "t"), None);
    }

    #[test]
    fn missing_field_is_missing_and_shown_as_such() {
        let s = store(&[("t", "Order", "o1", "Draft", json!({"n": null}))]);
        assert!(
            eval("Order[id].n == null", &s, Some("o1")),
            "a present null is null"
        );
        assert!(!eval("Order[id].gone == null", &s, Some("o1")));
        assert!(eval("Order[id].gone != 0", &s, Some("o1")));
        let inv = always("Order[id].gone == 1 && Payment[id].status == 'A'");
        assert_eq!(
            inv.check(&s, "t").as_deref(),
            Some(
                r#"with id = "o1": Order[o1].gone = (no field), Payment[o1].status = (no entity)"#
            )
        );
    }

    #[test]
    fn literal_id_refers_to_one_entity_and_is_evaluated_once() {
        let inv = always("Pager['oncall'].pages < 3");
        assert_eq!(inv.predicate.variable(), None);
        let s = store(&[
            ("t", "Pager", "oncall", "Active", json!({"pages": 3})),
            ("t", "Pager", "other", "Active", json!({"pages": 99})),
        ]);
        assert_eq!(
            inv.check(&s, "t").as_deref(),
            Some("Pager[oncall].pages = 3")
        );
        let s = store(&[("t", "Pager", "oncall", "Active", json!({"pages": 2}))]);
        assert_eq!(inv.check(&s, "t"), None);
        assert!(
            eval(r#"Pager["oncall"].pages == 2"#, &s, None),
            "double quotes work too"
        );
    }

    #[test]
    fn expression_without_variable_is_checked_even_in_an_empty_store() {
        let inv = always("Pager['oncall'].exists");
        assert_eq!(
            inv.check(&Store::default(), "t").as_deref(),
            Some("Pager[oncall].exists = false")
        );
    }

    #[test]
    fn variable_with_no_entities_has_nothing_to_check() {
        let inv = always("Order[id].status == 'never'");
        assert_eq!(inv.check(&Store::default(), "t"), None);
    }

    #[test]
    fn exists_is_true_only_for_present_entities() {
        let s = store(&[("t", "Order", "o1", "Draft", json!({}))]);
        assert!(eval("Order['o1'].exists", &s, None));
        assert!(!eval("Order['o2'].exists", &s, None));
        assert!(!eval("Payment[id].exists", &s, Some("o1")));
        assert!(eval("Payment[id].exists == false", &s, Some("o1")));
        assert!(
            !eval("Order[id].exists", &s, None),
            "an unbound variable finds nothing"
        );
    }

    #[test]
    fn numbers_compare_by_value_across_int_and_float() {
        let s = store(&[
            (
                "t",
                "P",
                "i",
                "S",
                json!({"n": 1, "big": u64::MAX, "s": "1"}),
            ),
            ("t", "P", "f", "S", json!({"n": 2.5})),
        ]);
        assert!(eval("P['i'].n == 1.0", &s, None));
        assert!(!eval("P['i'].n != 1.0", &s, None));
        assert!(eval("P['i'].n < 1.5 && P['i'].n >= 1", &s, None));
        assert!(eval(
            "P['f'].n > 2 && P['f'].n <= 2.5 && P['f'].n == 25e-1",
            &s,
            None
        ));
        assert!(eval("P['i'].n > -1", &s, None));
        assert!(eval("P['i'].big == 18446744073709551615", &s, None));
        assert!(
            !eval("P['i'].big == 18446744073709551614", &s, None),
            "integers compare exactly"
        );
        assert!(!eval("P['i'].s == 1", &s, None), "a string is not a number");
        assert!(
            !eval("P['i'].s < 2", &s, None),
            "ordering on a non-number is false"
        );
        assert!(!eval("P['i'].s >= 2", &s, None));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // Only o1 exists: a || (b && c) is true, (a || b) && c would be false.
        let s = store(&[("t", "Order", "o1", "Draft", json!({}))]);
        assert!(eval(
            "Order['o1'].exists || Order['o2'].exists && Order['o3'].exists",
            &s,
            None
        ));
        assert!(!eval(
            "Order['o2'].exists && Order['o3'].exists || Order['o4'].exists",
            &s,
            None
        ));
    }

    #[test]
    fn parentheses_override_precedence() {
        let s = store(&[("t", "Order", "o1", "Draft", json!({}))]);
        assert!(!eval(
            "(Order['o1'].exists || Order['o2'].exists) && Order['o3'].exists",
            &s,
            None
        ));
        assert!(eval("((Order['o1'].status == 'Draft'))", &s, None));
    }

    #[test]
    fn not_negates_a_condition() {
        let s = store(&[
            ("t", "Order", "a", "Draft", json!({"ok": true})),
            ("t", "Order", "b", "Draft", json!({"ok": false})),
            ("t", "Order", "c", "Draft", json!({"ok": "yes"})),
        ]);
        assert!(!eval("!Order['a'].exists", &s, None));
        assert!(eval("!!Order['a'].exists", &s, None));
        assert!(eval("!(Order['a'].status == 'Sent')", &s, None));
        assert!(!eval("!Order['a'].ok", &s, None));
        assert!(eval("!Order['b'].ok", &s, None));
        assert!(
            eval("!Order['c'].ok", &s, None),
            "a non-boolean field is not true"
        );
        assert!(
            eval("!Order['zz'].ok", &s, None),
            "a missing field is not true"
        );
        assert!(
            eval("!Order['a'].ok == false", &s, None),
            "`!` applies before `==`"
        );
    }

    #[test]
    fn boolean_field_stands_as_a_condition() {
        let s = store(&[
            ("t", "Order", "a", "Draft", json!({"approved": true})),
            ("t", "Order", "b", "Draft", json!({"approved": 1})),
        ]);
        assert!(eval("Order[id].approved", &s, Some("a")));
        assert!(!eval("Order[id].approved", &s, Some("b")));
        assert!(eval("Order[id].approved == true", &s, Some("a")));
    }

    #[test]
    fn strings_take_either_quote_and_escapes() {
        let s = store(&[("t", "Order", "o1", "it's", json!({"q": "say \"hi\""}))]);
        assert!(eval(r"Order[id].status == 'it\'s'", &s, Some("o1")));
        assert!(eval(r#"Order[id].status == "it's""#, &s, Some("o1")));
        assert!(eval(r#"Order[id].q == 'say "hi"'"#, &s, Some("o1")));
    }

    #[test]
    fn variable_ranges_over_the_union_of_ids_of_types_written_with_it() {
        // `p9` is only a Payment: it is still a binding.
        let inv = always("Order[id].exists || Payment[id].status == 'Nope'");
        let s = store(&[
            ("t", "Order", "o1", "Draft", json!({})),
            ("t", "Payment", "p9", "Failed", json!({})),
        ]);
        assert_eq!(
            inv.check(&s, "t").as_deref(),
            Some(r#"with id = "p9": Order[p9].exists = false, Payment[p9].status = "Failed""#)
        );
        // The union is sorted across types: `a0` (a Payment) comes before `b1` (an Order).
        let inv = never("Order[id].exists || Payment[id].exists");
        let s = store(&[
            ("t", "Order", "b1", "Draft", json!({})),
            ("t", "Order", "a0", "Draft", json!({})),
            ("t", "Payment", "a0", "Failed", json!({})),
        ]);
        assert!(inv.check(&s, "t").unwrap().starts_with(r#"with id = "a0""#));
        assert_eq!(inv.predicate.bound_types(), ["Order", "Payment"]);
    }

    #[test]
    fn types_referenced_only_by_literal_ids_do_not_join_the_domain() {
        let inv = never("Pager['x'].exists && !Order[id].exists");
        let s = store(&[("t", "Pager", "x", "On", json!({}))]);
        assert_eq!(inv.check(&s, "t"), None, "no Order ids: nothing to bind");
        assert_eq!(inv.predicate.bound_types(), ["Order"]);
    }

    #[test]
    fn tenants_do_not_see_each_others_entities() {
        let inv = never("Order[id].status == 'Cancelled' && Payment[id].status == 'Authorized'");
        let split = store(&[
            ("a", "Order", "o1", "Cancelled", json!({})),
            ("b", "Payment", "o1", "Authorized", json!({})),
        ]);
        assert_eq!(inv.check(&split, "a"), None);
        assert_eq!(inv.check(&split, "b"), None);
        let lit = always("Pager['oncall'].exists");
        let s = store(&[("a", "Pager", "oncall", "On", json!({}))]);
        assert_eq!(lit.check(&s, "a"), None);
        assert!(lit.check(&s, "b").is_some());
        let together = store(&[
            ("a", "Order", "o1", "Cancelled", json!({})),
            ("a", "Payment", "o1", "Authorized", json!({})),
        ]);
        assert!(inv.check(&together, "a").is_some());
        assert_eq!(inv.check(&together, "b"), None);
    }

    #[test]
    fn entity_types_are_sorted_and_deduplicated() {
        let p = Predicate::parse(
            "Payment[id].x == 1 && Order[id].exists && Payment['p'].status == 'A' || Alarm['z'].on",
        )
        .unwrap();
        assert_eq!(p.entity_types(), ["Alarm", "Order", "Payment"]);
        assert_eq!(p.variable(), Some("id"));
    }

    #[test]
    fn holds_with_evaluates_against_any_lookup() {
        let p = Predicate::parse("Order[id].status == 'Draft' && Order[id].n > 0").unwrap();
        let e = Entity {
            status: "Draft".into(),
            fields: serde_json::from_value(json!({"n": 2})).unwrap(),
        };
        assert!(
            p.holds_with(Some("x"), |ty, id| (ty == "Order" && id == "x")
                .then_some(&e))
        );
        assert!(
            !p.holds_with(Some("y"), |ty, id| (ty == "Order" && id == "x")
                .then_some(&e))
        );
    }

    #[test]
    fn long_field_values_are_cut_in_messages() {
        let long = "x".repeat(500);
        let s = store(&[("t", "Order", "o1", "Draft", json!({ "note": long }))]);
        let msg = always("Order[id].note == 'short'").check(&s, "t").unwrap();
        assert!(msg.ends_with('…'));
        assert!(msg.chars().count() < 260, "{msg}");
    }
}
