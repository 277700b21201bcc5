//! Temper's own file formats, loaded as they are: I/O-automaton specs (`*.ioa.toml`), rule
//! files written for temper's runtime engine, and the expressions and effects inside specs.
//! What each construct means is taken from temper's code (nerdsane/temper: `temper-spec`'s
//! automaton parser, `temper-runtime`'s reaction module, `temper-actor-runtime`'s spec
//! actor); each file says where Ripple differs on purpose and why.
//!
//! ```toml
//! [[tenant]]
//! id = "agents"
//! specs = ["specs/*.ioa.toml"]                    # globs, relative to the scenario
//! reactions = [{ path = "specs/agent.reactions.toml", engine = "runtime" }]
//!
//! [[integration]]                                 # optional: how the outside world answers
//! name = "invoke_llm"
//! answers = { InferenceCompleteEndTurn = 6, InferenceFailed = 1 }
//! delay = { min = "200ms", max = "3s" }
//! ```

mod app;
mod effect;
mod expr;
mod invariant;
mod rules;
mod spec;

pub use app::*;
pub use invariant::*;
pub use rules::*;
pub use spec::*;

use std::path::{Component, Path, PathBuf};

/// At most this many files per glob.
pub const GLOB_MATCHES_MAX: usize = 4096;

/// The files a pattern names: `*` (any run of characters but `/`) and `?` (one character)
/// in any path component, relative to `base`. Sorted, so that loading order never depends
/// on the file system. A pattern without wildcards names its one file (which may not
/// exist: reading it says so).
pub fn expand_glob(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    if pattern.contains("**") {
        return Err("`**` is not supported; list each folder, e.g. \"specs/*.ioa.toml\"".into());
    }
    let full = tidy(&base.join(pattern));
    if !pattern.contains(['*', '?']) {
        return Ok(vec![full]);
    }
    let mut found = vec![PathBuf::new()];
    for component in full.components() {
        let part = component.as_os_str().to_string_lossy();
        if !matches!(component, Component::Normal(_)) || !part.contains(['*', '?']) {
            for f in &mut found {
                f.push(component.as_os_str());
            }
            continue;
        }
        let mut next = Vec::new();
        for dir in &found {
            let listing = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            let Ok(entries) = std::fs::read_dir(listing) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| wildcard_match(&part, n))
                .collect();
            names.sort();
            for n in names {
                next.push(dir.join(n));
                if next.len() > GLOB_MATCHES_MAX {
                    return Err(format!("matches more than {GLOB_MATCHES_MAX} files"));
                }
            }
        }
        found = next;
    }
    found.retain(|p| p.is_file());
    found.sort();
    if found.is_empty() {
        return Err(format!("matches no file (looked for {})", full.display()));
    }
    Ok(found)
}

/// `a/b/../c` as `a/c`, `./a` as `a`: the path as messages should show it. Lexical only (a
/// `..` after a symbolic link would name another folder); every path here is a file the
/// scenario names relative to its own folder.
fn tidy(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `*` matches any run of characters, `?` one character; a leading dot is matched only
/// by a pattern that starts with one (as shells do).
fn wildcard_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative matching with one backtrack point for the last `*`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_shells_do() {
        assert!(wildcard_match("*.ioa.toml", "order.ioa.toml"));
        assert!(!wildcard_match("*.ioa.toml", "order.toml"));
        assert!(wildcard_match("a?c*", "abcdef"));
        assert!(!wildcard_match("*", ".hidden"));
        assert!(wildcard_match("*x*y", "axbxy"));
    }

    #[test]
    fn paths_are_tidied_lexically() {
        assert_eq!(
            tidy(Path::new("/tmp/../work/./a")),
            PathBuf::from("/work/a")
        );
        assert_eq!(tidy(Path::new("../../x/y")), PathBuf::from("../../x/y"));
    }
}
