//! Seeded mutations of every shipped scenario (issue 20): a few hundred byte and token edits
//! each, loaded and run with small budgets through the library, a handful through the binary.
//! Each must end with a scenario error that has a place and a hint, or a run that ends (a
//! pass, a violation or a budget stop); never a panic.
//!
//! Count-bounded and deterministic: the mutations come from a fixed splitmix64 stream seeded
//! per scenario, so a failure names the scenario and the mutation number, and reproduces.
//!
//! Not covered: what a mutated scenario does when it runs (any verdict is fine), inputs that
//! are not UTF-8 (the loader reads text; `tests/fuzz` feeds it raw bytes), and scenarios with
//! process reflexes, which would start the programs a mutation names.

use ripple::{parse_scenario, Runner, Scenario, Seed, SimTime};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Mutations per scenario through the library, and how many of them also go through the
/// binary.
const MUTATIONS_PER_SCENARIO: u64 = 300;
const BINARY_EVERY: u64 = 60;

/// splitmix64: a fixed algorithm, so the mutations never change under us.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values a mutation may write in place of a token.
const HOSTILE: &[&str] = &[
    "0",
    "-1",
    "9223372036854775807",
    "99999999999999999999",
    "nan",
    "-inf",
    "1e308",
    "\"\"",
    "\"\\u0000\\u001b[31m\"",
    "\"a.b..c\"",
    "\"*\"",
    "\">\"",
    "[]",
    "{}",
    "[1, \"x\", {}]",
    "{ x = nan }",
    "true",
    "\"9999999h\"",
    "\"0ms\"",
    "\"{payload.}\"",
    "\"{token.99}\"",
    "\"{\"",
];

/// One seeded edit of `text`.
fn mutate(text: &str, mix: &mut Mix) -> String {
    let lines: Vec<&str> = text.lines().collect();
    match mix.below(8) {
        // Replace the value of a `key = value` line.
        0 | 1 => {
            let i = mix.below(lines.len());
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            if let Some((key, _)) = lines[i].split_once(" = ") {
                out[i] = format!("{key} = {}", HOSTILE[mix.below(HOSTILE.len())]);
            }
            out.join("\n")
        }
        // Delete a line.
        2 => {
            let i = mix.below(lines.len());
            let mut out = lines.clone();
            out.remove(i);
            out.join("\n")
        }
        // Duplicate a line (a key twice, a table twice).
        3 => {
            let i = mix.below(lines.len());
            let mut out = lines.clone();
            out.insert(i, lines[i]);
            out.join("\n")
        }
        // Swap two lines.
        4 => {
            let (i, j) = (mix.below(lines.len()), mix.below(lines.len()));
            let mut out = lines.clone();
            out.swap(i, j);
            out.join("\n")
        }
        // Overwrite one character with a structural or control character.
        5 => {
            const CHARS: &[char] = &[
                '"', '[', ']', '{', '}', '=', '.', '\n', '\0', '\u{1b}', '#', ',',
            ];
            let mut chars: Vec<char> = text.chars().collect();
            let i = mix.below(chars.len());
            chars[i] = CHARS[mix.below(CHARS.len())];
            chars.into_iter().collect()
        }
        // Truncate.
        6 => {
            let mut end = mix.below(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[..end].to_string()
        }
        // Copy a block of lines to the end (more rules, events, faults).
        _ => {
            let i = mix.below(lines.len());
            let n = 1 + mix.below(12);
            let block: Vec<&str> = lines.iter().skip(i).take(n).copied().collect();
            format!("{text}\n{}\n", block.join("\n"))
        }
    }
}

/// Caps the budgets so that every mutant runs in milliseconds; `false` for a scenario that
/// would start a process or needs a library handler.
fn small_budgets(scenario: &mut Scenario) -> bool {
    if scenario.reflexes.iter().any(|r| r.is_external()) {
        return false;
    }
    scenario.steps_max = scenario.steps_max.min(2_000);
    scenario.cascade_dispatches_max = scenario.cascade_dispatches_max.min(500);
    scenario.messages_max = scenario.messages_max.min(500);
    scenario.until = SimTime(scenario.until.ms().min(60_000));
    for g in &mut scenario.generators {
        g.count = g.count.min(200);
    }
    true
}

fn shipped_scenarios() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("scenarios/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    out.sort();
    assert!(out.len() >= 5, "the shipped scenarios: {out:?}");
    out
}

/// Why a mutant's outcome is not acceptable, if it is not.
fn check_mutant(path: &Path, text: &str, seed: u64) -> Result<&'static str, String> {
    let loaded = catch_unwind(|| parse_scenario(text, path));
    let mut scenario = match loaded {
        Err(_) => return Err("the loader panicked".into()),
        Ok(Err(e)) => {
            if e.line == 0 {
                return Err(format!("an error with no line: {e}"));
            }
            if e.hint.is_none() {
                return Err(format!("an error with no hint: {e}"));
            }
            return Ok("error");
        }
        Ok(Ok(s)) => s,
    };
    if !small_budgets(&mut scenario) {
        return Ok("skipped");
    }
    match catch_unwind(AssertUnwindSafe(|| Runner::new(&scenario).run(Seed(seed)))) {
        Err(_) => Err("the run panicked".into()),
        Ok(_) => Ok("ran"),
    }
}

#[test]
fn mutated_scenarios_end_with_a_located_error_or_a_run() {
    let mut failures = Vec::new();
    let mut tally = std::collections::BTreeMap::<&str, u64>::new();
    for path in shipped_scenarios() {
        let original = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut mix = Mix(name
            .bytes()
            .fold(0xa5a5, |h, b| h.wrapping_mul(31) ^ b as u64));
        for n in 0..MUTATIONS_PER_SCENARIO {
            // Some mutants get a second edit on top of the first.
            let mut text = mutate(&original, &mut mix);
            if mix.below(3) == 0 {
                text = mutate(&text, &mut mix);
            }
            match check_mutant(&path, &text, n) {
                Ok(what) => *tally.entry(what).or_default() += 1,
                Err(why) => failures.push(format!("{name} mutation #{n}: {why}\n{text}\n---")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Both sides were exercised: the mutations are neither all fatal nor all harmless.
    assert!(tally.get("error").copied().unwrap_or(0) > 100, "{tally:?}");
    assert!(tally.get("ran").copied().unwrap_or(0) > 100, "{tally:?}");
}

/// A handful of mutants through the binary: exit status 0 or 1 (a run) or 2 with
/// `error: file:line:col` and a hint; never a crash (a signal) or another status.
#[test]
fn mutated_scenarios_through_the_binary_exit_0_1_or_2_with_a_place() {
    let dir = std::env::temp_dir().join(format!("ripple-mutations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut runs = 0;
    for path in shipped_scenarios() {
        let original = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut mix = Mix(name
            .bytes()
            .fold(0xa5a5, |h, b| h.wrapping_mul(31) ^ b as u64));
        for n in 0..MUTATIONS_PER_SCENARIO {
            let text = mutate(&original, &mut mix);
            if mix.below(3) == 0 {
                let _ = mutate(&text, &mut mix); // keep the stream as the library test draws it
            }
            if n % BINARY_EVERY != 0 {
                continue;
            }
            // Next to the original, so that its rule files and specs resolve; not named
            // `*.toml`, so that no other test takes it for a shipped scenario.
            let mutant = path.with_file_name(format!("{name}.mutant-{}", std::process::id()));
            let Ok(mut scenario) = parse_scenario(&text, &mutant) else {
                continue; // errors are covered below by the ones that fail to load
            };
            // Through the binary only what runs quickly with its own budgets.
            if !small_budgets(&mut scenario) || scenario.generators.iter().any(|g| g.count > 1000) {
                continue;
            }
            runs += 1;
            std::fs::write(&mutant, &text).unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
                .args(["run", mutant.to_str().unwrap(), "--seed", &n.to_string()])
                .output()
                .expect("run the binary");
            std::fs::remove_file(&mutant).unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0 | 1) => {}
                Some(2) if stderr.contains("\n  hint: ") => {}
                other => failures.push(format!("{name} #{n}: status {other:?}: {stderr}")),
            }
        }
        // And one that does not load, through the binary.
        let broken = dir.join(format!("broken-{name}"));
        std::fs::write(&broken, format!("{original}\n[[event]]\nat = nan\n")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
            .args(["run", broken.to_str().unwrap()])
            .output()
            .expect("run the binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let place = format!("error: {}:", broken.display());
        if out.status.code() != Some(2) || !stderr.starts_with(&place) || !stderr.contains("hint: ")
        {
            failures.push(format!("{name} broken: {:?}: {stderr}", out.status.code()));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(runs >= 5, "only {runs} mutants went through the binary");
}
