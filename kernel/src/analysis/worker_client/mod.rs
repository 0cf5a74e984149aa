//! The kernel's handle on the Python worker process: spawn, call, interrupt, kill.
//!
//! The worker is this same binary in `worker` mode, in its own process group so a SIGINT sent
//! by Jupyter to the kernel's group is not delivered twice; the kernel forwards it instead.
//!
//! Two roles. The *user* worker holds the `%%python` namespace and the datasets and only ever
//! runs the user's own code. A *question* worker runs exactly one question's model-written
//! code and is then killed: model code never shares a process with anything a later cell
//! uses, so nothing it does in Python (patched modules, audit hooks, threads, forged protocol
//! lines) can outlive its question. A question worker is distrusted from the start: it may
//! only send the events of the one request in flight; a reply with another id, a second
//! `ready`, an oversized line or any event outside a call ends it and the cell says why.
//!
//! Containment on this side (the worker contains itself, see worker/sandbox/): the worker
//! starts with a cleared environment plus an allowlist, gets a private scratch directory that is
//! removed with it, and everything it sends is bounded (line size, a short event queue that
//! back-pressures the pipe, output bytes per call, stderr bytes per worker). Outputs of
//! question workers are filtered: no clear_output, only text/plain, PNG/JPEG and HTML that
//! passes a strict table-markup check.

mod call;
mod collect;
mod environment;
mod framing;
mod interrupt;
mod output_policy;
mod report;
mod request;
mod spawn;

use crate::limits::{MAX_CALL_OUTPUT_BYTES, MAX_LINE_BYTES, MAX_QUESTION_OUTPUT_BYTES};
use crate::protocol::backend::{ErrorInfo, Output, OutputSink};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

pub use environment::Launch;
use environment::{worker_env, worker_scratch};
use framing::{event_kind, forward_stderr, parse_event, Event, Line, WorkerLines};
use futures::StreamExt;
pub use interrupt::InterruptHandle;
use output_policy::html_is_safe;
use output_policy::{output_size, untrusted_output};
pub use report::kernel_layers;
use report::log_sandbox_once;
pub use request::Request;
use tokio_util::codec::FramedRead;

/// Disables the AST check of generated code (and only that); the sandbox stays on.
pub use super::settings::SKIP_VALIDATION_ENV;

/// How long Python gets to honour an interrupt before the worker is killed.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(3);
/// Parsed events waiting for the kernel; when full, the reader stops reading and the
/// worker blocks on its pipe (memory stays bounded whatever the worker sends).
const EVENT_QUEUE: usize = 16;
/// How long a question worker may take to start and load the datasets.
const QUESTION_WORKER_START: Duration = Duration::from_secs(120);
/// Bytes of worker stderr forwarded to the kernel log per worker process.
pub const MAX_STDERR_BYTES: usize = 4 << 20;

/// Which code a worker process runs (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Question,
    /// The Spark engine (`worker --spark`): holds the Spark Connect session, runs no
    /// generated code, takes only the Spark requests.
    Spark,
}

/// Why a call did not return a value.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The process exited (crash, OOM kill, os._exit...).
    Died(String),
    /// The deadline passed; the worker is still busy and must be killed.
    Timeout,
    /// Interrupted and Python did not yield within the grace period.
    Unresponsive,
    /// KeyboardInterrupt reached the dispatcher itself.
    Interrupted,
    /// The runtime raised: a bug in the worker code, reported with its traceback.
    Failed(String),
    /// A question worker broke the protocol (forged or stray message) and was killed.
    Protocol(String),
}

pub struct Worker {
    child: Child,
    /// How it was started (binary, Arrow directory, hidden paths), for a restart.
    launch: Arc<Launch>,
    /// The DuckDB tables' files, readable where they lie (kept for a restart).
    engine_files: Vec<PathBuf>,
    /// The worker's private read-write directory; removed when the worker is dropped.
    _scratch: Option<tempfile::TempDir>,
    stdin: ChildStdin,
    events: mpsc::Receiver<Event>,
    next_id: u64,
    ready: bool,
    configured: bool,
    interrupt: Arc<InterruptHandle>,
    role: Role,
    /// Requests sent ahead (a question worker's set-up), whose replies are still due, in order.
    pending: std::collections::VecDeque<u64>,
}

#[cfg(test)]
mod tests;
