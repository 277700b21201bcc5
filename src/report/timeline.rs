//! The timeline of one run, as the HTML report draws it: a lane per entity, one per reflex
//! handler and one for the root inputs; each record on its lane; and for each record, the
//! record that caused it.
//!
//! Causes are what the trace records: every record but a root input names the step that
//! caused it ([`Record::cause`]), so every arrow is exact, with or without faults: a late
//! reaction's dispatch points back to the commit whose rule sent it, across whatever ran in
//! between.

use crate::core::{FaultTarget, Record};
use std::collections::BTreeMap;

/// What a lane holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LaneKind {
    /// The root inputs (scripted or generated) and what they publish.
    Inputs,
    /// One entity: its dispatches, transitions, failures, and the faults on its messages.
    Entity,
    /// One reflex handler in one tenant: its deliveries and outcomes.
    Reflex,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lane {
    pub kind: LaneKind,
    /// Empty for the inputs lane.
    pub tenant: String,
    /// `Type/id` for an entity, the handler id for a reflex.
    pub name: String,
}

/// The record that caused another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub cause: usize,
}

/// Every record on its lane, with its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// In order of first appearance, the inputs lane first.
    pub lanes: Vec<Lane>,
    /// Per record: its lane.
    pub lane_of: Vec<usize>,
    /// Per record: what caused it (`None`: a root input).
    pub cause_of: Vec<Option<Link>>,
}

/// Lays out `records` (a whole run, in order).
pub fn timeline(records: &[Record]) -> Timeline {
    let mut t = Timeline {
        lanes: Vec::new(),
        lane_of: Vec::with_capacity(records.len()),
        cause_of: Vec::with_capacity(records.len()),
    };
    let mut index: BTreeMap<Lane, usize> = BTreeMap::new();
    let mut lane = |t: &mut Timeline, kind: LaneKind, tenant: &str, name: &str| {
        let lane = Lane {
            kind,
            tenant: tenant.to_string(),
            name: name.to_string(),
        };
        *index.entry(lane.clone()).or_insert_with(|| {
            t.lanes.push(lane);
            t.lanes.len() - 1
        })
    };
    lane(&mut t, LaneKind::Inputs, "", "");
    for (i, r) in records.iter().enumerate() {
        // A cause is always earlier; one that is not is not drawn.
        let cause = r.cause().map(|c| c as usize).filter(|&c| c < i);
        let lane_of_cause = cause.map_or(0, |c| t.lane_of[c]);
        // The tenant a record's cause is in (a reflex lane is per tenant).
        let tenant_of_cause = |t: &Timeline| t.lanes[lane_of_cause].tenant.clone();
        let on = match r {
            Record::Input { .. } => 0,
            Record::Dispatch {
                tenant,
                entity_type,
                id,
                ..
            }
            | Record::Transition {
                tenant,
                entity_type,
                id,
                ..
            }
            | Record::ActionFailed {
                tenant,
                entity_type,
                id,
                ..
            } => lane(
                &mut t,
                LaneKind::Entity,
                tenant.as_str(),
                &format!("{entity_type}/{}", id.as_str()),
            ),
            Record::Reaction {
                tenant,
                target_type,
                target_id: Some(id),
                ..
            } => lane(
                &mut t,
                LaneKind::Entity,
                tenant.as_str(),
                &format!("{target_type}/{}", id.as_str()),
            ),
            Record::Deliver { handler, .. } => {
                let tenant = match cause.map(|c| &records[c]) {
                    Some(Record::Publish { tenant, .. }) => tenant.as_str().to_string(),
                    _ => tenant_of_cause(&t),
                };
                lane(&mut t, LaneKind::Reflex, &tenant, handler)
            }
            Record::Fault { on, .. } => match on {
                FaultTarget::Reaction { target, .. } => {
                    let tenant = tenant_of_cause(&t);
                    lane(&mut t, LaneKind::Entity, &tenant, target)
                }
                FaultTarget::Delivery { handler, .. } => {
                    let tenant = match cause.map(|c| &records[c]) {
                        Some(Record::Publish { tenant, .. }) => tenant.as_str().to_string(),
                        _ => tenant_of_cause(&t),
                    };
                    lane(&mut t, LaneKind::Reflex, &tenant, handler)
                }
                FaultTarget::Action { .. } | FaultTarget::Handler { .. } => lane_of_cause,
            },
            Record::Publish { .. }
            | Record::Outcome { .. }
            | Record::Reaction { .. }
            | Record::GuardSkip { .. }
            | Record::DepthLimit { .. }
            | Record::Warning { .. } => lane_of_cause,
        };
        t.lane_of.push(on);
        t.cause_of.push(cause.map(|cause| Link { cause }));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Seed;
    use crate::scenario::load_scenario;
    use crate::sim::Runner;
    use std::path::Path;

    fn run(name: &str, seed: u64) -> (crate::sim::RunOutcome, crate::scenario::Scenario) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(name);
        let s = load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
        let o = Runner::new(&s).run(Seed(seed));
        (o, s)
    }

    fn find(records: &[Record], what: impl Fn(&Record) -> bool) -> usize {
        records.iter().position(what).expect("a record")
    }

    /// The race's late authorization links back to the confirmation of `o1`, whose rule
    /// sent it, across the cancellation that ran in between; so does the delay fault on it.
    #[test]
    fn a_delayed_reaction_links_to_the_commit_that_sent_it() {
        let (o, _) = run("race.toml", 0);
        let t = timeline(&o.records);
        let late = find(&o.records, |r| {
            matches!(r, Record::Dispatch { id, action, .. }
                if id.as_str() == "o1" && action == "AuthorizePayment")
        });
        let source = t.cause_of[late].expect("a cause").cause;
        assert!(
            matches!(&o.records[source], Record::Transition { id, action, .. }
            if id.as_str() == "o1" && action == "ConfirmOrder")
        );
        let cancel = find(&o.records, |r| {
            matches!(r, Record::Transition { id, action, .. }
                if id.as_str() == "o1" && action == "CancelOrder")
        });
        assert!(
            source < cancel && cancel < late,
            "the arrow crosses the cancellation"
        );
        let fault = find(&o.records, |r| {
            matches!(r, Record::Fault { fault: crate::core::FaultKind::Delay, on, .. }
                if on.to_string().ends_with("Payment/o1"))
        });
        assert_eq!(t.cause_of[fault].map(|l| l.cause), Some(source));
        let lane = |i: usize| &t.lanes[t.lane_of[i]];
        assert_eq!(lane(late).name, "Payment/o1");
        assert_eq!(lane(fault).name, "Payment/o1");
        assert_eq!(lane(source).name, "Order/o1");
        assert_eq!(t.lanes[0].kind, LaneKind::Inputs);
    }

    /// Every dispatch and delivery of the shipped scenarios has a cause, and every cause
    /// comes before its effect.
    #[test]
    fn every_dispatch_and_delivery_links_to_an_earlier_cause() {
        for name in [
            "order_payment.toml",
            "netops.toml",
            "cycle.toml",
            "pipeline.toml",
        ] {
            let (o, _) = run(name, 1);
            let t = timeline(&o.records);
            assert_eq!(t.lane_of.len(), o.records.len());
            for (i, r) in o.records.iter().enumerate() {
                let cause = t.cause_of[i];
                assert!(cause.is_none_or(|c| c.cause < i), "{name} {i}");
                if matches!(r, Record::Dispatch { .. } | Record::Deliver { .. }) {
                    assert!(cause.is_some(), "{name}: record {i} {r:?} has no cause");
                }
            }
        }
    }
}
