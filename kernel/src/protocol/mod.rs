//! The Jupyter messaging protocol: sockets, wire codec, dispatch.
//!
//! This layer knows nothing about LLMs, pandas or workers: it speaks Jupyter and
//! hands every request to a [`backend::Backend`].

pub mod backend;
pub mod history;
pub mod server;
pub mod wire;
