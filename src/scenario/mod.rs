//! The scenario file format: parse, validate, errors with line and column.

mod generator;
mod load;
mod model;

pub use generator::*;
pub use load::*;
pub use model::*;
