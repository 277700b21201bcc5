//! The engine under test, sans-IO: entity state machines, reaction rules (guards, resolvers,
//! params), the cascade dispatcher, and reflex handlers. Time, ids and randomness come in as
//! arguments; the engine owns no clock and no random source.

mod cascade;
mod command;
mod entity;
mod expr;
mod fields;
mod guard;
mod params;
mod resolver;
mod rule;
mod rule_set;
mod store;

pub mod reflex;

pub use cascade::*;
pub use command::*;
pub use entity::*;
pub use expr::*;
pub use fields::*;
pub use guard::*;
pub use params::*;
pub use resolver::*;
pub use rule::*;
pub use rule_set::*;
pub use store::*;
