//! From a question to code that ran and answered it: generate (streamed to the cell) →
//! repair habits → validate → run in a fresh question worker → check → feed back, for up to
//! `MAX_REPAIR_ROUNDS` more rounds. Every model call is capped and counted.
//!
//! The model sees what went wrong with its last attempt (a refusal and what to do instead,
//! the error and its line, an empty result, a missing answer format, a timeout); the cell
//! shows the code that finally ran, one short line per earlier attempt, and each assumption
//! the kernel made (data re-read, column spelling).

mod answer;
mod display;
mod fixes;
mod generate;
mod rounds;

pub use answer::error_text;

use super::llm::CodeModel;
use super::privacy::Privacy;
use crate::protocol::backend::{ErrorInfo, Output, OutputSink};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The outcome of running code once in a question worker.
pub enum Ran {
    /// `value` is the worker's reply; `outputs` were held back so only the attempt that
    /// answers is shown.
    Ok { value: Value, outputs: Vec<Output> },
    /// The code raised (the reply says what and where).
    CodeError { value: Value },
    /// Timeout, crash, interrupt, protocol violation: `retry` says whether another attempt
    /// makes sense (a timeout or an out-of-memory death may, an interrupt never does).
    Fatal { error: ErrorInfo, retry: bool },
}

/// Outputs of one run, held back until the kernel knows this attempt is the one to show.
#[derive(Clone, Default)]
pub struct Held(Arc<Mutex<Vec<Output>>>);

impl Held {
    pub fn sink(&self) -> OutputSink {
        let held = self.0.clone();
        OutputSink::new(move |out| held.lock().expect("held outputs").push(out))
    }

    pub fn take(&self) -> Vec<Output> {
        std::mem::take(&mut *self.0.lock().expect("held outputs"))
    }
}

/// Runs code on the loaded data in a fresh question worker.
#[async_trait::async_trait]
pub trait Runner: Send {
    async fn run(&mut self, code: &str) -> Ran;
}

/// What the question flow needs to know about the data: names and exact column names.
pub struct DataInfo {
    pub names: Vec<String>,
    pub columns: Vec<String>,
    /// The DuckDB tables: the only tables `sql("SELECT ...")` may read.
    pub sql_tables: Vec<String>,
    /// The tables on Spark, which `sql()` reads with Spark SQL.
    pub spark_tables: Vec<String>,
}

pub use super::usage::Ledger;

/// A question answered by code that ran.
pub struct Solved {
    pub code: String,
    pub value: Value,
    pub outputs: Vec<Output>,
    /// Printed output plus the result's text: what the answer says.
    pub answer_text: String,
}

/// Why no attempt answered.
pub enum Unsolved {
    /// The model's last code was refused by the validator.
    Refused {
        code: String,
        rule: String,
        message: String,
        notes: Vec<String>,
    },
    /// The last code raised or produced no usable answer.
    Failed {
        code: String,
        ename: String,
        message: String,
        notes: Vec<String>,
    },
    /// Stopped: model failure, interrupt, or a run that must not be retried.
    Stopped(ErrorInfo),
}

/// Settings and handles one solve needs.
pub struct Solver<'a> {
    pub llm: &'a dyn CodeModel,
    pub sink: &'a OutputSink,
    pub temperature: f32,
    pub max_tokens: u32,
    pub max_rounds: usize,
    pub timeout: Duration,
    pub interrupt: &'a super::worker_client::InterruptHandle,
    /// Whether the validator runs (off only with LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION=1).
    pub validate: bool,
    /// Lines shown above the attempts' notes (why the model is asked at all, e.g. a
    /// recorded answer whose parameters changed).
    pub preface: Vec<String>,
    /// What of the data may be fed back to the model (errors, printed answers).
    pub privacy: Privacy,
}

#[cfg(test)]
mod flow_tests;

#[cfg(test)]
mod tests;
