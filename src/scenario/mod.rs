//! The scenario file format: parse, validate, errors with line and column.

mod emit;
mod generator;
mod load;
mod model;

pub use emit::*;
pub use generator::*;
pub use load::*;
pub use model::*;
