//! Running model-written code once: in a fresh question worker that is killed afterwards
//! (`run_code`), behind the `Runner` seam the solve loop uses (`QuestionRunner`), after the
//! validator (`validate`, which only LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION turns off).

use super::services::Services;
use super::settings::Settings;
use super::solve::{Held, Ran, Runner};
use super::state::State;
use super::worker_client::{CallError, Request};
use crate::protocol::backend::{ErrorInfo, OutputSink};
use serde_json::Value;

/// Outcome of running generated code once.
pub(super) enum Run {
    Ok(Value),
    /// The code raised; the model may repair it.
    CodeError(Value),
    /// Timeout, crash, interrupt: reported as is.
    Fatal(ErrorInfo),
}

/// Run generated code in a question worker of its own, which is killed afterwards whatever
/// happened: model code never shares a process with later cells. The user's `%%python`
/// variables travel as a pickle made by the user worker; the datasets are mapped from their
/// Arrow files. The time limit is the kernel's, not the worker's word.
pub(super) async fn run_code(
    svc: &Services,
    state: &mut State,
    code: &str,
    count: u32,
    sink: &OutputSink,
) -> Run {
    let timeout = svc.settings.max_execution_timeout;
    // Spark queries run on the cluster first (the worker has no network); not counted in
    // MAX_EXECUTION_TIMEOUT, which bounds the Python.
    let mut result_files = Vec::new();
    let prepared = match super::spark::prepare(svc, state, code, &mut result_files).await {
        Ok(p) => p,
        Err(e) => return Run::Fatal(e),
    };
    let variables = svc.exported_variables(state).await;
    let mut worker = match svc.question_worker(state).await {
        Ok(w) => w,
        Err(e) => return Run::Fatal(e),
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let request = Request::RunQuestion {
        code: code.to_string(),
        execution_count: count,
        variables,
        prepared,
    };
    let outcome = worker.call(request, Some(sink), Some(deadline)).await;
    worker.kill().await;
    for file in result_files {
        let _ = std::fs::remove_file(file);
    }
    // The next question (or replay) starts with a warm worker.
    svc.prepare_question_worker(state).await;
    let untouched = "Your data and the variables defined in %%python are untouched.";
    match outcome {
        Ok(v) if v["status"] == "ok" => Run::Ok(v),
        Ok(v) if v["status"] == "error" => Run::CodeError(v),
        Ok(_) => Run::Fatal(ErrorInfo::new(
            "WorkerProtocolError",
            format!(
                "The question's Python process sent a malformed reply and was stopped. {untouched}"
            ),
        )),
        Err(CallError::Timeout) => Run::Fatal(ErrorInfo::new(
            "TimeoutError",
            format!(
                "Code execution timed out after {} seconds. The operation may be too complex. \
                 The question's Python process was stopped. {untouched}",
                timeout.as_secs_f64()
            ),
        )),
        Err(CallError::Interrupted) | Err(CallError::Unresponsive) => Run::Fatal(ErrorInfo::new(
            "KeyboardInterrupt",
            format!("Interrupted. {untouched}"),
        )),
        Err(CallError::Died(why)) => Run::Fatal(ErrorInfo::new(
            "WorkerDied",
            format!("The question's Python process died: {why}. {untouched}"),
        )),
        Err(CallError::Protocol(why)) => Run::Fatal(ErrorInfo::new(
            "WorkerProtocolError",
            format!(
                "The question's Python process was stopped because {why}; nothing it sent after \
                 that was shown. {untouched}"
            ),
        )),
        Err(CallError::Failed(tb)) => Run::Fatal(ErrorInfo::new("WorkerError", tb)),
    }
}

/// The AST check; `tables` are the DuckDB and Spark tables `sql("SELECT ...")` may read (its
/// SQL is checked too, as Spark SQL when it reads a Spark table).
pub(super) fn validate(
    settings: &Settings,
    code: &str,
    tables: super::state::SqlTables,
) -> Result<(), code_guard::Rejection> {
    if settings.skip_validation {
        tracing::error!(
            "LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION=1: generated code runs WITHOUT the AST check"
        );
        return Ok(());
    }
    code_guard::validate(
        code,
        &code_guard::Policy {
            require_result: false,
            sql_tables: tables.duckdb,
            spark_tables: tables.spark,
            ..Default::default()
        },
    )
}

/// Runs code in a fresh question worker of the svc (see run_code).
pub(super) struct QuestionRunner<'a> {
    pub(super) svc: &'a Services,
    pub(super) state: &'a mut State,
    pub(super) count: u32,
}

#[async_trait::async_trait]
impl Runner for QuestionRunner<'_> {
    async fn run(&mut self, code: &str) -> Ran {
        let held = Held::default();
        match run_code(self.svc, self.state, code, self.count, &held.sink()).await {
            Run::Ok(value) => Ran::Ok {
                value,
                outputs: held.take(),
            },
            Run::CodeError(value) => Ran::CodeError { value },
            Run::Fatal(error) => {
                // A slow or memory-hungry attempt may be rewritten; anything else stops.
                let retry = matches!(error.ename.as_str(), "TimeoutError" | "WorkerDied");
                Ran::Fatal { error, retry }
            }
        }
    }
}
