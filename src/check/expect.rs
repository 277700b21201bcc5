//! `expect`: the scenario's `[[expect]]` entries, checked at quiescence.
//!
//! Each entry names an entity and its expected status and fields (a subset: fields not
//! named are not checked), or `exists = false`: the entity was never created. It does not
//! check anything along the way; use `[[invariant]]` for that.

use crate::check::{observed_value, Invariant, Observation, RunEnd};
use crate::core::{RecordKind, RecordRef};
use crate::scenario::Expect;
use std::sync::Arc;

#[derive(Clone)]
pub struct ExpectCheck {
    /// Shared by the copies a sweep makes, one per run.
    pub expects: Arc<[Expect]>,
}

impl Invariant for ExpectCheck {
    fn name(&self) -> &'static str {
        "expect"
    }

    fn watches(&self, _kind: RecordKind) -> bool {
        false
    }

    fn on_record_ref(&mut self, _record: &RecordRef<'_>) -> Option<String> {
        None
    }

    fn at_end(&mut self, end: &RunEnd) -> Vec<String> {
        self.at_end_observed(end)
            .into_iter()
            .map(|(m, _)| m)
            .collect()
    }

    fn at_end_observed(&mut self, end: &RunEnd) -> Vec<(String, Option<Observation>)> {
        let store = end.store;
        let mut out = Vec::new();
        for x in self.expects.iter() {
            let name = || format!("{}/{}/{}", x.tenant, x.entity_type, x.id);
            let seen = |observed: String| {
                Some(Observation::of_entity(
                    x.tenant.as_str(),
                    &x.entity_type,
                    x.id.as_str(),
                    observed,
                ))
            };
            let found = store.get(&x.tenant.0, &x.entity_type, &x.id.0);
            match (found, x.exists) {
                (Some(e), false) => out.push((
                    format!(
                        "{} exists (status {}), expected it never to be created",
                        name(),
                        e.status
                    ),
                    seen(format!("exists with status {}", e.status)),
                )),
                (None, true) => out.push((
                    format!("{} does not exist", name()),
                    seen("missing entity".into()),
                )),
                (None, false) => {}
                (Some(e), true) => {
                    if let Some(s) = &x.status {
                        if *s != e.status {
                            out.push((
                                format!("{} has status {}, expected {s}", name(), e.status),
                                seen(format!("status {}", e.status)),
                            ));
                        }
                    }
                    for (k, want) in x.fields.iter() {
                        match e.fields.get(k) {
                            Some(have) if have == want => {}
                            Some(have) => out.push((
                                format!("{}.{k} is {have}, expected {want}", name()),
                                seen(format!("{k} = {}", observed_value(have))),
                            )),
                            None => out.push((
                                format!("{}.{k} is missing, expected {want}", name()),
                                seen(format!("{k} missing")),
                            )),
                        }
                    }
                }
            }
        }
        out
    }
}
