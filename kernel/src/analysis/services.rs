//! The handles a cell needs, built once per kernel: settings, the Python workers (the
//! user's, and one fresh question worker per attempt), the model client and the history
//! store. Cells get `&Services` plus `&mut State`; nothing here knows about cells.

use super::session;
use super::settings::Settings;
use super::state::{Dataset, State};
use super::worker_client::{CallError, InterruptHandle, Launch, Request, Role, Worker};
use crate::protocol::backend::{ErrorInfo, OutputSink};
use history_store::{ExchangeRecord, HistoryStore, ResilientStore, StoreConfig};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::OnceCell;

pub struct Services {
    pub settings: Settings,
    /// How workers start, fixed at kernel start.
    launch: Arc<Launch>,
    /// The user worker's interrupt.
    pub interrupt: Arc<InterruptHandle>,
    /// The question worker's (one runs at a time; its spare is idle, never busy).
    question_interrupt: Arc<InterruptHandle>,
    /// The Spark engine's (a query running on the cluster).
    spark_interrupt: Arc<InterruptHandle>,
    store: OnceCell<Arc<ResilientStore>>,
    /// Built once: a fresh HTTP/TLS client per question would cost milliseconds each time.
    llm: std::sync::OnceLock<Result<Arc<super::llm::LlmClient>, String>>,
    pub notebook: String,
    /// The scratch directory (owned by `State`), removed at shutdown: the process exits
    /// without running destructors.
    scratch_path: PathBuf,
}

impl Services {
    pub fn new(
        settings: Settings,
        launch: Arc<Launch>,
        interrupt: Arc<InterruptHandle>,
        scratch_path: PathBuf,
    ) -> Self {
        Self {
            settings,
            launch,
            interrupt,
            question_interrupt: Arc::new(InterruptHandle::default()),
            spark_interrupt: Arc::new(InterruptHandle::default()),
            store: OnceCell::new(),
            llm: std::sync::OnceLock::new(),
            notebook: session::notebook_id(),
            scratch_path,
        }
    }

    /// Interrupt whatever Python runs now (user or question worker).
    pub fn interrupt_all(&self) {
        self.interrupt.interrupt();
        self.question_interrupt.interrupt();
        self.spark_interrupt.interrupt();
    }

    /// A cell starts: interrupts sent while the kernel was idle are not for it.
    pub fn clear_interrupts(&self) {
        self.interrupt.clear_pending();
        self.question_interrupt.clear_pending();
        self.spark_interrupt.clear_pending();
    }

    /// The store if it was opened (shutdown flushes it; it never opens one).
    pub fn open_store(&self) -> Option<&Arc<ResilientStore>> {
        self.store.get()
    }

    /// The kernel's private tmpfs directory (Arrow files).
    /// Where this notebook's analyst notes (`%%context`) are kept across restarts.
    pub fn notes_path(&self) -> std::path::PathBuf {
        super::notes::store_path(&self.settings.data_dir, &self.notebook)
    }

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
                &self.launch,
                self.interrupt.clone(),
                Role::User,
                &engine_files(&state.datasets),
            )
            .map_err(|e| {
                ErrorInfo::new("WorkerStartError", format!("Could not start Python: {e}"))
            })?;
            state.worker = Some(w);
        }
        let w = state.worker.as_mut().expect("worker just set");
        if !w.is_configured() {
            let setup = async {
                for request in setup_requests(&self.settings, &state.datasets) {
                    w.call(request, None, None).await?;
                }
                Ok::<(), CallError>(())
            };
            if let Err(e) = setup.await {
                if matches!(e, CallError::Interrupted) {
                    // Stopped while Python was starting: keep the worker, set it up next cell.
                    return Err(ErrorInfo::new(
                        "KeyboardInterrupt",
                        "Interrupted while Python was starting; the cell did not run.",
                    ));
                }
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
        self.start_question_worker_reading(datasets, &engine_files(datasets))
            .await
    }

    /// `start_question_worker` whose sandbox lets it read `files` (the DuckDB tables' files,
    /// or the files of one being loaded) besides the kernel's own directory.
    pub async fn start_question_worker_reading(
        &self,
        datasets: &[Dataset],
        files: &[std::path::PathBuf],
    ) -> Option<Worker> {
        let spawned = Worker::spawn(
            &self.launch,
            self.question_interrupt.clone(),
            Role::Question,
            files,
        );
        let mut w = match spawned {
            Ok(w) => w,
            Err(e) => {
                tracing::error!("could not start a question worker: {e}");
                return None;
            }
        };
        match w.preload(setup_requests(&self.settings, datasets)).await {
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
        match w.call(Request::ExportVariables {}, None, None).await {
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
        self.spark_interrupt.kill_now();
    }

    /// Start the Spark engine process (it connects when told the address).
    pub fn spawn_spark_engine(&self) -> anyhow::Result<Worker> {
        Worker::spawn(&self.launch, self.spark_interrupt.clone(), Role::Spark, &[])
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
}

/// A worker's set-up: the settings, then every dataset (the last one bound as `df`).
/// Every file the DuckDB tables among `datasets` read.
pub fn engine_files(datasets: &[Dataset]) -> Vec<std::path::PathBuf> {
    datasets
        .iter()
        .flat_map(|d| d.engine_files().iter().cloned())
        .collect()
}

fn setup_requests(settings: &Settings, datasets: &[Dataset]) -> Vec<Request> {
    let n = datasets.len();
    std::iter::once(Request::Configure {
        settings: settings.worker_config(),
    })
    .chain(datasets.iter().enumerate().map(|(i, d)| match &d.engine {
        _ if d.spark.is_some() => Request::RestoreSparkTable {
            name: d.name.clone(),
            make_current: i + 1 == n,
        },
        Some(table) => Request::RestoreEngineTable {
            name: d.name.clone(),
            paths: table.paths.clone(),
            fmt: table.fmt.clone(),
            make_current: i + 1 == n,
            csv_types: table.csv_types.clone(),
        },
        None => Request::RestoreDataset {
            name: d.name.clone(),
            ipc_path: d.ipc_path.clone(),
            make_current: i + 1 == n,
            sheet: d.sheet.clone(),
        },
    }))
    .collect()
}
