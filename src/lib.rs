//! Ripple: deterministic simulation testing for event-driven systems.
//!
//! A single-threaded, seeded scheduler replays bus events and reaction cascades in virtual
//! time with deterministic ids; invariant checkers watch every step; the same seed always
//! gives the same trace, byte for byte.

pub mod bus;
pub mod engine;
pub mod error;
pub mod sim;

pub use error::SourceError;
