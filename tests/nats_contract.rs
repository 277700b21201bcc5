//! The contract between Ripple's bus and a real `nats-server`, and `ripple record` /
//! `ripple publish` against one.
//!
//! Ripple's simulator assumes NATS semantics: which subjects a pattern matches, which
//! subjects and patterns are invalid, fan-out to every matching subscription, FIFO within
//! one subscription, no delivery of what was published before a subscription existed. Here
//! the server is the judge: each test starts its own `nats-server` on 127.0.0.1 on a free
//! port and stops it (by its pid, when the test's guard drops).
//!
//! The server is spoken to in the raw text protocol over a `TcpStream`, not through a client
//! library: what is compared is what the server does, with nothing in between that could
//! paper over a difference. A `PING` after a batch is the barrier: the server answers it
//! only after it has handled (and routed) everything sent before it on that connection.
//!
//! Without `nats-server` on PATH these tests print why and return: a plain `cargo test`
//! passes on a machine without it. `.ci/test` installs it first (Debian's `nats-server`).
//!
//! Not covered: queue groups, JetStream, clustering, TLS and creds files (the commands'
//! options for those are passed through to the client library untested here).

use ripple::__private::{Bus, Input};
use ripple::{load_scenario, Pattern, Subject, TenantId};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Prints a line past the test harness's capture (which swallows `println!` of passing
/// tests): CI's log shows what was compared, and why a test skipped.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

// ---------------------------------------------------------------------------------------------
// A server per test.
// ---------------------------------------------------------------------------------------------

/// `nats-server` on PATH, or where Debian's package puts it (sbin is not on every PATH).
fn nats_server_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|p| p.is_file())
}

/// A running `nats-server`, killed by its pid when dropped.
struct NatsServer {
    child: Child,
    port: u16,
    version: String,
    log: PathBuf,
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Attempts to connect while a freshly started server comes up (a budget, not a timing
/// assertion: a server that never listens fails the test with its log).
const READY_ATTEMPTS: u32 = 400;
/// How long a protocol read may block before the test gives up on the server.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

impl NatsServer {
    /// Starts a server with `args` (e.g. `--user`, `--pass`), or says why it cannot and
    /// returns `None` (the caller then skips).
    fn start(test: &str, args: &[&str]) -> Option<NatsServer> {
        let Some(binary) = nats_server_binary() else {
            say!(
                "SKIPPED {test}: nats-server is not on PATH (install Debian's nats-server package, \
                 or run .ci/test, which does)"
            );
            return None;
        };
        // A free port can be taken between our probe and the server's bind: try a few.
        for attempt in 0..5 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!(
                "ripple-nats-{}-{port}-{attempt}.log",
                std::process::id()
            ));
            let child = Command::new(&binary)
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("a log file in the temp dir"))
                .spawn()
                .unwrap_or_else(|e| panic!("failed to start {}: {e}", binary.display()));
            let mut server = NatsServer {
                child,
                port,
                version: String::new(),
                log,
            };
            for _ in 0..READY_ATTEMPTS {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break; // exited: most likely the port was taken
                }
                if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                    let mut info = String::new();
                    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
                    if BufReader::new(stream).read_line(&mut info).is_ok()
                        && info.starts_with("INFO ")
                    {
                        let info: Value = serde_json::from_str(&info[5..]).expect("INFO is JSON");
                        server.version = info["version"].as_str().unwrap_or("?").to_string();
                        return Some(server);
                    }
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            eprintln!(
                "nats-server did not come up on port {port}: {}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
        }
        panic!("nats-server did not start in 5 attempts");
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

// ---------------------------------------------------------------------------------------------
// The raw protocol.
// ---------------------------------------------------------------------------------------------

/// What the server sent back before the `PONG` that closed a batch.
#[derive(Debug, Default)]
struct Batch {
    /// (sid, subject, payload) in arrival order.
    messages: Vec<(u64, String, String)>,
    errors: Vec<String>,
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    out: Vec<u8>,
}

impl Conn {
    /// Connects with `pedantic` on or off (pedantic: the server checks published subjects).
    fn open(server: &NatsServer, pedantic: bool) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let mut conn = Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            out: Vec::new(),
        };
        let mut info = String::new();
        conn.reader.read_line(&mut info).unwrap();
        assert!(info.starts_with("INFO "), "{info}");
        conn.out.extend_from_slice(
            format!(
                "CONNECT {{\"verbose\":false,\"pedantic\":{pedantic},\"echo\":true,\"lang\":\"ripple-test\",\"version\":\"0\"}}\r\n"
            )
            .as_bytes(),
        );
        conn
    }

    fn sub(&mut self, pattern: &str, sid: u64) {
        self.out
            .extend_from_slice(format!("SUB {pattern} {sid}\r\n").as_bytes());
    }

    fn publish(&mut self, subject: &str, payload: &str) {
        self.out.extend_from_slice(
            format!("PUB {subject} {}\r\n{payload}\r\n", payload.len()).as_bytes(),
        );
    }

    /// Sends what is buffered and a `PING`, and reads until the `PONG`.
    fn sync(&mut self) -> Batch {
        self.out.extend_from_slice(b"PING\r\n");
        self.writer
            .write_all(&self.out)
            .expect("write to nats-server");
        self.out.clear();
        let mut batch = Batch::default();
        loop {
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .expect("read from nats-server");
            assert!(n > 0, "nats-server closed the connection: {batch:?}");
            let line = line.trim_end_matches(['\r', '\n']);
            if line == "PONG" {
                return batch;
            } else if line == "PING" {
                self.writer.write_all(b"PONG\r\n").unwrap();
            } else if let Some(rest) = line.strip_prefix("MSG ") {
                let parts: Vec<&str> = rest.split(' ').collect();
                let (subject, sid) = (parts[0], parts[1]);
                let len: usize = parts[parts.len() - 1].parse().expect("payload length");
                let mut payload = vec![0u8; len + 2];
                self.reader.read_exact(&mut payload).unwrap();
                payload.truncate(len);
                batch.messages.push((
                    sid.parse().unwrap(),
                    subject.to_string(),
                    String::from_utf8(payload).unwrap(),
                ));
            } else if let Some(e) = line.strip_prefix("-ERR ") {
                batch.errors.push(e.to_string());
            } else if line != "+OK" {
                panic!("unexpected line from nats-server: {line:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generated subjects and patterns.
// ---------------------------------------------------------------------------------------------

/// SplitMix64: a fixed generator, so the pairs are the same on every run and machine.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Tokens valid for both: plain words, the shapes real sensory subjects have, and odd ones
/// (`$`, `#`, `%`, `~`, non-ASCII, long).
fn literal_tokens() -> Vec<String> {
    let mut tokens: Vec<String> = [
        "sensory",
        "link_down",
        "bgp_drop",
        "snmp_trap",
        "a",
        "b",
        "r1|Gi0/1",
        "meraki:Q4CD-7XKL-2JPM",
        "Port_12",
        "10",
        "$SYS",
        "$x",
        "#",
        "%20",
        "x~y",
        "A-b_c",
        "é",
        "日本",
        "a+b",
        "=",
        "-",
        "_",
        "'q'",
        "\"d\"",
        "{payload}",
        "🙂",
    ]
    .map(str::to_string)
    .to_vec();
    tokens.push("t".repeat(120));
    tokens.push("long-token-".repeat(12));
    tokens
}

/// Subjects: mostly short ones over a small vocabulary (so patterns hit them), some long.
fn generated_subjects(draw: &mut Draw, count: usize) -> Vec<String> {
    let tokens = literal_tokens();
    let mut out = BTreeSet::new();
    while out.len() < count {
        let len = if draw.chance(10) {
            16 + draw.below(24) // long subjects: 16..40 tokens
        } else {
            1 + draw.below(6)
        };
        // The first tokens from a smaller set, so that subjects share prefixes.
        let subject: Vec<&str> = (0..len)
            .map(|i| {
                let pool = if i < 2 { 6 } else { tokens.len() };
                tokens[draw.below(pool)].as_str()
            })
            .collect();
        out.insert(subject.join("."));
    }
    out.into_iter().collect()
}

/// Patterns: some derived from subjects (tokens turned into `*`, a tail into `>`), so that
/// matches are common; some drawn freely; and the extremes (`>`, `*`, `*.*`).
fn generated_patterns(draw: &mut Draw, subjects: &[String], count: usize) -> Vec<String> {
    let tokens = literal_tokens();
    let mut out: BTreeSet<String> = [">", "*", "*.*", "*.>", "sensory.>", "$SYS.>"]
        .map(str::to_string)
        .into_iter()
        .collect();
    while out.len() < count {
        let mut parts: Vec<String> = if draw.chance(85) {
            subjects[draw.below(subjects.len())]
                .split('.')
                .map(str::to_string)
                .collect()
        } else {
            (0..1 + draw.below(5))
                .map(|i| tokens[draw.below(if i < 2 { 6 } else { tokens.len() })].clone())
                .collect()
        };
        for p in parts.iter_mut() {
            if draw.chance(30) {
                *p = "*".into();
            }
        }
        if draw.chance(35) {
            let keep = draw.below(parts.len());
            parts.truncate(keep);
            parts.push(">".into());
        } else if draw.chance(15) {
            parts.truncate(parts.len().saturating_sub(1).max(1)); // one token short
        }
        out.insert(parts.join("."));
    }
    out.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// The contract.
// ---------------------------------------------------------------------------------------------

#[test]
fn ripple_matches_a_pair_exactly_when_nats_server_delivers_it() {
    let Some(server) = NatsServer::start(
        "ripple_matches_a_pair_exactly_when_nats_server_delivers_it",
        &[],
    ) else {
        return;
    };
    let mut draw = Draw(0x5249_5050_4C45); // "RIPPLE"
    let subjects = generated_subjects(&mut draw, 200);
    let patterns = generated_patterns(&mut draw, &subjects, 50);

    // Ripple's side: the reference matcher and the simulator's bus (its trie) must agree.
    let mut bus = Bus::new();
    let tenant = TenantId::new("t");
    let mut expected: BTreeSet<(usize, usize)> = BTreeSet::new();
    for (p, text) in patterns.iter().enumerate() {
        let pattern = Pattern::new(text.as_str()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let id = bus.subscribe(pattern.clone(), None);
        assert_eq!(id.0 as usize, p, "subscription ids count from 0");
        for (s, subject) in subjects.iter().enumerate() {
            let subject = Subject::new(subject.as_str()).unwrap_or_else(|e| panic!("{e}"));
            if pattern.matches(&subject) {
                expected.insert((p, s));
            }
        }
    }
    let mut routed = BTreeSet::new();
    let mut route = Vec::new();
    for (s, subject) in subjects.iter().enumerate() {
        bus.route(
            &tenant,
            &Subject::new(subject.as_str()).unwrap(),
            &mut route,
        );
        routed.extend(route.iter().map(|id| (id.0 as usize, s)));
    }
    assert_eq!(
        routed, expected,
        "the bus's trie and Pattern::matches disagree"
    );

    // The server's side: one subscription per pattern, each subject published once.
    let mut conn = Conn::open(&server, true);
    for (p, pattern) in patterns.iter().enumerate() {
        conn.sub(pattern, p as u64 + 1);
    }
    let subscribed = conn.sync();
    assert!(subscribed.errors.is_empty(), "{:?}", subscribed.errors);
    for (s, subject) in subjects.iter().enumerate() {
        conn.publish(subject, &s.to_string());
    }
    let batch = conn.sync();
    assert!(batch.errors.is_empty(), "{:?}", batch.errors);
    let mut delivered = BTreeSet::new();
    for (sid, subject, payload) in &batch.messages {
        let s: usize = payload.parse().unwrap();
        assert_eq!(subject, &subjects[s]);
        assert!(
            delivered.insert((*sid as usize - 1, s)),
            "delivered twice: {subject} to {}",
            patterns[*sid as usize - 1]
        );
    }

    let disagreements: Vec<String> = expected
        .symmetric_difference(&delivered)
        .take(10)
        .map(|(p, s)| {
            format!(
                "pattern {:?} subject {:?}: Ripple {}, nats-server {}",
                patterns[*p],
                subjects[*s],
                if expected.contains(&(*p, *s)) {
                    "matches"
                } else {
                    "does not match"
                },
                if delivered.contains(&(*p, *s)) {
                    "delivers"
                } else {
                    "does not deliver"
                },
            )
        })
        .collect();
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    let pairs = patterns.len() * subjects.len();
    // Both outcomes must be well represented, or the comparison proves little.
    assert!(
        expected.len() * 20 > pairs && expected.len() * 2 < pairs,
        "{} of {pairs}",
        expected.len()
    );
    say!(
        "compared {pairs} subject/pattern pairs ({} subjects x {} patterns) with nats-server {}: \
         {} matched, {} did not, no disagreement",
        subjects.len(),
        patterns.len(),
        server.version,
        expected.len(),
        pairs - expected.len()
    );
}

#[test]
fn invalid_subjects_and_patterns_are_refused_by_both() {
    let Some(server) = NatsServer::start("invalid_subjects_and_patterns_are_refused_by_both", &[])
    else {
        return;
    };
    let mut conn = Conn::open(&server, true);
    conn.sub(">", 1);
    assert!(conn.sync().errors.is_empty());

    for pattern in [
        "a..b", ".a", "a.", ".", "a.>.b", ">.a", "a.>.>", "..", "*..*",
    ] {
        assert!(
            Pattern::new(pattern).is_err(),
            "Ripple accepts pattern {pattern:?}"
        );
        conn.sub(pattern, 2);
        let batch = conn.sync();
        assert_eq!(
            batch.errors,
            vec!["'Invalid Subject'"],
            "nats-server on SUB {pattern:?}"
        );
    }
    // Pedantic mode is where the server checks what is published. It answers -ERR to every
    // one of these; it still routes the wildcard ones (to `>`, here), but not those with an
    // empty token.
    for subject in ["a..b", ".a", "a.", "a.*", "a.>", "*", ">", "a.*.b", "*.>"] {
        assert!(
            Subject::new(subject).is_err(),
            "Ripple accepts subject {subject:?}"
        );
        conn.publish(subject, "x");
        let batch = conn.sync();
        assert_eq!(
            batch.errors,
            vec!["'Invalid Publish Subject'"],
            "nats-server on PUB {subject:?}"
        );
        if subject.split('.').any(str::is_empty) {
            assert!(
                batch.messages.is_empty(),
                "{subject:?} was routed: {batch:?}"
            );
        }
    }
    // Whitespace separates the protocol's arguments: no subject with a space or a tab can
    // reach the server, and Ripple refuses them too.
    for subject in ["a b", "a\tb", "a.b c"] {
        assert!(Subject::new(subject).is_err() && Pattern::new(subject).is_err());
    }

    // Where Ripple is stricter (documented, and pinned so that a change on either side is
    // noticed): nats-server takes a wildcard inside a token, and non-ASCII whitespace, as
    // literal text; Ripple refuses both, so `ripple record` skips such messages and says so.
    let stricter = ["a*b", "x.a>b", "\u{a0}", "r1.Gi0/1\u{2003}x"];
    conn.sub("a*b", 3);
    assert!(
        conn.sync().errors.is_empty(),
        "nats-server takes a*b as a literal pattern"
    );
    for subject in stricter {
        assert!(Subject::new(subject).is_err(), "Ripple accepts {subject:?}");
        conn.publish(subject, "x");
        let batch = conn.sync();
        assert!(batch.errors.is_empty(), "{subject:?}: {:?}", batch.errors);
        let sids: BTreeSet<u64> = batch.messages.iter().map(|m| m.0).collect();
        let mut want = BTreeSet::from([1]);
        if subject == "a*b" {
            want.insert(3);
        }
        assert_eq!(sids, want, "{subject:?}");
    }
    say!(
        "nats-server {}: 9 invalid patterns and 9 invalid subjects refused by both; \
         Ripple alone refuses {} subjects nats-server takes as literals",
        server.version,
        stricter.len()
    );
}

#[test]
fn every_matching_subscription_gets_each_message_once_in_publish_order() {
    let Some(server) = NatsServer::start(
        "every_matching_subscription_gets_each_message_once_in_publish_order",
        &[],
    ) else {
        return;
    };
    let patterns = [
        "sensory.>",
        "sensory.link_down.>",
        "sensory.*.snmp_trap.*",
        "sensory.link_down.snmp_trap.r1|Gi0/1",
        "sensory.>", // the same pattern twice: two subscriptions, two deliveries
        "entity.*.MarkDown.*",
    ];
    let subjects = [
        "sensory.link_down.snmp_trap.r1|Gi0/1",
        "sensory.link_down.snmp_poll.r1|Gi0/1",
        "sensory.bgp_drop.snmp_trap.r1|10.0.1.5",
        "sensory.link_down.meraki_webhook.meraki:Q4CD.Port_12",
        "entity.Interface.MarkDown.r1|Gi0/1",
        "other.subject",
    ];
    // Two subscriber connections (independent subscribers) and a publisher.
    let mut first = Conn::open(&server, false);
    let mut second = Conn::open(&server, false);
    for (i, p) in patterns.iter().enumerate() {
        first.sub(p, i as u64 + 1);
    }
    second.sub("sensory.>", 1);
    assert!(first.sync().errors.is_empty() && second.sync().errors.is_empty());

    let mut publisher = Conn::open(&server, false);
    let sequence = |n: usize| subjects[(n * 7 + n / 3) % subjects.len()];
    const HALF: usize = 1000;
    for n in 0..HALF {
        publisher.publish(sequence(n), &n.to_string());
    }
    assert!(publisher.sync().errors.is_empty());
    // A late subscriber: subscribed after the first half was routed.
    let mut late = Conn::open(&server, false);
    late.sub("sensory.>", 1);
    assert!(late.sync().errors.is_empty());
    for n in HALF..2 * HALF {
        publisher.publish(sequence(n), &n.to_string());
    }
    assert!(publisher.sync().errors.is_empty());

    let check =
        |name: &str, batch: Batch, pattern_of: &dyn Fn(u64) -> &'static str, from: usize| {
            let mut got: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for (sid, subject, payload) in batch.messages {
                let n: usize = payload.parse().unwrap();
                assert_eq!(subject, sequence(n));
                got.entry(sid).or_default().push(n);
            }
            let sids: BTreeSet<u64> = got.keys().copied().collect();
            for sid in sids {
                let pattern = Pattern::new(pattern_of(sid)).unwrap();
                let want: Vec<usize> = (from..2 * HALF)
                    .filter(|&n| pattern.matches(&Subject::new(sequence(n)).unwrap()))
                    .collect();
                assert_eq!(got[&sid], want, "{name}, subscription {sid} ({pattern})");
            }
        };
    let first_batch = first.sync();
    let sids: BTreeSet<u64> = first_batch.messages.iter().map(|m| m.0).collect();
    assert_eq!(
        sids.len(),
        patterns.len(),
        "every subscription heard something"
    );
    check(
        "first subscriber",
        first_batch,
        &|sid| patterns[sid as usize - 1],
        0,
    );
    check("second subscriber", second.sync(), &|_| "sensory.>", 0);
    check("late subscriber", late.sync(), &|_| "sensory.>", HALF);
    say!(
        "nats-server {}: {} messages fanned out to {} subscriptions on 3 connections, \
         each exactly the matching ones, in publish order; the late one only the later half",
        server.version,
        2 * HALF,
        patterns.len() + 2
    );
}

// ---------------------------------------------------------------------------------------------
// `ripple record` and `ripple publish` against the server.
// ---------------------------------------------------------------------------------------------

fn ripple() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ripple"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ripple-live-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `ripple record` running in the background, ready (subscribed) when this returns.
struct Recorder {
    child: Child,
    stderr: BufReader<std::process::ChildStderr>,
}

impl Recorder {
    fn start(args: &[&str]) -> Recorder {
        let mut child = ripple()
            .arg("record")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ripple record");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        // `record` says "recording ..." once a round trip through the server has shown its
        // subscription in place.
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        if !line.starts_with("recording ") {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            panic!("ripple record did not start: {line}{rest}");
        }
        Recorder { child, stderr }
    }

    /// Waits for it to finish: exit status, stdout, the rest of stderr.
    fn finish(mut self) -> (i32, String, String) {
        let mut err = String::new();
        self.stderr.read_to_string(&mut err).unwrap();
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), out, err)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ripple publish ... --dry-run`'s lines.
fn dry_run(args: &[&str]) -> Vec<Value> {
    let out = ripple()
        .arg("publish")
        .args(args)
        .arg("--dry-run")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (tenant, subject, payload) of each recorded event, in file order.
fn recorded_events(path: &Path) -> Vec<(String, String, Value)> {
    let scenario = load_scenario(path).unwrap_or_else(|e| panic!("{e}"));
    scenario
        .events
        .iter()
        .map(|e| match &e.input {
            Input::Publish { subject, payload } => (
                e.tenant.as_str().to_string(),
                subject.as_str().to_string(),
                payload.clone(),
            ),
            Input::Dispatch { .. } => panic!("a recording holds publications only"),
        })
        .collect()
}

const ROUND_TRIP: &str = r#"
[scenario]
name = "round-trip"

[[tenant]]
id = "netops"

[[tenant]]
id = "branch"

[[reflex]]
builtin = "link_down"

[[event]]
at = "0ms"
tenant = "netops"
subject = "sensory.link_down.snmp_trap.r1|Gi0/1"
payload = { device = "r1", interface = "Gi0/1", n = 1, ratio = 0.5, up = false, tags = ["a", "é"], nested = { deep = { x = 1.0 } } }

[[event]]
at = "5ms"
tenant = "branch"
subject = "sensory.link_down.meraki_webhook.meraki:Q4CD-7XKL.Port_12"
payload = "plain text, not JSON"

[[event]]
at = "5ms"
tenant = "netops"
subject = "sensory.bgp_drop.snmp_trap.r1|10.0.1.5"
payload = { device_id = "r1", peer = "10.0.1.5", peer_asn = 65001 }

[[generator]]
tenant = "netops"
count = 300
every = "10ms"
jitter = "5ms"
subject = "sensory.link_down.gen.{device}|{iface}"
payload = { device = "{device}", interface = "{iface}", seq = "{n}" }
[generator.values]
device = ["r1", "r2", "r3"]
iface = ["Gi0/1", "Gi0/2"]
"#;

#[test]
fn record_then_run_round_trips_a_published_sequence() {
    let Some(server) = NatsServer::start("record_then_run_round_trips_a_published_sequence", &[])
    else {
        return;
    };
    let dir = temp_dir("round-trip");
    let scenario = dir.join("round_trip.toml");
    std::fs::write(&scenario, ROUND_TRIP).unwrap();
    let scenario = scenario.to_str().unwrap();
    let expected = dry_run(&[scenario, "--seed", "3"]);
    assert_eq!(expected.len(), 303);

    let out = dir.join("recorded.toml");
    let url = server.url();
    let recorder = Recorder::start(&[
        "--server",
        &url,
        "--subject",
        "sensory.link_down.>",
        "--subject",
        "sensory.>",
        "--count",
        "303",
        "--tenant",
        "unused",
        "--out",
        out.to_str().unwrap(),
    ]);
    let published = ripple()
        .args([
            "publish", scenario, "--server", &url, "--seed", "3", "--speed", "max",
        ])
        .output()
        .unwrap();
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    let (status, stdout, stderr) = recorder.finish();
    assert_eq!(status, 0, "{stdout}{stderr}");
    assert!(stdout.contains("recorded 303 events"), "{stdout}");
    assert!(stderr.contains("1 payloads were not JSON"), "{stderr}");

    // Same messages, same order, same payloads; the tenant came back in the header.
    let got = recorded_events(&out);
    let want: Vec<(String, String, Value)> = expected
        .iter()
        .map(|p| {
            (
                p["tenant"].as_str().unwrap().to_string(),
                p["subject"].as_str().unwrap().to_string(),
                p["payload"].clone(),
            )
        })
        .collect();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "event {i}");
    }
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with(&format!("# Recorded by `ripple record` from {url}")),
        "{text}"
    );

    // The recording runs and sweeps as any scenario does.
    let run = ripple()
        .args(["run", out.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["verdict"], "pass");
    assert!(
        !report["outcomes"].as_array().unwrap().is_empty(),
        "the handlers heard it"
    );
    let sweep = ripple()
        .args(["sweep", out.to_str().unwrap(), "--seeds", "0..20"])
        .output()
        .unwrap();
    assert_eq!(
        sweep.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sweep.stdout)
    );
    say!(
        "recorded, reloaded and ran {} published messages through nats-server {}",
        got.len(),
        server.version
    );
}

#[test]
fn publish_with_commits_sends_the_commits_of_the_seeded_run() {
    let Some(server) = NatsServer::start(
        "publish_with_commits_sends_the_commits_of_the_seeded_run",
        &[],
    ) else {
        return;
    };
    let scenario = "scenarios/order_payment.toml";
    let plan = dry_run(&[scenario, "--with-commits", "--seed", "7"]);
    let commits: Vec<&str> = plan
        .iter()
        .filter(|p| p["commit"] == true)
        .map(|p| p["subject"].as_str().unwrap())
        .collect();
    assert!(commits.len() >= 3, "{plan:?}");
    assert!(commits.iter().all(|s| s.starts_with("entity.")));
    // The run's own trace says which commits it published.
    let dir = temp_dir("commits");
    let trace = dir.join("trace.jsonl");
    let run = ripple()
        .args([
            "run",
            scenario,
            "--seed",
            "7",
            "--trace",
            trace.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        run.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    let traced: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["kind"] == "publish")
        .filter_map(|r| r["subject"].as_str().map(str::to_string))
        .filter(|s| s.starts_with("entity."))
        .collect();
    assert_eq!(commits, traced);

    let out = dir.join("commits.toml");
    let url = server.url();
    let count = commits.len().to_string();
    let recorder = Recorder::start(&[
        "--server",
        &url,
        "--subject",
        "entity.>",
        "--count",
        &count,
        "--out",
        out.to_str().unwrap(),
    ]);
    let published = ripple()
        .args([
            "publish",
            scenario,
            "--server",
            &url,
            "--seed",
            "7",
            "--with-commits",
            "--speed",
            "max",
        ])
        .output()
        .unwrap();
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    let (status, stdout, stderr) = recorder.finish();
    assert_eq!(status, 0, "{stdout}{stderr}");
    let got: Vec<String> = recorded_events(&out).into_iter().map(|e| e.1).collect();
    assert_eq!(got, commits);
}

#[test]
fn ctrl_c_during_record_still_writes_what_was_captured() {
    let Some(server) =
        NatsServer::start("ctrl_c_during_record_still_writes_what_was_captured", &[])
    else {
        return;
    };
    let dir = temp_dir("ctrl-c");
    let out = dir.join("interrupted.toml");
    let url = server.url();
    let recorder = Recorder::start(&["--server", &url, "--out", out.to_str().unwrap()]);
    let mut publisher = Conn::open(&server, true);
    for n in 0..5 {
        publisher.publish(
            &format!("sensory.link_down.test.r{n}"),
            &format!("{{\"n\":{n}}}"),
        );
    }
    publisher.publish("elsewhere.not.recorded", "{}");
    // After the PONG the server has routed all of them to the recorder's connection; on
    // Ctrl-C the recorder makes a round trip through the server before it stops taking
    // messages, so none can be lost in between.
    assert!(publisher.sync().errors.is_empty());
    let pid = recorder.child.id().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(kill.success());
    let (status, stdout, stderr) = recorder.finish();
    assert_eq!(status, 0, "{stdout}{stderr}");
    assert!(stdout.contains("stopped by Ctrl-C"), "{stdout}");
    let got = recorded_events(&out);
    let subjects: Vec<&str> = got.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        subjects,
        (0..5)
            .map(|n| format!("sensory.link_down.test.r{n}"))
            .collect::<Vec<_>>()
    );
    assert!(got.iter().all(|e| e.0 == "live"), "the default tenant");
}

#[test]
fn a_refused_credential_exits_2_and_says_so() {
    let Some(server) = NatsServer::start(
        "a_refused_credential_exits_2_and_says_so",
        &["--user", "ripple", "--pass", "right"],
    ) else {
        return;
    };
    let dir = temp_dir("auth");
    let out = dir.join("x.toml");
    let url = server.url();
    for creds in [
        vec!["--user", "ripple", "--password", "wrong"],
        vec![],
        vec!["--token", "nope"],
    ] {
        let record = ripple()
            .args([
                "record",
                "--server",
                &url,
                "--count",
                "1",
                "--out",
                out.to_str().unwrap(),
            ])
            .args(&creds)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&record.stderr);
        assert_eq!(record.status.code(), Some(2), "{creds:?}: {err}");
        assert!(
            err.contains(&format!("{url} refused the credentials")),
            "{err}"
        );
        assert!(err.contains("authorization violation"), "{err}");
        assert!(!err.contains("wrong"), "the password is not printed: {err}");
    }
    assert!(!out.exists(), "nothing recorded, nothing written");
    let publish = ripple()
        .args([
            "publish",
            "scenarios/netops.toml",
            "--server",
            &url,
            "--user",
            "ripple",
            "--password",
            "wrong",
        ])
        .output()
        .unwrap();
    assert_eq!(publish.status.code(), Some(2));
    // And the right ones get in.
    let publish = ripple()
        .args([
            "publish",
            "scenarios/netops.toml",
            "--server",
            &url,
            "--user",
            "ripple",
            "--password",
            "right",
            "--speed",
            "max",
        ])
        .output()
        .unwrap();
    assert_eq!(
        publish.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&publish.stderr)
    );
}

#[test]
fn record_append_adds_events_to_an_existing_scenario() {
    let Some(server) = NatsServer::start("record_append_adds_events_to_an_existing_scenario", &[])
    else {
        return;
    };
    let dir = temp_dir("append");
    let original = std::fs::read_to_string("scenarios/netops.toml").unwrap();
    let scenario = dir.join("netops.toml");
    std::fs::write(&scenario, &original).unwrap();
    let before = load_scenario(&scenario).unwrap().events.len();
    let url = server.url();
    // No --out: the appended scenario is written in place; no --tenant: its only tenant.
    let recorder = Recorder::start(&[
        "--server",
        &url,
        "--count",
        "3",
        "--append",
        scenario.to_str().unwrap(),
    ]);
    let mut publisher = Conn::open(&server, true);
    for n in 0..3 {
        publisher.publish(
            &format!("sensory.bgp_drop.snmp_trap.r{n}|10.9.9.{n}"),
            &format!("{{\"device_id\":\"r{n}\",\"peer\":\"10.9.9.{n}\"}}"),
        );
    }
    assert!(publisher.sync().errors.is_empty());
    let (status, stdout, stderr) = recorder.finish();
    assert_eq!(status, 0, "{stdout}{stderr}");
    assert!(stdout.contains("(appended)"), "{stdout}");
    let text = std::fs::read_to_string(&scenario).unwrap();
    assert!(
        text.starts_with(&original),
        "the scenario as it was comes first"
    );
    let after = recorded_events(&scenario);
    assert_eq!(after.len(), before + 3);
    assert!(after[before..].iter().all(|e| e.0 == "netops"));
    let run = ripple()
        .args(["run", scenario.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
}
