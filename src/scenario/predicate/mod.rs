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

mod eval;
mod invariant;
mod lexer;
mod names;
mod parser;
mod syntax;
#[cfg(test)]
mod tests;

pub use invariant::UserInvariant;
pub use syntax::{InvariantKind, Predicate, PredicateError};
