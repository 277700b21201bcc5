//! Writing outputs safely, through the path as given:
//! - a regular file (or a new one) is replaced atomically: a temp file in the same
//!   directory, fsync, rename over the target, fsync of the directory, so a reader never
//!   sees half a file and a kill leaves the old one intact;
//! - a symlink is followed: its target is what gets replaced;
//! - anything else that exists (a FIFO, a device such as `/dev/null` or `/dev/full`) is
//!   written to directly, never replaced; `-` is standard output;
//! - temp files are removed on every error path, and ones left by a killed ripple (whose
//!   process is gone) are recognized by name and removed on the next write beside them.
//!
//! What it leaves out: locking against a concurrent writer of the same file (the last
//! rename wins), and refusing to overwrite an input, which only the caller knows (see
//! [`same_file`]).

use std::io::Write;
use std::path::{Path, PathBuf};

/// The part of a temp file's name after `.{target name}.`: ours, and a killed run's.
const TEMP_TAG: &str = "ripple-";

/// Writes `bytes` to `path` as the module header says.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_parts(path, bytes, &mut std::io::empty())
}

/// Writes `head` then everything `body` reads to `path`, as [`write_atomic`] does, without
/// holding the body in memory (a streamed trace: its header is known only at the end).
pub fn write_atomic_parts(
    path: &Path,
    head: &[u8],
    body: &mut dyn std::io::Read,
) -> std::io::Result<()> {
    let write = |out: &mut dyn Write, body: &mut dyn std::io::Read| -> std::io::Result<()> {
        out.write_all(head)?;
        std::io::copy(body, out)?;
        out.flush()
    };
    if path.as_os_str() == "-" {
        return write(&mut std::io::stdout().lock(), body);
    }
    // Follow a symlink to what it names (a dangling one: to the file it would name).
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(resolved) => resolved,
            Err(_) => {
                let link = std::fs::read_link(path)?;
                match path.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                }
            }
        },
        _ => path.to_path_buf(),
    };
    if let Ok(m) = std::fs::metadata(&target) {
        if m.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "it is a directory",
            ));
        }
        if !m.is_file() {
            // A FIFO, a device, a socket: write to it as it is.
            let mut f = std::fs::OpenOptions::new().write(true).open(&target)?;
            return write(&mut f, body);
        }
    }
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    remove_stale_temps(dir, &name);
    let tmp = dir.join(format!(".{name}.{TEMP_TAG}{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        write(&mut f, body)?;
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        // The rename is durable once the directory is.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A scratch file's name beside `path` (in the temp directory, for `-`): the caller removes
/// it on every path (a killed process leaves it, under a name that says whose it was).
pub fn scratch_beside(path: &Path, purpose: &str) -> PathBuf {
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        _ if path.as_os_str() == "-" => std::env::temp_dir(),
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    dir.join(format!(
        ".{name}-{purpose}.{TEMP_TAG}{}.tmp",
        std::process::id()
    ))
}

/// Removes `.{name}.ripple-{pid}.tmp` files in `dir` whose process is gone (a killed
/// write). On a system without `/proc` nothing is removed: a live writer's temp file is
/// never touched.
fn remove_stale_temps(dir: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!(".{name}.{TEMP_TAG}");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether `a` and `b` name the same existing file (through links and `..`): an output
/// that is an input must be refused before anything is written.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Writes several new regular files (reports), all or none: each to a temp file beside its
/// target first, then, once every one is written, each renamed into place. A failure before
/// the renames (an unwritable directory, a full disk) leaves no file and no temp file
/// behind. Unlike [`write_atomic`] it neither follows symlinks nor writes to devices: its
/// targets are files it names itself.
pub fn write_all_atomic(files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<()> {
    // A rename onto a directory would fail after others were done: refuse it up front.
    if let Some((path, _)) = files.iter().find(|(p, _)| p.is_dir()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            format!("{} is a directory", path.display()),
        ));
    }
    let mut temps: Vec<PathBuf> = Vec::with_capacity(files.len());
    let result = (|| {
        for (path, bytes) in files {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "out".into());
            remove_stale_temps(dir, &name);
            let tmp = dir.join(format!(".{name}.{TEMP_TAG}{}.tmp", std::process::id()));
            temps.push(tmp.clone());
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        for ((path, _), tmp) in files.iter().zip(&temps) {
            std::fs::rename(tmp, path)?;
            // The rename is durable once the directory is.
            if let Some(Ok(d)) = path.parent().map(std::fs::File::open) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        for tmp in &temps {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result
}

/// The journal of a commit in progress in a directory ([`commit_files`]).
pub const JOURNAL_NAME: &str = ".ripple-journal";

/// Writes several files as one commit that survives a kill at any point: after it, either
/// every file is new or (a kill before the journal was written) every file is old. Each
/// file is written to a temp file beside its target; then a journal in `dir` lists the
/// temp files and their targets (written atomically, so it is whole or absent); then each
/// temp file is renamed over its target and the journal is removed. A kill during the
/// renames leaves the journal: [`recover_commit`] (which every later commit, and every
/// reader that wants a consistent view, calls first) finishes the renames it lists. Paths
/// are stored relative to `dir`, so every target must lie under it.
pub fn commit_files(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<()> {
    commit_files_until(dir, files, None)
}

/// [`commit_files`], stopping (as a kill would) after `renames_max` renames when given.
fn commit_files_until(
    dir: &Path,
    files: &[(PathBuf, Vec<u8>)],
    renames_max: Option<usize>,
) -> std::io::Result<()> {
    recover_commit(dir)?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    let result = (|| {
        for (path, bytes) in files {
            let relative = path.strip_prefix(dir).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{} is not under {}", path.display(), dir.display()),
                )
            })?;
            let parent = path.parent().unwrap_or(dir);
            std::fs::create_dir_all(parent)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "out".into());
            remove_stale_temps(parent, &name);
            let tmp = parent.join(format!(".{name}.{TEMP_TAG}{}.tmp", std::process::id()));
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            let tmp_relative = tmp
                .strip_prefix(dir)
                .expect("beside its target")
                .to_path_buf();
            staged.push((tmp_relative, relative.to_path_buf()));
        }
        let mut journal = String::new();
        for (tmp, target) in &staged {
            for p in [tmp, target] {
                let text = p.to_string_lossy();
                if text.contains(['\t', '\n']) {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("a file name with a tab or a line break: {text:?}"),
                    ));
                }
            }
            journal.push_str(&format!("{}\t{}\n", tmp.display(), target.display()));
        }
        write_atomic(&dir.join(JOURNAL_NAME), journal.as_bytes())
    })();
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(dir.join(tmp));
        }
        return Err(e);
    }
    if renames_max.is_some_and(|n| n < staged.len()) {
        // A kill here: the journal stays, listing every rename.
        for (tmp, target) in staged.iter().take(renames_max.unwrap_or(0)) {
            std::fs::rename(dir.join(tmp), dir.join(target))?;
        }
        return Ok(());
    }
    finish_commit(dir, &staged)
}

/// Renames what the journal lists (those not done yet), syncs, removes the journal.
fn finish_commit(dir: &Path, staged: &[(PathBuf, PathBuf)]) -> std::io::Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (tmp, target) in staged {
        let (tmp, target) = (dir.join(tmp), dir.join(target));
        if tmp.exists() {
            std::fs::rename(&tmp, &target)?;
        }
        if let Some(parent) = target.parent() {
            if !dirs.iter().any(|d| d == parent) {
                dirs.push(parent.to_path_buf());
            }
        }
    }
    for d in &dirs {
        if let Ok(d) = std::fs::File::open(d) {
            let _ = d.sync_all();
        }
    }
    std::fs::remove_file(dir.join(JOURNAL_NAME))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Finishes a commit that a kill interrupted in `dir` (see [`commit_files`]): renames the
/// staged files its journal lists and removes the journal. Nothing to do without a journal.
/// Returns whether there was one.
pub fn recover_commit(dir: &Path) -> std::io::Result<bool> {
    let journal = dir.join(JOURNAL_NAME);
    let text = match std::fs::read_to_string(&journal) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut staged = Vec::new();
    for line in text.lines() {
        let Some((tmp, target)) = line.split_once('\t') else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: a line without a tab: {line:?}", journal.display()),
            ));
        };
        staged.push((PathBuf::from(tmp), PathBuf::from(target)));
    }
    finish_commit(dir, &staged)?;
    Ok(true)
}

/// The largest input file Ripple reads (a scenario, a rule file, a spec): 64 MiB.
pub const INPUT_BYTES_MAX: u64 = 64 << 20;

/// Reads an input file as text: the one reader of scenarios, rule files and specs. Only a
/// regular file of at most [`INPUT_BYTES_MAX`] bytes is read, so a path naming a FIFO (which
/// would block forever) or `/dev/zero` (which never ends) is an error, not a hang.
pub fn read_input(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    let too_big = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} MiB, the most Ripple reads",
                INPUT_BYTES_MAX >> 20
            ),
        )
    };
    if meta.len() > INPUT_BYTES_MAX {
        return Err(too_big());
    }
    let mut text = String::new();
    // The file may grow between the check and the read: read one byte past the limit.
    std::fs::File::open(path)?
        .take(INPUT_BYTES_MAX + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > INPUT_BYTES_MAX {
        return Err(too_big());
    }
    Ok(text)
}

/// `to` relative to directory `from` (both relative to the same base, or both absolute).
pub fn relative_path(from_dir: &Path, to: &Path) -> PathBuf {
    let abs = |p: &Path| {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        // Normalise `.` and `..` without touching the file system.
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out
    };
    let (from, to) = (abs(from_dir), abs(to));
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in from.components().skip(common) {
        out.push("..");
    }
    for c in to.components().skip(common) {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_and_descend() {
        assert_eq!(
            relative_path(Path::new("/a/seeds"), Path::new("/a/scenarios/x.toml")),
            PathBuf::from("../scenarios/x.toml")
        );
        assert_eq!(
            relative_path(Path::new("/a"), Path::new("/a/b/c.toml")),
            PathBuf::from("b/c.toml")
        );
    }

    #[test]
    fn writes_whole_file_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("ripple-fs-test-{}", std::process::id()));
        let path = dir.join("out.txt");
        write_atomic(&path, b"hello").unwrap();
        write_atomic(&path, b"bye").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"bye");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ripple-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_symlink_is_followed_and_stays_a_symlink() {
        let dir = scratch("link");
        let real = dir.join("real.txt");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_device_is_written_to_not_replaced() {
        // /dev/null stays a character device; /dev/full reports the write error.
        write_atomic(Path::new("/dev/null"), b"x").unwrap();
        let m = std::fs::metadata("/dev/null").unwrap();
        assert!(!m.is_file(), "/dev/null must not become a regular file");
        if Path::new("/dev/full").exists() {
            assert!(write_atomic(Path::new("/dev/full"), b"x").is_err());
        }
    }

    #[test]
    fn a_fifo_is_written_through() {
        let dir = scratch("fifo");
        let fifo = dir.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped: mkfifo is not available");
            return;
        }
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        write_atomic(&fifo, b"through").unwrap();
        assert_eq!(reader.join().unwrap(), b"through");
        let m = std::fs::symlink_metadata(&fifo).unwrap();
        assert!(!m.is_file(), "the FIFO is still a FIFO");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_killed_writers_temp_file_is_removed_and_a_live_ones_kept() {
        let dir = scratch("stale");
        // No process has pid 4_000_000_000 (above any pid_max); this one is alive.
        let dead = dir.join(format!(".out.txt.{TEMP_TAG}4000000000.tmp"));
        let alive = dir.join(format!(".out.txt.{TEMP_TAG}1.tmp"));
        std::fs::write(&dead, b"half").unwrap();
        std::fs::write(&alive, b"half").unwrap();
        write_atomic(&dir.join("out.txt"), b"whole").unwrap();
        assert!(!dead.exists(), "a killed run's temp file is gone");
        assert!(alive.exists(), "pid 1 is alive: its temp file is kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn same_file_sees_through_links_and_dots() {
        let dir = scratch("same");
        let a = dir.join("a.toml");
        std::fs::write(&a, b"x").unwrap();
        let via = dir.join("sub/../a.toml");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        assert!(same_file(&a, &via));
        assert!(!same_file(&a, &dir.join("b.toml")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_all_files_or_none() {
        let dir = scratch("all");
        let files = vec![
            (dir.join("a.txt"), b"a".to_vec()),
            (dir.join("b.txt"), b"b".to_vec()),
        ];
        write_all_atomic(&files).unwrap();
        assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"b");
        // A file whose directory cannot be made (its parent is a file): nothing is written.
        let blocked = vec![
            (dir.join("c.txt"), b"c".to_vec()),
            (dir.join("a.txt").join("d.txt"), b"d".to_vec()),
        ];
        assert!(write_all_atomic(&blocked).is_err());
        std::fs::create_dir_all(dir.join("e.txt")).unwrap();
        let onto_dir = vec![
            (dir.join("c.txt"), b"c".to_vec()),
            (dir.join("e.txt"), b"e".to_vec()),
        ];
        assert!(write_all_atomic(&onto_dir).is_err());
        std::fs::remove_dir(dir.join("e.txt")).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.txt", "b.txt"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn inputs_are_regular_files_only() {
        let dir = scratch("input");
        let file = dir.join("s.toml");
        std::fs::write(&file, "x = 1\n").unwrap();
        assert_eq!(read_input(&file).unwrap(), "x = 1\n");
        assert!(read_input(&dir).is_err(), "a directory");
        let err = read_input(Path::new("/dev/zero")).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(read_input(&dir.join("missing.toml")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_commit_killed_at_any_rename_is_finished_by_recovery() {
        let files = |dir: &Path, v: &str| -> Vec<(PathBuf, Vec<u8>)> {
            vec![
                (dir.join("traces/a.jsonl"), format!("a{v}").into_bytes()),
                (dir.join("traces/b.jsonl"), format!("b{v}").into_bytes()),
                (dir.join("corpus.toml"), format!("c{v}").into_bytes()),
            ]
        };
        for kill_after in 0..=3 {
            let dir = scratch(&format!("commit{kill_after}"));
            commit_files(&dir, &files(&dir, "old")).unwrap();
            commit_files_until(&dir, &files(&dir, "new"), Some(kill_after)).unwrap();
            if kill_after < 3 {
                assert!(dir.join(JOURNAL_NAME).exists(), "kill after {kill_after}");
            }
            assert!(recover_commit(&dir).is_ok());
            for (path, bytes) in files(&dir, "new") {
                assert_eq!(
                    std::fs::read(&path).unwrap(),
                    bytes,
                    "kill after {kill_after}"
                );
            }
            assert!(!dir.join(JOURNAL_NAME).exists());
            let leftovers: Vec<_> = ["", "traces"]
                .iter()
                .flat_map(|d| std::fs::read_dir(dir.join(d)).unwrap())
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect();
            assert!(leftovers.is_empty(), "{leftovers:?}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn a_commit_that_fails_before_its_journal_leaves_every_old_file() {
        let dir = scratch("commit-fail");
        let old = vec![(dir.join("a.txt"), b"old".to_vec())];
        commit_files(&dir, &old).unwrap();
        let outside = vec![
            (dir.join("a.txt"), b"new".to_vec()),
            (PathBuf::from("/elsewhere/b.txt"), b"new".to_vec()),
        ];
        assert!(commit_files(&dir, &outside).is_err());
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"old");
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.txt"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
