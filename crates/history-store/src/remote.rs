//! ResilientStore's MongoDB mode: writes go to the spool, reads merge what
//! MongoDB answers within the time budget with what is still local.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::StoreError;
use crate::model::{merge_recent, ExchangeRecord, SessionInfo};
use crate::mongo::MongoStore;
use crate::query::{newest_first, ExchangePage, ExchangeQuery, FoundExchange};
use crate::resilient::Warnings;
use crate::spool::Spool;
use crate::HistoryStore;

/// Flushed records remembered per session, to serve context during an outage.
const KNOWN_PER_SESSION: usize = 64;

#[derive(Default)]
struct Known {
    cap: Option<usize>,
    records: Vec<ExchangeRecord>,
}

pub(crate) struct Remote {
    /// None when the URL is invalid: everything stays in the spool.
    pub(crate) mongo: Option<MongoStore>,
    pub(crate) spool: Spool,
    pub(crate) op_timeout: Duration,
    /// Last known server state; while down, reads skip MongoDB entirely.
    pub(crate) up: AtomicBool,
    pub(crate) warnings: Arc<Warnings>,
    /// New work for the flusher.
    pub(crate) wake: Notify,
    /// `flush()` was called: retry now instead of finishing the backoff.
    pub(crate) urgent: Notify,
    /// Records this process flushed or read (session id -> history cap and
    /// newest records), so a read racing a flush, or made during an outage,
    /// still sees them.
    known: Mutex<HashMap<String, Known>>,
    /// Sessions opened by this process, for `notebook_history` during an outage.
    opened: Mutex<HashMap<String, SessionInfo>>,
}

impl Remote {
    pub(crate) fn new(
        mongo: Option<MongoStore>,
        spool: Spool,
        op_timeout: Duration,
        up: bool,
        warnings: Arc<Warnings>,
    ) -> Remote {
        Remote {
            mongo,
            spool,
            op_timeout,
            up: AtomicBool::new(up),
            warnings,
            wake: Notify::new(),
            urgent: Notify::new(),
            known: Mutex::default(),
            opened: Mutex::default(),
        }
    }

    pub(crate) fn target(&self) -> &str {
        self.mongo
            .as_ref()
            .map_or("the configured server", |m| m.target())
    }

    /// The one-line warning for an outage (or a server refusing us).
    pub(crate) fn down_message(&self, cause: &StoreError) -> String {
        match cause {
            StoreError::Unreachable { .. } | StoreError::Timeout { .. } => format!(
                "MongoDB at {} is unreachable; history is kept locally and will be sent when it is back.",
                self.target()
            ),
            other => format!(
                "{other}; history is kept locally and will be sent once MongoDB accepts it."
            ),
        }
    }

    /// Records an outage; warns only on the transition, not on every retry.
    pub(crate) fn mark_down(&self, cause: &StoreError) {
        if self.up.swap(false, Ordering::AcqRel) {
            self.warnings.push(self.down_message(cause));
        }
    }

    /// MongoDB, if it is believed reachable.
    pub(crate) fn available(&self) -> Option<&MongoStore> {
        self.mongo
            .as_ref()
            .filter(|_| self.up.load(Ordering::Acquire))
    }

    /// Runs a MongoDB read within `budget`; None (and the server marked down
    /// when it did not answer) means "use local data only".
    async fn read<T>(
        &self,
        budget: Duration,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Option<T> {
        let err = match tokio::time::timeout(budget, op).await {
            Ok(Ok(v)) => return Some(v),
            Ok(Err(e)) => e,
            Err(_) => StoreError::Timeout {
                target: self.target().to_string(),
                after: budget,
            },
        };
        tracing::debug!("history read falls back to local data: {err}");
        if err.is_outage() {
            self.mark_down(&err);
            // The flusher probes the server and notices when it is back.
            self.wake.notify_one();
        }
        None
    }

    pub(crate) fn remember(
        &self,
        session_id: &str,
        records: impl IntoIterator<Item = ExchangeRecord>,
        cap: Option<usize>,
    ) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        let entry = known.entry(session_id.to_string()).or_default();
        if cap.is_some() {
            entry.cap = cap;
        }
        let keep = entry.cap.unwrap_or(usize::MAX).min(KNOWN_PER_SESSION);
        entry.records = merge_recent(entry.records.drain(..).chain(records), keep);
    }

    fn known_of(&self, session_id: &str) -> (Vec<ExchangeRecord>, Option<usize>) {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(session_id)
            .map(|k| (k.records.clone(), k.cap))
            .unwrap_or_default()
    }

    async fn spooled_of(&self, session_id: &str) -> (Vec<ExchangeRecord>, Option<usize>) {
        self.spool
            .exchanges_of(session_id)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("cannot read spooled history: {e}");
                (Vec::new(), None)
            })
    }

    /// The spool could not take a write: it is safe only if MongoDB takes it now.
    async fn write_through(
        &self,
        spool_error: StoreError,
        op: impl Future<Output = Result<(), StoreError>>,
    ) -> Result<(), StoreError> {
        match tokio::time::timeout(self.op_timeout, op).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(spool_error),
        }
    }

    pub(crate) async fn open_session(&self, info: &SessionInfo) -> Result<(), StoreError> {
        self.opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(info.session_id.clone(), info.normalized());
        match self.spool.push_session(info).await {
            Ok(()) => {
                self.wake.notify_one();
                Ok(())
            }
            Err(e) => match self.available() {
                Some(m) => self.write_through(e, m.open_session(info)).await,
                None => Err(e),
            },
        }
    }

    pub(crate) async fn append(
        &self,
        session_id: &str,
        rec: &ExchangeRecord,
        cap: usize,
    ) -> Result<(), StoreError> {
        match self.spool.push_exchange(session_id, rec, cap).await {
            Ok(_) => {
                self.wake.notify_one();
                Ok(())
            }
            Err(e) => match self.available() {
                Some(m) => self.write_through(e, m.append(session_id, rec, cap)).await,
                None => Err(e),
            },
        }
    }

    pub(crate) async fn recent(&self, session_id: &str, n: usize) -> Vec<ExchangeRecord> {
        let from_mongo = match self.available() {
            Some(m) => self.read(self.op_timeout, m.recent(session_id, n)).await,
            None => None,
        };
        if let Some(records) = &from_mongo {
            self.remember(session_id, records.iter().cloned(), None);
        }
        let (known, known_cap) = self.known_of(session_id);
        let (spooled, spooled_cap) = self.spooled_of(session_id).await;
        // MongoDB's history is capped; merged local records must honour the same cap.
        let cap = spooled_cap.or(known_cap).unwrap_or(usize::MAX);
        merge_recent(
            from_mongo.into_iter().flatten().chain(known).chain(spooled),
            n.min(cap),
        )
    }

    pub(crate) async fn find_replay(
        &self,
        question: &str,
        fingerprint: &str,
        context_key: &str,
    ) -> Option<ExchangeRecord> {
        let from_mongo = match self.available() {
            Some(m) => self
                .read(
                    self.op_timeout,
                    m.find_replay(question, fingerprint, context_key),
                )
                .await
                .flatten(),
            None => None,
        };
        let spooled = self
            .spool
            .find_replay(question, fingerprint, context_key)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("cannot search spooled history: {e}");
                None
            });
        let known: Vec<ExchangeRecord> = {
            let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
            known
                .values()
                .flat_map(|k| &k.records)
                .filter(|r| r.is_replay_of(question, fingerprint, context_key))
                .cloned()
                .collect()
        };
        from_mongo
            .into_iter()
            .chain(spooled)
            .chain(known)
            .max_by_key(|r| r.timestamp)
    }

    pub(crate) async fn notebook_history(
        &self,
        notebook: &str,
    ) -> Vec<(SessionInfo, Vec<ExchangeRecord>)> {
        // An explicit `%history --all` may wait a little longer than a cell's context lookup.
        let budget = self.op_timeout * 5;
        let from_mongo = match self.available() {
            Some(m) => self.read(budget, m.notebook_history(notebook)).await,
            None => None,
        }
        .unwrap_or_default();
        let mut sessions: HashMap<String, (SessionInfo, Vec<ExchangeRecord>)> = from_mongo
            .into_iter()
            .map(|(s, r)| (s.session_id.clone(), (s, r)))
            .collect();
        let spooled_sessions = self.spool.sessions_of(notebook).await.unwrap_or_else(|e| {
            tracing::warn!("cannot read spooled sessions: {e}");
            Vec::new()
        });
        let opened: Vec<SessionInfo> = self
            .opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|s| s.notebook == notebook)
            .cloned()
            .collect();
        for info in spooled_sessions.into_iter().chain(opened) {
            sessions
                .entry(info.session_id.clone())
                .and_modify(|(s, _)| {
                    // A pending upsert refreshes the metadata but keeps the creation time.
                    let created_at = s.created_at.min(info.created_at);
                    *s = SessionInfo {
                        created_at,
                        ..info.clone()
                    };
                })
                .or_insert_with(|| (info, Vec::new()));
        }
        let mut out = Vec::with_capacity(sessions.len());
        for (sid, (info, records)) in sessions {
            let (known, _) = self.known_of(&sid);
            let (spooled, _) = self.spooled_of(&sid).await;
            let all = merge_recent(records.into_iter().chain(known).chain(spooled), usize::MAX);
            out.push((info, all));
        }
        out.sort_by(|a, b| {
            (a.0.created_at, &a.0.session_id).cmp(&(b.0.created_at, &b.0.session_id))
        });
        out
    }

    /// MongoDB's matches plus the matching writes still in the spool. The spool holds only
    /// unsent writes (empty while MongoDB is up), so it is filtered here rather than in SQL,
    /// and its records are left out of MongoDB's answer so none is counted twice.
    pub(crate) async fn query_exchanges(
        &self,
        query: &ExchangeQuery,
    ) -> Result<ExchangePage, StoreError> {
        let spooled: Vec<(String, ExchangeRecord)> = self.spool.all_exchanges().await?;
        let spooled_ids: Vec<String> = spooled.iter().map(|(_, r)| r.id.clone()).collect();
        let mut local: Vec<FoundExchange> = spooled
            .into_iter()
            .filter(|(_, r)| query.matches(r))
            .map(|(session_id, record)| FoundExchange {
                notebook: String::new(),
                session_id,
                record,
            })
            .collect();
        // An audit listing may wait a little longer than a cell's context lookup.
        let budget = self.op_timeout * 5;
        let mongo = self.available();
        let remote = match mongo {
            Some(m) => {
                self.read(budget, m.query_excluding(query, &spooled_ids))
                    .await
            }
            None => None,
        };
        self.name_sessions(&mut local, mongo, budget).await;
        let incomplete = (self.mongo.is_some() && remote.is_none()).then(|| {
            format!(
                "MongoDB at {} did not answer: only exchanges not yet sent from this machine are listed.",
                self.target()
            )
        });
        let remote = remote.unwrap_or_default();
        let total = remote.total + local.len();
        let mut exchanges = remote.exchanges;
        exchanges.append(&mut local);
        newest_first(&mut exchanges);
        if let Some(n) = query.limit {
            exchanges.truncate(n);
        }
        Ok(ExchangePage {
            total,
            exchanges,
            incomplete,
        })
    }

    /// Fills in the notebook of spooled exchanges: from a spooled or opened session, else
    /// from MongoDB (the session may have been sent before its exchanges).
    async fn name_sessions(
        &self,
        found: &mut [FoundExchange],
        mongo: Option<&MongoStore>,
        budget: Duration,
    ) {
        if found.is_empty() {
            return;
        }
        let mut names = self.spool.session_notebooks().await.unwrap_or_else(|e| {
            tracing::warn!("cannot read spooled sessions: {e}");
            HashMap::new()
        });
        for (sid, info) in self.opened.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            names.insert(sid.clone(), info.notebook.clone());
        }
        let unknown: Vec<String> = found
            .iter()
            .filter(|f| !names.contains_key(&f.session_id))
            .map(|f| f.session_id.clone())
            .collect();
        if let (Some(m), false) = (mongo, unknown.is_empty()) {
            if let Some(more) = self.read(budget, m.notebooks_of(&unknown)).await {
                names.extend(more);
            }
        }
        for f in found.iter_mut() {
            f.notebook = names.get(&f.session_id).cloned().unwrap_or_default();
        }
    }

    pub(crate) fn describe(&self) -> String {
        let spool = self.spool.path().display();
        match &self.mongo {
            Some(m) => format!("{} (unsent history spooled in {spool})", m.describe()),
            None => format!("local spool at {spool} (MongoDB URL not usable)"),
        }
    }
}
