//! Reflex handlers: the trait, the registry (failure isolation), the three first-party
//! handlers (as netcortex's own behave), declarative `[[reflex]]` entries, and the protocol
//! side of handlers that run as child processes.

mod bgp_drop;
mod builtin;
mod common;
mod declarative;
mod external;
mod first_party;
mod handler;
mod link_down;
mod python;
mod registry;
mod security_alert;

pub use bgp_drop::*;
pub use builtin::*;
pub use common::*;
pub use declarative::*;
pub use external::*;
pub use first_party::*;
pub use handler::*;
pub use link_down::*;
pub use python::*;
pub use registry::*;
pub use security_alert::*;
