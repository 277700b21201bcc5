//! What can go wrong at the real bus, as messages a person can act on. The CLI prints them and
//! exits with status 2: the input (an address, a credential, a pattern, a path, a scenario)
//! was bad, or the server it names could not be used.

use crate::scenario::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// Nothing (or nothing that speaks NATS) answered at the address.
    #[error("failed to connect to {server}: {reason}\n  hint: check the address (--server) and that nats-server is running there")]
    Unreachable { server: String, reason: String },
    /// The server answered and refused the credentials.
    #[error("{server} refused the credentials ({given}): {reason}\n  hint: check --user/--password, --token or --creds")]
    Refused {
        server: String,
        given: String,
        reason: String,
    },
    /// The server refused something after connecting (a subscription it does not permit).
    #[error("{server} refused {what}: {reason}")]
    ServerRefused {
        server: String,
        what: String,
        reason: String,
    },
    #[error("failed to set up TLS with {server}: {reason}\n  hint: check --tls-ca, --tls-cert and --tls-key, and that the server speaks TLS")]
    Tls { server: String, reason: String },
    /// A command-line value that does not parse or validate.
    #[error("{option} {value:?}: {reason}")]
    Option {
        option: &'static str,
        value: String,
        reason: String,
    },
    #[error("failed to read the {what} {path}: {reason}")]
    Read {
        what: &'static str,
        path: String,
        reason: String,
    },
    /// The connection broke (or stopped answering) in the middle of a command.
    #[error("lost the connection to {server}: {reason}")]
    Lost { server: String, reason: String },
    #[error(transparent)]
    Scenario(#[from] SourceError),
    #[error("failed to start the I/O runtime: {0}")]
    Runtime(std::io::Error),
}

/// An error and its sources, joined: `connection refused` rather than `IO error`.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    // A budget: error chains are short, but a cycle must not hang the report.
    for _ in 0..8 {
        let Some(e) = next else { break };
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}
