//! The predicate evaluator: a parsed predicate against entities, under a binding of its
//! variable, and the message that shows what it read.

use super::syntax::{Expr, Property, Ref, RefId, VALUE_CHARS_SHOWN_MAX};
use super::Predicate;
use crate::core::{EntityId, Value};
use crate::engine::{CmpOp, Entity, Store};
use serde_json::Number;
use std::cmp::Ordering;
use std::fmt::Write as _;

impl Predicate {
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
    pub(crate) fn first_binding<T>(
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
    pub(crate) fn describe(&self, store: &Store, tenant: &str, binding: Option<&str>) -> String {
        let mut out = String::new();
        if let (Some(var), Some(id)) = (&self.variable, binding) {
            let _ = write!(out, "with {var} = {}: ", Value::from(id));
        }
        out.push_str(&self.describe_reads(store, tenant, binding));
        out
    }

    /// The values the predicate reads under `binding`, without the binding:
    /// `Order[o1].status = "Cancelled", Payment[o1].status = "Authorized"`.
    pub(crate) fn describe_reads(
        &self,
        store: &Store,
        tenant: &str,
        binding: Option<&str>,
    ) -> String {
        let mut out = String::new();
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

pub(super) fn push_cut(out: &mut String, s: &str) {
    match s.char_indices().nth(VALUE_CHARS_SHOWN_MAX) {
        None => out.push_str(s),
        Some((cut, _)) => {
            out.push_str(&s[..cut]);
            out.push('…');
        }
    }
}

/// A value met during evaluation. Borrowed from the predicate or the store: evaluating
/// allocates nothing.
#[derive(Clone, Copy)]
pub(super) enum Val<'a> {
    Missing,
    Bool(bool),
    Str(&'a str),
    Json(&'a Value),
}

/// A present value, with statuses and JSON strings (and booleans) brought together.
#[derive(Clone, Copy)]
pub(super) enum Scalar<'a> {
    Null,
    Bool(bool),
    Num(&'a Number),
    Str(&'a str),
    /// Arrays and objects: equal by JSON equality, never ordered.
    Composite(&'a Value),
}

impl<'a> Val<'a> {
    pub(super) fn scalar(self) -> Option<Scalar<'a>> {
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
    pub(super) fn truthy(self) -> bool {
        matches!(self, Val::Bool(true) | Val::Json(Value::Bool(true)))
    }
}

/// Numbers by value: exactly for two integers, as `f64` otherwise (`1 == 1.0`).
pub(super) fn num_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

pub(super) fn equal(a: Scalar, b: Scalar) -> bool {
    match (a, b) {
        (Scalar::Null, Scalar::Null) => true,
        (Scalar::Bool(x), Scalar::Bool(y)) => x == y,
        (Scalar::Num(x), Scalar::Num(y)) => num_cmp(x, y) == Some(Ordering::Equal),
        (Scalar::Str(x), Scalar::Str(y)) => x == y,
        (Scalar::Composite(x), Scalar::Composite(y)) => x == y,
        _ => false,
    }
}

pub(super) fn compare(op: CmpOp, a: Val, b: Val) -> bool {
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

pub(super) struct Env<'a, 'b> {
    lookup: &'b dyn Fn(&str, &str) -> Option<&'a Entity>,
    binding: Option<&'b str>,
}

impl<'a> Env<'a, '_> {
    pub(super) fn holds(&self, expr: &'a Expr) -> bool {
        self.eval(expr).truthy()
    }

    // Recursion is bounded by the parse-time depth budget.
    pub(super) fn eval(&self, expr: &'a Expr) -> Val<'a> {
        match expr {
            Expr::Lit(v) => Val::Json(v),
            Expr::Ref(r) => self.eval_ref(r),
            Expr::Cmp(op, a, b) => Val::Bool(compare(*op, self.eval(a), self.eval(b))),
            Expr::Not(e) => Val::Bool(!self.holds(e)),
            Expr::And(es) => Val::Bool(es.iter().all(|e| self.holds(e))),
            Expr::Or(es) => Val::Bool(es.iter().any(|e| self.holds(e))),
        }
    }

    pub(super) fn eval_ref(&self, r: &'a Ref) -> Val<'a> {
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
