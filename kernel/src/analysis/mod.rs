//! The analysis layer: questions, data loading, the Python worker. Knows nothing of ZMQ.

pub mod engine;
pub mod llm;
pub mod magics;
pub mod prompt;
pub mod question;
pub mod scratch;
pub mod session;
pub mod settings;
pub mod worker_client;
