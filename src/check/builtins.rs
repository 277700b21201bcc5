//! The built-in invariants of a run, held by type: how a run hands each record to them,
//! and in which order their violations are reported.

use crate::check::{
    CascadeTruncated, Delivery, DepthBound, ExpectCheck, FreshIds, GuardSkipSilent, Invariant,
    Observation, Quiescence, RunEnd, SpecTransitions, TenantIsolation, TenantIsolationIndexed,
    ValidTransition, ValidTransitionIndexed,
};
use crate::core::{RecordKind, RecordRef};
use crate::scenario::Scenario;

/// The built-in invariants of a run, held by type rather than as trait objects: a run
/// hands every record to all of them (millions of records), and calling each one directly
/// lets the compiler inline its `watches` and skip the virtual call for the kinds it does
/// not watch. What they check, and the order in which their violations are reported, is
/// [`builtin_invariants`]'s.
///
/// Cloning a set no run has used yet gives another such set: the tables the invariants
/// look things up in (rules, specs) are shared, not copied, so a sweep builds them once.
#[derive(Clone)]
pub struct Builtins {
    depth_bound: DepthBound,
    tenant_isolation: TenantIsolationIndexed,
    valid_transition: ValidTransitionIndexed,
    expect: ExpectCheck,
    guard_skip_silent: GuardSkipSilent,
    fresh_ids: FreshIds,
    delivery: Delivery,
    quiescence: Quiescence,
    /// Absent when the scenario allows truncated cascades.
    cascade_truncated: Option<CascadeTruncated>,
    /// The history asserts of the scenario's temper specs (`spec:<Type>.<Name>`).
    spec: Vec<SpecTransitions>,
}

/// Runs `$body` with `$i` bound to each built-in invariant in turn (by its own type), in
/// report order.
macro_rules! each_builtin {
    ($b:expr, $i:ident => $body:expr) => {{
        let b = $b;
        {
            let $i = &mut b.depth_bound;
            $body;
        }
        {
            let $i = &mut b.tenant_isolation;
            $body;
        }
        {
            let $i = &mut b.valid_transition;
            $body;
        }
        {
            let $i = &mut b.expect;
            $body;
        }
        {
            let $i = &mut b.guard_skip_silent;
            $body;
        }
        {
            let $i = &mut b.fresh_ids;
            $body;
        }
        {
            let $i = &mut b.delivery;
            $body;
        }
        {
            let $i = &mut b.quiescence;
            $body;
        }
        if let Some($i) = &mut b.cascade_truncated {
            $body;
        }
        for $i in b.spec.iter_mut() {
            $body;
        }
    }};
}

impl Builtins {
    pub fn new(scenario: &Scenario) -> Builtins {
        Builtins {
            depth_bound: DepthBound {
                depth_max: scenario.depth_max,
            },
            tenant_isolation: TenantIsolation::of(scenario).indexed(),
            valid_transition: ValidTransition::of(scenario).indexed(),
            expect: ExpectCheck {
                expects: scenario.expects.clone().into(),
            },
            guard_skip_silent: GuardSkipSilent::default(),
            fresh_ids: FreshIds::new(
                scenario
                    .rules
                    .values()
                    .flatten()
                    .filter(|r| matches!(r.resolve_target, crate::engine::Resolver::Create))
                    .map(|r| r.name.clone())
                    .collect(),
            ),
            delivery: Delivery::default(),
            quiescence: Quiescence,
            cascade_truncated: (!scenario.allow_truncation)
                .then(|| CascadeTruncated::new(scenario.depth_max)),
            spec: scenario
                .spec_invariants
                .iter()
                .filter_map(|i| i.transitions())
                .collect(),
        }
    }

    #[cfg(test)]
    /// The same invariants as trait objects, in report order.
    pub fn into_boxed(self) -> Vec<Box<dyn Invariant>> {
        let mut out: Vec<Box<dyn Invariant>> = vec![
            Box::new(self.depth_bound),
            Box::new(self.tenant_isolation),
            Box::new(self.valid_transition),
            Box::new(self.expect),
            Box::new(self.guard_skip_silent),
            Box::new(self.fresh_ids),
            Box::new(self.delivery),
            Box::new(self.quiescence),
        ];
        if let Some(c) = self.cascade_truncated {
            out.push(Box::new(c));
        }
        for c in self.spec {
            out.push(Box::new(c));
        }
        out
    }

    /// [`Invariant::on_step`] on each.
    pub fn on_step(&mut self) {
        each_builtin!(self, i => i.on_step());
    }

    /// Hands `record` to each invariant that watches its kind, in report order, and
    /// `report`s each violation with the invariant's name.
    #[inline]
    pub fn on_record_ref(
        &mut self,
        record: &RecordRef<'_>,
        report: &mut impl FnMut(&'static str, String),
    ) {
        // One arm per kind, so that each invariant's `watches` is asked of a constant and
        // folds away: an arm calls only the invariants that watch its kind.
        macro_rules! by_kind {
            ($($kind:ident),*) => {
                match record.kind() {
                    $(RecordKind::$kind => {
                        each_builtin!(self, i => judge(i, RecordKind::$kind, record, report))
                    })*
                }
            };
        }
        by_kind!(
            Input,
            Publish,
            Deliver,
            Outcome,
            Dispatch,
            Transition,
            ActionFailed,
            Reaction,
            GuardSkip,
            DepthLimit,
            Fault,
            Warning
        );
    }

    /// [`Invariant::at_end`] on each, with its name, in report order.
    #[cfg(test)]
    pub fn at_end(&mut self, end: &RunEnd) -> Vec<(&'static str, String)> {
        self.at_end_observed(end)
            .into_iter()
            .map(|(name, m, _)| (name, m))
            .collect()
    }

    /// [`Invariant::at_end_observed`] on each, with its name, in report order.
    pub fn at_end_observed(
        &mut self,
        end: &RunEnd,
    ) -> Vec<(&'static str, String, Option<Observation>)> {
        let mut found = Vec::new();
        each_builtin!(self, i => {
            let name = i.name();
            found.extend(i.at_end_observed(end).into_iter().map(|(m, o)| (name, m, o)));
        });
        found
    }
}

/// One invariant, called directly (not through `dyn`), on one record.
#[inline(always)]
fn judge<I: Invariant>(
    invariant: &mut I,
    kind: RecordKind,
    record: &RecordRef<'_>,
    report: &mut impl FnMut(&'static str, String),
) {
    if invariant.watches(kind) {
        if let Some(message) = invariant.on_record_ref(record) {
            report(invariant.name(), message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Seed;
    use crate::engine::{Entity, Store};
    use crate::scenario::load_scenario;
    use crate::sim::{run_scenario, RunOptions, Stop};
    use std::path::Path;

    /// The fused set reports exactly what the trait objects, filtered by `watches`, report:
    /// the same violations, with the same names, in the same order, on every record of real
    /// runs (swarm faults on every other seed make the invariants fire) and at their end.
    #[test]
    fn builtins_report_what_the_boxed_invariants_report() {
        let mut reported = 0;
        let scenarios = [
            "race",
            "netops",
            "two_tenants",
            "cycle",
            "order_payment",
            "pipeline",
        ];
        for name in scenarios {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
            let scenario = load_scenario(&path).expect("a shipped scenario loads");
            for seed in 0..12 {
                let options = RunOptions {
                    keep_trace: false,
                    swarm: seed % 2 == 1,
                };
                let outcome = run_scenario(&scenario, Seed(seed), options);
                let mut fused = Builtins::new(&scenario);
                let mut boxed = Builtins::new(&scenario).into_boxed();
                let (mut by_fused, mut by_boxed) = (Vec::new(), Vec::new());
                for (step, record) in outcome.records.iter().enumerate() {
                    let record = record.view();
                    if record.starts_step() {
                        fused.on_step();
                        boxed.iter_mut().for_each(|i| i.on_step());
                    }
                    fused.on_record_ref(&record, &mut |name, message| {
                        by_fused.push((step, name, message));
                    });
                    for i in &mut boxed {
                        if i.watches(record.kind()) {
                            if let Some(message) = i.on_record_ref(&record) {
                                by_boxed.push((step, i.name(), message));
                            }
                        }
                    }
                }
                let mut store = Store::default();
                for row in &outcome.entities {
                    let entity = Entity {
                        status: row.status.clone(),
                        fields: row.fields.clone(),
                    };
                    store.insert(&row.tenant, &row.entity_type, &row.id, entity);
                }
                let end = RunEnd {
                    store: &store,
                    quiescent: outcome.stop == Stop::Quiescent,
                    pending: outcome.pending,
                    now: outcome.virtual_time,
                    next_due: None,
                };
                let end_fused = fused.at_end(&end);
                let end_boxed: Vec<(&str, String)> = boxed
                    .iter_mut()
                    .flat_map(|i| {
                        let name = i.name();
                        i.at_end(&end).into_iter().map(move |m| (name, m))
                    })
                    .collect();
                assert_eq!(by_fused, by_boxed, "{name} seed {seed}: records");
                assert_eq!(end_fused, end_boxed, "{name} seed {seed}: end");
                reported += by_fused.len() + end_fused.len();
            }
        }
        assert!(
            reported > 0,
            "some run broke an invariant, so reports were compared"
        );
    }
}
