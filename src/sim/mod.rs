//! The simulator: virtual time, seeded rng streams, `sim_uuid`, the scheduler and the world.

mod time;

pub use time::*;
