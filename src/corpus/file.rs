//! Corpus files: `seeds/<scenario>.toml`, one per scenario, listing seeds with their
//! expected verdict and trace hash. Each entry's full trace is kept beside it
//! (`seeds/traces/`), so that a change can be shown as the first differing step.
//!
//! ```toml
//! scenario = "../scenarios/race.toml"   # relative to this file
//!
//! [[seed]]
//! seed = 8
//! verdict = "fail"
//! trace_hash = "4adaaca8f470280dd0e0031f31b5bef2"
//! signature = "no_authorized_payment_for_cancelled_order@order_confirmed_authorizes_payment"
//! note = "known failure: the late authorization race"
//! # swarm = true                         # the seed runs with --swarm
//! # minimal = "race-seed8.min.toml"      # a shrunk scenario, relative to this file
//! ```

use crate::scenario::SourceError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusFile {
    /// The scenario, relative to the corpus file.
    pub scenario: String,
    #[serde(default)]
    pub seed: Vec<CorpusEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusEntry {
    pub seed: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub swarm: bool,
    /// "pass" or "fail".
    pub verdict: String,
    pub trace_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// A minimal scenario that fails the same way (from `ripple shrink`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimal: Option<String>,
}

impl CorpusEntry {
    /// Where this entry's trace is kept, relative to the corpus directory.
    pub fn trace_path(&self, stem: &str) -> PathBuf {
        let swarm = if self.swarm { "-swarm" } else { "" };
        PathBuf::from("traces").join(format!("{stem}-{}{swarm}.jsonl", self.seed))
    }
}

pub fn load_corpus_file(path: &Path) -> Result<CorpusFile, SourceError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SourceError::file(path, format!("failed to read the corpus file: {e}")))?;
    let file: CorpusFile =
        toml::from_str(&text).map_err(|e| SourceError::from_toml(path, &text, &e))?;
    for e in &file.seed {
        if e.verdict != "pass" && e.verdict != "fail" {
            let at = text.find(&format!("\"{}\"", e.verdict)).unwrap_or(0);
            return Err(SourceError::at(
                path,
                &text,
                at,
                format!(
                    "seed {}: verdict {:?} is not \"pass\" or \"fail\"",
                    e.seed, e.verdict
                ),
            ));
        }
    }
    Ok(file)
}

pub fn render_corpus_file(file: &CorpusFile) -> String {
    let body = toml::to_string(file).expect("corpus files serialize");
    format!(
        "# Ripple seed corpus: `ripple corpus check` replays every seed and fails on a changed\n\
         # verdict or trace hash; `ripple corpus bless` accepts intended changes.\n{body}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_files_round_trip() {
        let f = CorpusFile {
            scenario: "../scenarios/x.toml".into(),
            seed: vec![CorpusEntry {
                seed: 3,
                swarm: true,
                verdict: "fail".into(),
                trace_hash: "ab".into(),
                signature: Some("expect".into()),
                note: None,
                minimal: None,
            }],
        };
        let text = render_corpus_file(&f);
        assert_eq!(toml::from_str::<CorpusFile>(&text).unwrap(), f);
    }
}
