//! The analysis layer: questions, data loading, the Python worker. Knows nothing of ZMQ.

pub mod answers;
pub mod assumptions;
pub mod cell_magics;
pub mod checks;
pub mod engine;
pub mod eval;
pub mod hints;
pub mod llm;
pub mod load;
pub mod magics;
pub mod parameters;
pub mod prompt;
pub mod question;
pub mod quote;
pub mod render;
pub mod reply;
pub mod scratch;
pub mod services;
pub mod session;
pub mod settings;
pub mod solve;
pub mod state;
pub mod worker_client;
