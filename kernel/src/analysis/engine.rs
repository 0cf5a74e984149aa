//! The analysis engine: implements the protocol's [`Backend`] for questions, `%load`,
//! `%%python` and the other magics. Owns the worker, the loaded datasets and the exchanges.

use super::magics::{self, Cell};
use super::parameters;
use super::question;
use super::scratch;
use super::session;
use super::settings::Settings;
use super::worker_client::{CallError, InterruptHandle, Role, Worker};
use crate::protocol::backend::{
    Backend, Completion, ErrorInfo, ExecuteOutcome, ExecuteRequest, Inspection, IsComplete, Output,
    OutputSink,
};
use history_store::{ExchangeRecord, HistoryStore, ResilientStore, StoreConfig};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{Mutex, OnceCell};

/// A loaded dataset. The Arrow file is kept so a respawned worker gets the data back
/// without parsing the CSV again.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub source: PathBuf,
    pub ipc_path: PathBuf,
    pub profile: Value,
    /// Content hash of the source file (replay keys, session identity).
    pub fingerprint: String,
}

pub struct State {
    /// The user's worker: `%%python`, `%load` profiles, completion. Never runs model code.
    pub worker: Option<Worker>,
    /// A question worker started ahead (Python imported, datasets loading), and the
    /// `data_version` it was given.
    spare: Option<(Worker, u64)>,
    /// Bumped by every `%load`, so a spare with older datasets is not used.
    data_version: u64,
    pub datasets: Vec<Dataset>,
    /// This session's exchanges, oldest first (restored from the store after a restart).
    pub exchanges: Vec<ExchangeRecord>,
    pub last_code: Option<String>,
    /// Notebook + loaded data; None until something is loaded.
    pub session_id: Option<String>,
    /// The notebook's parameters (papermill), in the order first set.
    pub parameters: Vec<code_guard::Parameter>,
    scratch: tempfile::TempDir,
    loads: u32,
    settings_warned: bool,
}

pub struct Engine {
    pub settings: Settings,
    exe: PathBuf,
    pub interrupt: Arc<InterruptHandle>,
    /// The question worker's (one runs at a time; its spare is idle, never busy).
    question_interrupt: Arc<InterruptHandle>,
    state: Mutex<State>,
    store: OnceCell<Arc<ResilientStore>>,
    /// Built once: a fresh HTTP/TLS client per question would cost milliseconds each time.
    llm: std::sync::OnceLock<Result<Arc<super::llm::LlmClient>, String>>,
    pub notebook: String,
    /// The scratch directory (also owned by `State`), removed at shutdown: the
    /// process exits without running destructors.
    scratch_path: PathBuf,
}

/// How long memory freed after a `%load` stays with the kernel for the next load.
const MEMORY_RELEASE_DELAY: std::time::Duration = std::time::Duration::from_secs(5);

impl Engine {
    /// Create the engine and start the worker right away, so Python imports pandas while
    /// the frontend is still exchanging kernel_info.
    pub fn new(settings: Settings, exe: PathBuf) -> anyhow::Result<Self> {
        let interrupt = Arc::new(InterruptHandle::default());
        let scratch = scratch::create()?;
        let scratch_path = scratch.path().to_path_buf();
        let worker = match Worker::spawn(&exe, interrupt.clone(), &scratch_path, Role::User) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!("could not start the Python worker: {e}");
                None
            }
        };
        Ok(Self {
            settings,
            exe,
            interrupt,
            question_interrupt: Arc::new(InterruptHandle::default()),
            state: Mutex::new(State {
                worker,
                spare: None,
                data_version: 0,
                datasets: vec![],
                exchanges: vec![],
                last_code: None,
                session_id: None,
                parameters: vec![],
                scratch,
                loads: 0,
                settings_warned: false,
            }),
            store: OnceCell::new(),
            llm: std::sync::OnceLock::new(),
            notebook: session::notebook_id(),
            scratch_path,
        })
    }

    /// The kernel's private tmpfs directory (Arrow files).
    pub fn scratch_path(&self) -> &std::path::Path {
        &self.scratch_path
    }

    /// The model client (shared by every question of this kernel).
    pub fn llm(&self) -> Result<Arc<super::llm::LlmClient>, String> {
        self.llm
            .get_or_init(|| {
                super::llm::LlmClient::new(&self.settings)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }

    /// The history store, opened on first use (MongoDB when configured, else SQLite). The
    /// notebook's recorded answers, if it ships any, are imported when it opens.
    pub async fn store(&self) -> Arc<ResilientStore> {
        self.store
            .get_or_init(|| async {
                let cfg = StoreConfig {
                    mongodb_url: self.settings.mongodb_url.clone(),
                    database_name: self.settings.database_name.clone(),
                    data_dir: self.settings.data_dir.clone(),
                    op_timeout: std::time::Duration::from_secs(1),
                };
                let store = Arc::new(ResilientStore::open(&cfg).await);
                self.import_answers(store.as_ref()).await;
                store
            })
            .await
            .clone()
    }

    async fn import_answers(&self, store: &ResilientStore) {
        let Some(path) = session::answers_path(&self.notebook) else {
            return;
        };
        if !path.exists() {
            return;
        }
        match session::read_answers(&path) {
            Ok(records) => {
                let sid = format!("recorded:{}", self.notebook);
                // Recorded answers replay in the notebook they sit next to.
                let scope = session::replay_scope(&self.notebook);
                for r in records.iter().map(|r| ExchangeRecord {
                    context_key: scope.clone(),
                    ..r.clone()
                }) {
                    let r = &r;
                    if let Err(e) = store.append(&sid, r, usize::MAX).await {
                        tracing::warn!("could not import a recorded answer: {e}");
                    }
                }
                tracing::info!(
                    "imported {} recorded answers from {}",
                    records.len(),
                    path.display()
                );
            }
            Err(e) => tracing::warn!("recorded answers not used: {e}"),
        }
    }

    /// Show the store's one-time warnings (e.g. MongoDB unreachable) on this cell.
    pub fn show_store_warnings(&self, store: &ResilientStore, sink: &OutputSink) {
        let warnings = store.take_warnings();
        if !warnings.is_empty() {
            sink.stream("stderr", format!("{}\n", warnings.join("\n")));
        }
    }

    /// A ready worker, configured and with every dataset restored.
    pub async fn worker<'a>(&self, state: &'a mut State) -> Result<&'a mut Worker, ErrorInfo> {
        let fresh = state.worker.is_none();
        if fresh {
            let w = Worker::spawn(
                &self.exe,
                self.interrupt.clone(),
                &self.scratch_path,
                Role::User,
            )
            .map_err(|e| {
                ErrorInfo::new("WorkerStartError", format!("Could not start Python: {e}"))
            })?;
            state.worker = Some(w);
        }
        let w = state.worker.as_mut().expect("worker just set");
        if !w.is_configured() {
            let setup = async {
                w.call(
                    "configure",
                    json!({"settings": self.settings.worker_config()}),
                    None,
                    None,
                )
                .await?;
                let n = state.datasets.len();
                for (i, d) in state.datasets.iter().enumerate() {
                    let args = json!({"name": d.name, "ipc_path": d.ipc_path,
                                      "make_current": i + 1 == n});
                    w.call("restore_dataset", args, None, None).await?;
                }
                Ok::<(), CallError>(())
            };
            if let Err(e) = setup.await {
                state.worker = None;
                return Err(ErrorInfo::new(
                    "WorkerStartError",
                    format!("The Python worker could not start: {e:?}. Run ./install.sh to repair the Python environment."),
                ));
            }
            w.mark_configured();
        }
        Ok(state.worker.as_mut().expect("worker present"))
    }

    /// Start a question worker ahead of need (it imports pandas and maps the datasets while
    /// the model writes the code), unless a current one is waiting already.
    pub async fn prepare_question_worker(&self, state: &mut State) {
        if matches!(&state.spare, Some((_, v)) if *v == state.data_version) {
            return;
        }
        if let Some((mut old, _)) = state.spare.take() {
            old.kill().await;
        }
        if let Some(w) = self.start_question_worker(&state.datasets).await {
            state.spare = Some((w, state.data_version));
        }
    }

    /// Spawn a question worker and send it its set-up (settings, then `datasets`, the last
    /// one as `df`); the replies are checked when it is taken into use.
    pub async fn start_question_worker(&self, datasets: &[Dataset]) -> Option<Worker> {
        let spawned = Worker::spawn(
            &self.exe,
            self.question_interrupt.clone(),
            &self.scratch_path,
            Role::Question,
        );
        let mut w = match spawned {
            Ok(w) => w,
            Err(e) => {
                tracing::error!("could not start a question worker: {e}");
                return None;
            }
        };
        let mut setup = vec![(
            "configure",
            json!({"settings": self.settings.worker_config()}),
        )];
        let n = datasets.len();
        for (i, d) in datasets.iter().enumerate() {
            setup.push((
                "restore_dataset",
                json!({"name": d.name, "ipc_path": d.ipc_path, "make_current": i + 1 == n}),
            ));
        }
        match w.preload(setup).await {
            Ok(()) => Some(w),
            Err(e) => {
                tracing::error!("question worker failed to start: {e:?}");
                None
            }
        }
    }

    /// A ready question worker with every dataset loaded; it runs one question and is killed.
    pub async fn question_worker(&self, state: &mut State) -> Result<Worker, ErrorInfo> {
        self.prepare_question_worker(state).await;
        let Some((mut w, _)) = state.spare.take() else {
            return Err(ErrorInfo::new(
                "WorkerStartError",
                "Could not start Python for the question. Run ./install.sh to repair the Python environment.",
            ));
        };
        match w.finish_preload().await {
            Ok(()) => Ok(w),
            Err(e) => {
                w.kill().await;
                Err(ErrorInfo::new(
                    "WorkerStartError",
                    format!("Python could not start for the question: {e:?}. Run ./install.sh to repair the Python environment."),
                ))
            }
        }
    }

    /// The user's variables, pickled by the user worker for a question worker ("" if none).
    pub async fn exported_variables(&self, state: &mut State) -> String {
        let Ok(w) = self.worker(state).await else {
            return String::new();
        };
        match w.call("export_variables", json!({}), None, None).await {
            Ok(v) => v["variables"].as_str().unwrap_or("").to_string(),
            Err(e) => {
                tracing::warn!("could not pass the user's variables to the question: {e:?}");
                String::new()
            }
        }
    }

    /// Kill every worker at once (shutdown), without waiting for the state lock.
    pub fn kill_workers_now(&self) {
        self.interrupt.kill_now();
        self.question_interrupt.kill_now();
    }

    /// Kill the worker and start a new one with the data restored; says what happened.
    pub async fn respawn(&self, state: &mut State) -> String {
        if let Some(mut w) = state.worker.take() {
            w.kill().await;
        }
        let names: Vec<String> = state.datasets.iter().map(|d| d.name.clone()).collect();
        match self.worker(state).await {
            Ok(_) if names.is_empty() => "A fresh Python worker was started.".into(),
            Ok(_) => format!(
                "A fresh Python worker was started and your datasets ({}) were restored.",
                names.join(", ")
            ),
            Err(e) => format!("Restarting Python failed too: {}", e.evalue),
        }
    }

    /// Turn a failed worker call into the cell's error, restarting the worker when needed.
    pub async fn worker_failure(&self, state: &mut State, err: CallError) -> ErrorInfo {
        match err {
            CallError::Interrupted => ErrorInfo::new("KeyboardInterrupt", "Interrupted"),
            CallError::Failed(tb) => ErrorInfo::new("WorkerError", tb),
            CallError::Died(why) => {
                let restored = self.respawn(state).await;
                ErrorInfo::new(
                    "WorkerDied",
                    format!("The Python worker died: {why}. Variables defined in Python were lost. {restored}"),
                )
            }
            CallError::Unresponsive => {
                let restored = self.respawn(state).await;
                ErrorInfo::new(
                    "KeyboardInterrupt",
                    format!("Python did not stop within {} s of the interrupt, so the worker was restarted and its variables were lost. {restored}",
                        super::worker_client::INTERRUPT_GRACE.as_secs()),
                )
            }
            CallError::Timeout => {
                let restored = self.respawn(state).await;
                ErrorInfo::new("TimeoutError", format!("Timed out. {restored}"))
            }
            CallError::Protocol(why) => {
                let restored = self.respawn(state).await;
                ErrorInfo::new(
                    "WorkerProtocolError",
                    format!("The Python worker was stopped: {why}. {restored}"),
                )
            }
        }
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
        let evaluated = match self.worker(state).await {
            Ok(w) => w
                .call(
                    "user_expressions",
                    json!({"expressions": exprs}),
                    None,
                    None,
                )
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
        let args = json!({"code": code, "execution_count": count});
        let result = match self.worker(state).await {
            Ok(w) => w.call("run_cell", args, Some(sink), None).await,
            Err(e) => {
                sink.error(e.clone());
                return ExecuteOutcome::error(e);
            }
        };
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
                let e = self.worker_failure(state, err).await;
                sink.error(e.clone());
                ExecuteOutcome::error(e)
            }
        }
    }

    async fn load(
        &self,
        state: &mut State,
        path: &str,
        name: Option<String>,
        sink: &OutputSink,
    ) -> ExecuteOutcome {
        let fail = |e: ErrorInfo| {
            sink.error(e.clone());
            ExecuteOutcome::error(e)
        };
        if path.is_empty() {
            return fail(ErrorInfo::new(
                "UsageError",
                "Usage: %load PATH [as NAME], e.g. %load sales.csv as sales",
            ));
        }
        let expanded = if let Some(rest) = path.strip_prefix("~/") {
            std::env::var("HOME")
                .map(|h| PathBuf::from(h).join(rest))
                .unwrap_or_else(|_| PathBuf::from(path))
        } else {
            PathBuf::from(path)
        };
        let name = name.unwrap_or_else(|| magics::dataset_name(path));
        state.loads += 1;
        let ipc_path = state
            .scratch
            .path()
            .join(format!("{}-{}.arrow", state.loads, name));
        let limits = csv_ingest::Limits {
            max_upload_size: self.settings.max_upload_size,
            max_cells: self.settings.max_dataframe_size,
        };
        let (src, out) = (expanded.clone(), ipc_path.clone());
        // Parsing is CPU-bound (rayon threads); keep it off the async loop.
        let started = std::time::Instant::now();
        let parsed = tokio::task::spawn_blocking(move || {
            let loaded = csv_ingest::load_to_arrow(&src, &out, &limits);
            crate::alloc::release_after(MEMORY_RELEASE_DELAY);
            let (table, _) = loaded?;
            tracing::debug!(
                "%load: parsed, Arrow file written at {:?}",
                started.elapsed()
            );
            let fingerprint = session::content_fingerprint(table.content_hash, table.source_bytes);
            let summary = (table.encoding, fingerprint, table.null_counts());
            Ok::<_, csv_ingest::LoadError>((summary, table))
        })
        .await;
        let ((encoding, fingerprint, null_counts), table) = match parsed {
            Ok(Ok(enc)) => enc,
            Ok(Err(e)) => return fail(ErrorInfo::new("LoadError", e.to_string())),
            Err(e) => return fail(ErrorInfo::new("LoadError", format!("Loading failed: {e}"))),
        };
        let args = json!({"name": name, "ipc_path": ipc_path, "make_current": true,
                          "source": expanded.display().to_string(), "null_counts": null_counts});
        let called = match self.worker(state).await {
            Ok(w) => w.call("load_dataset", args, Some(sink), None).await,
            Err(e) => return fail(e),
        };
        // The worker maps the Arrow file; the parsed table is only memory now. Free it once
        // the worker is done (not competing with it for a core), off the cell's critical
        // path; alloc.rs decides when the OS gets the memory back.
        tokio::task::spawn_blocking(move || drop(table));
        let profile = match called {
            Ok(p) => p,
            Err(err) => {
                let _ = std::fs::remove_file(&ipc_path);
                let e = self.worker_failure(state, err).await;
                return fail(e);
            }
        };
        tracing::debug!(
            "%load: worker has the frame and profile at {:?}",
            started.elapsed()
        );
        let mut text = profile["text"].as_str().unwrap_or("").to_string();
        if encoding == "latin-1" {
            text.push_str("\n(The file is not UTF-8; it was read as Latin-1.)");
        }
        sink.send(Output::DisplayData {
            data: json!({"text/html": profile["html"], "text/plain": text}),
            metadata: json!({"llm_analytics": {"role": "profile", "dataset": name}}),
            display_id: None,
        });
        // A dataset loaded again under its name: its old Arrow file is no longer needed
        // (the worker's map of it stays valid until the old frame is gone). Unlinking a
        // big tmpfs file frees its pages there and then, so do it off the critical path.
        let stale: Vec<PathBuf> = state
            .datasets
            .iter()
            .filter(|d| d.name == name)
            .map(|d| d.ipc_path.clone())
            .collect();
        if !stale.is_empty() {
            tokio::task::spawn_blocking(move || {
                for path in stale {
                    let _ = std::fs::remove_file(path);
                }
            });
        }
        state.datasets.retain(|d| d.name != name);
        state.datasets.push(Dataset {
            name,
            source: expanded,
            ipc_path,
            profile,
            fingerprint,
        });
        state.data_version += 1;
        self.resume_session(state, sink).await;
        // Warm a question worker now, while the user reads the profile and types.
        self.prepare_question_worker(state).await;
        tracing::debug!("%load: session resumed at {:?}", started.elapsed());
        ExecuteOutcome::ok()
    }

    /// The data changed: register the session and pick up its earlier exchanges, so
    /// follow-ups keep their context across kernel restarts.
    async fn resume_session(&self, state: &mut State, sink: &OutputSink) {
        let info = session::session_info(&self.notebook, &state.datasets);
        let store = self.store().await;
        if let Err(e) = store.open_session(&info).await {
            tracing::warn!("history: {e}");
        }
        if state.session_id.as_deref() != Some(info.session_id.as_str()) {
            let recent = store
                .recent(&info.session_id, self.settings.max_conversation_history)
                .await
                .unwrap_or_default();
            state.exchanges = session::latest_per_question(recent);
            state.session_id = Some(info.session_id);
        }
        self.show_store_warnings(&store, sink);
    }

    async fn history_magic(
        &self,
        state: &mut State,
        args: &str,
        sink: &OutputSink,
    ) -> ExecuteOutcome {
        let store = self.store().await;
        let rows: Vec<(String, ExchangeRecord)> = if args.contains("--all") {
            match store.notebook_history(&self.notebook).await {
                Ok(sessions) => sessions
                    .into_iter()
                    .flat_map(|(info, recs)| {
                        let label = info
                            .datasets
                            .iter()
                            .map(|d| d.file_name.clone())
                            .collect::<Vec<_>>()
                            .join(", ");
                        recs.into_iter().map(move |r| (label.clone(), r))
                    })
                    .collect(),
                Err(e) => return fail_cell(sink, "HistoryError", e.to_string()),
            }
        } else {
            state
                .exchanges
                .iter()
                .map(|r| (String::new(), r.clone()))
                .collect()
        };
        if args.contains("--export") {
            let Some(path) = session::answers_path(&self.notebook) else {
                return fail_cell(sink, "UsageError", "%history --export needs the notebook's path (JPY_SESSION_NAME), which this frontend did not provide.");
            };
            let records: Vec<ExchangeRecord> = rows.iter().map(|(_, r)| r.clone()).collect();
            return match session::write_answers(&path, &self.notebook, &records) {
                Ok(n) => {
                    sink.stream(
                        "stdout",
                        format!("Wrote {n} recorded answers to {}\n", path.display()),
                    );
                    ExecuteOutcome::ok()
                }
                Err(e) => fail_cell(sink, "HistoryError", e),
            };
        }
        self.show_store_warnings(&store, sink);
        sink.send(Output::DisplayData {
            data: history_table(&rows, args.contains("--all")),
            metadata: json!({"llm_analytics": {"role": "history"}}),
            display_id: None,
        });
        ExecuteOutcome::ok()
    }

    /// `%sandbox`: the containment layers the worker reported at start-up, plus the kernel's.
    async fn sandbox_magic(&self, state: &mut State, sink: &OutputSink) -> ExecuteOutcome {
        let report = match self.worker(state).await {
            Ok(w) => w.call("sandbox_report", json!({}), None, None).await,
            Err(e) => return fail_cell(sink, &e.ename, e.evalue),
        };
        match report {
            Ok(report) => {
                let kernel =
                    super::worker_client::kernel_layers(self.settings.max_execution_timeout);
                sink.send(Output::DisplayData {
                    data: crate::worker::sandbox::render(&report, &kernel),
                    metadata: json!({"llm_analytics": {"role": "sandbox"}}),
                    display_id: None,
                });
                ExecuteOutcome::ok()
            }
            Err(err) => {
                let e = self.worker_failure(state, err).await;
                sink.error(e.clone());
                ExecuteOutcome::error(e)
            }
        }
    }

    fn magic(&self, state: &mut State, name: &str, sink: &OutputSink) -> ExecuteOutcome {
        match name {
            "%help" | "%magics" => {
                let mut text = String::from(
                    "Ask a question about your data in plain English, or use a magic:\n",
                );
                for (_, help) in magics::MAGICS {
                    text.push_str(&format!("  {help}\n"));
                }
                sink.send(Output::DisplayData {
                    data: json!({"text/plain": text}),
                    metadata: json!({}),
                    display_id: None,
                });
                ExecuteOutcome::ok()
            }
            "%datasets" => {
                let text = if state.datasets.is_empty() {
                    "No datasets loaded. Use %load PATH.".to_string()
                } else {
                    state
                        .datasets
                        .iter()
                        .enumerate()
                        .map(|(i, d)| {
                            let current = if i + 1 == state.datasets.len() {
                                " (df)"
                            } else {
                                ""
                            };
                            format!(
                                "{}{current}: {} rows × {} columns from {}",
                                d.name,
                                d.profile["rows"],
                                d.profile["columns"].as_array().map_or(0, Vec::len),
                                d.source.display()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                sink.send(Output::DisplayData {
                    data: json!({"text/plain": text}),
                    metadata: json!({}),
                    display_id: None,
                });
                ExecuteOutcome::ok()
            }
            "%code" => match &state.last_code {
                Some(code) => {
                    let mut out = ExecuteOutcome::ok();
                    out.payload.push(json!({"source": "set_next_input", "text": format!("%%python\n{code}"), "replace": false}));
                    sink.send(Output::DisplayData { data: json!({"text/plain": "The last generated code was put in a new %%python cell below."}), metadata: json!({}), display_id: None });
                    out
                }
                None => fail_cell(
                    sink,
                    "UsageError",
                    "No code has been generated yet: ask a question first.",
                ),
            },
            "%%fresh" => fail_cell(
                sink,
                "UsageError",
                "%%fresh needs a question on the lines below it, e.g.\n%%fresh\nWhat is the total revenue by category?\n                 It asks the model again instead of replaying a recorded answer.",
            ),
            other => {
                let known: Vec<&str> = magics::MAGICS.iter().map(|(n, _)| *n).collect();
                fail_cell(sink, "UsageError", format!("Unknown magic {other}. Available: {}. Anything else is asked as a question.", known.join(", ")))
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
        if !state.settings_warned && !self.settings.warnings.is_empty() {
            state.settings_warned = true;
            sink.stream("stderr", self.settings.warnings.join("\n") + "\n");
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
            Cell::Load { path, name } => {
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
                self.load(&mut state, &path, name, &sink).await
            }
            Cell::Magic { name, args } if name == "%history" => {
                self.history_magic(&mut state, &args, &sink).await
            }
            Cell::Magic { name, args } if name == "%eval" => {
                super::eval::eval_cell(self, &args, &sink).await
            }
            Cell::Magic { name, .. } if name == "%sandbox" => {
                self.sandbox_magic(&mut state, &sink).await
            }
            Cell::Magic { name, .. } => self.magic(&mut state, &name, &sink),
            Cell::Question { text, fresh } => {
                // `{region}` in a question reads the parameter's value.
                let text = parameters::substitute(&text, &state.parameters);
                question::ask(self, &mut state, &text, fresh, req.execution_count, &sink).await
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
        let reply = match self.worker(&mut state).await {
            Ok(w) => w
                .call(
                    "complete",
                    json!({"code": python, "cursor_pos": py_pos}),
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
        let reply = match self.worker(&mut state).await {
            Ok(w) => w
                .call(
                    "inspect",
                    json!({"code": python, "cursor_pos": pos, "detail_level": detail_level}),
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
                let reply = match self.worker(&mut state).await {
                    Ok(w) => w
                        .call("is_complete", json!({"code": body}), None, None)
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
        self.interrupt.interrupt();
        self.question_interrupt.interrupt();
    }

    async fn shutdown(&self, _restart: bool) {
        // Do not wait for the state lock: a cell may be running. Kill by pid.
        self.kill_workers_now();
        // Exchanges still in the spool go to MongoDB now rather than at the next start.
        if let Some(store) = self.store.get() {
            let left = store.flush(std::time::Duration::from_secs(3)).await;
            if left > 0 {
                tracing::warn!(
                    "history: {left} exchange(s) stay in the local spool until the next start"
                );
            }
        }
        // The process exits without destructors; tmpfs is memory, so clean up now.
        let _ = std::fs::remove_dir_all(&self.scratch_path);
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

/// Show one error output and end the cell with it.
pub fn fail_cell(sink: &OutputSink, ename: &str, evalue: impl Into<String>) -> ExecuteOutcome {
    let e = ErrorInfo::new(ename, evalue);
    sink.error(e.clone());
    ExecuteOutcome::error(e)
}

fn escape(s: &str) -> String {
    super::render::escape_html(s)
}

/// `%history` as an escaped HTML table plus plain text.
fn history_table(rows: &[(String, ExchangeRecord)], with_data: bool) -> Value {
    if rows.is_empty() {
        return json!({"text/plain": "No questions asked yet in this session."});
    }
    let mut html = String::from("<table><thead><tr><th>#</th><th>when</th>");
    if with_data {
        html.push_str("<th>data</th>");
    }
    html.push_str("<th>question</th><th>code</th><th>result</th></tr></thead><tbody>");
    let mut text = String::new();
    for (i, (data, r)) in rows.iter().enumerate() {
        let when = r.timestamp.format("%Y-%m-%d %H:%M").to_string();
        let outcome = r
            .error
            .as_deref()
            .map(|e| format!("error: {e}"))
            .unwrap_or_else(|| r.result_summary.clone());
        let replay = if r.replayed { " (replayed)" } else { "" };
        html.push_str(&format!("<tr><td>{}</td><td>{when}</td>", i + 1));
        if with_data {
            html.push_str(&format!("<td>{}</td>", escape(data)));
        }
        html.push_str(&format!(
            "<td>{}{replay}</td><td><pre>{}</pre></td><td>{}</td></tr>",
            escape(&r.question),
            escape(&r.code),
            escape(&outcome)
        ));
        text.push_str(&format!(
            "{}. [{when}] {}{replay}\n   -> {outcome}\n",
            i + 1,
            r.question
        ));
    }
    html.push_str("</tbody></table>");
    json!({"text/html": html, "text/plain": text})
}
