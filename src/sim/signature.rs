//! Failure signatures: what identifies a failure, so that sweeps group seeds that fail the
//! same way and the shrinker keeps only candidates that fail the same way.
//!
//! A signature is the set of its violations' signatures, each: the invariant or expectation,
//! the rule acting at the violating step (when one was), the entity the violation was about
//! (tenant, type, id; for a scenario's `[[invariant]]`, the binding of its variable) and the
//! kind of observation with its value (a missing entity, another status, a field value, the
//! values a predicate read, a depth, a duplicate delivery...).
//!
//! What it leaves out: the violation's message text and step (the same failure reached by
//! a longer path is the same failure), and ids the engine mints (see `check/observation.rs`).

use crate::check::Observation;
use crate::core::{Origin, Record};
use crate::sim::RunOutcome;
use serde::Serialize;
use std::fmt;

/// What identifies one violation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ViolationSignature {
    pub invariant: String,
    /// The rule acting at the violating step, if any.
    pub rule: Option<String>,
    /// The entity and what was seen of it (`None`: the invariant said nothing more).
    #[serde(flatten)]
    pub observation: Option<Observation>,
}

impl fmt::Display for ViolationSignature {
    /// `invariant@rule [tenant/Type/id: observation]`; the parts that are unknown are left
    /// out, so a built-in invariant with nothing more to say reads `depth_bound@rule`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.invariant)?;
        if let Some(rule) = &self.rule {
            write!(f, "@{rule}")?;
        }
        if let Some(o) = &self.observation {
            let entity = o.entity();
            match (entity.is_empty(), o.observed.is_empty()) {
                (true, true) => {}
                (false, true) => write!(f, " [{entity}]")?,
                (true, false) => write!(f, " [{}]", o.observed)?,
                (false, false) => write!(f, " [{entity}: {}]", o.observed)?,
            }
        }
        Ok(())
    }
}

/// What identifies a failure: its violations' signatures, sorted, each once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FailureSignature {
    pub violations: Vec<ViolationSignature>,
}

impl FailureSignature {
    /// The invariants (and expectations) it names.
    pub fn invariants(&self) -> impl Iterator<Item = &str> {
        self.violations.iter().map(|v| v.invariant.as_str())
    }
}

impl fmt::Display for FailureSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                write!(f, " + ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// The rule involved in the violation at `step`: the rule of that record when it names
/// one acting (a reaction result, a depth limit, a dispatch by a rule); otherwise the last
/// rule that acted earlier in the same scheduler step. Guard skips are passed over: a rule
/// whose guard was false did nothing, and naming it would tie the signature to noise.
fn rule_at(records: &[Record], step: u64) -> Option<&str> {
    let upto = records.get(..=step as usize)?;
    for r in upto.iter().rev() {
        match r {
            Record::Reaction { rule, .. } | Record::DepthLimit { rule, .. } => return Some(rule),
            Record::Dispatch {
                origin: Origin::Rule { rule, .. },
                ..
            } => return Some(rule),
            // The start of a scheduler step: nothing before it belongs to this violation.
            Record::Input { .. } | Record::Deliver { .. } => return None,
            _ => {}
        }
    }
    None
}

/// The failure signature of a run (`None` when it passed). The rule of each violation is
/// the one the run noted when it found it ([`RunOutcome::violation_rules`]), so a run that
/// kept no records has the same signature; a violation added afterwards without a note is
/// looked up in the records. Its observation is the one the run noted
/// ([`RunOutcome::violation_observations`]).
pub fn failure_signature(outcome: &RunOutcome) -> Option<FailureSignature> {
    if outcome.violations.is_empty() {
        return None;
    }
    let mut violations: Vec<ViolationSignature> = outcome
        .violations
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let rule = match outcome.violation_rules.get(i) {
                Some(noted) => noted.clone(),
                None => rule_at(&outcome.records, v.step).map(str::to_string),
            };
            ViolationSignature {
                invariant: v.invariant.clone(),
                rule,
                observation: outcome.violation_observations.get(i).cloned().flatten(),
            }
        })
        .collect();
    violations.sort();
    violations.dedup();
    Some(FailureSignature { violations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Seed;
    use crate::scenario::parse_scenario;
    use crate::sim::{run_scenario, RunOptions};
    use std::path::Path;

    fn signature_of(text: &str) -> String {
        let s = parse_scenario(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
        let o = run_scenario(&s, Seed(1), RunOptions::default());
        failure_signature(&o)
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    const SHOP: &str = r#"
[scenario]
name = "sig"
[[tenant]]
id = "shop"
[[entity]]
type = "Payment"
states = ["New", "Authorized", "Voided"]
initial = "New"
[[entity.action]]
name = "Authorize"
to = "Authorized"
[[entity.action]]
name = "Count"
effect = ["increment pages"]
"#;

    #[test]
    fn an_expectation_signature_names_the_entity_and_what_was_seen() {
        let missing = format!(
            "{SHOP}[[expect]]\ntenant = \"shop\"\nentity_type = \"Payment\"\nid = \"o1\"\nstatus = \"Voided\"\n"
        );
        assert_eq!(
            signature_of(&missing),
            "expect [shop/Payment/o1: missing entity]"
        );
        let other_status = format!(
            "{missing}[[event]]\nat = \"0ms\"\ntenant = \"shop\"\ndispatch = {{ entity_type = \"Payment\", id = \"o1\", action = \"Authorize\" }}\n"
        );
        assert_eq!(
            signature_of(&other_status),
            "expect [shop/Payment/o1: status Authorized]"
        );
    }

    #[test]
    fn an_invariant_signature_names_the_binding_and_the_values_read() {
        let text = format!(
            "{SHOP}[[event]]\nat = \"0ms\"\ntenant = \"shop\"\ndispatch = {{ entity_type = \"Payment\", id = \"p9\", action = \"Count\" }}\n[[invariant]]\nname = \"few_pages\"\nalways = \"Payment[x].pages < 1\"\n"
        );
        assert_eq!(
            signature_of(&text),
            "few_pages [shop/p9: Payment[p9].pages = 1]"
        );
    }
}
