//! The timeline of one run, as the HTML report draws it: a lane per entity, one per reflex
//! handler and one for the root inputs; each record on its lane; and for each record, the
//! record that caused it.
//!
//! Causes come from what the trace records. A dispatch's origin names its root event, or the
//! reflex and the bus event it acted on; a delivery names its bus event (and a fault that
//! delayed or duplicated it is recorded, with the event, when the event is published); an
//! outcome names its event and handler; a transition follows its dispatch; a commit's
//! publication follows its transition; a guard skip or a depth limit names its source's
//! depth. A fault on a reaction message is recorded as its source commits and names the
//! message's rule and target, so the dispatch it delayed or duplicated links back to it.
//! Without faults a cascade runs inline, depth-first and pre-order, so a rule's dispatch comes
//! from the latest commit one level up: exact.
//!
//! What the trace does not record: with faults on, a reaction message that no fault touched
//! is not in the trace when its source commits. Its source is *inferred*: the latest earlier
//! commit one level up, in the same tenant, that the rule's `when` matches, preferring a
//! commit of the target's own id (the `same_id` resolver). Such links say so ([`Link::inferred`])
//! and the page draws them dashed.

use crate::core::{FaultKind, FaultTarget, Origin, Record, TenantId};
use crate::engine::Rule;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

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
    /// Not recorded in the trace but inferred from the rule's `when` (see the module doc).
    pub inferred: bool,
}

/// Every record on its lane, with its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// In order of first appearance, the inputs lane first.
    pub lanes: Vec<Lane>,
    /// Per record: its lane.
    pub lane_of: Vec<usize>,
    /// Per record: what caused it (`None`: a root input, or nothing recorded).
    pub cause_of: Vec<Option<Link>>,
}

/// How many recent commits per entity type are kept to infer a reaction's source.
const RECENT_COMMITS_MAX: usize = 64;

/// Lays out `records` (a whole run, in order). `rules` are the scenario's, per tenant: they
/// say which commits a rule fires on, for the links that must be inferred; `inline` is true
/// when the run had no faults (cascades ran inline).
pub fn timeline(
    records: &[Record],
    rules: &BTreeMap<TenantId, Vec<Arc<Rule>>>,
    inline: bool,
) -> Timeline {
    let mut b = Builder::new(rules, inline, records.len());
    for (i, r) in records.iter().enumerate() {
        b.add(i, r);
    }
    debug_assert_eq!(b.lane_of.len(), records.len());
    debug_assert!(b
        .cause_of
        .iter()
        .enumerate()
        .all(|(i, c)| c.is_none_or(|c| c.cause < i)));
    Timeline {
        lanes: b.lanes,
        lane_of: b.lane_of,
        cause_of: b.cause_of,
    }
}

/// A delay or duplicate fault on a reaction message, waiting for the dispatch it moved: its
/// kind, its record, and when the message was due.
type PendingFault = (FaultKind, usize, u64);

/// A reaction message as its dispatch records it.
#[derive(Clone, Copy)]
struct Message<'a> {
    rule: &'a str,
    copy: bool,
    /// `Type/id`, as a fault names it.
    target: &'a str,
    tenant: &'a str,
    id: &'a str,
    depth: u32,
    at_ms: u64,
}

struct Builder<'r> {
    rules: &'r BTreeMap<TenantId, Vec<Arc<Rule>>>,
    inline: bool,
    lanes: Vec<Lane>,
    lane_index: BTreeMap<Lane, usize>,
    lane_of: Vec<usize>,
    cause_of: Vec<Option<Link>>,
    /// Bus event id -> its publication's record and tenant.
    published: BTreeMap<u64, (usize, String)>,
    /// Root event index -> its latest input record.
    inputs: BTreeMap<u32, usize>,
    /// (bus event, handler) -> its deliveries so far.
    delivered: BTreeMap<(u64, String), Vec<usize>>,
    outcomes: BTreeMap<(u64, String), usize>,
    /// Faults on deliveries, by (bus event, handler), not yet matched with a delivery.
    delivery_faults: BTreeMap<(u64, String), VecDeque<(FaultKind, usize)>>,
    /// Delay and duplicate faults on reaction messages, by (rule, `Type/id`), not yet matched.
    reaction_faults: BTreeMap<(String, String), VecDeque<PendingFault>>,
    /// The latest dispatch, and its depth.
    dispatch: Option<(usize, u32)>,
    /// Per record: the depth of the commit it is (transitions only; `u32::MAX` otherwise).
    commit_depth: Vec<u32>,
    /// The latest commit at each depth of the current cascade (depth-first, pre-order).
    stack: Vec<Option<usize>>,
    /// The latest transition or failed action, the latest outcome, the latest input.
    last_commit: Option<usize>,
    last_result: Option<usize>,
    last_outcome: Option<usize>,
    last_input: Option<usize>,
    /// Recent commits per (tenant, entity type), newest last, to infer reaction sources.
    recent: BTreeMap<(String, String), VecDeque<usize>>,
    /// What each commit was: (tenant, entity type, id, action, to).
    commits: BTreeMap<usize, [String; 5]>,
}

impl<'r> Builder<'r> {
    fn new(rules: &'r BTreeMap<TenantId, Vec<Arc<Rule>>>, inline: bool, n: usize) -> Self {
        let mut b = Builder {
            rules,
            inline,
            lanes: Vec::new(),
            lane_index: BTreeMap::new(),
            lane_of: Vec::with_capacity(n),
            cause_of: Vec::with_capacity(n),
            published: BTreeMap::new(),
            inputs: BTreeMap::new(),
            delivered: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            delivery_faults: BTreeMap::new(),
            reaction_faults: BTreeMap::new(),
            dispatch: None,
            commit_depth: Vec::with_capacity(n),
            stack: Vec::new(),
            last_commit: None,
            last_result: None,
            last_outcome: None,
            last_input: None,
            recent: BTreeMap::new(),
            commits: BTreeMap::new(),
        };
        b.lane(LaneKind::Inputs, "", "");
        b
    }

    fn lane(&mut self, kind: LaneKind, tenant: &str, name: &str) -> usize {
        let lane = Lane {
            kind,
            tenant: tenant.to_string(),
            name: name.to_string(),
        };
        if let Some(&i) = self.lane_index.get(&lane) {
            return i;
        }
        let i = self.lanes.len();
        self.lanes.push(lane.clone());
        self.lane_index.insert(lane, i);
        i
    }

    fn entity_lane(&mut self, tenant: &str, entity_type: &str, id: &str) -> usize {
        self.lane(LaneKind::Entity, tenant, &format!("{entity_type}/{id}"))
    }

    fn lane_of_record(&self, i: Option<usize>) -> usize {
        i.map_or(0, |i| self.lane_of[i])
    }

    fn tenant_of_lane(&self, lane: usize) -> String {
        self.lanes[lane].tenant.clone()
    }

    fn add(&mut self, i: usize, r: &Record) {
        let exact = |cause: Option<usize>| {
            cause.map(|cause| Link {
                cause,
                inferred: false,
            })
        };
        let mut depth = u32::MAX;
        let (lane, cause) = match r {
            Record::Input { event, .. } => {
                self.inputs.insert(*event, i);
                self.last_input = Some(i);
                self.stack.clear();
                (0, None)
            }
            Record::Publish { event, tenant, .. } => {
                // A root publication follows its input; any other, the commit it announces.
                let cause = match self.last_input {
                    Some(input) if input + 1 == i => Some(input),
                    _ => self.last_commit,
                };
                self.published
                    .insert(event.0, (i, tenant.as_str().to_string()));
                (self.lane_of_record(cause), exact(cause))
            }
            Record::Deliver { event, handler, .. } => {
                let key = (event.0, handler.clone());
                let (publish, tenant) = match self.published.get(&event.0) {
                    Some((p, t)) => (Some(*p), t.clone()),
                    None => (None, String::new()),
                };
                let earlier = self.delivered.get(&key).map_or(0, Vec::len);
                // The first delivery is the one a delay moved; later ones are duplicates.
                let wanted = if earlier == 0 {
                    FaultKind::Delay
                } else {
                    FaultKind::Duplicate
                };
                let fault = self.delivery_faults.get_mut(&key).and_then(|q| {
                    let at = q.iter().position(|(k, _)| *k == wanted)?;
                    q.remove(at).map(|(_, f)| f)
                });
                self.delivered.entry(key).or_default().push(i);
                let lane = self.lane(LaneKind::Reflex, &tenant, handler);
                (lane, exact(fault.or(publish)))
            }
            Record::Outcome { event, handler, .. } => {
                let key = (event.0, handler.clone());
                let deliver = self.delivered.get(&key).and_then(|d| d.last().copied());
                self.outcomes.insert(key, i);
                self.last_outcome = Some(i);
                self.last_result = Some(i);
                (self.lane_of_record(deliver), exact(deliver))
            }
            Record::Dispatch {
                tenant,
                entity_type,
                id,
                depth: d,
                origin,
                at,
                ..
            } => {
                let lane = self.entity_lane(tenant.as_str(), entity_type, id.as_str());
                let cause = match origin {
                    Origin::Root { event } => exact(self.inputs.get(event).copied()),
                    Origin::Reflex { handler, event } => exact(
                        self.outcomes
                            .get(&(event.0, handler.clone()))
                            .copied()
                            .or_else(|| {
                                self.delivered
                                    .get(&(event.0, handler.clone()))
                                    .and_then(|d| d.last().copied())
                            }),
                    ),
                    Origin::Rule { rule, copy } => {
                        let target = format!("{entity_type}/{}", id.as_str());
                        let message = Message {
                            rule,
                            copy: *copy,
                            target: &target,
                            tenant: tenant.as_str(),
                            id: id.as_str(),
                            depth: d.0,
                            at_ms: at.ms(),
                        };
                        self.rule_cause(&message)
                    }
                };
                self.dispatch = Some((i, d.0));
                (lane, cause)
            }
            Record::Transition {
                tenant,
                entity_type,
                id,
                action,
                to,
                ..
            } => {
                let lane = self.entity_lane(tenant.as_str(), entity_type, id.as_str());
                let (dispatch, d) = match self.dispatch {
                    Some((at, d)) => (Some(at), d),
                    None => (None, 0),
                };
                depth = d;
                let d = d as usize;
                if self.stack.len() <= d {
                    self.stack.resize(d + 1, None);
                }
                self.stack[d] = Some(i);
                self.stack.truncate(d + 1);
                self.last_commit = Some(i);
                self.last_result = Some(i);
                let key = (tenant.as_str().to_string(), entity_type.clone());
                let recent = self.recent.entry(key).or_default();
                recent.push_back(i);
                if recent.len() > RECENT_COMMITS_MAX {
                    recent.pop_front();
                }
                self.commits.insert(
                    i,
                    [
                        tenant.as_str().to_string(),
                        entity_type.clone(),
                        id.as_str().to_string(),
                        action.clone(),
                        to.clone(),
                    ],
                );
                (lane, exact(dispatch))
            }
            Record::ActionFailed {
                tenant,
                entity_type,
                id,
                ..
            } => {
                let lane = self.entity_lane(tenant.as_str(), entity_type, id.as_str());
                let dispatch = self.dispatch.map(|(at, _)| at);
                // A failed action fires nothing: it is no parent.
                if let Some((_, d)) = self.dispatch {
                    self.stack.truncate(d as usize);
                }
                self.last_result = Some(i);
                (lane, exact(dispatch))
            }
            Record::Reaction {
                tenant,
                target_type,
                target_id,
                depth: d,
                ..
            } => match target_id {
                // The result of the commit just made.
                Some(id) => {
                    let lane = self.entity_lane(tenant.as_str(), target_type, id.as_str());
                    (lane, exact(self.last_result))
                }
                // The target did not resolve: recorded at the source's commit.
                None => {
                    let source = self.stack.get(d.0 as usize).copied().flatten();
                    (self.lane_of_record(source), exact(source))
                }
            },
            Record::GuardSkip { depth: d, .. } => {
                let source = self
                    .stack
                    .get(d.0 as usize)
                    .copied()
                    .flatten()
                    .or(self.last_commit);
                (self.lane_of_record(source), exact(source))
            }
            Record::DepthLimit { rule, depth: d, .. } => {
                // A reflex's or a root input's dispatch past the bound names itself so.
                let source = if rule.starts_with("reflex:") {
                    self.last_outcome
                } else if rule.starts_with("event:") {
                    self.last_input
                } else {
                    self.stack
                        .get(d.0 as usize)
                        .copied()
                        .flatten()
                        .or(self.last_commit)
                };
                (self.lane_of_record(source), exact(source))
            }
            Record::Fault {
                fault,
                on,
                event,
                delay_ms,
                at,
                ..
            } => self.fault(i, *fault, on, event.map(|e| e.0), *delay_ms, at.ms()),
            Record::Warning { .. } => {
                let cause = self.last_commit;
                (self.lane_of_record(cause), exact(cause))
            }
        };
        self.lane_of.push(lane);
        self.cause_of.push(cause);
        self.commit_depth.push(depth);
    }

    fn fault(
        &mut self,
        i: usize,
        fault: FaultKind,
        on: &FaultTarget,
        event: Option<u64>,
        delay_ms: u64,
        at_ms: u64,
    ) -> (usize, Option<Link>) {
        let exact = |cause: Option<usize>| {
            cause.map(|cause| Link {
                cause,
                inferred: false,
            })
        };
        match on {
            FaultTarget::Reaction { rule, target } => {
                // Recorded as the source commits: the latest commit is the source.
                let source = self.last_commit;
                let tenant = self.tenant_of_lane(self.lane_of_record(source));
                let (entity_type, id) = target.split_once('/').unwrap_or((target, ""));
                let lane = self.entity_lane(&tenant, entity_type, id);
                if matches!(fault, FaultKind::Delay | FaultKind::Duplicate) {
                    self.reaction_faults
                        .entry((rule.clone(), target.clone()))
                        .or_default()
                        .push_back((fault, i, at_ms + delay_ms));
                }
                (lane, exact(source))
            }
            FaultTarget::Delivery { handler, .. } => {
                let (publish, tenant) = match event.and_then(|e| self.published.get(&e)) {
                    Some((p, t)) => (Some(*p), t.clone()),
                    None => (None, String::new()),
                };
                if let Some(e) = event {
                    if matches!(fault, FaultKind::Delay | FaultKind::Duplicate) {
                        self.delivery_faults
                            .entry((e, handler.clone()))
                            .or_default()
                            .push_back((fault, i));
                    }
                }
                let lane = self.lane(LaneKind::Reflex, &tenant, handler);
                (lane, exact(publish))
            }
            FaultTarget::Handler { handler, .. } => {
                let deliver = event.and_then(|e| {
                    self.delivered
                        .get(&(e, handler.clone()))
                        .and_then(|d| d.last().copied())
                });
                (self.lane_of_record(deliver), exact(deliver))
            }
            FaultTarget::Action { .. } => {
                // Recorded as the action is applied, after its dispatch.
                let dispatch = self.dispatch.map(|(at, _)| at);
                (self.lane_of_record(dispatch), exact(dispatch))
            }
        }
    }

    /// The cause of a reaction's dispatch (see the module doc).
    fn rule_cause(&mut self, m: &Message<'_>) -> Option<Link> {
        let Message {
            rule,
            copy,
            target,
            tenant,
            id,
            depth,
            at_ms,
        } = *m;
        let source_depth = depth.checked_sub(1)?;
        if self.inline {
            let cause = self.stack.get(source_depth as usize).copied().flatten()?;
            return Some(Link {
                cause,
                inferred: false,
            });
        }
        // A fault recorded on this message: a copy comes from its duplicate fault, the
        // original from a delay that lands now (or, without reorder, no later than now).
        let wanted = if copy {
            FaultKind::Duplicate
        } else {
            FaultKind::Delay
        };
        if let Some(q) = self
            .reaction_faults
            .get_mut(&(rule.to_string(), target.to_string()))
        {
            let due = |(k, _, due): &PendingFault| *k == wanted && *due == at_ms;
            let early =
                |(k, _, due): &(FaultKind, usize, u64)| *k == wanted && (copy || *due <= at_ms);
            let found = q.iter().position(due).or_else(|| q.iter().position(early));
            if let Some((_, fault, _)) = found.and_then(|p| q.remove(p)) {
                return Some(Link {
                    cause: fault,
                    inferred: false,
                });
            }
        }
        // Inferred: the latest commit one level up that the rule's `when` matches.
        let when = &self
            .rules
            .get(tenant)?
            .iter()
            .find(|r| r.name == rule)?
            .when;
        let recent = self
            .recent
            .get(&(tenant.to_string(), when.entity_type.clone()))?;
        let matches = |c: &usize| {
            let [_, _, _, action, to] = &self.commits[c];
            self.commit_depth[*c] == source_depth
                && when.action.as_ref().is_none_or(|a| a == action)
                && when.to_state.as_ref().is_none_or(|s| s == to)
        };
        let same_id = recent
            .iter()
            .rev()
            .find(|c| matches(c) && self.commits[*c][2] == id);
        let cause = same_id.or_else(|| recent.iter().rev().find(|c| matches(c)))?;
        Some(Link {
            cause: *cause,
            inferred: true,
        })
    }
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

    /// The race's late authorization links back to the delay fault recorded as `o1` was
    /// confirmed, and that fault to the confirmation: the arrow the report draws across
    /// the cancellation.
    #[test]
    fn a_delayed_reaction_links_to_its_fault_and_the_fault_to_its_source_commit() {
        let (o, s) = run("race.toml", 0);
        let t = timeline(&o.records, &s.rules, o.faults.is_none());
        let late = find(&o.records, |r| {
            matches!(r, Record::Dispatch { id, action, .. }
                if id.as_str() == "o1" && action == "AuthorizePayment")
        });
        let fault = t.cause_of[late].expect("a cause");
        assert!(!fault.inferred);
        assert!(matches!(
            o.records[fault.cause],
            Record::Fault {
                fault: FaultKind::Delay,
                ..
            }
        ));
        let source = t.cause_of[fault.cause].expect("the fault's cause").cause;
        assert!(
            matches!(&o.records[source], Record::Transition { id, action, .. }
            if id.as_str() == "o1" && action == "ConfirmOrder")
        );
        // Both on the payment's lane, the confirmation on the order's.
        let lane = |i: usize| &t.lanes[t.lane_of[i]];
        assert_eq!(lane(late).name, "Payment/o1");
        assert_eq!(lane(fault.cause).name, "Payment/o1");
        assert_eq!(lane(source).name, "Order/o1");
        assert_eq!(t.lanes[0].kind, LaneKind::Inputs);
    }

    /// With faults on, an undelayed reaction's source is inferred from its rule, and says so.
    #[test]
    fn an_undelayed_reaction_message_has_an_inferred_source_of_its_own_id() {
        let (o, s) = run("race.toml", 0);
        let t = timeline(&o.records, &s.rules, false);
        let void = find(&o.records, |r| {
            matches!(r, Record::Dispatch { id, action, .. }
                if id.as_str() == "o1" && action == "VoidPayment")
        });
        let link = t.cause_of[void].expect("a cause");
        assert!(link.inferred);
        assert!(
            matches!(&o.records[link.cause], Record::Transition { id, action, .. }
            if id.as_str() == "o1" && action == "CancelOrder")
        );
    }

    /// Without faults, every dispatch of every shipped scenario has an exact cause, and
    /// every cause comes before its effect.
    #[test]
    fn inline_cascades_and_reflexes_link_every_dispatch_exactly() {
        for name in [
            "order_payment.toml",
            "netops.toml",
            "cycle.toml",
            "pipeline.toml",
        ] {
            let (o, s) = run(name, 1);
            if o.faults.is_some() {
                continue;
            }
            let t = timeline(&o.records, &s.rules, true);
            assert_eq!(t.lane_of.len(), o.records.len());
            for (i, r) in o.records.iter().enumerate() {
                let cause = t.cause_of[i];
                assert!(
                    cause.is_none_or(|c| c.cause < i && !c.inferred),
                    "{name} {i}"
                );
                if matches!(r, Record::Dispatch { .. } | Record::Deliver { .. }) {
                    assert!(cause.is_some(), "{name}: record {i} {r:?} has no cause");
                }
            }
        }
    }
}
