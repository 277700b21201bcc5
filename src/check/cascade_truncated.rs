//! `cascade_truncated`: a cascade reached the depth bound and a rule (or reflex dispatch)
//! was dropped. Usually a cycle. A scenario that expects it sets `allow_truncation = true`.
//!
//! Reports the first drop per rule (one cycle drops the same rule many times over). It does
//! not say whether the cycle is a bug; read the cascade in the report.

use crate::check::Invariant;
use crate::core::{Record, RecordKind, RecordRef};
use std::collections::BTreeSet;

#[derive(Clone)]
pub struct CascadeTruncated {
    pub depth_max: u32,
    reported: BTreeSet<String>,
}

impl CascadeTruncated {
    pub fn new(depth_max: u32) -> CascadeTruncated {
        CascadeTruncated {
            depth_max,
            reported: BTreeSet::new(),
        }
    }
}

impl Invariant for CascadeTruncated {
    fn name(&self) -> &'static str {
        "cascade_truncated"
    }

    fn watches(&self, kind: RecordKind) -> bool {
        kind == RecordKind::DepthLimit
    }

    fn on_record(&mut self, record: &Record) -> Option<String> {
        self.on_record_ref(&record.view())
    }

    fn on_record_ref(&mut self, record: &RecordRef<'_>) -> Option<String> {
        match record {
            RecordRef::DepthLimit { rule, tenant, .. } if !self.reported.contains(*rule) && self.reported.insert(rule.to_string()) => Some(format!(
                "rule {rule} (tenant {tenant}) was dropped at max_depth {}: the cascade was cut, usually by a cycle; set allow_truncation = true if that is intended",
                self.depth_max
            )),
            _ => None,
        }
    }
}
