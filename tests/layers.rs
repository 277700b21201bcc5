//! The floors of `src/` import downwards only (DESIGN §2, issue 12).
//!
//! Every `.rs` file under `src/` belongs to the floor of its top-level module. Each path
//! `crate::<module>` in its code must name a floor at or below its own; modules on the same
//! floor (`model`, `shrink`, `corpus`, `report`, `bench`, `live`) may not import each other,
//! so no cycle can form between modules. Comments are skipped, and so are unit-test modules
//! (`#[cfg(test)] mod tests { ... }` and files declared `#[cfg(test)] mod tests;`): a unit
//! test may drive the layers above the code it tests, as an integration test would.
//!
//! What this does not check: imports between files of one module, and paths written without
//! `crate::` (a `super::super::` that climbs out of a module; none exist, and the check
//! below fails on any `super::super`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The floors, lowest first. A module may import from its own floor's module and from any
/// floor below.
const FLOORS: &[&[&str]] = &[
    &["core"],
    &["bus"],
    &["engine"],
    &["trace"],
    &["scenario"],
    &["check"],
    &["sim"],
    &["model", "shrink", "corpus", "report", "bench", "live"],
    &["cli"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

/// An import that runs the wrong way: the file, its 1-based line, and what it names.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Upward {
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// `text` with comments blanked (line structure kept) and unit-test modules removed.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let code = match line.find("//") {
            // A `//` inside a string literal would cut the line short; that only hides code
            // from this check, and no `crate::` path follows one in this crate.
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    // Blank each `#[cfg(test)] mod NAME { ... }` block, keeping its newlines.
    let mut bytes = out.into_bytes();
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], b"#[cfg(test)]").map(|i| i + from) {
        let after = &bytes[at..];
        let Some(brace) = after.iter().position(|&b| b == b'{' || b == b';') else {
            break;
        };
        let header = String::from_utf8_lossy(&after[..brace]).to_string();
        if after[brace] == b';' || !header.contains("mod ") {
            from = at + 1;
            continue;
        }
        let open = at + brace;
        let mut depth = 0usize;
        let mut end = open;
        for (i, &b) in bytes[open..].iter().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        for b in &mut bytes[at..=end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        from = end + 1;
    }
    String::from_utf8(bytes).expect("blanking keeps UTF-8: only ASCII was replaced")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The upward imports in one file, given its path relative to `src/`.
fn upward_in(relative: &str, text: &str) -> Vec<Upward> {
    let own = relative
        .split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_string();
    // lib.rs and main.rs stand above every floor.
    let Some(own_floor) = floor_of(&own) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (n, line) in code_only(text).lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            rest = &tail[name.len()..];
            if name == own || name.is_empty() {
                continue;
            }
            let upward = match floor_of(&name) {
                Some(f) => f >= own_floor,
                // A crate-root item that is not a floor: lib.rs should hold none.
                None => true,
            };
            if upward {
                found.push(Upward {
                    file: relative.to_string(),
                    line: n + 1,
                    from: own.clone(),
                    to: name,
                });
            }
        }
        if line.contains("super::super") {
            found.push(Upward {
                file: relative.to_string(),
                line: n + 1,
                from: own.clone(),
                to: "super::super".into(),
            });
        }
    }
    found
}

/// Files declared `#[cfg(test)] mod NAME;`: test-only code, skipped like inline test modules.
fn test_only_files(files: &[(String, String)]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (relative, text) in files {
        let dir = Path::new(relative).parent().unwrap_or(Path::new(""));
        let dir = if relative.ends_with("mod.rs") || relative == "lib.rs" {
            dir.to_path_buf()
        } else {
            dir.join(Path::new(relative).file_stem().unwrap())
        };
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.windows(2) {
            if pair[0].trim() == "#[cfg(test)]" {
                if let Some(name) = pair[1]
                    .trim()
                    .strip_prefix("mod ")
                    .and_then(|s| s.strip_suffix(';'))
                {
                    out.insert(dir.join(format!("{name}.rs")).display().to_string());
                }
            }
        }
    }
    out
}

fn rust_files(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(base).unwrap().display().to_string();
            out.push((relative, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn every_import_runs_down_the_floors() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files);
    assert!(files.len() > 50, "found only {} files", files.len());
    let skipped = test_only_files(&files);
    let mut upward = Vec::new();
    let mut modules = BTreeSet::new();
    for (relative, text) in &files {
        let top = relative.split('/').next().unwrap().trim_end_matches(".rs");
        if top != "lib" && top != "main" {
            assert!(
                floor_of(top).is_some(),
                "src/{relative}: module `{top}` is on no floor; add it to FLOORS"
            );
            modules.insert(top.to_string());
        }
        if !skipped.contains(relative) {
            upward.extend(upward_in(relative, text));
        }
    }
    let listing: Vec<String> = upward
        .iter()
        .map(|u| format!("src/{}:{}: `{}` imports `{}`", u.file, u.line, u.from, u.to))
        .collect();
    assert!(
        upward.is_empty(),
        "imports that run up the floors (order: {FLOORS:?}):\n{}",
        listing.join("\n")
    );
    // Every floor named exists, so a renamed module cannot slip past the check.
    for floor in FLOORS {
        for m in *floor {
            assert!(
                modules.contains(*m) || *m == "live",
                "FLOORS names `{m}`, which is not a module under src/"
            );
        }
    }
}

#[test]
fn an_upward_import_is_caught() {
    let engine = "use crate::core::Value;\nuse crate::sim::Queue;\n";
    assert_eq!(
        upward_in("engine/cascade.rs", engine),
        vec![Upward {
            file: "engine/cascade.rs".into(),
            line: 2,
            from: "engine".into(),
            to: "sim".into(),
        }]
    );
    // An inline path counts as much as a `use`.
    let inline = "fn f() -> crate::check::Builtins { todo!() }\n";
    assert_eq!(upward_in("trace/sink.rs", inline).len(), 1);
    // Siblings on one floor may not import each other.
    assert_eq!(
        upward_in("model/emit.rs", "use crate::corpus::x;\n").len(),
        1
    );
    // Downward imports, comments and unit-test modules are fine.
    let fine = "use crate::bus::Bus; // crate::cli::main\n#[cfg(test)]\nmod tests {\n    use crate::sim::run;\n}\n";
    assert!(upward_in("engine/store.rs", fine).is_empty());
    // Code after a test module is checked again.
    let after = "#[cfg(test)]\nmod tests {\n}\nuse crate::report::x;\n";
    assert_eq!(upward_in("sim/world.rs", after).len(), 1);
}
