//! Spark through Spark Connect: `%connect spark sc://HOST:PORT[/;token=...]` (or the setting
//! SPARK_CONNECT_URL), `%load spark:TABLE_OR_PATH as NAME`, and questions whose `sql("...")`
//! reads those tables.
//!
//! The connection and its token live in the Spark engine process (`worker --spark`,
//! worker/spark/), which runs no generated code. The question worker keeps its sandbox (no
//! network, no token): the kernel runs the code's Spark queries, which the validator has
//! checked as literal read-only Spark SQL, on the engine first (queries.rs), and the worker's
//! `sql()` reads their results from Arrow files in the kernel's directory.

mod connect;
mod errors;
mod load;
mod queries;

pub use connect::{connect_cell, SparkLink};
pub use load::load;
pub use queries::{prepare, prepare_cell};

/// The prefix of `%load spark:...`.
pub const LOAD_PREFIX: &str = "spark:";
