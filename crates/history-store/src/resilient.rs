//! The store the kernel uses: SQLite when no MongoDB URL is set, otherwise
//! MongoDB behind a durable local spool and a background flusher.
//!
//! Writes go to the spool and return at once; the flusher sends them in
//! order and deletes each only after MongoDB acknowledged it. Reads ask
//! MongoDB for at most `op_timeout` and merge in what is still spooled, so
//! follow-up context keeps working while the server is down.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinHandle;

use crate::error::StoreError;
use crate::model::{ExchangeRecord, SessionInfo};
use crate::mongo::MongoStore;
use crate::query::{ExchangePage, ExchangeQuery};
use crate::remote::Remote;
use crate::spool::Spool;
use crate::sqlite::SqliteStore;
use crate::HistoryStore;

/// Longest a caller waits on MongoDB for one operation.
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(1);

/// Where the history goes; `mongodb_url` None means SQLite only.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub mongodb_url: Option<String>,
    pub database_name: String,
    pub data_dir: PathBuf,
    pub op_timeout: Duration,
}

impl Default for StoreConfig {
    /// No MongoDB, the design doc's database name, the current directory, 1 s.
    fn default() -> Self {
        StoreConfig {
            mongodb_url: None,
            database_name: "llm_analytics".into(),
            data_dir: PathBuf::new(),
            op_timeout: DEFAULT_OP_TIMEOUT,
        }
    }
}

impl StoreConfig {
    /// Defaults with the given data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        StoreConfig {
            data_dir: data_dir.into(),
            ..StoreConfig::default()
        }
    }
}

/// One-line messages for the user, shown once.
#[derive(Default)]
pub(crate) struct Warnings(Mutex<Vec<String>>);

impl Warnings {
    pub(crate) fn push(&self, message: String) {
        tracing::warn!("{message}");
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

enum Backend {
    Local(SqliteStore),
    Remote(Arc<Remote>),
}

pub struct ResilientStore {
    backend: Backend,
    warnings: Arc<Warnings>,
    flusher: Option<JoinHandle<()>>,
}

impl ResilientStore {
    /// `mongodb_url` None: SQLite at `data_dir/history.sqlite3`. Some(url):
    /// MongoDB with a spool at `data_dir/spool.sqlite3`; the store opens and
    /// works even if the server cannot be reached (or the URL is invalid).
    pub async fn open(cfg: &StoreConfig) -> ResilientStore {
        let warnings = Arc::new(Warnings::default());
        let Some(url) = cfg.mongodb_url.as_deref() else {
            let path = cfg.data_dir.join("history.sqlite3");
            let store = SqliteStore::open(&path).unwrap_or_else(|e| {
                warnings.push(format!(
                    "{e}; history is kept in memory for this session only."
                ));
                memory(SqliteStore::open)
            });
            return ResilientStore {
                backend: Backend::Local(store),
                warnings,
                flusher: None,
            };
        };

        let spool_path = cfg.data_dir.join("spool.sqlite3");
        let spool = Spool::open(&spool_path).unwrap_or_else(|e| {
            warnings.push(format!(
                "{e}; history not yet sent to MongoDB is kept in memory only."
            ));
            memory(Spool::open)
        });
        let mongo = match MongoStore::configure(url, &cfg.database_name, cfg.op_timeout).await {
            Ok(m) => Some(m),
            Err(e) => {
                warnings.push(format!(
                    "{e}; history is kept locally in {} and is not sent anywhere.",
                    spool.path().display()
                ));
                None
            }
        };
        let down_cause = match &mongo {
            Some(m) => match tokio::time::timeout(cfg.op_timeout, m.ping()).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(StoreError::Timeout {
                    target: m.target().to_string(),
                    after: cfg.op_timeout,
                }),
            },
            None => None,
        };
        let up = mongo.is_some() && down_cause.is_none();
        let remote = Arc::new(Remote::new(
            mongo,
            spool,
            cfg.op_timeout,
            up,
            Arc::clone(&warnings),
        ));
        if let Some(cause) = down_cause {
            warnings.push(remote.down_message(&cause));
        }
        // The flusher also sends whatever an earlier process left in the spool.
        let flusher = remote
            .mongo
            .is_some()
            .then(|| tokio::spawn(Arc::clone(&remote).run_flusher()));
        ResilientStore {
            backend: Backend::Remote(remote),
            warnings,
            flusher,
        }
    }

    /// One-line warnings to show the user once; drains them.
    pub fn take_warnings(&self) -> Vec<String> {
        self.warnings.take()
    }

    /// Waits until the spool is empty or `timeout` passes; returns how many
    /// writes are still spooled.
    pub async fn flush(&self, timeout: Duration) -> usize {
        let Backend::Remote(remote) = &self.backend else {
            return 0;
        };
        let deadline = tokio::time::Instant::now() + timeout;
        remote.wake.notify_one();
        remote.urgent.notify_one();
        let mut left = 0;
        loop {
            match remote.spool.count().await {
                Ok(n) => left = n,
                Err(e) => tracing::warn!("cannot count spooled history: {e}"),
            }
            if left == 0 || remote.mongo.is_none() || tokio::time::Instant::now() >= deadline {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for ResilientStore {
    fn drop(&mut self) {
        // Stopping mid-send is safe: unacknowledged writes stay spooled and
        // re-sends are de-duplicated by record id.
        if let Some(handle) = self.flusher.take() {
            handle.abort();
        }
    }
}

/// In-memory fallback when the data dir is unusable; SQLite can always open
/// ":memory:", short of the allocator failing.
fn memory<T>(open: impl Fn(&Path) -> Result<T, StoreError>) -> T {
    match open(Path::new(":memory:")) {
        Ok(store) => store,
        Err(e) => panic!("in-memory SQLite cannot be opened: {e}"),
    }
}

#[async_trait]
impl HistoryStore for ResilientStore {
    async fn open_session(&self, info: &SessionInfo) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Local(s) => s.open_session(info).await,
            Backend::Remote(r) => r.open_session(info).await,
        }
    }

    async fn append(
        &self,
        session_id: &str,
        rec: &ExchangeRecord,
        cap: usize,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Local(s) => s.append(session_id, rec, cap).await,
            Backend::Remote(r) => r.append(session_id, rec, cap).await,
        }
    }

    async fn recent(&self, session_id: &str, n: usize) -> Result<Vec<ExchangeRecord>, StoreError> {
        match &self.backend {
            Backend::Local(s) => s.recent(session_id, n).await,
            Backend::Remote(r) => Ok(r.recent(session_id, n).await),
        }
    }

    async fn find_replay(
        &self,
        question: &str,
        data_fingerprint: &str,
        context_key: &str,
    ) -> Result<Option<ExchangeRecord>, StoreError> {
        match &self.backend {
            Backend::Local(s) => s.find_replay(question, data_fingerprint, context_key).await,
            Backend::Remote(r) => Ok(r.find_replay(question, data_fingerprint, context_key).await),
        }
    }

    async fn notebook_history(
        &self,
        notebook: &str,
    ) -> Result<Vec<(SessionInfo, Vec<ExchangeRecord>)>, StoreError> {
        match &self.backend {
            Backend::Local(s) => s.notebook_history(notebook).await,
            Backend::Remote(r) => Ok(r.notebook_history(notebook).await),
        }
    }

    async fn query_exchanges(&self, query: &ExchangeQuery) -> Result<ExchangePage, StoreError> {
        match &self.backend {
            Backend::Local(s) => s.query_exchanges(query).await,
            Backend::Remote(r) => r.query_exchanges(query).await,
        }
    }

    fn describe(&self) -> String {
        match &self.backend {
            Backend::Local(s) => s.describe(),
            Backend::Remote(r) => r.describe(),
        }
    }
}
