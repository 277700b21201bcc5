//! A validated reaction rule, as the engine runs it: which committed actions fire it
//! (`When`), what it dispatches (`Then`) and on which target (`Resolver`). The file format
//! that produces rules (`reactions.toml`) lives in `scenario`; guard evaluation in
//! `guard.rs`, target resolution in `resolver.rs`, params in `params.rs`, per-tenant
//! registration and rule order in `rule_set.rs`.

use super::guard::Guard;
use super::params::Then;
use super::resolver::Resolver;
use serde::Serialize;

/// A validated reaction rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub name: String,
    pub when: When,
    pub then: Then,
    pub resolve_target: Resolver,
}

/// Which committed actions on the source fire the rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct When {
    pub entity_type: String,
    /// `None`: any action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `None`: any post-action state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_state: Option<String>,
    /// `None`: always passes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<Guard>,
}
