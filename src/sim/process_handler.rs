//! The process driver: runs a `[[reflex]] command = [...]` handler as a child process and
//! carries the JSON lines of its protocol (`engine::reflex::external`, `docs/handlers.md`)
//! over its stdin and stdout.
//!
//! One long-lived process per handler and thread: when a run ends, its handlers' processes
//! go back to a pool kept per thread, and the next run on that thread (the next seed of a
//! sweep, the second run of `ripple run`'s determinism check) takes one and says `hello`,
//! which makes the handler start over with empty memory. A `reflex_restart` fault, a crash,
//! a timeout or an answer out of step with the protocol end the process instead: the next
//! delivery starts a new one, so whatever it held in memory is really gone.
//!
//! Pipes need threads: one per process moves its stdout lines into a channel (so that a
//! wall-clock guard can bound the wait), one keeps the last 4,096 bytes of its stderr (so
//! that a chatty handler never blocks on a full pipe). They only move bytes; the run itself
//! stays on one thread and waits for each answer in turn, so the order of everything it
//! records is the scheduler's. The wall-clock guard is the one thing here that reads real
//! time, through `recv_timeout`: a handler that trips it is killed and its delivery is
//! `errored`, which a second run of the seed may not repeat (the `determinism` invariant
//! then says which handler).
//!
//! Children get `PYTHONHASHSEED=0` (so that a Python handler iterating a set does it in
//! the same order in every process) and `PYTHONDONTWRITEBYTECODE=1` (no `__pycache__` next
//! to the scenario).

use crate::core::format_duration_ms;
use crate::engine::reflex::{
    check_ready, ExternalHandler, ExternalLink, ExternalSpec, LinkFailure, ReflexHandler,
    DIAGNOSTIC_BYTES_MAX,
};
use crate::scenario::SourceError;
use crate::scenario::{ReflexKind, ReflexSpec, Scenario};
use crate::sim::Library;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest answer line accepted, in bytes: an answer is an outcome, not a data dump.
pub const ANSWER_BYTES_MAX: usize = 4 << 20;
/// Most idle processes one thread keeps for later runs.
const POOL_IDLE_MAX: usize = 32;
/// How long Ripple waits for a process that closed its stdout to exit, and for its stderr to
/// drain, before it kills it.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// A handler for `spec`: a process handler gets its process driver, anything else is
/// instantiated as the scenario says.
pub fn instantiate_reflex(spec: &ReflexSpec) -> Box<dyn ReflexHandler> {
    match &spec.kind {
        ReflexKind::Process { spec, .. } => Box::new(ExternalHandler::new(
            Arc::clone(spec),
            Box::new(ProcessLink::new(Arc::clone(spec))),
        )),
        _ => spec.instantiate(),
    }
}

/// Starts every process handler of `scenario` once and checks that it answers `hello`, so
/// that a handler that cannot start is bad input (exit status 2) before any run, with the
/// place of its `command` and the end of its stderr. The processes go to this thread's
/// pool, for the first run to take.
pub fn preflight(scenario: &Scenario) -> Result<(), SourceError> {
    // The command line has no Rust handlers: a library reflex names nothing here.
    Library::default().check(scenario)?;
    for r in &scenario.reflexes {
        let ReflexKind::Process { spec, line, column } = &r.kind else {
            continue;
        };
        let mut link = ProcessLink::new(Arc::clone(spec));
        let result = link
            .call(&ExternalHandler::hello_line(spec, 0), spec.hello_wall_ms())
            .and_then(|answer| {
                check_ready(&answer, &spec.id, 0).map_err(|what| {
                    let stderr = link.stderr_tail();
                    link.restart();
                    LinkFailure { what, stderr }
                })
            });
        if let Err(f) = result {
            let mut message = format!("failed to start reflex {:?}: {}", spec.id, f.what);
            let stderr = f.stderr.trim_end();
            if !stderr.is_empty() {
                // The end of stderr is where the cause usually is.
                let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
                message.push_str("\n  stderr (its end):");
                for l in tail.iter().rev() {
                    message.push_str("\n    ");
                    message.push_str(l);
                }
            }
            return Err(SourceError {
                file: scenario.path.clone(),
                line: *line,
                column: *column,
                message,
                hint: Some(format!(
                    "`{}` runs in {}; it must answer Ripple's hello with a ready line (docs/handlers.md)",
                    spec.command_line(),
                    spec.dir.display()
                )),
            });
        }
    }
    Ok(())
}

/// Which processes are interchangeable: the same command in the same directory.
type PoolKey = (Vec<String>, PathBuf);

thread_local! {
    /// Idle processes of this thread, for the next run's handlers.
    static POOL: RefCell<Vec<(PoolKey, Running)>> = const { RefCell::new(Vec::new()) };
}

/// A process handler's link to its process (started on first use).
pub struct ProcessLink {
    spec: Arc<ExternalSpec>,
    running: Option<Running>,
}

impl ProcessLink {
    pub fn new(spec: Arc<ExternalSpec>) -> ProcessLink {
        ProcessLink {
            spec,
            running: None,
        }
    }

    fn key(&self) -> PoolKey {
        (self.spec.command.clone(), self.spec.dir.clone())
    }

    /// An idle process from the pool, or a new one.
    fn take_or_start(&mut self) -> Result<&mut Running, LinkFailure> {
        if self.running.is_none() {
            let key = self.key();
            let pooled = POOL
                .try_with(|pool| {
                    let mut pool = pool.borrow_mut();
                    let i = pool.iter().position(|(k, _)| *k == key)?;
                    Some(pool.swap_remove(i).1)
                })
                .ok()
                .flatten();
            self.running = Some(match pooled {
                Some(running) => running,
                None => Running::start(&self.spec)?,
            });
        }
        Ok(self.running.as_mut().expect("just set"))
    }

    /// Ends the process after a failure and says what happened, with its stderr's tail.
    fn fail(&mut self, what: String) -> LinkFailure {
        let stderr = match self.running.take() {
            Some(running) => running.end(),
            None => String::new(),
        };
        LinkFailure { what, stderr }
    }
}

impl ExternalLink for ProcessLink {
    fn call(&mut self, line: &str, wall_ms: u64) -> Result<String, LinkFailure> {
        let running = self.take_or_start()?;
        match exchange(running, line, wall_ms) {
            Ok(answer) => Ok(answer),
            Err(what) => Err(self.fail(what)),
        }
    }

    fn restart(&mut self) {
        if let Some(running) = self.running.take() {
            running.end();
        }
    }

    fn stderr_tail(&mut self) -> String {
        self.running
            .as_ref()
            .map(|r| r.stderr.lock().expect("stderr tail").text())
            .unwrap_or_default()
    }
}

impl Drop for ProcessLink {
    /// A healthy process goes back to this thread's pool; the next handler that takes it
    /// greets it, which starts the handler over.
    fn drop(&mut self) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        if !running.is_idle() {
            running.end();
            return;
        }
        let key = self.key();
        let kept = POOL.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < POOL_IDLE_MAX {
                pool.push((key, running));
                None
            } else {
                Some(running)
            }
        });
        match kept {
            Ok(None) => {}
            Ok(Some(running)) => {
                running.end();
            }
            // The thread is ending: its pool is gone, and `running` with the closure.
            Err(_) => {}
        }
    }
}

/// A running handler process.
struct Running {
    child: Child,
    stdin: ChildStdin,
    /// Its stdout, line by line (or why reading stopped).
    lines: Receiver<Result<String, String>>,
    stderr: Arc<Mutex<Tail>>,
    /// Disconnected once its stderr is drained.
    stderr_done: Receiver<()>,
}

impl Running {
    fn start(spec: &ExternalSpec) -> Result<Running, LinkFailure> {
        let mut program = PathBuf::from(&spec.command[0]);
        // A relative path to a program is relative to where it runs, not to Ripple's own
        // working directory (which `Command` would use).
        if program.is_relative() && spec.command[0].contains('/') {
            program = spec.dir.join(program);
        }
        let mut child = Command::new(&program)
            .args(&spec.command[1..])
            .current_dir(&spec.dir)
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env(
                "RIPPLE_PROTOCOL",
                crate::engine::reflex::PROTOCOL_VERSION.to_string(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| LinkFailure {
                what: format!(
                    "failed to start `{}` in {}: {e}",
                    spec.command_line(),
                    spec.dir.display()
                ),
                stderr: String::new(),
            })?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr_pipe = child.stderr.take().expect("piped");
        let (line_tx, lines) = mpsc::channel();
        let reading = std::thread::Builder::new()
            .name(format!("ripple-{}-stdout", spec.id))
            .spawn(move || read_lines(stdout, &line_tx));
        let stderr = Arc::new(Mutex::new(Tail::default()));
        let (done_tx, stderr_done) = mpsc::channel::<()>();
        let tail = Arc::clone(&stderr);
        let draining = std::thread::Builder::new()
            .name(format!("ripple-{}-stderr", spec.id))
            .spawn(move || {
                drain(stderr_pipe, &tail);
                drop(done_tx);
            });
        if let Err(e) = reading.and(draining) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(LinkFailure {
                what: format!(
                    "failed to start a pipe reader for `{}`: {e}",
                    spec.command_line()
                ),
                stderr: String::new(),
            });
        }
        Ok(Running {
            child,
            stdin,
            lines,
            stderr,
            stderr_done,
        })
    }

    /// Alive, and with nothing unread on its stdout: fit for another run.
    fn is_idle(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
            && matches!(self.lines.try_recv(), Err(mpsc::TryRecvError::Empty))
    }

    /// How the process ended (`exited (exit status: 1)`), waiting a little for it to end
    /// after it closed its stdout; `is still running` if it did not.
    fn exit_status(&mut self) -> String {
        let mut waited = Duration::ZERO;
        let step = Duration::from_millis(5);
        while waited < EXIT_GRACE {
            if let Ok(Some(status)) = self.child.try_wait() {
                return format!("exited ({status})");
            }
            std::thread::sleep(step);
            waited += step;
        }
        "closed its stdout".to_string()
    }

    /// Ends the process (killing it if need be) and returns its stderr's tail.
    fn end(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its stderr closes with it, unless something it started keeps it open.
        let _ = self.stderr_done.recv_timeout(EXIT_GRACE);
        let text = self.stderr.lock().expect("stderr tail").text();
        text
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // No-ops when `end` already ran.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `line` and waits up to `wall_ms` for the answer; `Err` says what went wrong.
fn exchange(running: &mut Running, line: &str, wall_ms: u64) -> Result<String, String> {
    // Anything already waiting was not asked for: the handler is out of step.
    if let Ok(extra) = running.lines.try_recv() {
        return Err(match extra {
            Ok(l) => format!("handler wrote a line nobody asked for: {:?}", excerpt(&l)),
            Err(e) => e,
        });
    }
    let sent = running
        .stdin
        .write_all(line.as_bytes())
        .and_then(|()| running.stdin.write_all(b"\n"))
        .and_then(|()| running.stdin.flush());
    if sent.is_err() {
        let status = running.exit_status();
        return Err(format!(
            "handler process {status} before it was sent the line"
        ));
    }
    match running.lines.recv_timeout(Duration::from_millis(wall_ms)) {
        Ok(answer) => answer,
        Err(RecvTimeoutError::Timeout) => Err(format!(
            "handler process gave no answer within its {} wall-clock guard: killed",
            format_duration_ms(wall_ms)
        )),
        Err(RecvTimeoutError::Disconnected) => {
            let status = running.exit_status();
            Err(format!("handler process {status} while handling the line"))
        }
    }
}

/// Reads `stdout` a line at a time into `lines` until it closes or misbehaves.
fn read_lines(stdout: impl Read, lines: &mpsc::Sender<Result<String, String>>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut buf = Vec::new();
        let read = reader
            .by_ref()
            .take(ANSWER_BYTES_MAX as u64 + 1)
            .read_until(b'\n', &mut buf);
        let line = match read {
            Ok(0) => return,
            Ok(_) if buf.last() != Some(&b'\n') && buf.len() > ANSWER_BYTES_MAX => Err(format!(
                "handler wrote a line longer than {ANSWER_BYTES_MAX} bytes"
            )),
            Ok(_) => {
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                String::from_utf8(buf)
                    .map_err(|_| "handler wrote a line that is not UTF-8".to_string())
            }
            Err(e) => Err(format!("failed to read the handler's stdout: {e}")),
        };
        let stop = line.is_err();
        if lines.send(line).is_err() || stop {
            return;
        }
    }
}

/// Keeps the last bytes of `stderr` until it closes.
fn drain(mut stderr: impl Read, tail: &Mutex<Tail>) {
    let mut chunk = [0u8; 4096];
    loop {
        match stderr.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => tail.lock().expect("stderr tail").push(&chunk[..n]),
        }
    }
}

/// The last [`DIAGNOSTIC_BYTES_MAX`] bytes written.
#[derive(Debug, Default)]
struct Tail(VecDeque<u8>);

impl Tail {
    fn push(&mut self, bytes: &[u8]) {
        self.0.extend(bytes);
        let excess = self.0.len().saturating_sub(DIAGNOSTIC_BYTES_MAX);
        self.0.drain(..excess);
    }

    fn text(&self) -> String {
        let (a, b) = self.0.as_slices();
        let mut bytes = Vec::with_capacity(self.0.len());
        bytes.extend_from_slice(a);
        bytes.extend_from_slice(b);
        // The cut may fall inside a character: its broken start is replaced, not an error.
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

fn excerpt(line: &str) -> String {
    const CHARS_MAX: usize = 60;
    let mut out: String = line.chars().take(CHARS_MAX).collect();
    if line.chars().nth(CHARS_MAX).is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes() {
        let mut t = Tail::default();
        t.push(&vec![b'a'; 5000]);
        t.push(b"END");
        assert_eq!(t.0.len(), DIAGNOSTIC_BYTES_MAX);
        assert!(t.text().ends_with("aaEND"));
    }

    #[test]
    fn lines_are_read_without_their_newline_and_long_ones_are_refused() {
        let (tx, rx) = mpsc::channel();
        read_lines(&b"{\"a\":1}\r\nsecond\n"[..], &tx);
        assert_eq!(rx.try_recv().unwrap().unwrap(), "{\"a\":1}");
        assert_eq!(rx.try_recv().unwrap().unwrap(), "second");
        assert!(rx.try_recv().is_err());
        let long = vec![b'x'; ANSWER_BYTES_MAX + 10];
        read_lines(&long[..], &tx);
        assert!(rx.try_recv().unwrap().unwrap_err().contains("longer than"));
    }
}
