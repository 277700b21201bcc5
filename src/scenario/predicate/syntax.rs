//! The syntax tree of a predicate, what a parse error says, and what a parsed predicate
//! tells about itself.

use crate::core::Value;
use crate::engine::CmpOp;
use std::fmt;

/// Expressions longer than this many characters are rejected.
pub const PREDICATE_CHARS_MAX: usize = 4096;
/// Parentheses and `!` nested deeper than this are rejected.
pub const PREDICATE_DEPTH_MAX: usize = 64;
/// A field value longer than this (in characters of JSON) is cut in a violation message.
pub(super) const VALUE_CHARS_SHOWN_MAX: usize = 200;

/// Which way an invariant's predicate must go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvariantKind {
    /// The predicate holds under every binding.
    Always,
    /// The predicate holds under no binding.
    Never,
    /// The predicate holds under some binding in at least one checked state: of the run
    /// (`ripple run`), of at least one seed (a sweep). Never a violation of one state.
    Sometimes,
}

impl InvariantKind {
    /// The scenario key: `always`, `never` or `sometimes`.
    pub fn as_str(self) -> &'static str {
        match self {
            InvariantKind::Always => "always",
            InvariantKind::Never => "never",
            InvariantKind::Sometimes => "sometimes",
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
    pub(super) fn new(column: usize, message: impl Into<String>) -> Self {
        PredicateError {
            column,
            message: message.into(),
            hint: None,
        }
    }

    pub(super) fn hint(mut self, hint: impl Into<String>) -> Self {
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
    pub(super) expr: Expr,
    /// The variable's name (`id`), if the predicate has one.
    pub(super) variable: Option<String>,
    /// Types written with the variable: the binding ranges over the union of their ids.
    pub(super) bound_types: Vec<String>,
    /// Every type referenced, sorted and deduplicated.
    pub(super) entity_types: Vec<String>,
    /// Each distinct reference in order of first appearance: what a violation shows.
    pub(super) refs: Vec<Ref>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    Lit(Value),
    Ref(Ref),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ref {
    pub(super) entity_type: String,
    pub(super) id: RefId,
    pub(super) property: Property,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RefId {
    Variable,
    Literal(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Property {
    Status,
    Exists,
    Field(String),
}

impl Property {
    pub(super) fn name(&self) -> &str {
        match self {
            Property::Status => "status",
            Property::Exists => "exists",
            Property::Field(f) => f,
        }
    }
}

impl Predicate {
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

    /// The types written with a literal id (`Order['o1']`), sorted and deduplicated: a
    /// change to one of those entities can change the predicate under every binding (the
    /// model checker's partial-order reduction reads this).
    pub fn literal_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self
            .refs
            .iter()
            .filter(|r| matches!(r.id, RefId::Literal(_)))
            .map(|r| r.entity_type.clone())
            .collect();
        types.sort();
        types.dedup();
        types
    }
}
