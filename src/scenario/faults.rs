//! The faults a scenario asks for: `[faults]` rates (or a swarm configuration drawn from a
//! seed, which has the same shape) and an explicit `[[fault]]` schedule, keyed by what each
//! fault hits. Drawing and applying them is the simulator's job.

use crate::core::{format_duration_ms, FaultKind, FaultTarget};
use serde::Serialize;
use std::fmt;

/// The `[faults]` table, validated.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct FaultConfig {
    /// Probability that a message is delayed, and the longest delay (uniform in 1..=max).
    pub delay_p: f64,
    pub delay_ms_max: u64,
    /// Probability that a message is lost.
    pub drop_p: f64,
    /// Probability that a message is delivered twice.
    pub duplicate_p: f64,
    /// `false`: delays keep FIFO per destination (a delayed message holds back later ones);
    /// `true`: a delayed message may be overtaken.
    pub reorder: bool,
    /// Probability that a reflex handler crashes on a delivery (an `errored` outcome).
    pub handler_panic_p: f64,
    /// Probability that an entity action fails.
    pub action_failure_p: f64,
    /// Probability that a reflex process restarts before a delivery, losing its dedup memory.
    pub reflex_restart_p: f64,
}

impl fmt::Display for FaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.delay_p > 0.0 {
            parts.push(format!(
                "delay {:.3} up to {}",
                self.delay_p,
                format_duration_ms(self.delay_ms_max)
            ));
        }
        for (name, p) in [
            ("drop", self.drop_p),
            ("duplicate", self.duplicate_p),
            ("handler_panic", self.handler_panic_p),
            ("action_failure", self.action_failure_p),
            ("reflex_restart", self.reflex_restart_p),
        ] {
            if p > 0.0 {
                parts.push(format!("{name} {p:.3}"));
            }
        }
        if self.reorder {
            parts.push("reorder".into());
        }
        if parts.is_empty() {
            f.write_str("none (messages still scheduled one by one)")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// One entry of an explicit fault schedule (`[[fault]]`): a fault on the `nth` occurrence of
/// a message or action, named by identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScheduledFault {
    pub kind: FaultKind,
    pub on: FaultTarget,
    /// 1-based.
    pub nth: u32,
    /// For `delay` (and the copy of a `duplicate`).
    pub delay_ms: u64,
}
