//! Invariants: the built-in ones (one file each) and the set a run watches.

mod cascade_truncated;
mod delivery;
mod depth_bound;
mod determinism;
mod expect;
mod fresh_ids;
mod guard_skip_silent;
mod invariant;
mod memo;
mod predicate;
mod quiescence;
mod tenant_isolation;
mod valid_transition;

pub use cascade_truncated::*;
pub use delivery::*;
pub use depth_bound::*;
pub use determinism::*;
pub use expect::*;
pub use fresh_ids::*;
pub use guard_skip_silent::*;
pub use invariant::*;
pub use predicate::*;
pub use quiescence::*;
pub use tenant_isolation::*;
pub use valid_transition::*;

use crate::scenario::Scenario;

/// The built-in invariants a run of `scenario` watches.
pub fn builtin_invariants(scenario: &Scenario) -> Vec<Box<dyn Invariant>> {
    let mut out: Vec<Box<dyn Invariant>> = vec![
        Box::new(DepthBound {
            depth_max: scenario.depth_max,
        }),
        Box::new(
            TenantIsolation {
                rules: scenario
                    .rules
                    .iter()
                    .map(|(t, rules)| (t.clone(), rules.iter().map(|r| r.name.clone()).collect()))
                    .collect(),
            }
            .indexed(),
        ),
        Box::new(
            ValidTransition {
                specs: scenario.entities.clone(),
            }
            .indexed(),
        ),
        Box::new(ExpectCheck {
            expects: scenario.expects.clone(),
        }),
        Box::new(GuardSkipSilent::default()),
        Box::new(FreshIds::new(
            scenario
                .rules
                .values()
                .flatten()
                .filter(|r| matches!(r.resolve_target, crate::engine::Resolver::Create))
                .map(|r| r.name.clone())
                .collect(),
        )),
        Box::new(Delivery::default()),
        Box::new(Quiescence),
    ];
    if !scenario.allow_truncation {
        out.push(Box::new(CascadeTruncated::new(scenario.depth_max)));
    }
    out
}
