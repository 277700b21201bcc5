//! `[[reaction]]` and `[[tenant.reaction]]`: inline rules, and the check that every rule
//! names declared entity types, actions and states.

use super::{known, known_or, Loader};
use crate::engine::{EntitySpec, Rule};
use crate::scenario::SourceError;
use crate::scenario::{validate_rule_defs, RuleDef};
use std::collections::BTreeMap;
use std::path::Path;

impl Loader<'_> {
    pub(super) fn inline_rules(
        &self,
        defs: Vec<RuleDef>,
    ) -> Result<Vec<(Rule, usize)>, SourceError> {
        let offsets: Vec<usize> = defs.iter().map(|d| d.name.span().start).collect();
        let rules = validate_rule_defs(defs, self.path, self.text)?;
        Ok(rules.into_iter().zip(offsets).collect())
    }

    /// A rule must name declared entity types, actions and states: a typo would otherwise
    /// make it a rule that never fires.
    pub(super) fn check_rule(
        &self,
        rule: &Rule,
        entities: &BTreeMap<String, EntitySpec>,
        file: &Path,
        text: &str,
        offset: usize,
    ) -> Result<(), SourceError> {
        let at = |msg: String, hint: String| {
            SourceError::at(file, text, offset, format!("rule {:?}: {msg}", rule.name))
                .with_hint(hint)
        };
        let source = entities.get(&rule.when.entity_type).ok_or_else(|| {
            at(
                format!(
                    "when.entity_type {:?} is not a declared entity type",
                    rule.when.entity_type
                ),
                format!(
                    "declare it with [[entity]]{}",
                    known("declared types", entities.keys().map(String::as_str))
                ),
            )
        })?;
        if let Some(action) = &rule.when.action {
            if !source.actions.contains_key(action) {
                return Err(at(
                    format!(
                        "when.action {action:?} is not an action of {}",
                        source.type_name
                    ),
                    known_or("actions", source.actions.keys().map(String::as_str)),
                ));
            }
        }
        if let Some(state) = &rule.when.to_state {
            if !source.states.contains(state) {
                return Err(at(
                    format!(
                        "when.to_state {state:?} is not a state of {}",
                        source.type_name
                    ),
                    known_or("states", source.states.iter().map(String::as_str)),
                ));
            }
        }
        let target = entities.get(&rule.then.entity_type).ok_or_else(|| {
            at(
                format!(
                    "then.entity_type {:?} is not a declared entity type",
                    rule.then.entity_type
                ),
                format!(
                    "declare it with [[entity]]{}",
                    known("declared types", entities.keys().map(String::as_str))
                ),
            )
        })?;
        if !target.actions.contains_key(&rule.then.action) {
            return Err(at(
                format!(
                    "then.action {:?} is not an action of {}",
                    rule.then.action, target.type_name
                ),
                known_or("actions", target.actions.keys().map(String::as_str)),
            ));
        }
        // The engine passes a non-table `params` along as it is (temper's dispatcher does),
        // but an action merges only a table into the fields: anything else could never act.
        if !rule.then.params.is_object() {
            return Err(at(
                format!(
                    "then.params is {}, not a table",
                    super::event::kind_of(&rule.then.params)
                ),
                "write a table, e.g. params = { origin = \"e2e\" }; an action merges its params into the target's fields".into(),
            ));
        }
        Ok(())
    }
}
