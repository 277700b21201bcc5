//! What `publish` sends: the publications of one seeded run of a scenario, computed before
//! any connection is made.
//!
//! The run decides what a scenario's bus events are (generators expanded for the seed,
//! concurrent events in the seed's order) and, with commits, what `entity.<Type>.<Action>.<id>`
//! publications its cascades make and when. Publishing the run's own publications, rather
//! than re-deriving them, is what makes "the scenario that was swept" and "the traffic on
//! the staging bus" the same thing.

use crate::bus::commit_event;
use crate::core::{Record, Seed, SimTime, Subject, TenantId, Value};
use crate::scenario::{expand_generators, Input, RootEvent, Scenario};
use crate::sim::{run_scenario, RunOptions};

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    /// When the run published it.
    pub at: SimTime,
    pub tenant: TenantId,
    pub subject: Subject,
    pub payload: Value,
    /// A committed entity action's publication (not a scenario event).
    pub commit: bool,
}

/// The publications of `scenario` run under `seed`, in the order the run made them: its
/// bus events (scripted and generated) and, with `with_commits`, the publications of its
/// committed entity actions. Events the run did not reach (past `until`) are not included.
pub fn publications(scenario: &Scenario, seed: Seed, with_commits: bool) -> Vec<Publication> {
    let outcome = run_scenario(scenario, seed, RunOptions::default());
    let mut roots: Vec<RootEvent> = scenario.events.clone();
    roots.extend(expand_generators(&scenario.generators, seed));
    let mut out = Vec::new();
    let mut before: Option<&Record> = None;
    for record in &outcome.records {
        if let Record::Publish {
            at,
            tenant,
            subject,
            ..
        } = record
        {
            // The simulator records a root publication right after its input, and a
            // commit's right after its transition (sim/world.rs, engine/cascade.rs).
            match before {
                Some(Record::Input { event, .. }) => {
                    let root = &roots[*event as usize];
                    let Input::Publish {
                        subject: scripted,
                        payload,
                    } = &root.input
                    else {
                        panic!("publication {subject} follows input #{event}, an entity action");
                    };
                    assert_eq!(
                        scripted, subject,
                        "input #{event} published another subject"
                    );
                    out.push(Publication {
                        at: *at,
                        tenant: tenant.clone(),
                        subject: subject.clone(),
                        payload: payload.clone(),
                        commit: false,
                    });
                }
                Some(Record::Transition {
                    entity_type,
                    id,
                    action,
                    to,
                    ..
                }) => {
                    if with_commits {
                        out.push(Publication {
                            at: *at,
                            tenant: tenant.clone(),
                            subject: subject.clone(),
                            payload: commit_event(entity_type, id.as_str(), action, to).0,
                            commit: true,
                        });
                    }
                }
                other => {
                    panic!("publication {subject} follows {other:?}, neither an input nor a commit")
                }
            }
        }
        before = Some(record);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;
    use std::path::Path;

    const SCENARIO: &str = r#"
[scenario]
name = "plan"

[[tenant]]
id = "netops"

[[entity]]
type = "Interface"
states = ["Up", "Down"]
initial = "Up"
[[entity.action]]
name = "MarkDown"
to = "Down"

[[reflex]]
id = "down"
pattern = "sensory.link_down.>"
severity = "high"
then = { entity_type = "Interface", action = "MarkDown", id = "{payload.device}" }

[[event]]
at = "10ms"
tenant = "netops"
subject = "sensory.link_down.snmp_trap.r1"
payload = { device = "r1" }

[[event]]
at = "0ms"
tenant = "netops"
dispatch = { entity_type = "Interface", id = "r0", action = "MarkDown" }

[[generator]]
tenant = "netops"
count = 3
start = "100ms"
every = "1s"
subject = "sensory.link_down.gen.{d}"
payload = { device = "{d}", n = "{n}" }
[generator.values]
d = ["g1", "g2"]
"#;

    fn scenario() -> Scenario {
        parse_scenario(SCENARIO, Path::new("plan.toml")).unwrap()
    }

    #[test]
    fn bus_events_are_published_in_run_order_with_generators_expanded() {
        let s = scenario();
        let pubs = publications(&s, Seed(5), false);
        assert_eq!(
            pubs.len(),
            4,
            "one scripted publication and three generated"
        );
        assert!(pubs.iter().all(|p| !p.commit));
        assert!(pubs.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(pubs[0].subject.as_str(), "sensory.link_down.snmp_trap.r1");
        let generated = expand_generators(&s.generators, Seed(5));
        for (p, g) in pubs[1..].iter().zip(&generated) {
            let Input::Publish { subject, payload } = &g.input else {
                panic!()
            };
            assert_eq!((&p.subject, &p.payload, p.at), (subject, payload, g.at));
        }
    }

    #[test]
    fn with_commits_every_committed_action_is_published_after_its_cause() {
        let s = scenario();
        let pubs = publications(&s, Seed(5), true);
        let commits: Vec<&Publication> = pubs.iter().filter(|p| p.commit).collect();
        // r0 by the scripted dispatch, then one MarkDown per link-down event.
        assert_eq!(commits.len(), 5);
        assert_eq!(commits[0].subject.as_str(), "entity.Interface.MarkDown.r0");
        assert_eq!(commits[0].payload["status"], "Down");
        assert_eq!(commits[0].payload["id"], "r0");
        let first_event = pubs.iter().position(|p| !p.commit).unwrap();
        assert_eq!(
            pubs[first_event + 1].subject.as_str(),
            "entity.Interface.MarkDown.r1",
            "the reflex's commit follows the event it reacted to"
        );
        assert_eq!(
            pubs.iter().filter(|p| !p.commit).count(),
            publications(&s, Seed(5), false).len()
        );
    }

    #[test]
    fn another_seed_draws_other_generated_events() {
        let s = scenario();
        let a: Vec<Value> = publications(&s, Seed(1), false)
            .into_iter()
            .map(|p| p.payload)
            .collect();
        let b: Vec<Value> = publications(&s, Seed(2), false)
            .into_iter()
            .map(|p| p.payload)
            .collect();
        let c: Vec<Value> = publications(&s, Seed(1), false)
            .into_iter()
            .map(|p| p.payload)
            .collect();
        assert_eq!(a, c);
        // Three draws from two devices: seeds 1 and 2 differ somewhere (checked, not hoped:
        // if this fails after a change to the generator stream, pick two other seeds).
        assert_ne!(a, b);
    }
}
