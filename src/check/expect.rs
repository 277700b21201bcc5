//! `expect`: the scenario's `[[expect]]` entries, checked at quiescence.
//!
//! Each entry names an entity and its expected status and fields (a subset: fields not
//! named are not checked), or `exists = false`: the entity was never created. It does not
//! check anything along the way; use `[[invariant]]` for that.

use crate::check::{Invariant, RunEnd};
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
        let store = end.store;
        let mut out = Vec::new();
        for x in self.expects.iter() {
            let name = || format!("{}/{}/{}", x.tenant, x.entity_type, x.id);
            let found = store.get(&x.tenant.0, &x.entity_type, &x.id.0);
            match (found, x.exists) {
                (Some(e), false) => out.push(format!(
                    "{} exists (status {}), expected it never to be created",
                    name(),
                    e.status
                )),
                (None, true) => out.push(format!("{} does not exist", name())),
                (None, false) => {}
                (Some(e), true) => {
                    if let Some(s) = &x.status {
                        if *s != e.status {
                            out.push(format!("{} has status {}, expected {s}", name(), e.status));
                        }
                    }
                    for (k, want) in x.fields.iter() {
                        match e.fields.get(k) {
                            Some(have) if have == want => {}
                            Some(have) => {
                                out.push(format!("{}.{k} is {have}, expected {want}", name()))
                            }
                            None => out.push(format!("{}.{k} is missing, expected {want}", name())),
                        }
                    }
                }
            }
        }
        out
    }
}
