//! The real bus: `ripple record` turns live NATS traffic into a scenario, `ripple publish`
//! plays a scenario onto a live NATS server.
//!
//! This is the one place where Ripple does network I/O. Each command builds its own tokio
//! runtime ([`runtime`]), uses it for the length of the command and drops it; the simulator
//! never sees it. The way in and out is data: a recording becomes scenario *text* (then
//! loaded and validated like any file a person wrote), and what is published is computed
//! from a scenario and a seed by an ordinary run before any socket is opened. So nothing
//! here can reach a run's trace, and no wall-clock time leaks into virtual time: arrival
//! times are written into the file as durations, as a person would write them.
//!
//! Only the CLI imports this module.
//!
//! Not here: JetStream (streams, replay from a stream), request/reply, queue groups. A
//! recording keeps subject, payload and arrival time; reply subjects and headers other than
//! [`TENANT_HEADER`] are dropped.

mod connect;
mod error;
mod plan;
mod publish;
mod record;
mod recording;
mod speed;
mod toml_payload;

pub use connect::*;
pub use error::*;
pub use plan::*;
pub use publish::*;
pub use record::*;
pub use recording::*;
pub use speed::*;
pub use toml_payload::*;
