//! The bus: subjects and patterns, the subscription index (a token trie), the envelope.

mod bus;
mod envelope;
mod subject;
mod trie;

pub use bus::*;
pub use envelope::*;
pub use subject::*;
pub use trie::*;
