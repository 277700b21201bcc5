//! `tenant_isolation`: nothing crosses from one tenant to another.
//!
//! Verifies on the trace that every dispatch stays in the tenant of what caused it, and that
//! every rule that fires, is skipped or is dropped is registered for the tenant it ran in.
//! Cross-entity lookups are scoped structurally (the store is keyed by tenant first, and the
//! engine resolves lookups in the source's tenant); this checker does not see lookups, the
//! engine's tests cover them.

use crate::check::memo::NameMemo;
use crate::check::Invariant;
use crate::core::{get_named, same_name, TenantId};
use crate::core::{Record, RecordKind, RecordRef};
use crate::scenario::Scenario;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub struct TenantIsolation {
    /// Rule names registered per tenant.
    pub rules: BTreeMap<TenantId, BTreeSet<String>>,
}

impl TenantIsolation {
    /// The property for `scenario`: each tenant with the names of its rules (both engines'),
    /// and, in every tenant, the rules that carry its specs' integration answers and
    /// scheduled actions (entity types, and so their integrations, are shared by tenants).
    pub fn of(scenario: &Scenario) -> TenantIsolation {
        let mut rules: BTreeMap<TenantId, BTreeSet<String>> = scenario
            .rules
            .iter()
            .chain(&scenario.runtime_rules)
            .fold(BTreeMap::new(), |mut acc, (t, list)| {
                let names: &mut BTreeSet<String> = acc.entry(t.clone()).or_default();
                names.extend(list.iter().map(|r| r.name.clone()));
                acc
            });
        let answers = scenario.integration_rule_names();
        if !answers.is_empty() {
            for t in &scenario.tenants {
                rules
                    .entry(t.clone())
                    .or_default()
                    .extend(answers.iter().cloned());
            }
        }
        TenantIsolation { rules }
    }

    /// `rules[tenant]` contains `rule`.
    fn registered(&self, tenant: &str, rule: &str) -> bool {
        get_named(&self.rules, tenant).is_some_and(|rules| rules.contains(rule))
    }

    /// The checker a run uses: this property, with every registered (tenant, rule) pair in
    /// a table a run asks without hashing (it asks about every rule that fires or is
    /// skipped, millions of times on a big run). A pair not in the table is not registered.
    pub fn indexed(self) -> TenantIsolationIndexed {
        let registered = NameMemo::new(self.rules.iter().flat_map(|(tenant, rules)| {
            rules
                .iter()
                .map(|rule| (tenant.as_str(), rule.as_str(), ()))
        }));
        TenantIsolationIndexed {
            registered: Arc::new(registered),
        }
    }
}

/// [`TenantIsolation`], its pairs in a table (see [`TenantIsolation::indexed`]): the same
/// property and messages.
#[derive(Clone)]
pub struct TenantIsolationIndexed {
    /// Every registered (tenant, rule); shared by the copies a sweep makes, one per run.
    registered: Arc<NameMemo<()>>,
}

/// The property, given how to ask whether a tenant registered a rule.
fn judge(record: &RecordRef<'_>, mut registered: impl FnMut(&str, &str) -> bool) -> Option<String> {
    match record {
        RecordRef::Dispatch { tenant, source_tenant, entity_type, id, action, .. } if !same_name(tenant, source_tenant) => Some(format!(
            "{entity_type}/{id}.{action} was dispatched in tenant {tenant} by something in tenant {source_tenant}"
        )),
        RecordRef::Reaction { tenant, rule, .. }
        | RecordRef::GuardSkip { tenant, rule, .. }
        | RecordRef::DepthLimit { tenant, rule, .. }
            if !rule.starts_with("reflex:") && !registered(tenant, rule) =>
        {
            Some(format!("rule {rule} ran in tenant {tenant}, which did not register it"))
        }
        _ => None,
    }
}

fn watched(kind: RecordKind) -> bool {
    matches!(
        kind,
        RecordKind::Dispatch
            | RecordKind::Reaction
            | RecordKind::GuardSkip
            | RecordKind::DepthLimit
    )
}

impl Invariant for TenantIsolation {
    fn name(&self) -> &'static str {
        "tenant_isolation"
    }

    fn watches(&self, kind: RecordKind) -> bool {
        watched(kind)
    }

    fn on_record(&mut self, record: &Record) -> Option<String> {
        self.on_record_ref(&record.view())
    }

    fn on_record_ref(&mut self, record: &RecordRef<'_>) -> Option<String> {
        judge(record, |tenant, rule| self.registered(tenant, rule))
    }
}

impl Invariant for TenantIsolationIndexed {
    fn name(&self) -> &'static str {
        "tenant_isolation"
    }

    fn watches(&self, kind: RecordKind) -> bool {
        watched(kind)
    }

    fn on_record(&mut self, record: &Record) -> Option<String> {
        self.on_record_ref(&record.view())
    }

    fn on_record_ref(&mut self, record: &RecordRef<'_>) -> Option<String> {
        judge(record, |tenant, rule| {
            self.registered.get(tenant, rule).is_some()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Origin;
    use crate::core::SimTime;
    use crate::core::{Depth, EntityId};

    #[test]
    fn cross_tenant_dispatch_and_foreign_rule_are_violations() {
        let mut rules = BTreeMap::new();
        rules.insert(TenantId::new("a"), BTreeSet::from(["r".to_string()]));
        let mut c = TenantIsolation {
            rules: rules.clone(),
        };
        let mut indexed = TenantIsolation { rules }.indexed();
        let ok = Record::Dispatch {
            at: SimTime(0),
            cause: 0,
            tenant: TenantId::new("a"),
            source_tenant: TenantId::new("a"),
            entity_type: "X".into(),
            id: EntityId::new("1"),
            action: "Go".into(),
            depth: Depth(1),
            origin: Origin::Rule {
                rule: "r".into(),
                copy: false,
            },
        };
        assert_eq!(c.on_record(&ok), None);
        let mut bad = ok.clone();
        if let Record::Dispatch { source_tenant, .. } = &mut bad {
            *source_tenant = TenantId::new("b");
        }
        assert!(c
            .on_record(&bad)
            .unwrap()
            .contains("in tenant a by something in tenant b"));
        let foreign = Record::GuardSkip {
            at: SimTime(0),
            cause: 0,
            tenant: TenantId::new("b"),
            rule: "r".into(),
            depth: Depth(0),
        };
        assert!(c.on_record(&foreign).unwrap().contains("did not register"));
        let reaction = |tenant: &str, rule: &str| Record::Reaction {
            at: SimTime(0),
            cause: 0,
            tenant: TenantId::new(tenant),
            rule: rule.into(),
            depth: Depth(0),
            success: true,
            target_type: "X".into(),
            target_id: None,
            target_status: None,
            error: None,
        };
        for r in [
            ok,
            bad,
            foreign,
            reaction("a", "r"),
            reaction("a", "s"),
            reaction("c", "r"),
            reaction("b", "reflex:h"),
        ] {
            assert_eq!(indexed.on_record(&r), c.on_record(&r), "{r:?}");
        }
    }
}
