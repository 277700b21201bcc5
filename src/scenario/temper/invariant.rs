//! A spec's `[[invariant]]`, as loaded: what it asserts, in which states. What checking it
//! means (on the store, on transitions) is `check/spec_invariant.rs`.

use crate::engine::Expr;

/// One invariant of a spec.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecInvariant {
    /// `spec:Order.SubmitRequiresItems`.
    pub name: String,
    pub entity_type: String,
    /// The statuses it applies in; empty: every status.
    pub when: Vec<String>,
    pub assert: SpecAssert,
    /// The `assert` as the spec writes it.
    pub text: String,
}

/// What an invariant asserts.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecAssert {
    /// A condition on one entity's status and fields.
    State(Expr),
    /// No action commits on the entity while it is in a `when` state.
    NoFurtherTransitions,
    /// The entity reaches `after` only once it has been in `before`.
    Ordering { before: String, after: String },
}

impl SpecInvariant {
    /// The name a spec invariant is reported under.
    pub fn name_of(entity_type: &str, invariant: &str) -> String {
        format!("spec:{entity_type}.{invariant}")
    }

    /// Whether it applies to an entity in `status`.
    pub fn applies_in(&self, status: &str) -> bool {
        self.when.is_empty() || self.when.iter().any(|s| s == status)
    }
}
