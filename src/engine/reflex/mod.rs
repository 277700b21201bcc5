//! Reflex handlers: the trait, the registry (failure isolation), the three first-party
//! handlers and declarative `[[reflex]]` entries.

mod handler;

pub use handler::*;
