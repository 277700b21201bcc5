//! Reaching a NATS server: the address and credentials the commands take, the runtime they
//! run on, and errors that say which address failed and how.

use crate::live::{chain, LiveError};
use async_nats::{Client, ConnectErrorKind, ConnectOptions, Event, Subscriber};
use futures_util::StreamExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long connecting may take before the address counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages the client buffers per subscription before it drops them (a slow consumer).
/// A recording takes each message into memory and does nothing else, so this only has to
/// absorb bursts faster than that: the client's default (65,536) overflowed when a
/// publisher at full speed on the same 2-core machine sent 200,000 messages in 0.3 s
/// (reports/BENCH.md). A slot costs memory only while a message waits in it.
const SUBSCRIPTION_CAPACITY: usize = 1 << 20;

/// The runtime `record` and `publish` run on: one thread, created for one command.
///
/// One thread because the work is one connection: the client's reader and writer tasks and
/// the command take turns on it, which also makes "drain what has already arrived" a finite
/// loop (nothing can arrive while it runs). Never used by a simulation run.
pub fn runtime() -> Result<tokio::runtime::Runtime, LiveError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(LiveError::Runtime)
}

/// Credentials, as the command line gives them (at most one kind).
#[derive(Debug, Clone, Default)]
pub enum Auth {
    #[default]
    None,
    UserPassword {
        user: String,
        password: String,
    },
    Token(String),
    /// A `.creds` file (a JWT and an nkey seed), as `nsc` writes them.
    Creds(PathBuf),
}

/// A server to connect to: `--server` and the credential and TLS options.
#[derive(Debug, Clone, Default)]
pub struct ServerSpec {
    pub url: String,
    pub auth: Auth,
    /// A CA certificate (PEM) to trust; given, TLS is required.
    pub tls_ca: Option<PathBuf>,
    /// A client certificate and its key (PEM), for servers that verify clients.
    pub tls_client: Option<(PathBuf, PathBuf)>,
}

impl ServerSpec {
    /// The address as shown to people and written into files: without a user or password
    /// that the URL may carry.
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }

    /// Which credentials were offered, without the secrets.
    fn credentials_given(&self) -> String {
        let mut given = match &self.auth {
            Auth::None if self.url.contains('@') => "the user in the URL".to_string(),
            Auth::None => "no credentials".to_string(),
            Auth::UserPassword { user, .. } => format!("user {user:?} with a password"),
            Auth::Token(_) => "a token".to_string(),
            Auth::Creds(path) => format!("the creds file {}", path.display()),
        };
        if self.tls_client.is_some() {
            given.push_str(", a client certificate");
        }
        given
    }
}

/// `nats://alice:secret@host:4222` -> `nats://host:4222`. Control characters become spaces,
/// so the result can go on one line of a file.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    format!("{scheme}{rest}")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// What happened to a connection while a command used it, from the client's events.
#[derive(Debug, Default)]
pub struct ConnectionEvents {
    /// Times the client reported a subscription as a slow consumer: it dropped messages.
    pub slow_consumer: AtomicU64,
    pub disconnects: AtomicU64,
    /// Errors the server sent (`-ERR ...`), in order.
    pub server_errors: Mutex<Vec<String>>,
}

impl ConnectionEvents {
    fn note(&self, event: Event) {
        match event {
            Event::SlowConsumer(_) => {
                self.slow_consumer.fetch_add(1, Ordering::Relaxed);
            }
            Event::Disconnected => {
                self.disconnects.fetch_add(1, Ordering::Relaxed);
            }
            Event::ServerError(e) => {
                if let Ok(mut errors) = self.server_errors.lock() {
                    errors.push(e.to_string());
                }
            }
            _ => {}
        }
    }

    /// Server errors noted so far.
    pub fn server_errors(&self) -> Vec<String> {
        self.server_errors
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }
}

/// Connects, once: a server that is down or refuses the credentials is an error now, not a
/// retry loop. (After a successful connect the client reconnects on its own, and
/// `events` counts the disconnections.)
pub async fn connect(
    spec: &ServerSpec,
    events: Arc<ConnectionEvents>,
) -> Result<Client, LiveError> {
    let server = spec.display_url();
    let mut options = match &spec.auth {
        Auth::None => ConnectOptions::new(),
        Auth::UserPassword { user, password } => {
            ConnectOptions::with_user_and_password(user.clone(), password.clone())
        }
        Auth::Token(token) => ConnectOptions::with_token(token.clone()),
        Auth::Creds(path) => ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|e| LiveError::Read {
                what: "creds file",
                path: path.display().to_string(),
                reason: e.to_string(),
            })?,
    };
    if let Some(ca) = &spec.tls_ca {
        readable(ca, "TLS CA certificate")?;
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let Some((cert, key)) = &spec.tls_client {
        readable(cert, "TLS client certificate")?;
        readable(key, "TLS client key")?;
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let options = options
        .name("ripple")
        .connection_timeout(CONNECT_TIMEOUT)
        .subscription_capacity(SUBSCRIPTION_CAPACITY)
        .event_callback(move |event| {
            let events = Arc::clone(&events);
            async move { events.note(event) }
        });
    options
        .connect(spec.url.as_str())
        .await
        .map_err(|e| match e.kind() {
            ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => {
                LiveError::Refused {
                    server,
                    given: spec.credentials_given(),
                    reason: chain(&e),
                }
            }
            ConnectErrorKind::Tls => LiveError::Tls {
                server,
                reason: chain(&e),
            },
            ConnectErrorKind::ServerParse => LiveError::Option {
                option: "--server",
                value: server,
                reason: format!("{}; write e.g. nats://127.0.0.1:4222", chain(&e)),
            },
            ConnectErrorKind::TimedOut => LiveError::Unreachable {
                server,
                reason: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
            },
            _ => LiveError::Unreachable {
                server,
                reason: chain(&e),
            },
        })
}

/// How long a round trip through the server ([`Barrier::pass`]) may take.
pub const BARRIER_TIMEOUT: Duration = Duration::from_secs(10);

/// A round trip through the server, as the protocol's ordering gives it: a message this
/// client publishes to a subject only it subscribes to comes back after the server has
/// handled everything the client sent before it, and after everything the server had queued
/// for the client before that.
///
/// `Client::flush` is not that: it only writes the client's buffer to the socket. A
/// subscription is in place once a barrier has passed after it, and so is every message
/// published before one.
pub struct Barrier {
    subject: String,
    subscription: Subscriber,
}

impl Barrier {
    /// Subscribes to a fresh inbox subject of the client's.
    pub async fn new(client: &Client, server: &str) -> Result<Barrier, LiveError> {
        let subject = client.new_inbox();
        let subscription =
            client
                .subscribe(subject.clone())
                .await
                .map_err(|e| LiveError::Lost {
                    server: server.to_string(),
                    reason: chain(&e),
                })?;
        Ok(Barrier {
            subject,
            subscription,
        })
    }

    /// The barrier's subject: a subscription whose pattern covers it sees its messages too,
    /// and should leave them out.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Returns once the round trip is done, or an error after [`BARRIER_TIMEOUT`].
    pub async fn pass(&mut self, client: &Client, server: &str) -> Result<(), LiveError> {
        let lost = |reason: String| LiveError::Lost {
            server: server.to_string(),
            reason,
        };
        client
            .publish(self.subject.clone(), Vec::new().into())
            .await
            .map_err(|e| lost(chain(&e)))?;
        client.flush().await.map_err(|e| lost(chain(&e)))?;
        match tokio::time::timeout(BARRIER_TIMEOUT, self.subscription.next()).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(lost("the connection closed".into())),
            Err(_) => Err(lost(format!(
                "no answer to a round trip within {}s",
                BARRIER_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// A file named on the command line must exist before the client is handed its path: its
/// own error would only say "TLS error".
fn readable(path: &std::path::Path, what: &'static str) -> Result<(), LiveError> {
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| LiveError::Read {
            what,
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials_and_line_breaks() {
        assert_eq!(redact_url("nats://a:b@h:4222"), "nats://h:4222");
        assert_eq!(redact_url("tls://tok@h:4222/x@y"), "tls://h:4222/x@y");
        assert_eq!(redact_url("h:4222"), "h:4222");
        assert_eq!(redact_url("nats://h\n:4222"), "nats://h :4222");
    }

    #[test]
    fn credentials_are_described_without_secrets() {
        let spec = ServerSpec {
            url: "nats://h:4222".into(),
            auth: Auth::UserPassword {
                user: "alice".into(),
                password: "s3cret".into(),
            },
            ..ServerSpec::default()
        };
        let given = spec.credentials_given();
        assert!(
            given.contains("alice") && !given.contains("s3cret"),
            "{given}"
        );
    }
}
