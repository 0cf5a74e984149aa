//! The name lists behind the rules, plus small pure predicates over them.
//!
//! Everything here is data or a one-line classification so that the tree
//! walk in `checker/` reads as "which rule applies", not "which strings".
//! One file per kind of list; every predicate is re-exported here.

mod builtins;
mod dispatch;
mod dunders;
mod file_io;
mod formulas;
mod imports;
mod internals;
mod settings;

pub use builtins::*;
pub use dispatch::*;
pub use dunders::*;
pub use file_io::*;
pub use formulas::*;
pub use imports::*;
pub use internals::*;
pub use settings::*;
