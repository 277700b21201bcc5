//! A tenant's registered rules and the order in which they fire.
//!
//! For a committed action `(entity_type, action, to_state)`, the rules keyed on that exact
//! action fire first, then the rules with no `action` (wildcards), each group in registration
//! order; `to_state` filters both. Rules are indexed by entity type, then action, so matching
//! does not scan every rule of the tenant. All maps are `BTreeMap`s: nothing here depends on
//! hash order.
//!
//! Not covered here: tenants (one `RuleSet` per tenant, kept by the caller), guards and
//! depth, which the dispatcher applies to the matches.

use super::rule::Rule;
use crate::core::{get_named, same_name, MAX_RULES_PER_TENANT};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One tenant's rules, in registration order, with an index for matching.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Arc<Rule>>,
    /// entity_type -> that type's rules.
    index: BTreeMap<String, TypeIndex>,
}

/// The rules on one entity type, as indices into `RuleSet::rules`, each list ascending
/// (registration order).
#[derive(Debug, Clone, Default)]
struct TypeIndex {
    by_action: BTreeMap<String, Vec<usize>>,
    wildcard: Vec<usize>,
}

impl RuleSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a rule after the ones already registered. Fails, registering nothing, once
    /// the tenant has `MAX_RULES_PER_TENANT` rules.
    pub fn add(&mut self, rule: Arc<Rule>) -> Result<(), String> {
        if self.rules.len() >= MAX_RULES_PER_TENANT {
            return Err(format!(
                "cannot register rule {:?}: a tenant may have at most {MAX_RULES_PER_TENANT} rules",
                rule.name
            ));
        }
        let i = self.rules.len();
        let by_type = self.index.entry(rule.when.entity_type.clone()).or_default();
        match &rule.when.action {
            Some(action) => by_type.by_action.entry(action.clone()).or_default().push(i),
            None => by_type.wildcard.push(i),
        }
        self.rules.push(rule);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// All rules, in registration order.
    pub fn rules(&self) -> &[Arc<Rule>] {
        &self.rules
    }

    /// The rule at index `i`, as pushed by `matching`. Panics when out of range: indices come
    /// from this set, so a bad one is a bug in the harness.
    pub fn get(&self, i: usize) -> &Arc<Rule> {
        &self.rules[i]
    }

    /// Clears `out`, then pushes the indices of the rules that fire for a committed `action`
    /// on an `entity_type` that left it in `to_state`: exact-action rules first, then
    /// wildcards, each in registration order. Guards are not evaluated here.
    pub fn matching(&self, entity_type: &str, action: &str, to_state: &str, out: &mut Vec<usize>) {
        out.clear();
        out.extend(self.matching_indices(entity_type, action, to_state));
    }

    /// The rules `matching` lists, in the same order, without a buffer: the cascade walks
    /// them while it fires each one in turn.
    pub fn matching_rules<'a>(
        &'a self,
        entity_type: &str,
        action: &str,
        to_state: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Rule>> + 'a {
        self.matching_indices(entity_type, action, to_state)
            .map(|i| &self.rules[i])
    }

    /// The indices `matching` pushes.
    pub fn matching_indices<'a>(
        &'a self,
        entity_type: &str,
        action: &str,
        to_state: &'a str,
    ) -> impl Iterator<Item = usize> + 'a {
        let (exact, wildcard) = self.candidates(entity_type, action);
        exact
            .iter()
            .chain(wildcard)
            .copied()
            .filter(move |&i| self.fires_in(i, to_state))
    }

    /// The rules that may fire for a committed `action` on an `entity_type`, before the
    /// `to_state` filter: the exact-action ones, then the wildcards, each in registration
    /// order. The lists depend on the names only, so the cascade works them out once per rule
    /// target instead of once per commit.
    pub fn candidates(&self, entity_type: &str, action: &str) -> (&[usize], &[usize]) {
        match get_named(&self.index, entity_type) {
            Some(by_type) => (
                get_named(&by_type.by_action, action)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                &by_type.wildcard,
            ),
            None => (&[], &[]),
        }
    }

    /// Whether candidate `i` fires when the commit left the entity in `to_state`.
    pub fn fires_in(&self, i: usize, to_state: &str) -> bool {
        self.rules[i]
            .when
            .to_state
            .as_deref()
            .is_none_or(|s| same_name(s, to_state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Resolver, Then, When};

    fn rule(
        name: &str,
        entity_type: &str,
        action: Option<&str>,
        to_state: Option<&str>,
    ) -> Arc<Rule> {
        Arc::new(Rule {
            name: name.into(),
            when: When {
                entity_type: entity_type.into(),
                action: action.map(String::from),
                to_state: to_state.map(String::from),
                guard: None,
            },
            then: Then {
                entity_type: "Payment".into(),
                action: "AuthorizePayment".into(),
                params: serde_json::json!({}),
                params_from: Default::default(),
            },
            resolve_target: Resolver::SameId,
        })
    }

    fn names(set: &RuleSet, entity_type: &str, action: &str, to_state: &str) -> Vec<String> {
        let mut out = vec![usize::MAX]; // stale content that `matching` must clear
        set.matching(entity_type, action, to_state, &mut out);
        out.iter().map(|&i| set.get(i).name.clone()).collect()
    }

    #[test]
    fn exact_action_rules_fire_before_wildcards_in_registration_order() {
        let mut set = RuleSet::new();
        // Registered interleaved on purpose: order within a group is registration order, and
        // groups are exact-then-wildcard regardless of how they were interleaved.
        set.add(rule("wild1", "Order", None, None)).unwrap();
        set.add(rule("exact1", "Order", Some("ConfirmOrder"), None))
            .unwrap();
        set.add(rule("other_action", "Order", Some("CancelOrder"), None))
            .unwrap();
        set.add(rule("wild2", "Order", None, None)).unwrap();
        set.add(rule("exact2", "Order", Some("ConfirmOrder"), None))
            .unwrap();
        set.add(rule("other_type", "Payment", Some("ConfirmOrder"), None))
            .unwrap();
        assert_eq!(
            names(&set, "Order", "ConfirmOrder", "Confirmed"),
            ["exact1", "exact2", "wild1", "wild2"]
        );
        assert_eq!(
            names(&set, "Order", "CancelOrder", "Cancelled"),
            ["other_action", "wild1", "wild2"]
        );
        assert_eq!(names(&set, "Order", "AddItem", "Draft"), ["wild1", "wild2"]);
        assert_eq!(
            names(&set, "Customer", "ConfirmOrder", "Confirmed"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn to_state_filters_exact_and_wildcard_rules() {
        let mut set = RuleSet::new();
        set.add(rule(
            "exact_confirmed",
            "Order",
            Some("Update"),
            Some("Confirmed"),
        ))
        .unwrap();
        set.add(rule("exact_any", "Order", Some("Update"), None))
            .unwrap();
        set.add(rule("wild_cancelled", "Order", None, Some("Cancelled")))
            .unwrap();
        set.add(rule("wild_any", "Order", None, None)).unwrap();
        assert_eq!(
            names(&set, "Order", "Update", "Confirmed"),
            ["exact_confirmed", "exact_any", "wild_any"]
        );
        assert_eq!(
            names(&set, "Order", "Update", "Cancelled"),
            ["exact_any", "wild_cancelled", "wild_any"]
        );
    }

    #[test]
    fn rules_and_len_keep_registration_order() {
        let mut set = RuleSet::new();
        assert!(set.is_empty());
        set.add(rule("b", "X", None, None)).unwrap();
        set.add(rule("a", "X", Some("Go"), None)).unwrap();
        assert_eq!(set.len(), 2);
        let listed: Vec<_> = set.rules().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(listed, ["b", "a"]);
    }

    #[test]
    fn at_most_256_rules_per_tenant() {
        let mut set = RuleSet::new();
        for i in 0..MAX_RULES_PER_TENANT {
            set.add(rule(&format!("r{i}"), "Order", None, None))
                .unwrap();
        }
        assert_eq!(set.len(), 256);
        let err = set
            .add(rule("one_too_many", "Order", Some("Go"), None))
            .unwrap_err();
        assert!(err.contains("256"), "{err}");
        assert!(err.contains("one_too_many"), "{err}");
        // The refused rule left no trace in the set or its index.
        assert_eq!(set.len(), 256);
        assert_eq!(names(&set, "Order", "Go", "S").len(), 256);
        assert!(!names(&set, "Order", "Go", "S").contains(&"one_too_many".to_string()));
    }
}
