//! Embedded default backend: the same logical schema as MongoDB in one SQLite file.
//!
//! `sessions` holds the session document (datasets as JSON), `exchanges` holds
//! every exchange (the audit trail). The capped `conversation_history` of the
//! design doc is the set of exchanges with `in_history = 1`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::model::{ExchangeRecord, SessionInfo};
use crate::query::{ExchangePage, ExchangeQuery, FoundExchange};
use crate::HistoryStore;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    session_id  TEXT PRIMARY KEY,
    notebook    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,   -- ms since the epoch
    updated_at  INTEGER NOT NULL,
    datasets    TEXT NOT NULL       -- JSON array of DatasetInfo
);
CREATE INDEX IF NOT EXISTS sessions_notebook ON sessions(notebook, created_at);
CREATE TABLE IF NOT EXISTS exchanges (
    id               TEXT PRIMARY KEY,
    session_id       TEXT NOT NULL,
    position         INTEGER NOT NULL,
    in_history       INTEGER NOT NULL,
    timestamp        INTEGER NOT NULL,
    question         TEXT NOT NULL,
    data_fingerprint TEXT NOT NULL,
    context_key      TEXT NOT NULL,
    ok               INTEGER NOT NULL,
    record           TEXT NOT NULL  -- JSON ExchangeRecord
);
CREATE INDEX IF NOT EXISTS exchanges_session ON exchanges(session_id, position);
CREATE INDEX IF NOT EXISTS exchanges_replay
    ON exchanges(question, data_fingerprint, context_key, timestamp);
CREATE INDEX IF NOT EXISTS exchanges_time ON exchanges(timestamp);
";

/// `ExchangeQuery` as SQL; ?1 model, ?2 since (ms), ?3 errors only, ?4 replayed only. Model and
/// replayed live only in the record's JSON (older files have no column for them).
const QUERY_WHERE: &str = "
    (?1 IS NULL OR json_extract(e.record, '$.model') = ?1)
    AND (?2 IS NULL OR e.timestamp >= ?2)
    AND (?3 = 0 OR e.ok = 0)
    AND (?4 = 0 OR json_extract(e.record, '$.replayed') = 1)";

/// Opens (creating parent directories) a SQLite file in WAL mode with a full
/// fsync per commit, so a committed write survives a crash or power loss.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let err = |e: &dyn std::fmt::Display| sqlite_error(path, e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
    }
    let conn = Connection::open(path).map_err(|e| err(&e))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| err(&e))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| err(&e))?;
    // Another kernel may share the data dir; wait briefly instead of failing.
    conn.busy_timeout(std::time::Duration::from_secs(2))
        .map_err(|e| err(&e))?;
    Ok(conn)
}

pub(crate) fn sqlite_error(path: &Path, e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Sqlite {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Runs blocking SQLite work off the async runtime.
pub(crate) async fn blocking<T, F>(
    conn: &Arc<Mutex<Connection>>,
    path: &Path,
    f: F,
) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
{
    let conn = Arc::clone(conn);
    let path_for_err = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        // A panic while holding the lock leaves the connection usable (SQLite
        // rolls back the open transaction), so a poisoned lock is recovered.
        let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    })
    .await
    .map_err(|e| sqlite_error(&path_for_err, &e))?
}

pub(crate) fn millis(ts: DateTime<Utc>) -> i64 {
    ts.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = open_connection(path)?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| sqlite_error(path, &e))?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let path = self.path.clone();
        blocking(&self.conn, &self.path, move |c| {
            f(c).map_err(|e| match e {
                rusqlite::Error::FromSqlConversionFailure(_, _, inner) => {
                    StoreError::Data(inner.to_string())
                }
                other => sqlite_error(&path, &other),
            })
        })
        .await
    }
}

fn json_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn parse_record(json: String) -> rusqlite::Result<ExchangeRecord> {
    serde_json::from_str(&json).map_err(json_err)
}

fn session_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionInfo> {
    let datasets: String = row.get(3)?;
    Ok(SessionInfo {
        session_id: row.get(0)?,
        notebook: row.get(1)?,
        created_at: from_millis(row.get(2)?),
        datasets: serde_json::from_str(&datasets).map_err(json_err)?,
    })
}

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn open_session(&self, info: &SessionInfo) -> Result<(), StoreError> {
        let info = info.normalized();
        let datasets = serde_json::to_string(&info.datasets)?;
        let now = millis(Utc::now());
        self.run(move |c| {
            // created_at is kept from the first open: a session continues, it is not recreated.
            c.execute(
                "INSERT INTO sessions (session_id, notebook, created_at, updated_at, datasets)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(session_id) DO UPDATE SET
                    notebook = excluded.notebook,
                    updated_at = excluded.updated_at,
                    datasets = excluded.datasets",
                params![
                    info.session_id,
                    info.notebook,
                    millis(info.created_at),
                    now,
                    datasets
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn append(
        &self,
        session_id: &str,
        rec: &ExchangeRecord,
        cap: usize,
    ) -> Result<(), StoreError> {
        let rec = rec.normalized();
        let json = serde_json::to_string(&rec)?;
        let sid = session_id.to_string();
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let ts = millis(rec.timestamp);
            // An exchange for a session never opened still gets a (bare) session row.
            tx.execute(
                "INSERT OR IGNORE INTO sessions (session_id, notebook, created_at, updated_at, datasets)
                 VALUES (?1, '', ?2, ?2, '[]')",
                params![sid, ts],
            )?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO exchanges
                   (id, session_id, position, in_history, timestamp, question,
                    data_fingerprint, context_key, ok, record)
                 VALUES (?1, ?2,
                   (SELECT COALESCE(MAX(position), 0) + 1 FROM exchanges WHERE session_id = ?2),
                   1, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    rec.id,
                    sid,
                    ts,
                    rec.question,
                    rec.data_fingerprint,
                    rec.context_key,
                    rec.error.is_none(),
                    json
                ],
            )?;
            if inserted == 1 {
                // Same effect as `$slice: -cap`: only the newest `cap` stay in the history.
                tx.execute(
                    "UPDATE exchanges SET in_history = 0
                     WHERE session_id = ?1 AND in_history = 1 AND position <=
                       (SELECT MAX(position) FROM exchanges WHERE session_id = ?1) - ?2",
                    params![sid, cap],
                )?;
            }
            tx.commit()
        })
        .await
    }

    async fn recent(&self, session_id: &str, n: usize) -> Result<Vec<ExchangeRecord>, StoreError> {
        let sid = session_id.to_string();
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT record FROM exchanges WHERE session_id = ?1 AND in_history = 1
                 ORDER BY position DESC LIMIT ?2",
            )?;
            let mut out = stmt
                .query_map(params![sid, n], |r| r.get::<_, String>(0))?
                .map(|j| parse_record(j?))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.reverse();
            Ok(out)
        })
        .await
    }

    async fn find_replay(
        &self,
        question: &str,
        data_fingerprint: &str,
        context_key: &str,
    ) -> Result<Option<ExchangeRecord>, StoreError> {
        let key = (
            question.to_string(),
            data_fingerprint.to_string(),
            context_key.to_string(),
        );
        self.run(move |c| {
            c.query_row(
                "SELECT record FROM exchanges
                 WHERE question = ?1 AND data_fingerprint = ?2 AND context_key = ?3 AND ok = 1
                 ORDER BY timestamp DESC, position DESC LIMIT 1",
                params![key.0, key.1, key.2],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(parse_record)
            .transpose()
        })
        .await
    }

    async fn notebook_history(
        &self,
        notebook: &str,
    ) -> Result<Vec<(SessionInfo, Vec<ExchangeRecord>)>, StoreError> {
        let notebook = notebook.to_string();
        self.run(move |c| {
            let sessions = c
                .prepare_cached(
                    "SELECT session_id, notebook, created_at, datasets FROM sessions
                     WHERE notebook = ?1 ORDER BY created_at, session_id",
                )?
                .query_map([&notebook], session_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT record FROM exchanges WHERE session_id = ?1 ORDER BY position",
            )?;
            let mut out = Vec::with_capacity(sessions.len());
            for info in sessions {
                let records = stmt
                    .query_map([&info.session_id], |r| r.get::<_, String>(0))?
                    .map(|j| parse_record(j?))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push((info, records));
            }
            Ok(out)
        })
        .await
    }

    async fn query_exchanges(&self, query: &ExchangeQuery) -> Result<ExchangePage, StoreError> {
        let q = query.clone();
        self.run(move |c| {
            let model = q.model.as_deref();
            let since = q.since.map(millis);
            let (errors, replayed) = (q.errors_only, q.replayed_only);
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM exchanges e WHERE {QUERY_WHERE}"),
                params![model, since, errors, replayed],
                |r| r.get(0),
            )?;
            // A negative LIMIT is "no limit" in SQLite.
            let limit = q.limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
            let mut stmt = c.prepare_cached(&format!(
                "SELECT COALESCE(s.notebook, ''), e.session_id, e.record
                 FROM exchanges e LEFT JOIN sessions s ON s.session_id = e.session_id
                 WHERE {QUERY_WHERE}
                 ORDER BY e.timestamp DESC, e.id DESC LIMIT ?5"
            ))?;
            let exchanges = stmt
                .query_map(params![model, since, errors, replayed, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?))
                })?
                .map(|row| {
                    let (notebook, session_id, json) = row?;
                    Ok(FoundExchange {
                        notebook,
                        session_id,
                        record: parse_record(json)?,
                    })
                })
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ExchangePage {
                total: usize::try_from(total).unwrap_or(0),
                exchanges,
                incomplete: None,
            })
        })
        .await
    }

    fn describe(&self) -> String {
        format!("SQLite at {}", self.path.display())
    }
}
