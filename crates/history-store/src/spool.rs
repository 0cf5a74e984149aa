//! Durable local queue of writes not yet acknowledged by MongoDB.
//!
//! Every write lands here first (one fsync'd SQLite commit), so whatever
//! `append` returned Ok for survives a crash of the kernel. Rows leave the
//! spool only after MongoDB acknowledged them; ordering is the global `seq`,
//! which keeps a session's upsert ahead of its exchanges and exchanges in
//! record order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use rusqlite::{params, Connection};

use crate::error::StoreError;
use crate::model::{ExchangeRecord, SessionInfo};
use crate::sqlite::{blocking, open_connection, sqlite_error};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pending (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,     -- 'session' | 'exchange'
    session_id       TEXT NOT NULL,
    record_id        TEXT UNIQUE,       -- exchange id (NULL for sessions); makes re-appends no-ops
    notebook         TEXT,
    question         TEXT,
    data_fingerprint TEXT,
    context_key      TEXT,
    ok               INTEGER,
    cap              INTEGER,
    payload          TEXT NOT NULL,     -- JSON SessionInfo or ExchangeRecord
    spooled_at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_session ON pending(session_id, seq);
CREATE INDEX IF NOT EXISTS pending_notebook ON pending(notebook);
-- Writes MongoDB refused for good (e.g. an invalid document): kept, never dropped.
CREATE TABLE IF NOT EXISTS rejected (
    seq         INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    record_id   TEXT,
    cap         INTEGER,
    payload     TEXT NOT NULL,
    error       TEXT NOT NULL,
    rejected_at INTEGER NOT NULL
);
";

#[derive(Debug, Clone)]
pub(crate) enum SpoolOp {
    Session(SessionInfo),
    Exchange {
        session_id: String,
        record: Box<ExchangeRecord>,
        cap: usize,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Spooled {
    pub seq: i64,
    pub op: SpoolOp,
}

pub(crate) struct Spool {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

fn reject_row(c: &mut Connection, seq: i64, error: &str) -> rusqlite::Result<()> {
    let tx = c.transaction()?;
    tx.execute(
        "INSERT OR REPLACE INTO rejected
           (seq, kind, session_id, record_id, cap, payload, error, rejected_at)
         SELECT seq, kind, session_id, record_id, cap, payload, ?2, ?3
         FROM pending WHERE seq = ?1",
        params![seq, error, Utc::now().timestamp_millis()],
    )?;
    tx.execute("DELETE FROM pending WHERE seq = ?1", [seq])?;
    tx.commit()
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    Ok(serde_json::from_str(json)?)
}

impl Spool {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = open_connection(path)?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| sqlite_error(path, &e))?;
        Ok(Spool {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        blocking(&self.conn, &self.path, f).await
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + Send + Clone + 'static {
        let path = self.path.clone();
        move |e| sqlite_error(&path, &e)
    }

    pub async fn push_session(&self, info: &SessionInfo) -> Result<(), StoreError> {
        let payload = serde_json::to_string(&info.normalized())?;
        let (sid, notebook) = (info.session_id.clone(), info.notebook.clone());
        let err = self.sql();
        self.run(move |c| {
            c.execute(
                "INSERT INTO pending (kind, session_id, notebook, payload, spooled_at)
                 VALUES ('session', ?1, ?2, ?3, ?4)",
                params![sid, notebook, payload, Utc::now().timestamp_millis()],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    /// Returns false if this record id is already spooled.
    pub async fn push_exchange(
        &self,
        session_id: &str,
        rec: &ExchangeRecord,
        cap: usize,
    ) -> Result<bool, StoreError> {
        let rec = rec.normalized();
        let payload = serde_json::to_string(&rec)?;
        let sid = session_id.to_string();
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        let err = self.sql();
        self.run(move |c| {
            let n = c
                .execute(
                    "INSERT OR IGNORE INTO pending
                       (kind, session_id, record_id, question, data_fingerprint, context_key,
                        ok, cap, payload, spooled_at)
                     VALUES ('exchange', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        sid,
                        rec.id,
                        rec.question,
                        rec.data_fingerprint,
                        rec.context_key,
                        rec.error.is_none(),
                        cap,
                        payload,
                        Utc::now().timestamp_millis()
                    ],
                )
                .map_err(err)?;
            Ok(n == 1)
        })
        .await
    }

    /// The oldest `limit` pending writes, in the order they must be sent.
    /// A row that no longer parses is moved aside so it cannot block the queue.
    pub async fn peek(&self, limit: usize) -> Result<Vec<Spooled>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let err = self.sql();
        self.run(move |c| {
            let rows = c
                .prepare_cached(
                    "SELECT seq, kind, session_id, cap, payload FROM pending ORDER BY seq LIMIT ?1",
                )
                .and_then(|mut stmt| {
                    stmt.query_map([limit], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<i64>>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(err.clone())?;
            let mut out = Vec::with_capacity(rows.len());
            for (seq, kind, session_id, cap, payload) in rows {
                let op = if kind == "session" {
                    parse(&payload).map(SpoolOp::Session)
                } else {
                    parse(&payload).map(|record| SpoolOp::Exchange {
                        session_id,
                        record: Box::new(record),
                        cap: cap
                            .and_then(|c| usize::try_from(c).ok())
                            .unwrap_or(usize::MAX),
                    })
                };
                match op {
                    Ok(op) => out.push(Spooled { seq, op }),
                    Err(e) => {
                        tracing::error!(seq, "unreadable spooled write moved aside: {e}");
                        reject_row(c, seq, &e.to_string()).map_err(err.clone())?;
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    /// Called only after MongoDB acknowledged the write.
    pub async fn remove(&self, seq: i64) -> Result<(), StoreError> {
        let err = self.sql();
        self.run(move |c| {
            c.execute("DELETE FROM pending WHERE seq = ?1", [seq])
                .map_err(err)?;
            Ok(())
        })
        .await
    }

    /// Moves a write MongoDB will never accept out of the queue (kept for inspection).
    pub async fn reject(&self, seq: i64, error: &str) -> Result<(), StoreError> {
        let error = error.to_string();
        let err = self.sql();
        self.run(move |c| reject_row(c, seq, &error).map_err(err))
            .await
    }

    pub async fn count(&self) -> Result<usize, StoreError> {
        let err = self.sql();
        self.run(move |c| {
            let n: i64 = c
                .query_row("SELECT COUNT(*) FROM pending", [], |r| r.get(0))
                .map_err(err)?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
        .await
    }

    /// Pending exchanges of one session in record order, with the history
    /// cap of the latest one (None if nothing is pending).
    pub async fn exchanges_of(
        &self,
        session_id: &str,
    ) -> Result<(Vec<ExchangeRecord>, Option<usize>), StoreError> {
        let sid = session_id.to_string();
        let err = self.sql();
        let rows: Vec<(String, Option<i64>)> = self
            .run(move |c| {
                c.prepare_cached(
                    "SELECT payload, cap FROM pending
                     WHERE kind = 'exchange' AND session_id = ?1 ORDER BY seq",
                )
                .and_then(|mut stmt| {
                    stmt.query_map([sid], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(err)
            })
            .await?;
        let cap = rows.last().map(|(_, cap)| {
            cap.and_then(|c| usize::try_from(c).ok())
                .unwrap_or(usize::MAX)
        });
        let records = rows
            .iter()
            .map(|(payload, _)| parse(payload))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((records, cap))
    }

    /// Newest pending successful exchange with exactly this key.
    pub async fn find_replay(
        &self,
        question: &str,
        data_fingerprint: &str,
        context_key: &str,
    ) -> Result<Option<ExchangeRecord>, StoreError> {
        let args = vec![
            question.to_string(),
            data_fingerprint.to_string(),
            context_key.to_string(),
        ];
        let found: Vec<ExchangeRecord> = self
            .payloads(
                "SELECT payload FROM pending WHERE kind = 'exchange' AND ok = 1
                   AND question = ?1 AND data_fingerprint = ?2 AND context_key = ?3
                 ORDER BY seq",
                args,
            )
            .await?;
        Ok(found.into_iter().max_by_key(|r| r.timestamp))
    }

    /// Pending exchanges with their session ids, oldest first.
    pub async fn all_exchanges(&self) -> Result<Vec<(String, ExchangeRecord)>, StoreError> {
        let err = self.sql();
        let rows: Vec<(String, String)> = self
            .run(move |c| {
                c.prepare_cached(
                    "SELECT session_id, payload FROM pending WHERE kind = 'exchange' ORDER BY seq",
                )
                .and_then(|mut stmt| {
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(err)
            })
            .await?;
        rows.iter()
            .map(|(sid, payload)| Ok((sid.clone(), parse(payload)?)))
            .collect()
    }

    /// session id -> notebook of the pending session upserts.
    pub async fn session_notebooks(&self) -> Result<HashMap<String, String>, StoreError> {
        let err = self.sql();
        self.run(move |c| {
            c.prepare_cached(
                "SELECT session_id, notebook FROM pending WHERE kind = 'session' ORDER BY seq",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    ))
                })?
                .collect::<rusqlite::Result<HashMap<_, _>>>()
            })
            .map_err(err)
        })
        .await
    }

    /// Pending session upserts of a notebook, oldest first.
    pub async fn sessions_of(&self, notebook: &str) -> Result<Vec<SessionInfo>, StoreError> {
        self.payloads(
            "SELECT payload FROM pending WHERE kind = 'session' AND notebook = ?1 ORDER BY seq",
            vec![notebook.to_string()],
        )
        .await
    }

    async fn payloads<T>(&self, sql: &'static str, args: Vec<String>) -> Result<Vec<T>, StoreError>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        let err = self.sql();
        self.run(move |c| {
            let texts = c
                .prepare_cached(sql)
                .and_then(|mut stmt| {
                    stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                        r.get::<_, String>(0)
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(err)?;
            texts.iter().map(|t| parse(t)).collect()
        })
        .await
    }
}
