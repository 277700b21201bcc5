//! Which corpus file holds a scenario's seeds: `<stem>.toml`, unless that file belongs to
//! another scenario with the same file name (`a/shop.toml` and `b/shop.toml`); then
//! `<parent>-<stem>.toml`, then numbered. Two scenarios never share a corpus file.

use crate::corpus::{corpus_files, load_corpus_file};
use crate::scenario::SourceError;
use std::path::{Path, PathBuf};

/// Candidate names tried before numbering (`<parent>-<stem>`, then `-2`, `-3`...).
const NUMBERED_MAX: usize = 1000;

/// The corpus file in `dir` for `scenario_path`: the one whose `scenario` is that file, or a
/// new name that no other corpus file takes.
pub fn corpus_file_for(dir: &Path, scenario_path: &Path) -> Result<PathBuf, SourceError> {
    let stem = file_stem(scenario_path);
    // An existing corpus file for this scenario, under any name.
    if dir.is_dir() {
        for f in corpus_files(dir)? {
            let Ok(file) = load_corpus_file(&f) else {
                continue;
            };
            let named = f.parent().unwrap_or(Path::new(".")).join(&file.scenario);
            if crate::core::same_file(&named, scenario_path) {
                return Ok(f);
            }
        }
    }
    let parent = scenario_path
        .canonicalize()
        .ok()
        .and_then(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "scenario".into());
    let mut names = vec![stem.clone(), format!("{parent}-{stem}")];
    names.extend((2..NUMBERED_MAX).map(|n| format!("{parent}-{stem}-{n}")));
    names
        .into_iter()
        .map(|n| dir.join(format!("{n}.toml")))
        .find(|p| !p.exists())
        .ok_or_else(|| {
            SourceError::file(
                dir,
                format!(
                    "failed to name a corpus file for {}: every name is taken",
                    scenario_path.display()
                ),
            )
        })
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::add_to_corpus;

    #[test]
    fn two_scenarios_with_one_file_name_never_share_a_corpus_file() {
        let root = std::env::temp_dir().join(format!("ripple-corpus-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let race = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/race.toml"),
        )
        .unwrap();
        let mut paths = Vec::new();
        for (dir, name) in [("a", "race-a"), ("b", "race-b")] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
            let path = root.join(dir).join("shop.toml");
            std::fs::write(
                &path,
                race.replace("name = \"race\"", &format!("name = \"{name}\"")),
            )
            .unwrap();
            paths.push(path);
        }
        let seeds = root.join("seeds");
        std::fs::create_dir_all(seeds.join("traces")).unwrap();
        for p in &paths {
            add_to_corpus(&seeds, p, 1, false, None, None).unwrap_or_else(|e| panic!("{e}"));
        }
        let a = corpus_file_for(&seeds, &paths[0]).unwrap();
        let b = corpus_file_for(&seeds, &paths[1]).unwrap();
        assert_eq!(a, seeds.join("shop.toml"));
        assert_eq!(b, seeds.join("b-shop.toml"));
        for (file, path) in [(&a, &paths[0]), (&b, &paths[1])] {
            let f = load_corpus_file(file).unwrap();
            assert_eq!(f.seed.len(), 1, "{}", file.display());
            assert!(crate::core::same_file(&seeds.join(&f.scenario), path));
        }
        // Adding again finds each scenario's own file.
        add_to_corpus(&seeds, &paths[1], 2, false, None, None).unwrap();
        assert_eq!(load_corpus_file(&b).unwrap().seed.len(), 2);
        assert_eq!(load_corpus_file(&a).unwrap().seed.len(), 1);
        let checks = crate::corpus::check_corpus_dir(&seeds).unwrap();
        assert_eq!(checks.len(), 3);
        assert!(checks.iter().all(|c| c.changes.is_empty()), "{checks:?}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
