//! `[[tenant]]`: a tenant's id, its rule files and its temper specs.

use crate::scenario::RuleDef;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantDef {
    pub(super) id: Spanned<String>,
    #[serde(default)]
    pub(super) reactions: Vec<Spanned<RuleFileDef>>,
    #[serde(default)]
    pub(super) reaction: Vec<RuleDef>,
    /// Temper specs (`*.ioa.toml`), globs relative to the scenario.
    #[serde(default)]
    pub(super) specs: Vec<Spanned<String>>,
}

/// A rule file: a path (the server's dispatcher reads it), or a table that says which of
/// temper's engines reads it.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a rule file path, or a table { path = \"...\", engine = \"server\" | \"runtime\" }"
)]
pub(super) enum RuleFileDef {
    Path(String),
    Table(RuleFileTableDef),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFileTableDef {
    pub(super) path: String,
    #[serde(default)]
    pub(super) engine: Option<String>,
}
