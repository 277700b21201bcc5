//! `docs/scenario.md` and the JSON Schemas beside it, kept in step with the loader.
//!
//! - Every key table of the reference (a `<!-- keys: PATH -->` marker and the table under it)
//!   lists exactly the keys the loader accepts at PATH. The loader is asked, not a copy of
//!   it: each table is probed with an unknown key, and the loader's own error names the keys
//!   it expected (serde's list for `deny_unknown_fields`, or the `expecting` text of an
//!   untagged enum).
//! - `docs/scenario.schema.json` and `docs/rules.schema.json` are generated from those key
//!   tables; the test regenerates them and compares (`RIPPLE_BLESS_SCHEMA=1` rewrites them).
//! - Every shipped scenario and rule file validates against its schema, and each shape error
//!   of the bad-input tests (unknown key, wrong type, unknown kind) is rejected by it.
//!
//! Not covered: what the schema cannot say (declared names, durations' syntax, guard depth,
//! template syntax); the loader checks those and `tests/bad_input.rs` tests it.

use ripple::__private::{parse_rules_file_located, write_atomic};
use ripple::parse_scenario;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const DOC: &str = "docs/scenario.md";
const SCENARIO_SCHEMA: &str = "docs/scenario.schema.json";
const RULES_SCHEMA: &str = "docs/rules.schema.json";
/// The pseudo-paths of the two files' top levels.
const FILE: &str = "(file)";
const RULES_FILE: &str = "(rules file)";

fn crate_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(crate_path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// One row of a key table.
#[derive(Debug, Clone)]
struct Key {
    name: String,
    ty: String,
    default: String,
    meaning: String,
}

/// The key tables of the reference, by path, in the order they appear.
fn doc_tables(doc: &str) -> Vec<(String, Vec<Key>)> {
    let mut out: Vec<(String, Vec<Key>)> = Vec::new();
    let mut lines = doc.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .strip_prefix("<!-- keys: ")
            .and_then(|r| r.strip_suffix(" -->"))
        else {
            continue;
        };
        let mut keys = Vec::new();
        // The header and its separator, then rows until the table ends.
        let header = lines.next().unwrap_or_default();
        assert!(
            header.starts_with("| key | type | default | meaning |"),
            "{path}: the marker must be followed by a key table, found {header:?}"
        );
        lines.next();
        while let Some(row) = lines.peek().filter(|l| l.starts_with('|')) {
            let cells = split_row(row);
            assert_eq!(cells.len(), 4, "{path}: a row needs 4 cells: {row}");
            keys.push(Key {
                name: unquote(&cells[0]).to_string(),
                ty: unquote(&cells[1]).to_string(),
                default: cells[2].clone(),
                meaning: cells[3].clone(),
            });
            lines.next();
        }
        assert!(!keys.is_empty(), "{path}: an empty key table");
        out.push((path.to_string(), keys));
    }
    out
}

/// The cells of a markdown table row; `\|` is a literal bar.
fn split_row(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

fn unquote(cell: &str) -> &str {
    cell.trim().trim_matches('`')
}

// ---------------------------------------------------------------------------------------------
// The loader's keys.
// ---------------------------------------------------------------------------------------------

const PROBE: &str = "zz_probe_key";

/// A file in which `PROBE` is a key of the table at `path`, and which file it is.
fn probe_text(path: &str) -> Option<(String, bool)> {
    let p = format!("{PROBE} = 1");
    let scenario = |s: &str| Some((s.replace("PROBE", &p), false));
    match path {
        FILE => scenario("PROBE\n"),
        RULES_FILE => Some((format!("{p}\n"), true)),
        "scenario" => scenario("[scenario]\nPROBE\n"),
        "tenant" => scenario("[[tenant]]\nPROBE\n"),
        "tenant.reactions" => scenario("[[tenant]]\nid = \"t\"\nreactions = [{ PROBE }]\n"),
        "reaction" => scenario("[[reaction]]\nPROBE\n"),
        "reaction.when" => scenario("[[reaction]]\n[reaction.when]\nPROBE\n"),
        "reaction.when.guard" => scenario("[[reaction]]\n[reaction.when.guard]\nPROBE\n"),
        "reaction.then" => scenario("[[reaction]]\n[reaction.then]\nPROBE\n"),
        "reaction.resolve_target" => scenario("[[reaction]]\n[reaction.resolve_target]\nPROBE\n"),
        "entity" => scenario("[[entity]]\nPROBE\n"),
        "entity.action" => scenario("[[entity]]\n[[entity.action]]\nPROBE\n"),
        "reflex" => scenario("[[reflex]]\nPROBE\n"),
        "reflex.then" => scenario("[[reflex]]\n[reflex.then]\nPROBE\n"),
        "event" => scenario("[[event]]\nPROBE\n"),
        "event.dispatch" => scenario("[[event]]\n[event.dispatch]\nPROBE\n"),
        "event.dispatch.created_by" => scenario("[[event]]\n[event.dispatch.created_by]\nPROBE\n"),
        "generator" => scenario("[[generator]]\nPROBE\n"),
        "generator.values" => scenario("[[generator]]\n[generator.values]\nv = { PROBE }\n"),
        "expect" => scenario("[[expect]]\nPROBE\n"),
        "invariant" => scenario("[[invariant]]\nPROBE\n"),
        "faults" => scenario("[faults]\nPROBE\n"),
        "faults.delay" => scenario("[faults]\n[faults.delay]\nPROBE\n"),
        "fault" => scenario("[[fault]]\nPROBE\n"),
        "integration" => scenario("[[integration]]\nPROBE\n"),
        "integration.delay" => scenario("[[integration]]\n[integration.delay]\nPROBE\n"),
        "answer" => scenario("[[answer]]\nPROBE\n"),
        _ => None,
    }
}

/// The keys the loader expected where it found `PROBE`: the backquoted names after
/// "expected" in serde's unknown-field message, or the `key =` names of an untagged enum's
/// `expecting` text.
fn loader_keys(path: &str) -> BTreeSet<String> {
    let (text, rules) = probe_text(path)
        .unwrap_or_else(|| panic!("no probe for the table {path:?}: add one to probe_text"));
    let file = Path::new("probe.toml");
    let err = if rules {
        parse_rules_file_located(&text, file)
            .map(|_| ())
            .unwrap_err()
    } else {
        parse_scenario(&text, file).map(|_| ()).unwrap_err()
    };
    let message = err.message.clone();
    if let Some(rest) = message.split("unknown field `").nth(1) {
        let rest = rest.split_once("expected").map_or("", |(_, r)| r);
        let keys: BTreeSet<String> = rest
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        assert!(!keys.is_empty(), "{path}: no keys in {message:?}");
        return keys;
    }
    // An untagged enum's `expecting`: `{ a = ..., b = ... }`.
    let keys: BTreeSet<String> = message
        .split(['{', ',', ' '])
        .zip(message.split(['{', ',', ' ']).skip(1).chain([""]))
        .filter(|(_, next)| *next == "=")
        .map(|(k, _)| k.to_string())
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    assert!(
        !keys.is_empty(),
        "{path}: the loader's error names no keys: {message:?}"
    );
    keys
}

#[test]
fn every_key_table_of_the_reference_lists_exactly_the_loaders_keys() {
    let doc = read(DOC);
    let tables = doc_tables(&doc);
    let mut problems = Vec::new();
    for (path, keys) in &tables {
        let documented: BTreeSet<String> = keys.iter().map(|k| k.name.clone()).collect();
        let accepted = loader_keys(path);
        for k in accepted.difference(&documented) {
            problems.push(format!(
                "{path}: the loader accepts `{k}`, the reference does not list it"
            ));
        }
        for k in documented.difference(&accepted) {
            problems.push(format!(
                "{path}: the reference lists `{k}`, the loader does not accept it"
            ));
        }
    }
    // `[[tenant.reaction]]` takes the keys of `[[reaction]]`, which the reference says.
    let inline = {
        let text = format!("[[tenant]]\nid = \"t\"\n[[tenant.reaction]]\n{PROBE} = 1\n");
        let e = parse_scenario(&text, Path::new("probe.toml")).unwrap_err();
        e.message
    };
    for (path, keys) in &tables {
        if path == "reaction" {
            for k in keys {
                assert!(
                    inline.contains(&format!("`{}`", k.name)),
                    "[[tenant.reaction]] does not take `{}`: {inline}",
                    k.name
                );
            }
        }
    }
    // Every table the file's top level names is described.
    let paths: BTreeSet<&str> = tables.iter().map(|(p, _)| p.as_str()).collect();
    for k in loader_keys(FILE) {
        assert!(
            paths.contains(k.as_str()),
            "the reference has no key table for `{k}`"
        );
    }
    assert!(
        problems.is_empty(),
        "{DOC} and the loader disagree:\n{}",
        problems.join("\n")
    );
}

/// The enumerated values the reference gives (guard types, resolver types, builtins, fault
/// kinds) are the ones the loader knows: each listed value loads past its kind check, and an
/// unknown one is refused with a hint that lists exactly the documented ones.
#[test]
fn the_references_kinds_are_the_loaders() {
    let doc = read(DOC);
    let tables = doc_tables(&doc);
    let values_of = |path: &str, key: &str| -> Vec<String> {
        let (_, keys) = tables.iter().find(|(p, _)| p == path).unwrap();
        let ty = &keys.iter().find(|k| k.name == key).unwrap().ty;
        let list = ty
            .strip_prefix("string: ")
            .unwrap_or_else(|| panic!("{path}.{key}: {ty}"));
        list.split(" | ").map(str::to_string).collect()
    };
    let hint_of = |text: &str| -> String {
        let e = parse_scenario(text, Path::new("probe.toml")).unwrap_err();
        format!("{} {}", e.message, e.hint.unwrap_or_default())
    };
    let base = "[scenario]\nname = \"x\"\n[[tenant]]\nid = \"t\"\n[[entity]]\ntype = \"A\"\nstates = [\"S\"]\ninitial = \"S\"\n[[entity.action]]\nname = \"Go\"\n";
    let rule = |guard: &str, resolver: &str| {
        format!("{base}[[reaction]]\nname = \"r\"\n[reaction.when]\nentity_type = \"A\"\n{guard}\n[reaction.then]\nentity_type = \"A\"\naction = \"Go\"\n[reaction.resolve_target]\ntype = \"{resolver}\"\n")
    };
    let cases: [(&str, &str, String); 4] = [
        (
            "reaction.when.guard",
            "type",
            hint_of(&rule("guard = { type = \"nope\" }", "same_id")),
        ),
        (
            "reaction.resolve_target",
            "type",
            hint_of(&rule("", "nope")),
        ),
        (
            "reflex",
            "builtin",
            hint_of(&format!("{base}[[reflex]]\nbuiltin = \"nope\"\n")),
        ),
        (
            "fault",
            "kind",
            hint_of(&format!("{base}[[fault]]\nkind = \"nope\"\n")),
        ),
    ];
    for (path, key, hint) in cases {
        for v in values_of(path, key) {
            assert!(
                hint.contains(&v),
                "{path}.{key}: the loader does not list {v:?}: {hint}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The schemas.
// ---------------------------------------------------------------------------------------------

/// The JSON Schema of one type of the reference's type language.
fn type_schema(ty: &str) -> Value {
    let alternatives = split_top_level(ty, " or ");
    if alternatives.len() > 1 {
        return json!({ "anyOf": alternatives.iter().map(|t| type_schema(t)).collect::<Vec<_>>() });
    }
    if let Some(list) = ty.strip_prefix("string: ") {
        return json!({ "type": "string", "enum": list.split(" | ").collect::<Vec<_>>() });
    }
    if let Some(inner) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return json!({ "type": "array", "items": type_schema(inner) });
    }
    if let Some(inner) = ty.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        return json!({ "type": "object", "additionalProperties": type_schema(inner) });
    }
    if let Some(path) = ty.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
        return json!({ "$ref": format!("#/definitions/{path}") });
    }
    match ty {
        "string" => json!({ "type": "string" }),
        "duration" => {
            json!({ "type": "string", "description": "virtual time: \"150ms\", \"2s\", \"5m\", \"1h\", \"1m30s\" or \"0\"" })
        }
        "size" => {
            json!({ "type": "string", "pattern": "^[0-9]+ ?(B|KiB|MiB|GiB|TiB)?$", "description": "bytes: \"256MiB\", \"2GiB\", \"65536\"" })
        }
        "integer" => json!({ "type": "integer" }),
        "number" => json!({ "type": "number" }),
        "probability" => json!({ "type": "number", "minimum": 0.0, "maximum": 1.0 }),
        "bool" => json!({ "type": "boolean" }),
        "any" => json!({}),
        "table" => json!({ "type": "object" }),
        other => panic!("{DOC}: unknown type {other:?} in a key table"),
    }
}

/// `ty` split at `sep` outside brackets.
fn split_top_level<'a>(ty: &'a str, sep: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0, 0);
    while i < ty.len() {
        match ty.as_bytes()[i] {
            b'[' | b'{' | b'<' => depth += 1,
            b']' | b'}' | b'>' => depth -= 1,
            _ => {}
        }
        if depth == 0 && ty[i..].starts_with(sep) {
            out.push(&ty[start..i]);
            i += sep.len();
            start = i;
            continue;
        }
        i += 1;
    }
    out.push(&ty[start..]);
    out
}

/// The schema of one key table: its keys, the required ones, nothing else.
fn table_schema(keys: &[Key]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for k in keys {
        let mut s = type_schema(&k.ty);
        let obj = s.as_object_mut().unwrap();
        let meaning = k.meaning.replace('`', "");
        let description = match obj.get("description").and_then(Value::as_str) {
            Some(d) => format!("{meaning} ({d})"),
            None => meaning,
        };
        obj.insert("description".into(), Value::String(description));
        if k.default == "required" {
            required.push(k.name.clone());
        } else if let Ok(v) = serde_json::from_str::<Value>(unquote(&k.default)) {
            obj.insert("default".into(), v);
        }
        properties.insert(k.name.clone(), s);
    }
    let mut schema =
        json!({ "type": "object", "properties": properties, "additionalProperties": false });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// The two schemas, from the reference's key tables.
fn schemas(doc: &str) -> (Value, Value) {
    let tables: BTreeMap<String, Vec<Key>> = doc_tables(doc).into_iter().collect();
    let definitions: Map<String, Value> = tables
        .iter()
        .filter(|(p, _)| !p.starts_with('('))
        .map(|(p, keys)| (p.clone(), table_schema(keys)))
        .collect();
    let root = |path: &str, title: &str, description: &str, defs: &Map<String, Value>| {
        let mut s = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": title,
            "description": description,
        });
        let body = table_schema(&tables[path]);
        for (k, v) in body.as_object().unwrap() {
            s[k] = v.clone();
        }
        s["definitions"] = Value::Object(defs.clone());
        s
    };
    let scenario = root(
        FILE,
        "Ripple scenario",
        "A Ripple scenario file (generated from docs/scenario.md by tests/scenario_reference.rs)",
        &definitions,
    );
    // A rule file needs only the rule tables.
    let rule_defs: Map<String, Value> = definitions
        .iter()
        .filter(|(p, _)| p.as_str() == "reaction" || p.starts_with("reaction."))
        .map(|(p, s)| (p.clone(), s.clone()))
        .collect();
    let rules = root(
        RULES_FILE,
        "Ripple / temper rule file",
        "A reaction rule file (generated from docs/scenario.md by tests/scenario_reference.rs)",
        &rule_defs,
    );
    (scenario, rules)
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

#[test]
fn the_committed_schemas_are_the_ones_the_reference_generates() {
    let (scenario, rules) = schemas(&read(DOC));
    let bless = std::env::var_os("RIPPLE_BLESS_SCHEMA").is_some();
    for (rel, schema) in [(SCENARIO_SCHEMA, &scenario), (RULES_SCHEMA, &rules)] {
        let want = pretty(schema);
        if bless {
            write_atomic(&crate_path(rel), want.as_bytes()).unwrap();
            continue;
        }
        let have = std::fs::read_to_string(crate_path(rel)).unwrap_or_default();
        assert!(
            have == want,
            "{rel} is stale: regenerate it with RIPPLE_BLESS_SCHEMA=1 cargo test --test scenario_reference"
        );
    }
}

fn toml_to_json(text: &str, what: &str) -> Value {
    let v: toml::Value = toml::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    serde_json::to_value(v).unwrap()
}

fn validator(rel: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(rel)).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{rel} is not a schema: {e}"))
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The shipped scenario and rule files, by kind.
fn shipped() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut scenarios = Vec::new();
    let mut rules = Vec::new();
    let mut stack = vec![crate_path("scenarios"), crate_path("seeds")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".ioa.toml") || !name.ends_with(".toml") {
                // temper's own spec format: not a scenario.
            } else if name.contains("reactions")
                || p.parent().is_some_and(|d| d.ends_with("reactions"))
            {
                rules.push(p);
            } else if std::fs::read_to_string(&p).unwrap().contains("[scenario]") {
                scenarios.push(p);
            }
        }
    }
    scenarios.sort();
    rules.sort();
    (scenarios, rules)
}

#[test]
fn every_shipped_scenario_and_rule_file_validates_against_its_schema() {
    let (scenarios, rules) = shipped();
    assert!(scenarios.len() >= 7, "found only {scenarios:?}");
    // Rule files declared for temper's runtime engine have that engine's schema (PascalCase
    // resolvers, an optional resolve_target), which the rules schema does not describe.
    let mut runtime = BTreeSet::new();
    for s in &scenarios {
        let v = toml_to_json(&std::fs::read_to_string(s).unwrap(), "scenario");
        for t in v["tenant"].as_array().into_iter().flatten() {
            for r in t["reactions"].as_array().into_iter().flatten() {
                if r["engine"] == "runtime" {
                    let p = s.parent().unwrap().join(r["path"].as_str().unwrap());
                    runtime.insert(std::fs::canonicalize(p).unwrap());
                }
            }
        }
    }
    let rules: Vec<PathBuf> = rules
        .into_iter()
        .filter(|r| !runtime.contains(&std::fs::canonicalize(r).unwrap()))
        .collect();
    assert!(!rules.is_empty());
    for (files, rel) in [(&scenarios, SCENARIO_SCHEMA), (&rules, RULES_SCHEMA)] {
        let v = validator(rel);
        for f in files.iter() {
            let text = std::fs::read_to_string(f).unwrap();
            let errs = errors(&v, &toml_to_json(&text, &f.display().to_string()));
            assert!(
                errs.is_empty(),
                "{} against {rel}:\n{}",
                f.display(),
                errs.join("\n")
            );
        }
    }
}

/// `bad_input.rs`'s base scenario and the shape errors among its hostile inputs.
const BASE: &str = r#"[scenario]
name = "x"

[[tenant]]
id = "shop"

[[entity]]
type = "Order"
states = ["Draft", "Confirmed"]
initial = "Draft"
[[entity.action]]
name = "ConfirmOrder"
from = ["Draft"]
to = "Confirmed"

[[entity]]
type = "Payment"
states = ["Pending", "Authorized"]
initial = "Pending"
[[entity.action]]
name = "AuthorizePayment"
"#;

fn rule(guard: &str, resolve: &str) -> String {
    format!(
        "[[tenant.reaction]]\nname = \"pay\"\n[tenant.reaction.when]\nentity_type = \"Order\"\n{guard}\n\
         [tenant.reaction.then]\nentity_type = \"Payment\"\naction = \"AuthorizePayment\"\n\
         [tenant.reaction.resolve_target]\n{resolve}\n"
    )
}

#[test]
fn the_schema_rejects_the_shape_errors_of_the_bad_input_tests() {
    let v = validator(SCENARIO_SCHEMA);
    let base = toml_to_json(BASE, "base");
    assert!(errors(&v, &base).is_empty(), "{:?}", errors(&v, &base));
    assert!(parse_scenario(BASE, Path::new("x.toml")).is_ok());
    let same_id = "type = \"same_id\"";
    let hostile: Vec<(&str, String)> = vec![
        ("unknown top-level key", format!("{BASE}[[expects]]\ntenant = \"shop\"\n")),
        ("unknown key in [scenario]", BASE.replacen("name = \"x\"", "name = \"x\"\nmax_dept = 3", 1)),
        ("max_depth not a number", BASE.replacen("name = \"x\"", "name = \"x\"\nmax_depth = \"8\"", 1)),
        ("[scenario] without name", BASE.replacen("name = \"x\"", "description = \"d\"", 1)),
        ("unknown builtin", format!("{BASE}[[reflex]]\nbuiltin = \"link-down\"\n")),
        ("unknown severity", format!("{BASE}[[reflex]]\nid = \"r\"\npattern = \"a.>\"\nseverity = \"loud\"\n")),
        ("unknown guard type", format!("{BASE}{}", rule("guard = { type = \"state_is\", values = [\"X\"] }", same_id))),
        ("unknown key in a guard", format!("{BASE}{}", rule("[tenant.reaction.when.guard]\ntype = \"bool_true\"\nfield = \"vip\"\nfiel = \"vip\"", same_id))),
        ("unknown resolver type", format!("{BASE}{}", rule("", "type = \"same_idd\""))),
        ("a rule without resolve_target", format!("{BASE}[[tenant.reaction]]\nname = \"r\"\n[tenant.reaction.when]\nentity_type = \"Order\"\n[tenant.reaction.then]\nentity_type = \"Payment\"\naction = \"AuthorizePayment\"\n")),
        ("unknown key in an event", format!("{BASE}[[event]]\nat = \"0ms\"\ntenant = \"shop\"\nsubjct = \"a.b\"\n")),
        ("unknown key in dispatch", format!("{BASE}[[event]]\nat = \"0ms\"\ntenant = \"shop\"\ndispatch = {{ entity_type = \"Order\", id = \"o1\", action = \"ConfirmOrder\", parms = {{}} }}\n")),
        ("a probability out of range", format!("{BASE}[faults]\ndrop = 1.5\n")),
        ("unknown fault kind", format!("{BASE}[[fault]]\nkind = \"explode\"\n")),
        ("states not a list", BASE.replacen("states = [\"Pending\", \"Authorized\"]", "states = \"Pending\"", 1)),
        ("unknown key in an action", BASE.replacen("name = \"AuthorizePayment\"", "name = \"AuthorizePayment\"\nform = [\"Pending\"]", 1)),
        ("unknown rule file engine", BASE.replacen("id = \"shop\"", "id = \"shop\"\nreactions = [{ path = \"r.toml\", engine = \"fast\" }]", 1)),
        ("expect exists not a bool", format!("{BASE}[[expect]]\ntenant = \"shop\"\nentity_type = \"Order\"\nid = \"o1\"\nexists = \"no\"\n")),
    ];
    for (what, text) in hostile {
        assert!(
            parse_scenario(&text, Path::new("x.toml")).is_err(),
            "{what}: the loader accepts it, so it is no hostile input:\n{text}"
        );
        let errs = errors(&v, &toml_to_json(&text, what));
        assert!(!errs.is_empty(), "{what}: the schema accepts it:\n{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// `ripple init`: a starter that runs, and the scenario of a recorded run.
// ---------------------------------------------------------------------------------------------

/// An empty folder of its own, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ripple-ref-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `ripple ARGS` in `dir`: exit status and stdout (stderr appended, for messages).
fn ripple_in(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn init_writes_a_starter_that_runs_and_passes_in_an_empty_directory() {
    let tmp = TempDir::new("init");
    let (code, out) = ripple_in(&tmp.0, &["init", "my_shop"]);
    assert_eq!(code, 0, "{out}");
    let file = tmp.0.join("my_shop.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    // What the brief of a starter promises: two entity types, a rule, a reflex, an event,
    // an invariant, an expectation; commented.
    for table in [
        "[[entity]]",
        "[[reaction]]",
        "[[reflex]]",
        "[[event]]",
        "[[invariant]]",
        "[[expect]]",
    ] {
        assert!(text.contains(table), "the starter has no {table}");
    }
    assert_eq!(text.matches("[[entity]]").count(), 2);
    assert!(text.contains("name = \"my_shop\""));
    assert!(
        text.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            >= 10
    );
    // The next three commands, each one that works on the file.
    let next: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("ripple "))
        .collect();
    assert_eq!(next.len(), 3, "{out}");
    assert!(
        next[0].contains("ripple run my_shop.toml --seed 1"),
        "{out}"
    );
    let (code, run) = ripple_in(&tmp.0, &["run", "my_shop.toml", "--seed", "1"]);
    assert_eq!(code, 0, "the starter does not pass:\n{run}");
    let (code, run) = ripple_in(
        &tmp.0,
        &["run", "my_shop.toml", "--seed", "1", "--format", "json"],
    );
    assert_eq!(code, 0, "{run}");
    assert!(
        run.contains("\"verdict\":\"pass\"") || run.contains("\"verdict\": \"pass\""),
        "{run}"
    );
    assert!(
        run.contains("order_confirmed_authorizes_payment"),
        "the rule did not fire:\n{run}"
    );
    assert!(
        run.contains("payment_watch"),
        "the reflex saw nothing:\n{run}"
    );
    // It validates against the schema, as a user's editor would check it.
    let errs = errors(&validator(SCENARIO_SCHEMA), &toml_to_json(&text, "starter"));
    assert!(errs.is_empty(), "{errs:?}");
    // A second init does not overwrite it.
    let (code, out) = ripple_in(&tmp.0, &["init", "my_shop"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--force"), "{out}");
    let (code, out) = ripple_in(&tmp.0, &["init", "my shop"]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn init_from_trace_writes_the_scenario_of_the_recorded_run() {
    let tmp = TempDir::new("from-trace");
    assert_eq!(ripple_in(&tmp.0, &["init", "shop"]).0, 0);
    let (code, out) = ripple_in(
        &tmp.0,
        &["run", "shop.toml", "--seed", "3", "--trace", "t.jsonl"],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = ripple_in(
        &tmp.0,
        &["init", "--from-trace", "t.jsonl", "--out", "again.toml"],
    );
    assert_eq!(code, 0, "{out}");
    let text = std::fs::read_to_string(tmp.0.join("again.toml")).unwrap();
    assert!(
        text.contains("--seed 3"),
        "it says which run it is:\n{text}"
    );
    assert!(text.contains("order = \"file\""), "{text}");
    assert_eq!(text.matches("[[event]]").count(), 2, "{text}");
    let (code, out) = ripple_in(&tmp.0, &["run", "again.toml", "--seed", "1"]);
    assert_eq!(code, 0, "{out}");
    // The scenario changed since: the trace is no longer its run, and nothing is written.
    let changed = std::fs::read_to_string(tmp.0.join("shop.toml"))
        .unwrap()
        .replace("at = \"1s\"", "at = \"2s\"");
    std::fs::write(tmp.0.join("shop.toml"), changed).unwrap();
    let (code, out) = ripple_in(
        &tmp.0,
        &["init", "--from-trace", "t.jsonl", "--out", "stale.toml"],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no longer gives this trace"), "{out}");
    assert!(!tmp.0.join("stale.toml").exists());
}
