//! `ripple lint SCENARIO`: the lint pass alone (every command that runs a scenario runs it
//! first).

use crate::cli::{bad_input, Format, EXIT_BAD_INPUT, EXIT_PASS};
use crate::scenario::{lint_scenario, load_scenario};
use std::path::PathBuf;

/// Check the names a scenario uses against what it can ever produce.
///
/// Names of types, states and fields in invariants, expectations and guards are checked
/// against the declared states and the fields that some action, effect, param, reflex or
/// rule can set; reflex patterns against the subjects some event, generator or entity commit
/// can publish; `params_from` sources, `cross_entity_state_in` id sources and `{payload.KEY}`
/// placeholders against what is ever set or carried. An unknown name is an error, with its
/// file, line and column and a "did you mean" hint; a thing that can never happen is a
/// warning.
///
/// Exit status: 0 no error (warnings are printed), 2 an error, or a warning under
/// `--deny warnings`. This command runs nothing, so it never exits 1.
///
/// Example: ripple lint scenarios/netops.toml --deny warnings
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// `warnings`: warnings are bad input too.
    #[arg(long, value_name = "WHAT", value_parser = ["warnings"])]
    pub deny: Option<String>,
    /// Output: text, or one JSON object (`errors`, `warnings`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &LintArgs) -> u8 {
    let scenario = match load_scenario(&args.scenario) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let lints = lint_scenario(&scenario);
    let errors: Vec<String> = lints.errors.iter().map(|e| e.to_string()).collect();
    // The load-time warnings (temper constructs not simulated) are the scenario's too.
    let mut warnings = scenario.warnings.clone();
    warnings.extend(lints.warning_lines());
    let failed = !errors.is_empty() || (args.deny.is_some() && !warnings.is_empty());
    match args.format {
        Format::Json => {
            let report = serde_json::json!({
                "version": 1,
                "scenario": args.scenario.display().to_string(),
                "verdict": if failed { "bad_input" } else { "ok" },
                "errors": errors,
                "warnings": warnings,
            });
            println!("{report}");
        }
        Format::Text => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            for w in &warnings {
                eprintln!("{w}");
            }
            println!(
                "lint {}: {} errors, {} warnings{}",
                args.scenario.display(),
                errors.len(),
                warnings.len(),
                if args.deny.is_some() && !warnings.is_empty() {
                    " (warnings denied)"
                } else {
                    ""
                }
            );
        }
    }
    if failed {
        EXIT_BAD_INPUT
    } else {
        EXIT_PASS
    }
}
