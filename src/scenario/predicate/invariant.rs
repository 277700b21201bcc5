//! `[[invariant]]`: a named predicate that must always or never hold.

use super::{InvariantKind, Predicate, PredicateError};
use crate::engine::Store;

/// A violating binding of an invariant: the message, the binding of its variable (`None`
/// without one) and the values the predicate read under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub message: String,
    pub binding: Option<String>,
    pub reads: String,
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
    /// An example is the test `a_never_invariant_names_the_violating_binding_and_what_it_read` below.
    pub fn check(&self, store: &Store, tenant: &str) -> Option<String> {
        self.check_witnessed(store, tenant).map(|w| w.message)
    }

    /// [`UserInvariant::check`] over the bindings `ids` only (sorted and distinct, each an
    /// id of a bound type in `store`): the model checker's incremental check, for a state
    /// in which every other binding is known to hold. The same message as `check` then.
    pub fn check_among(&self, store: &Store, tenant: &str, ids: &[&str]) -> Option<String> {
        let violating = match self.kind {
            InvariantKind::Always => false,
            InvariantKind::Never => true,
            InvariantKind::Sometimes => return None,
        };
        ids.iter()
            .find(|id| self.predicate.eval(store, tenant, Some(id)) == violating)
            .map(|id| self.predicate.describe(store, tenant, Some(id)))
    }

    /// [`UserInvariant::check`], with the violating binding and the values read apart from
    /// the message: what a failure signature is made of.
    pub fn check_witnessed(&self, store: &Store, tenant: &str) -> Option<Witness> {
        let violating = match self.kind {
            InvariantKind::Always => false,
            InvariantKind::Never => true,
            // A state where it does not hold breaks nothing: [`UserInvariant::holds`].
            InvariantKind::Sometimes => return None,
        };
        self.predicate.first_binding(store, tenant, |binding| {
            if self.predicate.eval(store, tenant, binding) == violating {
                Some(Witness {
                    message: self.predicate.describe(store, tenant, binding),
                    binding: binding.map(str::to_string),
                    reads: self.predicate.describe_reads(store, tenant, binding),
                })
            } else {
                None
            }
        })
    }
}

impl UserInvariant {
    /// Whether the predicate holds under some binding in `tenant` (what a `sometimes`
    /// invariant waits for).
    pub fn holds(&self, store: &Store, tenant: &str) -> bool {
        self.predicate
            .first_binding(store, tenant, |binding| {
                self.predicate.eval(store, tenant, binding).then_some(())
            })
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    /// The example of this module's documentation.
    #[test]
    fn a_never_invariant_names_the_violating_binding_and_what_it_read() {
        use crate::core::{EntityId, TenantId};
        use crate::engine::{Entity, Store};
        use crate::scenario::{InvariantKind, UserInvariant};

        let inv = UserInvariant::parse(
            "no_authorized_payment_for_cancelled_order",
            InvariantKind::Never,
            "Order[id].status == 'Cancelled' && Payment[id].status == 'Authorized'",
        )
        .unwrap();
        let mut store = Store::default();
        let shop = TenantId::new("shop");
        for (entity_type, status) in [("Order", "Cancelled"), ("Payment", "Authorized")] {
            let entity = Entity {
                status: status.into(),
                fields: Default::default(),
            };
            store.insert(&shop, entity_type, &EntityId::new("o1"), entity);
        }
        assert_eq!(
            inv.check(&store, "shop").as_deref(),
            Some(
                r#"with id = "o1": Order[o1].status = "Cancelled", Payment[o1].status = "Authorized""#
            )
        );
        assert_eq!(inv.check(&store, "other_tenant"), None);
    }
}
