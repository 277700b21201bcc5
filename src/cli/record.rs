//! `ripple record`: live NATS traffic into a scenario.

use crate::bus::Pattern;
use crate::cli::{bad_input, EXIT_PASS};
use crate::core::{format_duration_ms, parse_duration_ms, write_atomic, TenantId};
use crate::live::{
    append_text, covering_pattern, decode, new_scenario_text, record, Auth, Capture, Lossy,
    Provenance, RecordPlan, ServerSpec, StopReason,
};
use crate::scenario::{parse_scenario, Scenario};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The address and credentials of a NATS server (shared by `record` and `publish`).
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// The NATS server: nats://HOST:PORT (tls://HOST:PORT for TLS).
    #[arg(long, value_name = "URL", default_value = "nats://127.0.0.1:4222")]
    pub server: String,
    /// User name (with --password).
    #[arg(long, requires = "password", conflicts_with_all = ["token", "creds"])]
    pub user: Option<String>,
    /// Password (with --user).
    #[arg(long, requires = "user")]
    pub password: Option<String>,
    /// Authentication token.
    #[arg(long, conflicts_with = "creds")]
    pub token: Option<String>,
    /// A credentials file (JWT and nkey seed), as `nsc` writes them.
    #[arg(long, value_name = "FILE")]
    pub creds: Option<PathBuf>,
    /// A CA certificate (PEM) to verify the server with; implies TLS.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// A client certificate (PEM), for servers that verify clients (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl ServerArgs {
    pub fn spec(&self) -> ServerSpec {
        let auth = match (&self.user, &self.password, &self.token, &self.creds) {
            (Some(user), Some(password), _, _) => Auth::UserPassword {
                user: user.clone(),
                password: password.clone(),
            },
            (_, _, Some(token), _) => Auth::Token(token.clone()),
            (_, _, _, Some(creds)) => Auth::Creds(creds.clone()),
            _ => Auth::None,
        };
        ServerSpec {
            url: self.server.clone(),
            auth,
            tls_ca: self.tls_ca.clone(),
            tls_client: self.tls_cert.clone().zip(self.tls_key.clone()),
        }
    }
}

/// Record live NATS traffic into a scenario
///
/// Subscribes to the --subject patterns (NATS wildcards: `*` one token, `>` the rest) and
/// captures each message's subject, payload and arrival time until --for has passed,
/// --count messages have arrived, or Ctrl-C (what was captured is still written). Writes a
/// scenario (atomically) whose [[event]]s are the messages at their arrival times after the
/// first one, with a comment saying where and when they were recorded; `ripple run`,
/// `sweep` and `shrink` take it as it is.
///
/// A payload that is not JSON is kept as a string, and reported. A message's tenant is its
/// `Ripple-Tenant` header (which `ripple publish` sets), or --tenant. A new scenario gets
/// the first-party handlers for the sensory classes it heard and keeps arrival order for
/// events in the same millisecond (order = "file"); --append adds the events (and any
/// tenant they name) to the end of an existing scenario instead, leaving the rest of it as
/// it was.
///
/// Exit status: 0 written; 2 bad input (an invalid pattern, a path that cannot be written,
/// a server that cannot be reached or refuses the credentials).
///
/// Examples:
///   ripple record --server nats://staging:4222 --for 60s --out scenarios/recorded.toml
///   ripple record --subject 'sensory.link_down.>' --count 500 --tenant netops --out x.toml
///   ripple record --for 5m --append scenarios/netops.toml --out scenarios/netops-live.toml
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct RecordArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// A subject pattern to record (repeat for several).
    #[arg(long = "subject", value_name = "PATTERN", default_value = "sensory.>")]
    pub subjects: Vec<String>,
    /// Stop after this long (e.g. 60s, 5m).
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
    /// Stop after this many messages.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// The tenant of messages without a Ripple-Tenant header. Default: `live`; with
    /// --append, the scenario's tenant when it declares exactly one.
    #[arg(long)]
    pub tenant: Option<String>,
    /// The scenario to write. Default with --append: the appended scenario itself.
    #[arg(long, value_name = "FILE", required_unless_present = "append")]
    pub out: Option<PathBuf>,
    /// Add the recorded events to the end of this scenario instead of writing a new one.
    #[arg(long, value_name = "SCENARIO")]
    pub append: Option<PathBuf>,
}

pub fn run(args: &RecordArgs) -> u8 {
    match record_command(args) {
        Ok(()) => EXIT_PASS,
        Err(message) => bad_input(message),
    }
}

fn record_command(args: &RecordArgs) -> Result<(), String> {
    // Everything that can be checked before connecting is checked first: a typo should not
    // cost a minute of recording.
    let mut patterns = Vec::with_capacity(args.subjects.len());
    for text in &args.subjects {
        patterns.push(Pattern::new(text.as_str()).map_err(|e| format!("--subject: {e}"))?);
    }
    let duration = match &args.duration {
        None => None,
        Some(text) => match parse_duration_ms(text).map_err(|e| format!("--for: {e}"))? {
            0 => return Err("--for: give a duration longer than 0 (e.g. 60s)".into()),
            ms => Some(Duration::from_millis(ms)),
        },
    };
    if args.count == Some(0) {
        return Err("--count: give at least 1".into());
    }
    let appended = match &args.append {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: failed to read the scenario: {e}", path.display()))?;
            let scenario = crate::cli::load_linted(path, false)?;
            Some((path.clone(), text, scenario))
        }
    };
    let out = args
        .out
        .clone()
        .or_else(|| args.append.clone())
        .expect("clap requires --out or --append");
    let tenant = default_tenant(args.tenant.as_deref(), appended.as_ref().map(|a| &a.2))?;
    check_writable(&out)?;

    let server = args.server.spec();
    let plan = RecordPlan {
        server: server.clone(),
        patterns,
        duration,
        count: args.count,
        progress: std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
    };
    let mut until = Vec::new();
    if let Some(n) = args.count {
        until.push(format!("{n} messages"));
    }
    if let Some(text) = &args.duration {
        until.push(text.clone());
    }
    until.push("Ctrl-C".into());
    let through = match plan.patterns.as_slice() {
        [_] => String::new(),
        several => format!(
            " (through one subscription to {})",
            covering_pattern(several)
        ),
    };
    let capture = record(&plan, || {
        eprintln!(
            "recording {}{through} from {} until {}",
            args.subjects.join(", "),
            server.display_url(),
            until.join(", ")
        );
    })
    .map_err(|e| e.to_string())?;

    let (events, report) = decode(&capture.messages, &tenant);
    let mut notes = report.lines();
    notes.extend(capture_notes(&capture));
    let provenance = Provenance {
        server: server.display_url(),
        patterns: args.subjects.clone(),
        first_unix_ms: capture
            .messages
            .first()
            .map(|m| capture.started_unix_ms + m.arrival_us / 1000),
        last_unix_ms: capture
            .messages
            .last()
            .map(|m| capture.started_unix_ms + m.arrival_us / 1000),
        stopped: stopped_text(&capture, args.count, duration),
    };
    let mut lossy = Lossy::default();
    let mut warnings = Vec::new();
    let text = match &appended {
        None => {
            let name = out
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| s != "-")
                .unwrap_or_else(|| "recorded".into());
            new_scenario_text(&name, &provenance, &events, &notes, &mut lossy)
        }
        Some((_, existing_text, existing)) => append_text(
            existing_text,
            existing,
            &provenance,
            &events,
            &notes,
            &mut lossy,
            &mut warnings,
        ),
    };
    // What is written must load: rule files are found relative to where it is written.
    if let Err(e) = parse_scenario(&text, &out) {
        let kept = out.with_extension("rejected.toml");
        let _ = write_atomic(&kept, text.as_bytes());
        return Err(format!(
            "the recorded scenario does not load as {}, so it was not written there (kept as {}): {e}",
            out.display(),
            kept.display()
        ));
    }
    write_atomic(&out, text.as_bytes())
        .map_err(|e| format!("failed to write {}: {e}", out.display()))?;

    let secs = capture.elapsed.as_secs_f64().max(1e-9);
    let window = match (capture.messages.first(), capture.messages.last()) {
        // Under a millisecond apart, a rate says nothing.
        (Some(first), Some(last)) if last.arrival_us >= first.arrival_us + 1000 => {
            let window_secs = (last.arrival_us - first.arrival_us) as f64 / 1e6;
            format!(
                ", {} msg/s from the first message to the last",
                per_sec(capture.messages.len().saturating_sub(1) as f64, window_secs)
            )
        }
        _ => String::new(),
    };
    let summary = format!(
        "recorded {} events from {} in {:.1}s ({}{}) -> {}{}",
        events.len(),
        server.display_url(),
        secs,
        provenance.stopped,
        window,
        out.display(),
        if appended.is_some() {
            " (appended)"
        } else {
            ""
        }
    );
    // With `--out -` the scenario itself is on standard output: the summary goes beside it.
    if out.as_os_str() == "-" {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    for line in notes.iter().chain(lossy.lines().iter()).chain(&warnings) {
        eprintln!("note: {line}");
    }
    if out.as_os_str() != "-" {
        println!("next: ripple run {}", out.display());
    }
    Ok(())
}

/// `n / secs`, with as many decimals as a small rate needs.
pub(super) fn per_sec(n: f64, secs: f64) -> String {
    let rate = n / secs.max(1e-9);
    match rate {
        r if r < 10.0 => format!("{r:.2}"),
        r if r < 100.0 => format!("{r:.1}"),
        r => format!("{r:.0}"),
    }
}

/// The tenant for messages without a header.
fn default_tenant(given: Option<&str>, appended: Option<&Scenario>) -> Result<TenantId, String> {
    match (given, appended) {
        (Some(t), _) if t.trim().is_empty() => Err("--tenant: give a tenant id".into()),
        (Some(t), _) => Ok(TenantId::new(t)),
        (None, None) => Ok(TenantId::new("live")),
        (None, Some(s)) => match s.tenants.as_slice() {
            [only] => Ok(only.clone()),
            tenants => Err(format!(
                "--tenant: {} declares {} tenants ({}); say which one the recorded events belong to",
                s.path.display(),
                tenants.len(),
                tenants
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
    }
}

/// Fails now, before any recording, if `out` cannot be written: its folder is created and
/// a probe file written and removed beside where the real one will go.
fn check_writable(out: &Path) -> Result<(), String> {
    // Standard output, a FIFO or a device is written to as it is (`write_atomic`); opening a
    // FIFO to probe it would wait for a reader.
    let special = std::fs::metadata(out).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if out.as_os_str() == "-" || special {
        return Ok(());
    }
    if out.is_dir() {
        return Err(format!(
            "--out {}: is a folder; name a file (e.g. {}/recorded.toml)",
            out.display(),
            out.display()
        ));
    }
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let probe = dir.join(format!(".ripple-record-probe.{}.tmp", std::process::id()));
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .map_err(|e| format!("--out {}: cannot write there: {e}", out.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn stopped_text(capture: &Capture, count: Option<u64>, duration: Option<Duration>) -> String {
    match capture.stopped {
        StopReason::Count => format!("stopped after {} messages", count.unwrap_or(0)),
        StopReason::Duration => format!(
            "stopped after {}",
            format_duration_ms(duration.map_or(0, |d| d.as_millis() as u64))
        ),
        StopReason::Interrupted => "stopped by Ctrl-C".into(),
        StopReason::Terminated => "stopped by SIGTERM".into(),
        StopReason::Closed => "stopped when the connection closed".into(),
    }
}

/// What the connection went through, when it matters to the recording.
fn capture_notes(capture: &Capture) -> Vec<String> {
    let mut out = Vec::new();
    if capture.filtered > 0 {
        out.push(format!(
            "{} messages under the covering subscription matched none of the --subject patterns and were left out",
            capture.filtered
        ));
    }
    if capture.slow_consumer > 0 {
        out.push(format!(
            "INCOMPLETE: the client dropped messages {} times because they came faster than they were taken",
            capture.slow_consumer
        ));
    }
    if capture.disconnects > 0 {
        out.push(format!(
            "INCOMPLETE: the connection dropped {} times; messages published meanwhile are missing",
            capture.disconnects
        ));
    }
    for e in &capture.server_errors {
        out.push(format!("the server said: {e}"));
    }
    out
}
