//! The simulator: virtual time, seeded rng streams, `sim_uuid`, the scheduler and the world,
//! and the driver of handlers that run as child processes.

mod faults;
mod host;
mod library;
mod outcome;
mod prepared;
mod process_handler;
mod queue;
mod roots;
mod runner;
mod signature;
mod sweep;
mod world;

pub use faults::*;
pub use library::*;
pub use outcome::*;
pub use prepared::*;
pub use process_handler::*;
pub use queue::*;
pub use runner::*;
pub use signature::*;
pub use sweep::*;
pub use world::*;
