//! A `[[fault]]` schedule's reflex restart is followed by the cascade model: the restarted
//! handler forgets what it saw (its dedup memory), exactly on the occurrence the schedule
//! names. (No checkable scenario fails by a restart: only first-party handlers remember,
//! and they dispatch nothing; `tests/model.rs` covers the kinds that can fail a run.)

use crate::model::cascade::{CascadeModel, ModelConfig};
use crate::scenario::parse_scenario;
use stateright::Model;
use std::path::Path;
use std::sync::Arc;

const TRAPS: &str = r#"
[scenario]
name = "restart"

[[tenant]]
id = "n"

[[entity]]
type = "Incident"
states = ["Open"]
initial = "Open"
[[entity.action]]
name = "Touch"

[[reflex]]
builtin = "link_down"
tenant = "n"

[[event]]
at = "0ms"
tenant = "n"
subject = "sensory.link_down.snmp_trap.r1|Gi0/1"
payload = { device = "r1", interface = "Gi0/1" }

[[event]]
at = "1ms"
tenant = "n"
subject = "sensory.link_down.snmp_trap.r1|Gi0/1"
payload = { device = "r1", interface = "Gi0/1" }

"#;

/// What the handler remembers at the end of one path, with a restart scheduled on the
/// `nth` delivery of the trap.
fn remembered_at_end(nth: u32) -> usize {
    let text = format!(
        "{TRAPS}[[fault]]\nkind = \"reflex_restart\"\nhandler = \"link_down\"\nsubject = \"sensory.link_down.snmp_trap.r1|Gi0/1\"\nnth = {nth}\n"
    );
    let scenario = parse_scenario(&text, Path::new("scenarios/restart.toml")).expect("it loads");
    let model = CascadeModel::new(Arc::new(scenario), ModelConfig::default()).expect("a model");
    let mut s = model.initial();
    for _ in 0..100 {
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        let Some(&a) = actions.first() else {
            return s.memory.len();
        };
        s = model.transition(&s, a).0;
    }
    panic!("two traps quiesce within 100 steps");
}

#[test]
fn a_scheduled_reflex_restart_makes_the_handler_forget_on_that_delivery() {
    assert_eq!(
        remembered_at_end(3),
        2,
        "never hit: both deliveries remembered"
    );
    assert_eq!(
        remembered_at_end(2),
        1,
        "restarted on the second: only it remembered"
    );
    assert_eq!(
        remembered_at_end(1),
        2,
        "restarted on the first: nothing to forget yet"
    );
}
