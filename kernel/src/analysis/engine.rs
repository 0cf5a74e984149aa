//! The analysis engine: implements the protocol's [`Backend`] by dispatching each cell to
//! the module that handles its kind: questions (question.rs), `%load` (load.rs),
//! `%%python` and parameters (the user worker), `%eval` (eval/), the other magics
//! (cell_magics.rs). Holds the session `State` behind one lock and the `Services`.

use super::cell_magics;
use super::magics::{self, Cell};
use super::parameters;
use super::question;
use super::render::fail_cell;
use super::scratch;
use super::services::Services;
use super::settings::Settings;
use super::state::State;
use super::trust;
use super::worker_client::{InterruptHandle, Launch, Request, Role, Worker};
use crate::protocol::backend::{
    Backend, Completion, ErrorInfo, ExecuteOutcome, ExecuteRequest, Inspection, IsComplete,
    OutputSink,
};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Mutex;

pub struct Engine {
    svc: Services,
    state: Mutex<State>,
}

impl Engine {
    /// Create the engine and start the worker right away, so Python imports pandas while
    /// the frontend is still exchanging kernel_info.
    pub fn new(settings: Settings, exe: PathBuf) -> anyhow::Result<Self> {
        let interrupt = Arc::new(InterruptHandle::default());
        let scratch = scratch::create()?;
        let scratch_path = scratch.path().to_path_buf();
        // Settings are read once (main.rs); every worker starts from this plan.
        let launch = Arc::new(Launch::new(exe, scratch_path.clone(), &settings));
        let worker = match Worker::spawn(&launch, interrupt.clone(), Role::User, &[]) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!("could not start the Python worker: {e}");
                None
            }
        };
        let mut state = State::new(worker, scratch);
        state.privacy = settings.privacy;
        let svc = Services::new(settings, launch, interrupt, scratch_path);
        state.notes = super::notes::load(&svc.notes_path());
        Ok(Self {
            svc,
            state: Mutex::new(state),
        })
    }

    /// Kill every worker at once (shutdown), without waiting for the state lock.
    pub fn kill_workers_now(&self) {
        self.svc.kill_workers_now();
    }

    async fn run_python(
        &self,
        state: &mut State,
        req: &ExecuteRequest,
        code: &str,
        sink: &OutputSink,
    ) -> ExecuteOutcome {
        let outcome = self.run_cell(state, code, req.execution_count, sink).await;
        if req.user_expressions.is_empty() {
            return outcome;
        }
        let exprs = Value::Object(req.user_expressions.clone());
        let evaluated = match self.svc.worker(state).await {
            Ok(w) => w
                .call(Request::UserExpressions { expressions: exprs }, None, None)
                .await
                .ok(),
            Err(_) => None,
        };
        let mut outcome = outcome;
        if let Some(Value::Object(map)) = evaluated {
            outcome.user_expressions = map;
        }
        outcome
    }

    async fn run_cell(
        &self,
        state: &mut State,
        code: &str,
        count: u32,
        sink: &OutputSink,
    ) -> ExecuteOutcome {
        // sql('...') over a Spark table: run on the cluster first (the worker has no network).
        let mut result_files = Vec::new();
        let prepared =
            match super::spark::prepare_cell(&self.svc, state, code, &mut result_files).await {
                Ok(p) => p,
                Err(e) => {
                    sink.error(e.clone());
                    return ExecuteOutcome::error(e);
                }
            };
        let request = Request::RunCell {
            code: code.to_string(),
            execution_count: count,
            prepared,
        };
        let result = match self.svc.worker(state).await {
            Ok(w) => w.call(request, Some(sink), None).await,
            Err(e) => {
                sink.error(e.clone());
                return ExecuteOutcome::error(e);
            }
        };
        for file in result_files {
            let _ = std::fs::remove_file(file);
        }
        match result {
            Ok(v) if v["status"] == "ok" => ExecuteOutcome::ok(),
            Ok(v) => ExecuteOutcome::error(ErrorInfo {
                ename: v["ename"].as_str().unwrap_or("Error").into(),
                evalue: v["evalue"].as_str().unwrap_or("").into(),
                traceback: v["traceback"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            Err(err) => {
                let e = self.svc.worker_failure(state, err).await;
                sink.error(e.clone());
                ExecuteOutcome::error(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl Backend for Engine {
    fn kernel_info(&self) -> Value {
        json!({
            "implementation": "llm-analytics",
            "implementation_version": env!("CARGO_PKG_VERSION"),
            "language_info": {
                "name": "llm-analytics",
                "version": env!("CARGO_PKG_VERSION"),
                "mimetype": "text/x-python",
                "file_extension": ".py",
                "pygments_lexer": "python3",
                "codemirror_mode": {"name": "python", "version": 3},
                "nbconvert_exporter": "python",
            },
            "banner": "LLM Analytics: ask questions about your CSV data in plain English.\n%load PATH loads a CSV; %%python runs Python; %help lists the magics.",
            "help_links": [
                {"text": "LLM Analytics kernel", "url": "https://github.com/llm-analytics/llm-analytics-kernel#readme"},
                {"text": "pandas", "url": "https://pandas.pydata.org/docs/"},
            ],
        })
    }

    async fn execute(&self, req: ExecuteRequest, sink: OutputSink) -> ExecuteOutcome {
        let mut state = self.state.lock().await;
        self.svc.clear_interrupts();
        if !state.settings_warned && !self.svc.settings.warnings.is_empty() {
            state.settings_warned = true;
            sink.stream("stderr", self.svc.settings.warnings.join("\n") + "\n");
        }
        match magics::parse(&req.code) {
            Cell::Empty => ExecuteOutcome::ok(),
            Cell::Python(code) => self.run_python(&mut state, &req, &code, &sink).await,
            Cell::Parameters { code, params } => {
                let outcome = self.run_python(&mut state, &req, &code, &sink).await;
                if matches!(outcome.status, crate::protocol::backend::ExecuteStatus::Ok) {
                    parameters::update(&mut state.parameters, params);
                }
                outcome
            }
            Cell::Load {
                path,
                name,
                sheet,
                engine,
            } => {
                let undefined = parameters::undefined(&path, &state.parameters);
                if !undefined.is_empty() {
                    return fail_cell(
                        &sink,
                        "UsageError",
                        format!(
                            "%load {path}: no parameter named {}. Set it in the notebook's parameters cell first (e.g. {} = 'data.csv').",
                            undefined.join(", "),
                            undefined[0]
                        ),
                    );
                }
                let path = parameters::substitute(&path, &state.parameters);
                if let Some(source) = path.strip_prefix(super::spark::LOAD_PREFIX) {
                    return super::spark::load(&self.svc, &mut state, source, name, &sink).await;
                }
                super::load::load(&self.svc, &mut state, &path, name, sheet, engine, &sink).await
            }
            Cell::Magic { name, args } if name == "%history" => {
                cell_magics::history(&self.svc, &mut state, &args, &sink).await
            }
            Cell::Magic { name, args } if name == "%connect" => {
                super::spark::connect_cell(&self.svc, &mut state, &args, &sink).await
            }
            Cell::Magic { name, args } if name == "%eval" => {
                super::eval::eval_cell(&self.svc, &args, &sink).await
            }
            Cell::Context(text) => trust::add_context(&self.svc, &mut state, &text, &sink),
            Cell::Magic { name, args } if name == "%privacy" => {
                trust::privacy(&mut state, &args, &sink)
            }
            Cell::Magic { name, args } if name == "%show_prompt" => {
                trust::show_prompt(&self.svc, &state, &args, &sink)
            }
            Cell::Magic { name, .. } if name == "%usage" => {
                trust::usage(&self.svc, &state, &sink).await
            }
            Cell::Magic { name, args } if name == "%context" => {
                trust::context(&self.svc, &mut state, &args, &sink)
            }
            Cell::Magic { name, .. } if name == "%sandbox" => {
                cell_magics::sandbox(&self.svc, &mut state, &sink).await
            }
            Cell::Magic { name, .. } => cell_magics::other(&mut state, &name, &sink),
            Cell::Question { text, fresh } => {
                // `{region}` in a question reads the parameter's value.
                let text = parameters::substitute(&text, &state.parameters);
                question::ask(
                    &self.svc,
                    &mut state,
                    &text,
                    fresh,
                    req.execution_count,
                    &sink,
                )
                .await
            }
        }
    }

    async fn complete(&self, code: &str, cursor_pos: usize) -> Completion {
        // Magic names at the start of a cell.
        let before: String = code.chars().take(cursor_pos).collect();
        if before.starts_with('%') && !before.contains(char::is_whitespace) {
            return Completion {
                matches: magics::MAGICS
                    .iter()
                    .map(|(n, _)| n.to_string())
                    .filter(|n| n.starts_with(&before))
                    .collect(),
                cursor_start: 0,
                cursor_end: cursor_pos,
            };
        }
        let (offset, python) = python_part(code);
        let Some(py_pos) = cursor_pos.checked_sub(offset) else {
            return Completion {
                cursor_start: cursor_pos,
                cursor_end: cursor_pos,
                ..Default::default()
            };
        };
        let mut state = self.state.lock().await;
        let reply = match self.svc.worker(&mut state).await {
            Ok(w) => w
                .call(
                    Request::Complete {
                        code: python,
                        cursor_pos: py_pos,
                    },
                    None,
                    None,
                )
                .await
                .ok(),
            Err(_) => None,
        };
        let reply = reply.unwrap_or(Value::Null);
        Completion {
            matches: reply["matches"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|m| m.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            cursor_start: reply["cursor_start"]
                .as_u64()
                .map_or(cursor_pos, |p| p as usize + offset),
            cursor_end: reply["cursor_end"]
                .as_u64()
                .map_or(cursor_pos, |p| p as usize + offset),
        }
    }

    async fn inspect(&self, code: &str, cursor_pos: usize, detail_level: u8) -> Inspection {
        let word: String = code
            .chars()
            .take(cursor_pos)
            .collect::<String>()
            .split_whitespace()
            .last()
            .unwrap_or("")
            .to_string();
        if let Some((name, help)) = magics::MAGICS
            .iter()
            .find(|(n, _)| word.starts_with(n) || code.trim() == *n)
        {
            let mut data = serde_json::Map::new();
            data.insert("text/plain".into(), json!(format!("{name}\n{help}")));
            return Inspection { found: true, data };
        }
        let (offset, python) = python_part(code);
        let pos = cursor_pos.saturating_sub(offset);
        let mut state = self.state.lock().await;
        let reply = match self.svc.worker(&mut state).await {
            Ok(w) => w
                .call(
                    Request::Inspect {
                        code: python,
                        cursor_pos: pos,
                        detail_level,
                    },
                    None,
                    None,
                )
                .await
                .ok(),
            Err(_) => None,
        };
        match reply {
            Some(v) if v["found"] == true => Inspection {
                found: true,
                data: v["data"].as_object().cloned().unwrap_or_default(),
            },
            _ => Inspection::default(),
        }
    }

    async fn is_complete(&self, code: &str) -> IsComplete {
        match magics::parse(code) {
            Cell::Python(body) => {
                let mut state = self.state.lock().await;
                let reply = match self.svc.worker(&mut state).await {
                    Ok(w) => w
                        .call(Request::IsComplete { code: body }, None, None)
                        .await
                        .ok(),
                    Err(_) => None,
                };
                let reply = reply.unwrap_or(Value::Null);
                IsComplete {
                    status: reply["status"].as_str().unwrap_or("unknown").into(),
                    indent: reply["indent"].as_str().unwrap_or("").into(),
                }
            }
            // Questions and magics are complete as typed: Enter runs them.
            _ => IsComplete {
                status: "complete".into(),
                indent: String::new(),
            },
        }
    }

    fn interrupt(&self) {
        self.svc.interrupt_all();
    }

    async fn shutdown(&self, _restart: bool) {
        // Do not wait for the state lock: a cell may be running. Kill by pid.
        self.kill_workers_now();
        // Exchanges still in the spool go to MongoDB now rather than at the next start.
        if let Some(store) = self.svc.open_store() {
            let left = store.flush(std::time::Duration::from_secs(3)).await;
            if left > 0 {
                tracing::warn!(
                    "history: {left} exchange(s) stay in the local spool until the next start"
                );
            }
        }
        // The process exits without destructors; tmpfs is memory, so clean up now.
        let _ = std::fs::remove_dir_all(self.svc.scratch_path());
    }
}

/// For `%%python` cells: the char offset of the Python body and the body itself.
fn python_part(code: &str) -> (usize, String) {
    match magics::parse(code) {
        Cell::Python(body) => {
            let offset = code.chars().count() - body.chars().count();
            (offset, body)
        }
        _ => (0, code.to_string()),
    }
}
