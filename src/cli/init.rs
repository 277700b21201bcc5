//! `ripple init`: a scenario to start from. `ripple init [NAME]` writes a commented starter
//! scenario that runs and passes; `--from-trace TRACE` the scenario of a recorded run;
//! `--temper APP_DIR` a scenario wired to a temper app's specs and rule files.

use crate::cli::{bad_input, EXIT_PASS};
use crate::core::{format_duration_ms, relative_path, same_file, write_atomic, Seed};
use crate::scenario::temper::{
    load_spec, parse_runtime_rules, TemperSpec, INTEGRATION_DELAY_MS_MAX_DEFAULT,
    INTEGRATION_DELAY_MS_MIN_DEFAULT,
};
use crate::scenario::{
    emit_scenario_to, load_scenario, parse_rules_file_located, parse_scenario, SourceError,
};
use crate::shrink::make_concrete;
use crate::sim::Runner;
use crate::trace::read_trace_file;
use std::path::{Path, PathBuf};

/// Write a scenario to start from.
///
/// With NAME (default `starter`): a commented starter scenario (two entity types, a rule, a
/// reflex, two events, an invariant and an expectation) that runs and passes, as NAME.toml
/// (in scenarios/ when there is such a folder).
///
/// With --from-trace TRACE: the scenario of a recorded run (`ripple run --trace`): its
/// inputs in the order the run took them, generators expanded, and the faults the seed drew
/// as an explicit schedule. The trace's scenario is run again first: if it no longer gives
/// the recorded trace, nothing is written.
///
/// With --temper APP_DIR: finds the app's I/O-automaton specs (`*.ioa.toml`) and rule files
/// (`*.reactions.toml`, `reactions*.toml`, `reactions/*.toml`) in APP_DIR and its subfolders
/// (two levels), and writes a scenario with one tenant that loads them: each rule file for
/// the engine that reads it (temper's runtime engine when it spells resolvers in PascalCase
/// or keys rules on emitted events, the server's dispatcher otherwise), one commented sample
/// `[[event]]` per input action, and every integration with its default answer weights and
/// delays. A spec Ripple cannot simulate is reported with its place, and nothing is written.
///
/// Every scenario is loaded before it is written. Exit status: 0 written; 2 bad input (no
/// specs, a file that does not load, a trace its scenario no longer gives, the output exists
/// without --force).
///
/// Examples: ripple init my_shop; ripple init --from-trace t.jsonl --out replayed.toml;
/// ripple init --temper ../temper/os-apps/temper-fs --out scenarios/temper_fs.toml
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The starter scenario's name (a plain name: letters, digits, `_`, `-`).
    #[arg(value_name = "NAME", conflicts_with_all = ["temper", "from_trace"])]
    pub name: Option<String>,
    /// The temper app's folder (its specs may be in it or in a subfolder such as specs/).
    #[arg(long, value_name = "APP_DIR", conflicts_with = "from_trace")]
    pub temper: Option<PathBuf>,
    /// A trace written by `ripple run --trace`: write the scenario of that run.
    #[arg(long, value_name = "TRACE")]
    pub from_trace: Option<PathBuf>,
    /// Where to write the scenario [default: scenarios/<name>.toml, or ./<name>.toml without
    /// a scenarios/ folder].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// The starter scenario; `NAME` is replaced by the scenario's name.
const STARTER: &str = include_str!("starter.toml");

pub fn run(args: &InitArgs) -> u8 {
    if let Some(app) = &args.temper {
        return run_temper(args, app);
    }
    if let Some(trace) = &args.from_trace {
        return run_from_trace(args, trace);
    }
    run_starter(args)
}

/// The default output for a scenario called `name`.
fn default_out(name: &str) -> PathBuf {
    let file = format!("{}.toml", name.replace('-', "_"));
    if Path::new("scenarios").is_dir() {
        Path::new("scenarios").join(file)
    } else {
        PathBuf::from(file)
    }
}

/// Writes `text` to `out` (creating its folder), unless it exists and `force` is off.
fn write_new(out: &Path, text: &str, force: bool) -> Result<(), u8> {
    if out.exists() && !force {
        return Err(bad_input(format!(
            "failed to write {}: it exists\n  hint: pass --force to overwrite it, or --out to write elsewhere",
            out.display()
        )));
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Err(bad_input(format!(
                "failed to create {}: {e}",
                dir.display()
            )));
        }
    }
    write_atomic(out, text.as_bytes())
        .map_err(|e| bad_input(format!("failed to write {}: {e}", out.display())))
}

fn print_next(out: &Path) {
    let shown = out.display();
    println!("init: wrote {shown}");
    println!("next:");
    println!("  ripple run {shown} --seed 1             # one run, its cascade and checks");
    println!("  ripple sweep {shown} --seeds 0..100     # many seeds (add [faults] first)");
    println!("  ripple check {shown}                    # model-check the rules and guards");
}

fn run_starter(args: &InitArgs) -> u8 {
    let name = args.name.as_deref().unwrap_or("starter");
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return bad_input(format!(
            "failed to name the scenario: {name:?} is not a plain name\n  hint: use letters, digits, '_' and '-', e.g. ripple init my_shop"
        ));
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(name));
    let text = STARTER.replacen("name = \"NAME\"", &format!("name = {name:?}"), 1);
    // The starter must load as written; a failure here is a bug of this file.
    if let Err(e) = parse_scenario(&text, &out) {
        return bad_input(e);
    }
    if let Err(code) = write_new(&out, &text, args.force) {
        return code;
    }
    print_next(&out);
    EXIT_PASS
}

fn run_from_trace(args: &InitArgs, trace: &Path) -> u8 {
    let bytes = match crate::core::read_input(trace) {
        Ok(b) => b.into_bytes(),
        Err(e) => {
            return bad_input(format!(
                "{}: failed to read the trace: {e}",
                trace.display()
            ))
        }
    };
    let (header, _) = match read_trace_file(&bytes) {
        Ok(read) => read,
        Err(e) => {
            return bad_input(format!(
            "{}:{}:1: {}\n  hint: write traces with `ripple run SCENARIO --seed N --trace FILE`",
            trace.display(),
            e.line,
            e.message
        ))
        }
    };
    let Some(path) = crate::cli::replay::resolve_scenario(trace, &header.scenario) else {
        return bad_input(format!(
            "{}:1:1: the trace names the scenario {:?}, which is not a file beside the trace nor from here\n  hint: run init from the directory the trace was recorded in",
            trace.display(),
            header.scenario
        ));
    };
    let scenario = match load_scenario(&path) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let seed = Seed(header.seed);
    let outcome = Runner::new(&scenario).swarm(header.swarm).run(seed);
    if outcome.trace_hash.to_string() != header.trace_hash {
        return bad_input(format!(
            "{}:1:1: {} no longer gives this trace (recorded {}, now {})\n  hint: the scenario changed since the run was recorded; check out the version it was recorded with",
            trace.display(),
            path.display(),
            header.trace_hash,
            outcome.trace_hash
        ));
    }
    let concrete = make_concrete(&scenario, seed, &outcome);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&format!("{}_seed{}", scenario.name, header.seed)));
    let out_dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let swarm = if header.swarm { " --swarm" } else { "" };
    let note = format!(
        "The scenario of a recorded run: {} --seed {}{swarm} (trace {}).\nIts inputs in the order the run took them, its faults as an explicit schedule.",
        path.display(),
        header.seed,
        header.trace_hash
    );
    let text = emit_scenario_to(&concrete, &note, out_dir);
    if let Err(e) = parse_scenario(&text, &out) {
        return bad_input(e);
    }
    if let Err(code) = write_new(&out, &text, args.force) {
        return code;
    }
    print_next(&out);
    EXIT_PASS
}

/// Files found in an app's folder, at most this deep below it.
const SEARCH_DEPTH_MAX: usize = 2;
/// At most this many files are looked at in an app's folder.
const FILES_MAX: usize = 10_000;

fn run_temper(args: &InitArgs, app: &Path) -> u8 {
    if !app.is_dir() {
        return bad_input(format!(
            "failed to read the app: {} is not a folder\n  hint: point --temper at a temper app, e.g. os-apps/temper-fs",
            app.display()
        ));
    }
    let mut files = Vec::new();
    collect(app, 0, &mut files);
    files.sort();
    let specs: Vec<PathBuf> = files
        .iter()
        .filter(|p| name_of(p).ends_with(".ioa.toml"))
        .cloned()
        .collect();
    if specs.is_empty() {
        return bad_input(format!(
            "failed to find specs: no *.ioa.toml in {} (or its subfolders)\n  hint: a temper app keeps its I/O-automaton specs in specs/",
            app.display()
        ));
    }
    let rule_files: Vec<PathBuf> = files
        .iter()
        .filter(|p| {
            let n = name_of(p);
            let in_reactions = p
                .parent()
                .is_some_and(|d| name_of(d) == "reactions" && n.ends_with(".toml"));
            n.ends_with(".reactions.toml")
                || (n.starts_with("reactions") && n.ends_with(".toml"))
                || in_reactions
        })
        .cloned()
        .collect();
    let app_name = name_of(&std::fs::canonicalize(app).unwrap_or(app.to_path_buf())).replace(
        |c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-',
        "_",
    );
    let out = args.out.clone().unwrap_or_else(|| {
        let file = format!("{}.toml", app_name.replace('-', "_"));
        if Path::new("scenarios").is_dir() {
            Path::new("scenarios").join(file)
        } else {
            PathBuf::from(file)
        }
    });
    if out.exists() && !args.force {
        return bad_input(format!(
            "failed to write {}: it exists\n  hint: pass --force to overwrite it, or --out to write elsewhere",
            out.display()
        ));
    }
    let mut loaded: Vec<TemperSpec> = Vec::new();
    // Left out of the tenant, each with why (as a comment in the scenario).
    let mut left_out: Vec<(PathBuf, String)> = Vec::new();
    for path in &specs {
        match load_spec(path) {
            Ok(s) => match loaded
                .iter()
                .find(|o| o.entity.type_name == s.entity.type_name)
            {
                // Temper keeps variants of one type side by side (test-fixtures has two
                // Process specs); one scenario loads one spec per type.
                Some(first) => left_out.push((
                    path.clone(),
                    format!(
                        "it defines {} too, like {}; load it in a scenario of its own",
                        s.entity.type_name,
                        first.path.display()
                    ),
                )),
                None => loaded.push(s),
            },
            Err(e) => return bad_input(e),
        }
    }
    let mut engines = Vec::new();
    for path in &rule_files {
        match engine_of(path) {
            Ok(engine) => engines.push((path.clone(), engine)),
            Err(e) => return bad_input(e),
        }
    }
    let out_dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The scenario must load as written, or it is worth nothing. A rule file that names
    // types the app does not define (temper-agents' rules need test-fixtures' specs) is
    // left out with its error, so that the rest loads; a spec that does not load is an
    // error.
    let (text, scenario) = loop {
        let text = scenario_text(&app_name, app, &loaded, &engines, &left_out, out_dir);
        match parse_scenario(&text, &out) {
            Ok(s) => break (text, s),
            Err(e) => match engines.iter().position(|(p, _)| same_file(p, &e.file)) {
                Some(i) => {
                    let (path, _) = engines.remove(i);
                    let why = match &e.hint {
                        Some(h) => format!("{} ({h})", e.message),
                        None => e.message.clone(),
                    };
                    left_out.push((path, format!("it does not load: line {}: {why}", e.line)));
                }
                None => return bad_input(e),
            },
        }
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return bad_input(format!("failed to create {}: {e}", dir.display()));
        }
    }
    if let Err(e) = write_atomic(&out, text.as_bytes()) {
        return bad_input(format!("failed to write {}: {e}", out.display()));
    }
    for w in &scenario.warnings {
        eprintln!("{w}");
    }
    println!(
        "init: {} specs, {} rule files, {} integrations from {}",
        loaded.len(),
        engines.len(),
        scenario.integrations.len(),
        app.display()
    );
    println!("init: wrote {}", out.display());
    println!(
        "next: uncomment a few [[event]]s, then: ripple run {} --seed 1",
        out.display()
    );
    EXIT_PASS
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if out.len() >= FILES_MAX {
            return;
        }
        if name_of(&p).starts_with('.') || name_of(&p) == "target" {
            continue;
        }
        if p.is_dir() {
            if depth < SEARCH_DEPTH_MAX {
                collect(&p, depth + 1, out);
            }
        } else {
            out.push(p);
        }
    }
}

/// Which of temper's engines reads a rule file: the server's dispatcher if the file loads
/// under its schema, temper's runtime engine if it loads only under that one's (PascalCase
/// resolvers, no `resolve_target`). A file neither loads is an error: the server's, whose
/// message says most.
fn engine_of(path: &Path) -> Result<&'static str, SourceError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SourceError::file(path, format!("failed to read the rule file: {e}")))?;
    match parse_rules_file_located(&text, path) {
        Ok(_) => Ok("server"),
        Err(server) => match parse_runtime_rules(&text, path) {
            Ok(_) => Ok("runtime"),
            Err(_) => Err(server),
        },
    }
}

/// A sample value of a param, by its declared type.
fn sample(name: &str, ty: Option<&str>) -> String {
    match ty.unwrap_or("string") {
        "uint64" | "int64" | "integer" | "counter" | "number" | "u64" | "i64" => "1".into(),
        "bool" | "boolean" => "true".into(),
        _ => format!("\"{name}-1\""),
    }
}

fn scenario_text(
    app_name: &str,
    app: &Path,
    specs: &[TemperSpec],
    rule_files: &[(PathBuf, &str)],
    left_out: &[(PathBuf, String)],
    out_dir: &Path,
) -> String {
    let rel = |p: &Path| {
        relative_path(out_dir, p)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let tenant = app_name.replace('-', "_");
    let mut t = String::new();
    t.push_str(&format!(
        "# A scenario for the temper app in {}, written by `ripple init --temper`.\n",
        app.display()
    ));
    t.push_str(
        "# Its specs and rule files load as they are. Uncomment [[event]]s to drive the app,\n",
    );
    t.push_str("# set how its integrations answer, then: ripple run THIS_FILE --seed 1\n\n");
    t.push_str(&format!(
        "[scenario]\nname = \"{app_name}\"\nuntil = \"10m\"\n\n"
    ));
    t.push_str(&format!("[[tenant]]\nid = \"{tenant}\"\n"));
    t.push_str("specs = [\n");
    for s in specs {
        t.push_str(&format!("    \"{}\",\n", rel(&s.path)));
    }
    t.push_str("]\n");
    if !rule_files.is_empty() {
        t.push_str("reactions = [\n");
        for (p, engine) in rule_files {
            if *engine == "runtime" {
                t.push_str(&format!(
                    "    {{ path = \"{}\", engine = \"runtime\" }},   # PascalCase resolvers or emit-keyed rules: temper's runtime engine\n",
                    rel(p)
                ));
            } else {
                t.push_str(&format!("    \"{}\",\n", rel(p)));
            }
        }
        t.push_str("]\n");
    }
    for (p, why) in left_out {
        t.push_str(&format!("# not loaded: {}: {why}\n", rel(p)));
    }
    t.push('\n');
    let integrations: Vec<_> = specs
        .iter()
        .flat_map(|s| s.integrations.iter().map(move |i| (s, i)))
        .collect();
    if !integrations.is_empty() {
        t.push_str(
            "# How the outside world answers each integration: a weighted choice drawn from the\n",
        );
        t.push_str(
            "# seed, after a delay drawn from the range (ripple check explores every answer).\n\n",
        );
    }
    for (s, i) in integrations {
        t.push_str(&format!(
            "[[integration]]\nname = \"{}\"\nentity_type = \"{}\"\n",
            i.name, s.entity.type_name
        ));
        if i.answers.is_empty() {
            t.push_str("# answers nothing as specified; to simulate an answer, name one of the type's actions:\n");
            t.push_str("# answers = { SomeAction = 1 }\n");
        } else {
            let answers: Vec<String> = i.answers.iter().map(|a| format!("{a} = 1")).collect();
            t.push_str(&format!("answers = {{ {} }}\n", answers.join(", ")));
        }
        t.push_str(&format!(
            "delay = {{ min = \"{}\", max = \"{}\" }}\n\n",
            format_duration_ms(INTEGRATION_DELAY_MS_MIN_DEFAULT),
            format_duration_ms(INTEGRATION_DELAY_MS_MAX_DEFAULT)
        ));
    }
    t.push_str(
        "# One sample event per input action (uncomment to use; ids and params are examples).\n",
    );
    let mut at = 0;
    for s in specs {
        let ty = &s.entity.type_name;
        let id = format!("{}-1", ty.to_ascii_lowercase());
        t.push_str(&format!("\n# --- {ty} ({})\n", rel(&s.path)));
        if s.inputs.is_empty() {
            t.push_str("# (no input actions)\n");
        }
        for (action, params) in &s.inputs {
            t.push_str(&format!(
                "# [[event]]\n# at = \"{at}ms\"\n# tenant = \"{tenant}\"\n"
            ));
            let mut d = format!(
                "# dispatch = {{ entity_type = \"{ty}\", id = \"{id}\", action = \"{action}\""
            );
            if !params.is_empty() {
                let ps: Vec<String> = params
                    .iter()
                    .map(|(n, ty)| format!("{} = {}", toml_key(n), sample(n, ty.as_deref())))
                    .collect();
                d.push_str(&format!(", params = {{ {} }}", ps.join(", ")));
            }
            d.push_str(" }\n");
            t.push_str(&d);
            at += 10;
        }
    }
    t
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}
