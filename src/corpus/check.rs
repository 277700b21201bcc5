//! Checking, adding and blessing corpus entries.

use crate::core::relative_path;
use crate::core::Seed;
use crate::corpus::{load_corpus_file, render_corpus_file, CorpusEntry, CorpusFile};
use crate::scenario::SourceError;
use crate::scenario::{load_scenario, Scenario};
use crate::sim::{failure_signature, run_checked, RunOptions, RunOutcome};
use crate::trace::{first_difference, TraceDiff};
use std::path::{Path, PathBuf};

/// What changed for one entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Verdict {
        expected: String,
        actual: String,
    },
    Hash {
        expected: String,
        actual: String,
        diff: Option<TraceDiff>,
    },
    /// The entry's minimal scenario no longer fails (or no longer loads).
    Minimal {
        path: String,
        problem: String,
    },
}

/// The result of replaying one corpus entry.
#[derive(Debug, Clone)]
pub struct EntryCheck {
    pub file: PathBuf,
    pub seed: u64,
    pub swarm: bool,
    pub changes: Vec<Change>,
}

impl std::fmt::Display for EntryCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let swarm = if self.swarm { " --swarm" } else { "" };
        write!(f, "{} seed {}{swarm}:", self.file.display(), self.seed)?;
        if self.changes.is_empty() {
            return write!(f, " unchanged");
        }
        for c in &self.changes {
            match c {
                Change::Minimal { path, problem } => {
                    write!(f, "\n  minimal scenario {path}: {problem}")?
                }
                Change::Verdict { expected, actual } => {
                    write!(f, "\n  verdict changed: expected {expected}, got {actual}")?
                }
                Change::Hash {
                    expected,
                    actual,
                    diff,
                } => {
                    write!(
                        f,
                        "\n  trace hash changed: expected {expected}, got {actual}"
                    )?;
                    if let Some(d) = diff {
                        for line in d.to_string().lines() {
                            write!(f, "\n  {line}")?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn corpus_scenario(path: &Path, file: &CorpusFile) -> Result<(Scenario, String), SourceError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let scenario_path = dir.join(&file.scenario);
    let scenario = load_scenario(&scenario_path)?;
    Ok((scenario, scenario_path.display().to_string()))
}

fn run_entry(scenario: &Scenario, e: &CorpusEntry) -> RunOutcome {
    run_checked(
        scenario,
        Seed(e.seed),
        RunOptions {
            keep_trace: true,
            swarm: e.swarm,
        },
    )
}

/// The trace bytes (records only) kept for an entry, if any.
fn recorded_trace(dir: &Path, stem: &str, e: &CorpusEntry) -> Option<Vec<u8>> {
    let bytes = std::fs::read(dir.join(e.trace_path(stem))).ok()?;
    // Skip the header line.
    let start = bytes.iter().position(|b| *b == b'\n')? + 1;
    Some(bytes[start..].to_vec())
}

/// Replays every entry of one corpus file.
pub fn check_corpus_file(path: &Path) -> Result<Vec<EntryCheck>, SourceError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    recover(dir)?;
    let file = load_corpus_file(path)?;
    let (scenario, _) = corpus_scenario(path, &file)?;
    let stem = stem(path);
    Ok(file
        .seed
        .iter()
        .map(|e| check_entry(path, dir, &stem, &scenario, e))
        .collect())
}

/// Replays one entry of the corpus file at `path` (in `dir`, named `stem`).
fn check_entry(
    path: &Path,
    dir: &Path,
    stem: &str,
    scenario: &Scenario,
    e: &CorpusEntry,
) -> EntryCheck {
    let o = run_entry(scenario, e);
    let mut changes = Vec::new();
    let verdict = if o.passed() { "pass" } else { "fail" };
    if verdict != e.verdict {
        changes.push(Change::Verdict {
            expected: e.verdict.clone(),
            actual: verdict.into(),
        });
    }
    let hash = o.trace_hash.to_string();
    if hash != e.trace_hash {
        let diff = recorded_trace(dir, stem, e)
            .zip(o.trace_text.as_ref())
            .and_then(|(old, new)| first_difference(&old, new));
        changes.push(Change::Hash {
            expected: e.trace_hash.clone(),
            actual: hash,
            diff,
        });
    }
    if let Some(m) = &e.minimal {
        if let Some(problem) = minimal_problem(&dir.join(m), e.seed) {
            changes.push(Change::Minimal {
                path: m.clone(),
                problem,
            });
        }
    }
    EntryCheck {
        file: path.to_path_buf(),
        seed: e.seed,
        swarm: e.swarm,
        changes,
    }
}

/// One seed of a corpus, as a test case of its own: what [`corpus_cases`] lists for a test
/// harness (one `cargo test` / nextest case per seed, named `<corpus file>::seed_<n>`, with
/// `_swarm` for a swarm seed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusCase {
    pub name: String,
    pub file: PathBuf,
    pub seed: u64,
    pub swarm: bool,
}

impl CorpusCase {
    /// Replays the seed: `Err` says what changed (verdict, trace hash with the first
    /// differing step, a minimal scenario that no longer fails) and how to accept it.
    pub fn check(&self) -> Result<(), String> {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        recover(dir).map_err(|e| e.to_string())?;
        let file = load_corpus_file(&self.file).map_err(|e| e.to_string())?;
        let (scenario, _) = corpus_scenario(&self.file, &file).map_err(|e| e.to_string())?;
        let entry = file
            .seed
            .iter()
            .find(|e| e.seed == self.seed && e.swarm == self.swarm)
            .ok_or_else(|| {
                format!(
                    "{}: seed {} is no longer in the corpus",
                    self.file.display(),
                    self.seed
                )
            })?;
        let check = check_entry(&self.file, dir, &stem(&self.file), &scenario, entry);
        if check.changes.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{check}\n(accept an intended change with `ripple corpus bless`)"
            ))
        }
    }
}

/// Every seed of every corpus file in `dir`, as test cases, in file and seed order.
pub fn corpus_cases(dir: &Path) -> Result<Vec<CorpusCase>, SourceError> {
    recover(dir)?;
    let mut out = Vec::new();
    for path in corpus_files(dir)? {
        let file = load_corpus_file(&path)?;
        let stem = stem(&path);
        for e in &file.seed {
            out.push(CorpusCase {
                name: format!(
                    "{stem}::seed_{}{}",
                    e.seed,
                    if e.swarm { "_swarm" } else { "" }
                ),
                file: path.clone(),
                seed: e.seed,
                swarm: e.swarm,
            });
        }
    }
    Ok(out)
}

/// Why a minimal scenario no longer serves (it must load and fail under its seed).
fn minimal_problem(path: &Path, seed: u64) -> Option<String> {
    match load_scenario(path) {
        Err(e) => Some(format!("does not load: {e}")),
        Ok(s) => {
            let o = run_checked(&s, Seed(seed), RunOptions::default());
            o.passed().then(|| format!("passes under seed {seed}: the failure it captured is gone (fixed?); update or remove it"))
        }
    }
}

/// The corpus files of a directory, in name order.
pub fn corpus_files(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        SourceError::file(dir, format!("failed to read the corpus directory: {e}"))
            .with_hint("corpora live in seeds/; add one with `ripple corpus add SCENARIO --seed N`")
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Replays every entry of every corpus file in `dir`.
pub fn check_corpus_dir(dir: &Path) -> Result<Vec<EntryCheck>, SourceError> {
    recover(dir)?;
    let mut out = Vec::new();
    for f in corpus_files(dir)? {
        out.extend(check_corpus_file(&f)?);
    }
    Ok(out)
}

/// Writes `files` (all under `dir`) as one commit ([`crate::core::commit_files`]).
fn commit(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> Result<(), SourceError> {
    crate::core::commit_files(dir, files).map_err(|e| {
        SourceError::file(dir, format!("failed to write the corpus: {e}"))
            .with_hint("nothing was changed; check the directory's permissions and free space")
    })
}

/// Finishes a corpus commit a kill interrupted, so that what is read is one corpus.
fn recover(dir: &Path) -> Result<(), SourceError> {
    crate::core::recover_commit(dir).map(|_| ()).map_err(|e| {
        SourceError::file(
            &dir.join(crate::core::JOURNAL_NAME),
            format!("failed to finish an interrupted corpus write: {e}"),
        )
        .with_hint("the journal lists the staged files and their targets; finish the renames by hand or restore the corpus from version control")
    })
}

fn entry_from(
    o: &RunOutcome,
    seed: u64,
    swarm: bool,
    old: Option<&CorpusEntry>,
    note: Option<String>,
) -> CorpusEntry {
    CorpusEntry {
        seed,
        swarm,
        verdict: if o.passed() { "pass" } else { "fail" }.into(),
        trace_hash: o.trace_hash.to_string(),
        signature: failure_signature(o).map(|s| s.to_string()),
        note: note.or_else(|| old.and_then(|e| e.note.clone())),
        minimal: old.and_then(|e| e.minimal.clone()),
    }
}

/// Runs `scenario_path` under `seed` and records it in `dir/<scenario stem>.toml` (creating
/// the file, or replacing the entry for that seed). Returns the entry.
pub fn add_to_corpus(
    dir: &Path,
    scenario_path: &Path,
    seed: u64,
    swarm: bool,
    note: Option<String>,
    minimal: Option<&Path>,
) -> Result<CorpusEntry, SourceError> {
    let scenario = load_scenario(scenario_path)?;
    // Keyed so that two scenarios with one file name never share a corpus file.
    let corpus_path = crate::corpus::corpus_file_for(dir, scenario_path)?;
    let stem = stem(&corpus_path);
    let mut file = if corpus_path.exists() {
        load_corpus_file(&corpus_path)?
    } else {
        CorpusFile {
            scenario: relative_path(dir, scenario_path)
                .to_string_lossy()
                .replace('\\', "/"),
            seed: Vec::new(),
        }
    };
    let o = run_checked(
        &scenario,
        Seed(seed),
        RunOptions {
            keep_trace: true,
            swarm,
        },
    );
    let old = file
        .seed
        .iter()
        .position(|e| e.seed == seed && e.swarm == swarm);
    let mut entry = entry_from(&o, seed, swarm, old.map(|i| &file.seed[i]), note);
    if let Some(m) = minimal {
        if let Some(problem) = minimal_problem(m, seed) {
            return Err(SourceError::file(
                m,
                format!("failed to add it as the minimal scenario: it {problem}"),
            )
            .with_hint("write it with `ripple shrink SCENARIO --seed N --out FILE`"));
        }
        entry.minimal = Some(relative_path(dir, m).to_string_lossy().replace('\\', "/"));
    }
    match old {
        Some(i) => file.seed[i] = entry.clone(),
        None => file.seed.push(entry.clone()),
    }
    file.seed.sort_by_key(|e| (e.seed, e.swarm));
    let scenario_shown = dir.join(&file.scenario).display().to_string();
    let trace = o.trace_file(&scenario_shown).expect("trace kept");
    // The trace and the corpus file that names its hash, as one commit.
    commit(
        dir,
        &[
            (dir.join(entry.trace_path(&stem)), trace),
            (corpus_path, render_corpus_file(&file).into_bytes()),
        ],
    )?;
    Ok(entry)
}

/// Re-runs every entry and rewrites verdicts, hashes, signatures and traces: accepts
/// intended changes. Returns the entries that changed.
///
/// The whole corpus (every corpus file and every trace) is written as one commit: a kill
/// leaves the old corpus or the new one, never new traces beside old hashes.
pub fn bless_corpus_dir(dir: &Path) -> Result<Vec<EntryCheck>, SourceError> {
    recover(dir)?;
    let mut changed = Vec::new();
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for path in corpus_files(dir)? {
        let checks = check_corpus_file(&path)?;
        let mut file = load_corpus_file(&path)?;
        let (scenario, scenario_shown) = corpus_scenario(&path, &file)?;
        let stem = stem(&path);
        for e in file.seed.iter_mut() {
            let o = run_entry(&scenario, e);
            let trace = o.trace_file(&scenario_shown).expect("trace kept");
            files.push((dir.join(e.trace_path(&stem)), trace));
            *e = entry_from(&o, e.seed, e.swarm, Some(e), None);
        }
        files.push((path, render_corpus_file(&file).into_bytes()));
        changed.extend(checks.into_iter().filter(|c| !c.changes.is_empty()));
    }
    commit(dir, &files)?;
    Ok(changed)
}
