//! The Jupyter messaging protocol: sockets, wire codec, typed requests and replies, dispatch.
//!
//! This layer knows nothing about LLMs, pandas or workers: it speaks Jupyter and hands every
//! request to a [`backend::Backend`].

pub mod backend;
pub mod content;
pub mod control;
pub mod history;
pub mod iopub;
pub mod request;
pub mod server;
pub mod shell;
pub mod sockets;
pub mod wire;
