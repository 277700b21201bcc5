//! `record`'s I/O: subscribe, take messages as they arrive, stop on a count, a duration,
//! Ctrl-C or SIGTERM, and hand back what was captured. Turning it into a scenario is
//! [`crate::live::decode`] and friends, which do no I/O.

use crate::bus::Pattern;
use crate::core::Subject;
use crate::live::{
    chain, connect, runtime, Barrier, Captured, ConnectionEvents, LiveError, ServerSpec,
    TENANT_HEADER,
};
use futures_util::{FutureExt, StreamExt};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How often the progress line is redrawn.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// What to record and when to stop. With neither `duration` nor `count`, only a signal
/// stops it.
#[derive(Debug, Clone)]
pub struct RecordPlan {
    pub server: ServerSpec,
    /// Validated with Ripple's own pattern rules. Several patterns are recorded through one
    /// subscription to [`covering_pattern`] and filtered here, so that the messages keep the
    /// one order the server sent them in (and one that several patterns match is kept once).
    pub patterns: Vec<Pattern>,
    pub duration: Option<Duration>,
    pub count: Option<u64>,
    /// Show a progress line (messages, rate, elapsed) on stderr.
    pub progress: bool,
}

/// Why a recording stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Count,
    Duration,
    Interrupted,
    Terminated,
    /// The client closed the subscriptions (the connection is gone for good).
    Closed,
}

/// What a recording captured.
#[derive(Debug, Clone)]
pub struct Capture {
    /// In arrival order.
    pub messages: Vec<Captured>,
    pub stopped: StopReason,
    /// Wall-clock Unix milliseconds when the subscriptions were in place: only for the
    /// file's header comment (arrival times are on a monotonic clock, from then on).
    pub started_unix_ms: u64,
    /// From the subscriptions being in place to the stop.
    pub elapsed: Duration,
    /// Messages the covering subscription brought that none of the patterns matches.
    pub filtered: u64,
    /// Times the client reported dropping messages (slow consumer).
    pub slow_consumer: u64,
    pub disconnects: u64,
    /// Errors the server sent while recording.
    pub server_errors: Vec<String>,
}

/// Unix milliseconds now, for the header comment of a recording. Never used for ordering,
/// never inside a run.
#[allow(clippy::disallowed_methods)] // Wall time of a recording, not of a run.
pub fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Records until the plan says stop. `ready` is called once the subscriptions are in place
/// (the server has acknowledged them), so that a caller knows from then on nothing is
/// missed.
pub fn record(plan: &RecordPlan, ready: impl FnOnce()) -> Result<Capture, LiveError> {
    runtime()?.block_on(record_async(plan, ready))
}

async fn record_async(plan: &RecordPlan, ready: impl FnOnce()) -> Result<Capture, LiveError> {
    assert!(!plan.patterns.is_empty(), "at least one pattern");
    assert!(plan.count != Some(0), "a count of at least 1");
    let server = plan.server.display_url();
    let events = Arc::new(ConnectionEvents::default());
    let client = connect(&plan.server, Arc::clone(&events)).await?;
    let covering = covering_pattern(&plan.patterns);
    let subscription = client
        .subscribe(covering.as_str().to_string())
        .await
        .map_err(|e| LiveError::Lost {
            server: server.clone(),
            reason: chain(&e),
        })?;
    // After a round trip the server has the subscription (or has refused it).
    let mut barrier = Barrier::new(&client, &server).await?;
    barrier.pass(&client, &server).await?;
    // A refusal (-ERR 'Permissions Violation ...') reaches the event callback through the
    // client's event task; let it run before looking.
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
    if let Some(error) = events.server_errors().first() {
        return Err(LiveError::ServerRefused {
            server,
            what: format!("the subscription to {covering}"),
            reason: error.clone(),
        });
    }

    let mut signals = Signals::install()?;
    let started_unix_ms = unix_ms_now();
    let started = tokio::time::Instant::now();
    ready();

    let bar = plan.progress.then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar
    });
    let mut subscription = subscription;
    let mut messages: Vec<Captured> = Vec::new();
    let mut filtered = 0u64;
    let single = plan.patterns.len() == 1;
    let barrier_subject = barrier.subject().to_string();
    let mut take = |m: async_nats::Message, messages: &mut Vec<Captured>| {
        // The covering pattern may be wide enough to hear our own round trips.
        if m.subject.as_str() == barrier_subject {
            return;
        }
        // With one pattern the server did the matching. With several, the covering pattern
        // may bring more: keep what one of them matches. (A subject Ripple refuses is kept
        // for `decode` to count and report.)
        if !single {
            if let Ok(subject) = Subject::new(m.subject.as_str()) {
                if !plan.patterns.iter().any(|p| p.matches(&subject)) {
                    filtered += 1;
                    return;
                }
            }
        }
        let tenant = m
            .headers
            .as_ref()
            .and_then(|h| h.get(TENANT_HEADER))
            .map(|v| v.as_str().to_string());
        messages.push(Captured {
            subject: m.subject.as_str().to_string(),
            payload: m.payload.to_vec(),
            tenant,
            arrival_us: started.elapsed().as_micros() as u64,
        });
    };

    let deadline = plan.duration.map(|d| started + d);
    let sleep = tokio::time::sleep_until(deadline.unwrap_or(started));
    tokio::pin!(sleep);
    let mut tick = tokio::time::interval(PROGRESS_INTERVAL);
    let stopped = loop {
        if plan.count.is_some_and(|n| messages.len() as u64 >= n) {
            break StopReason::Count;
        }
        tokio::select! {
            biased;
            reason = signals.recv() => break reason,
            _ = &mut sleep, if deadline.is_some() => break StopReason::Duration,
            _ = tick.tick(), if bar.is_some() => {
                if let Some(bar) = &bar {
                    let secs = started.elapsed().as_secs_f64().max(1e-3);
                    bar.set_message(format!(
                        "{} messages, {:.0}/s",
                        messages.len(),
                        messages.len() as f64 / secs
                    ));
                    bar.tick();
                }
            }
            next = subscription.next() => match next {
                Some(m) => {
                    take(m, &mut messages);
                    // Take what else is already buffered without going round the select:
                    // at a high rate this is most messages, at a fraction of the cost.
                    while plan.count.is_none_or(|n| (messages.len() as u64) < n) {
                        match subscription.next().now_or_never() {
                            Some(Some(m)) => take(m, &mut messages),
                            _ => break,
                        }
                    }
                }
                None => break StopReason::Closed,
            },
        }
    };
    let elapsed = started.elapsed();
    if matches!(
        stopped,
        StopReason::Duration | StopReason::Interrupted | StopReason::Terminated
    ) {
        // Whatever the server had sent before a round trip has arrived once it is done:
        // keep it, as the person who pressed Ctrl-C expects. On one thread nothing else
        // arrives while the buffered messages are drained, so the loop ends.
        if barrier.pass(&client, &server).await.is_ok() {
            while let Some(Some(m)) = subscription.next().now_or_never() {
                if plan.count.is_some_and(|n| messages.len() as u64 >= n) {
                    break;
                }
                take(m, &mut messages);
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Capture {
        messages,
        stopped,
        started_unix_ms,
        elapsed,
        filtered,
        slow_consumer: events.slow_consumer.load(Ordering::Relaxed),
        disconnects: events.disconnects.load(Ordering::Relaxed),
        server_errors: events.server_errors(),
    })
}

/// One pattern that matches every subject one of `patterns` matches, and not much more:
/// `sensory.link_down.>` and `sensory.bgp_drop.>` give `sensory.*.>`.
///
/// Position by position, a token every pattern has as the same literal stays; where they
/// differ it becomes `*`. A pattern of `n` tokens without `>` only matches subjects of
/// exactly `n` tokens, and one whose `>` is at index `q` subjects of more than `q`: when the
/// patterns do not all have one length and no `>`, the result ends in `>` at the smallest
/// such index (`a.b` and `a.b.c` give `a.>`; `x.>` and `y.z` give `*.>`).
pub fn covering_pattern(patterns: &[Pattern]) -> Pattern {
    assert!(!patterns.is_empty(), "at least one pattern");
    let tokens: Vec<Vec<&str>> = patterns.iter().map(|p| p.tokens().collect()).collect();
    let fixed_len = tokens[0].len();
    let all_fixed = tokens
        .iter()
        .all(|t| t.len() == fixed_len && !t.contains(&">"));
    // Where the `>` goes (all_fixed: nowhere, every position is kept).
    let tail_at = if all_fixed {
        fixed_len
    } else {
        tokens
            .iter()
            .map(|t| t.iter().position(|x| *x == ">").unwrap_or(t.len() - 1))
            .min()
            .expect("at least one pattern")
    };
    let mut out: Vec<&str> = (0..tail_at)
        .map(|k| {
            let first = tokens[0][k];
            if tokens.iter().all(|t| t[k] == first) {
                first
            } else {
                "*"
            }
        })
        .collect();
    if !all_fixed {
        out.push(">");
    }
    Pattern::new(out.join(".")).expect("built from valid tokens")
}

/// The signals that stop a recording. Installed before the recording reports itself ready:
/// a Ctrl-C from then on is handled, never the default "die and lose everything".
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> Result<Signals, LiveError> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).map_err(LiveError::Runtime)?,
            terminate: signal(SignalKind::terminate()).map_err(LiveError::Runtime)?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> Result<Signals, LiveError> {
        Ok(Signals {})
    }

    /// Waits for the next stopping signal.
    #[cfg(unix)]
    async fn recv(&mut self) -> StopReason {
        tokio::select! {
            _ = self.interrupt.recv() => StopReason::Interrupted,
            _ = self.terminate.recv() => StopReason::Terminated,
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> StopReason {
        let _ = tokio::signal::ctrl_c().await;
        StopReason::Interrupted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cover(patterns: &[&str]) -> String {
        let patterns: Vec<Pattern> = patterns.iter().map(|p| Pattern::new(*p).unwrap()).collect();
        covering_pattern(&patterns).as_str().to_string()
    }

    #[test]
    fn one_pattern_covers_itself() {
        for p in ["sensory.>", "a.*.c", ">", "*", "a"] {
            assert_eq!(cover(&[p]), p);
        }
    }

    #[test]
    fn patterns_are_covered_token_by_token() {
        assert_eq!(
            cover(&["sensory.link_down.>", "sensory.bgp_drop.>"]),
            "sensory.*.>"
        );
        assert_eq!(cover(&["a.b.c", "a.x.c"]), "a.*.c");
        assert_eq!(cover(&["a.b", "a.b.c"]), "a.>");
        assert_eq!(cover(&["x.>", "y.z"]), "*.>");
        assert_eq!(cover(&["sensory.>", "entity.>"]), "*.>");
        assert_eq!(cover(&["a", "b.c"]), ">");
    }

    fn pattern() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(prop::sample::select(vec!["a", "b", "*"]), 1..4),
            any::<bool>(),
        )
            .prop_map(|(mut tokens, tail)| {
                if tail {
                    tokens.push(">");
                }
                tokens.join(".")
            })
    }

    proptest! {
        #[test]
        fn the_covering_pattern_matches_whatever_one_of_them_matches(
            patterns in prop::collection::vec(pattern(), 1..4),
            subject in prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..6),
        ) {
            let patterns: Vec<Pattern> = patterns.iter().map(|p| Pattern::new(p.as_str()).unwrap()).collect();
            let subject = Subject::new(subject.join(".")).unwrap();
            let covering = covering_pattern(&patterns);
            if patterns.iter().any(|p| p.matches(&subject)) {
                prop_assert!(covering.matches(&subject), "{covering} misses {subject}");
            }
        }
    }
}
