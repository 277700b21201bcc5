//! The world between records, for the HTML report: each entity before and after the
//! scheduler step that touched it, and the whole world at each violation.
//!
//! A run's records say how an entity's status moved, not its fields. To show them, the
//! report runs the seed again one scheduler step at a time (a run is a pure function of its
//! seed) and looks at the store after each step. A step is the unit an invariant sees: an
//! inline cascade is atomic, so "before" is the entity as the step began and "after" as its
//! instant settled, even when the step touched it twice.
//!
//! What this leaves out: states inside one step (an inline cascade's intermediate fields), and
//! anything past [`SNAPSHOT_BYTES_MAX`] of distinct snapshots (the page says so).

use crate::core::Record;
use crate::scenario::{ReflexKind, Scenario};
use crate::sim::{EntityRow, Retain, RunOutcome, Runner};
use std::collections::BTreeMap;

/// Distinct entity snapshots kept, in bytes of JSON: enough for every step of a
/// 100,000-step run of the shipped scenarios, and a bound on the page for any run.
pub const SNAPSHOT_BYTES_MAX: usize = 8 * 1024 * 1024;

/// At most this many entities are listed in a world at a violation.
pub const WORLD_ROWS_MAX: usize = 500;

/// An entity as a snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Snapshot {
    /// It did not exist.
    Absent,
    /// Its JSON (`{"status":…,"fields":{…}}`), an index into [`WorldTrail::texts`].
    Text(usize),
    /// Not kept: the snapshot budget ran out.
    Unknown,
}

/// What the stepwise re-run saw.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldTrail {
    /// Distinct snapshot texts.
    pub texts: Vec<String>,
    /// For each record about an entity (a dispatch, a transition, a failed action), by record
    /// index: the entity before its step and after it.
    pub states: BTreeMap<usize, (Snapshot, Snapshot)>,
    /// For each violation, by its step: the world as that step's instant settled (the final
    /// world for a check at the end), at most [`WORLD_ROWS_MAX`] rows, and how many entities
    /// there were.
    pub worlds: BTreeMap<u64, (Vec<EntityRow>, usize)>,
    /// Whether the re-run wrote as many records as the run: if not (a run that does not
    /// reproduce), `states` and the worlds inside the run are empty.
    pub reproduced: bool,
}

type Key = (String, String, String);

/// Runs `outcome`'s seed again, step by step (see the module doc).
pub fn world_trail(scenario: &Scenario, outcome: &RunOutcome) -> WorldTrail {
    let records = &outcome.records;
    let mut trail = WorldTrail {
        texts: Vec::new(),
        states: BTreeMap::new(),
        worlds: BTreeMap::new(),
        reproduced: true,
    };
    if scenario
        .reflexes
        .iter()
        .any(|r| matches!(r.kind, ReflexKind::Library { .. }))
    {
        // Its Rust handlers were registered with the caller's runner, not here: a run
        // without them is another run, so the world between records is not shown.
        trail.reproduced = false;
        return trail;
    }
    let runner = Runner::new(scenario)
        .swarm(outcome.swarm)
        .keep(Retain::Summary);
    let mut sim = runner.sim(outcome.seed);
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut bytes = 0usize;
    let mut last: BTreeMap<Key, Snapshot> = BTreeMap::new();
    let mut wanted: Vec<u64> = outcome.violations.iter().map(|v| v.step).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut done = 0usize;
    while sim.step().is_ok() {
        let end = (sim.records_written() as usize).min(records.len());
        let store = sim.engine().store();
        let step = &records[done..end];
        // The entities this step touched, as it left them.
        let mut after: BTreeMap<Key, Snapshot> = BTreeMap::new();
        for r in step {
            if let Some(key) = entity_of(r) {
                if after.contains_key(&key) {
                    continue;
                }
                let snap = match store.get(&key.0, &key.1, &key.2) {
                    None => Snapshot::Absent,
                    Some(e) => {
                        let text =
                            serde_json::json!({"status": e.status, "fields": e.fields}).to_string();
                        match index.get(&text) {
                            Some(&i) => Snapshot::Text(i),
                            None if bytes + text.len() > SNAPSHOT_BYTES_MAX => Snapshot::Unknown,
                            None => {
                                bytes += text.len();
                                let i = trail.texts.len();
                                index.insert(text.clone(), i);
                                trail.texts.push(text);
                                Snapshot::Text(i)
                            }
                        }
                    }
                };
                after.insert(key, snap);
            }
        }
        for (i, r) in step.iter().enumerate() {
            if let Some(key) = entity_of(r) {
                let before = last.get(&key).cloned().unwrap_or(Snapshot::Absent);
                trail.states.insert(done + i, (before, after[&key].clone()));
            }
        }
        last.extend(after);
        for &v in &wanted {
            if (done as u64..end as u64).contains(&v) {
                let rows: Vec<EntityRow> = store
                    .iter()
                    .take(WORLD_ROWS_MAX)
                    .map(|(tenant, entity_type, id, e)| EntityRow {
                        tenant: tenant.clone(),
                        entity_type: entity_type.to_string(),
                        id: id.clone(),
                        status: e.status.clone(),
                        fields: e.fields.clone(),
                    })
                    .collect();
                trail.worlds.insert(v, (rows, store.len()));
            }
        }
        done = end;
    }
    if done != records.len() || sim.records_written() as usize != records.len() {
        trail.reproduced = false;
        trail.states.clear();
        trail.worlds.clear();
    }
    // Checks at the end point past the last record: the final world.
    for &v in &wanted {
        if v as usize >= records.len() {
            let rows = outcome
                .entities
                .iter()
                .take(WORLD_ROWS_MAX)
                .cloned()
                .collect();
            trail.worlds.insert(v, (rows, outcome.entities.len()));
        }
    }
    trail
}

/// The entity a record is about, for the records drawn on an entity's lane.
fn entity_of(r: &Record) -> Option<Key> {
    match r {
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
        } => Some((
            tenant.as_str().to_string(),
            entity_type.clone(),
            id.as_str().to_string(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Seed;
    use crate::scenario::load_scenario;
    use std::path::Path;

    /// In the race, the late authorization finds the payment voided and leaves it
    /// authorized with `voided = true`: the world at the violation shows exactly that.
    #[test]
    fn the_race_shows_the_payment_before_and_after_the_late_authorization() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/race.toml");
        let s = load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
        let o = Runner::new(&s).run(Seed(0));
        let trail = world_trail(&s, &o);
        assert!(trail.reproduced);
        let late = o
            .records
            .iter()
            .position(|r| {
                matches!(r, Record::Transition { id, action, .. }
                    if id.as_str() == "o1" && action == "AuthorizePayment")
            })
            .expect("the late authorization");
        let text = |s: &Snapshot| match s {
            Snapshot::Text(i) => trail.texts[*i].clone(),
            other => panic!("{other:?}"),
        };
        let (before, after) = &trail.states[&late];
        assert!(text(before).contains("\"Voided\""), "{}", text(before));
        assert!(text(after).contains("\"Authorized\""), "{}", text(after));
        let v = &o.violations[0];
        let (world, total) = &trail.worlds[&v.step];
        assert_eq!(*total, world.len());
        let payment = world
            .iter()
            .find(|e| e.entity_type == "Payment" && e.id.as_str() == "o1")
            .expect("Payment/o1 in the world");
        assert_eq!(payment.status, "Authorized");
        // The world at the violation is not the final one: o2 is cancelled only at 2 s.
        let order2 = |rows: &[EntityRow]| {
            rows.iter()
                .find(|e| e.entity_type == "Order" && e.id.as_str() == "o2")
                .map(|e| e.status.clone())
        };
        assert_eq!(order2(world).as_deref(), Some("Confirmed"));
        assert_eq!(order2(&o.entities).as_deref(), Some("Cancelled"));
    }
}
