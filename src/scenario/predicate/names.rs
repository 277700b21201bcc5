//! The names a predicate uses, for the lint pass (`scenario/lint.rs`): the fields it reads
//! and the states it compares a status with.

use super::syntax::{Expr, Property, Ref};
use super::Predicate;
use crate::core::Value;

/// What a predicate names, each with its entity type, in the order written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PredicateNames {
    /// `(type, field)` for every `Type[x].field` read.
    pub fields: Vec<(String, String)>,
    /// `(type, state)` for every `Type[x].status` compared with a string.
    pub states: Vec<(String, String)>,
}

impl Predicate {
    /// The fields it reads and the states it compares statuses with.
    pub fn names(&self) -> PredicateNames {
        let mut out = PredicateNames::default();
        walk(&self.expr, &mut out);
        out
    }
}

fn walk(e: &Expr, out: &mut PredicateNames) {
    match e {
        Expr::Lit(_) => {}
        Expr::Ref(r) => field_of(r, out),
        Expr::Cmp(_, a, b) => {
            for (x, y) in [(a, b), (b, a)] {
                if let (Expr::Ref(r), Expr::Lit(Value::String(s))) = (x.as_ref(), y.as_ref()) {
                    if r.property == Property::Status {
                        out.states.push((r.entity_type.clone(), s.clone()));
                    }
                }
            }
            walk(a, out);
            walk(b, out);
        }
        Expr::Not(x) => walk(x, out),
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| walk(x, out)),
    }
}

fn field_of(r: &Ref, out: &mut PredicateNames) {
    if let Property::Field(f) = &r.property {
        out.fields.push((r.entity_type.clone(), f.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_fields_read_and_the_states_compared() {
        let p = Predicate::parse(
            "Pager['x'].pagse > 2 || 'Authorised' == Payment[id].status && !Order[id].paid",
        )
        .unwrap();
        let n = p.names();
        assert_eq!(
            n.fields,
            vec![
                ("Pager".to_string(), "pagse".to_string()),
                ("Order".to_string(), "paid".to_string())
            ]
        );
        assert_eq!(
            n.states,
            vec![("Payment".to_string(), "Authorised".to_string())]
        );
    }
}
