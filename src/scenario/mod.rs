//! The scenario file format: parse, validate, errors with line and column; and the inputs
//! netcortex's publishers would make of raw vendor payloads.

mod emit;
mod error;
mod faults;
mod generator;
mod lint;
mod load;
mod model;
mod predicate;
mod rules;
mod sensory;
pub mod temper;

pub use emit::*;
pub use error::*;
pub use faults::*;
pub use generator::*;
pub use lint::*;
pub use load::*;
pub use model::*;
pub use predicate::*;
pub use rules::*;
pub use sensory::*;
