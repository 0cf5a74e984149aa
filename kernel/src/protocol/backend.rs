//! The contract between the protocol layer and whatever runs the cells.

use serde_json::{Map, Value};
use std::sync::Arc;

/// One iopub output produced while a cell runs (variants are named after Jupyter's message
/// types, hence `ClearOutput`).
#[derive(Debug, Clone)]
#[allow(clippy::enum_variant_names)]
pub enum Output {
    Stream {
        name: String,
        text: String,
    },
    DisplayData {
        data: Value,
        metadata: Value,
        display_id: Option<String>,
    },
    UpdateDisplayData {
        data: Value,
        metadata: Value,
        display_id: String,
    },
    ExecuteResult {
        data: Value,
        metadata: Value,
    },
    Error(ErrorInfo),
    ClearOutput {
        wait: bool,
    },
}

/// An error as Jupyter shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorInfo {
    pub ename: String,
    pub evalue: String,
    pub traceback: Vec<String>,
}

impl ErrorInfo {
    pub fn new(ename: impl Into<String>, evalue: impl Into<String>) -> Self {
        let (ename, evalue) = (ename.into(), evalue.into());
        let traceback = vec![format!("{ename}: {evalue}")];
        Self {
            ename,
            evalue,
            traceback,
        }
    }
}

/// Where a running cell sends its outputs; the protocol layer publishes them on iopub, in
/// order, parented to the request. Cheap to clone.
#[derive(Clone)]
pub struct OutputSink {
    publish: Arc<dyn Fn(Output) + Send + Sync>,
}

impl OutputSink {
    pub fn new(publish: impl Fn(Output) + Send + Sync + 'static) -> Self {
        Self {
            publish: Arc::new(publish),
        }
    }

    pub fn send(&self, out: Output) {
        (self.publish)(out)
    }

    pub fn stream(&self, name: &str, text: impl Into<String>) {
        self.send(Output::Stream {
            name: name.into(),
            text: text.into(),
        });
    }

    pub fn error(&self, e: ErrorInfo) {
        self.send(Output::Error(e));
    }
}

/// What the frontend asked to run.
#[derive(Debug, Clone)]
pub struct ExecuteRequest {
    pub code: String,
    pub execution_count: u32,
    pub user_expressions: Map<String, Value>,
}

/// How a cell ended.
#[derive(Debug, Clone)]
pub enum ExecuteStatus {
    Ok,
    Error(ErrorInfo),
}

#[derive(Debug, Clone)]
pub struct ExecuteOutcome {
    pub status: ExecuteStatus,
    /// Reply payloads, e.g. `set_next_input`.
    pub payload: Vec<Value>,
    pub user_expressions: Map<String, Value>,
}

impl ExecuteOutcome {
    pub fn ok() -> Self {
        Self {
            status: ExecuteStatus::Ok,
            payload: vec![],
            user_expressions: Map::new(),
        }
    }

    pub fn error(e: ErrorInfo) -> Self {
        Self {
            status: ExecuteStatus::Error(e),
            ..Self::ok()
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub matches: Vec<String>,
    pub cursor_start: usize,
    pub cursor_end: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub found: bool,
    pub data: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct IsComplete {
    pub status: String,
    pub indent: String,
}

/// What runs the cells. Implemented by the analysis engine; the protocol layer owns
/// sockets, ordering, counters and history.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `implementation`, `language_info`, `banner`, `help_links` for kernel_info_reply.
    fn kernel_info(&self) -> Value;
    async fn execute(&self, req: ExecuteRequest, sink: OutputSink) -> ExecuteOutcome;
    async fn complete(&self, code: &str, cursor_pos: usize) -> Completion;
    async fn inspect(&self, code: &str, cursor_pos: usize, detail_level: u8) -> Inspection;
    async fn is_complete(&self, code: &str) -> IsComplete;
    /// Called from a signal handler task or the control channel; must not block.
    fn interrupt(&self);
    async fn shutdown(&self, restart: bool);
}
