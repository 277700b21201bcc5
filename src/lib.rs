//! Ripple: deterministic simulation testing for event-driven systems.
//!
//! A single-threaded, seeded scheduler replays bus events and reaction cascades in virtual
//! time with deterministic ids; invariant checkers watch every step; the same seed always
//! gives the same trace, byte for byte.

pub mod bench;
pub mod bus;
pub mod check;
pub mod cli;
pub mod core;
pub mod corpus;
pub mod engine;
pub mod model;
pub mod report;
pub mod scenario;
pub mod shrink;
pub mod sim;
pub mod trace;
