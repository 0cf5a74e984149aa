//! MongoDB backend: the design doc's `sessions` collection plus an unbounded
//! `exchanges` audit collection. Only standard driver operations are used.

use std::future::IntoFuture;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use mongodb::bson::{doc, Bson, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, ReturnDocument, WriteConcern};
use mongodb::{Client, Collection, IndexModel};
use tokio::sync::OnceCell;

use crate::error::StoreError;
use crate::model::{ExchangeRecord, SessionInfo};
use crate::mongo_doc::{date, exchange_doc, record_doc, record_from, session_from, session_set};
use crate::query::{ExchangePage, ExchangeQuery, FoundExchange};
use crate::HistoryStore;

const DUPLICATE_KEY: i32 = 11000;
/// Server error codes that reject the document itself (bad value, field
/// name, validation, size): retrying the same write can never succeed.
const DOCUMENT_REJECTED: [i32; 10] = [2, 9, 14, 52, 56, 57, 66, 121, 10334, 17419];
/// The session document must stay under MongoDB's 16 MiB limit with `cap`
/// entries; 1 MiB is left for the dataset metadata.
const HISTORY_BYTES: usize = 15 * 1024 * 1024;
const MIN_ENTRY_LIMIT: usize = 64 * 1024;

pub struct MongoStore {
    client: Client,
    sessions: Collection<Document>,
    exchanges: Collection<Document>,
    /// "host:port/db", used in messages; never contains credentials.
    target: String,
    /// The URL's password (as written and decoded), scrubbed from any driver
    /// message passed on.
    secrets: Vec<String>,
    timeout: Duration,
    /// Ping + index creation, done once on first successful contact.
    ready: OnceCell<()>,
}

impl MongoStore {
    /// Connects and verifies the server answers within `timeout`.
    pub async fn connect(url: &str, database: &str, timeout: Duration) -> Result<Self, StoreError> {
        let store = Self::configure(url, database, timeout).await?;
        store.ensure_ready().await?;
        Ok(store)
    }

    /// Builds the client without contacting the server (the driver connects
    /// lazily), so a store can exist while the server is down.
    pub(crate) async fn configure(
        url: &str,
        database: &str,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let mut secrets: Vec<String> = url_password(url).into_iter().collect();
        let scrub = |m: String| redact(&m, &secrets);
        // Parsing a mongodb+srv URL does DNS lookups; bound it like any other call.
        let mut opts = match tokio::time::timeout(
            timeout.max(Duration::from_secs(2)),
            ClientOptions::parse(url),
        )
        .await
        {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => return Err(StoreError::InvalidUrl(scrub(invalid_url_reason(&e)))),
            Err(_) => {
                return Err(StoreError::InvalidUrl(
                    "resolving the mongodb+srv host timed out".into(),
                ))
            }
        };
        // Short timeouts: a down server must never hold a notebook cell for long.
        opts.server_selection_timeout = Some(timeout);
        opts.connect_timeout = Some(timeout);
        opts.app_name
            .get_or_insert_with(|| "llm-analytics-kernel".into());
        // "Acknowledged" should mean durable on the server, since the local
        // spool copy is deleted on acknowledgement; a URL's own w/journal wins.
        if opts.write_concern.is_none() {
            opts.write_concern = Some(WriteConcern::builder().journal(true).build());
        }
        if let Some(pw) = opts.credential.as_ref().and_then(|c| c.password.clone()) {
            secrets.push(pw);
        }
        let scrub = |m: String| redact(&m, &secrets);
        let hosts: Vec<String> = opts.hosts.iter().map(|h| h.to_string()).collect();
        let target = format!("{}/{}", hosts.join(","), database);
        let client =
            Client::with_options(opts).map_err(|e| StoreError::InvalidUrl(scrub(e.to_string())))?;
        let db = client.database(database);
        Ok(MongoStore {
            sessions: db.collection("sessions"),
            exchanges: db.collection("exchanges"),
            client,
            target,
            secrets,
            timeout,
            ready: OnceCell::new(),
        })
    }

    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Cheap liveness check (the first real operation then creates the indexes).
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.call(self.client.database("admin").run_command(doc! {"ping": 1}))
            .await?;
        Ok(())
    }

    async fn ensure_ready(&self) -> Result<(), StoreError> {
        self.ready
            .get_or_try_init(|| async {
                self.ping().await?;
                let index = |keys: Document| IndexModel::builder().keys(keys).build();
                self.call(self.exchanges.create_index(index(
                    doc! {"question": 1, "data_fingerprint": 1, "context_key": 1},
                )))
                .await?;
                self.call(
                    self.exchanges
                        .create_index(index(doc! {"session_id": 1, "timestamp": 1})),
                )
                .await?;
                self.call(self.sessions.create_index(index(doc! {"notebook": 1})))
                    .await?;
                self.call(self.exchanges.create_index(index(doc! {"timestamp": 1})))
                    .await?;
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// One driver call, bounded by the store's timeout, errors mapped.
    async fn call<T>(
        &self,
        op: impl IntoFuture<Output = mongodb::error::Result<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, op.into_future()).await {
            Ok(result) => result.map_err(|e| self.map_err(e)),
            Err(_) => Err(StoreError::Timeout {
                target: self.target.clone(),
                after: self.timeout,
            }),
        }
    }

    /// Like `call`, but a duplicate-key error means "already stored".
    async fn call_idempotent<T>(
        &self,
        op: impl IntoFuture<Output = mongodb::error::Result<T>>,
    ) -> Result<bool, StoreError> {
        match tokio::time::timeout(self.timeout, op.into_future()).await {
            Ok(Ok(_)) => Ok(true),
            Ok(Err(e)) if is_duplicate_key(&e) => Ok(false),
            Ok(Err(e)) => Err(self.map_err(e)),
            Err(_) => Err(StoreError::Timeout {
                target: self.target.clone(),
                after: self.timeout,
            }),
        }
    }

    fn map_err(&self, e: mongodb::error::Error) -> StoreError {
        let target = self.target.clone();
        match e.kind.as_ref() {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. } => StoreError::Unreachable { target },
            ErrorKind::Authentication { .. } => StoreError::Mongo {
                target,
                message: "authentication failed (check the user and password)".into(),
            },
            // A write error concerns this one document: retrying will not help.
            ErrorKind::Write(WriteFailure::WriteError(w)) => StoreError::Rejected {
                target,
                message: redact(&w.message, &self.secrets),
            },
            ErrorKind::Command(c) if DOCUMENT_REJECTED.contains(&c.code) => StoreError::Rejected {
                target,
                message: redact(&c.message, &self.secrets),
            },
            ErrorKind::BsonSerialization(_) | ErrorKind::BsonDeserialization(_) => {
                StoreError::Data(e.to_string())
            }
            ErrorKind::Command(c) => StoreError::Mongo {
                target,
                message: redact(&format!("{} ({})", c.message, c.code_name), &self.secrets),
            },
            _ => StoreError::Mongo {
                target,
                message: redact(&e.kind.to_string(), &self.secrets),
            },
        }
    }

    async fn collect(
        &self,
        cursor: mongodb::Cursor<Document>,
    ) -> Result<Vec<Document>, StoreError> {
        let mut cursor = cursor;
        let mut out = Vec::new();
        while self.call(cursor.advance()).await? {
            out.push(
                cursor
                    .deserialize_current()
                    .map_err(|e| StoreError::Data(e.to_string()))?,
            );
        }
        Ok(out)
    }
}

impl MongoStore {
    /// `query` over the `exchanges` collection, leaving out the records with the given ids
    /// (ResilientStore lists those from its spool, so nothing is counted twice).
    pub(crate) async fn query_excluding(
        &self,
        query: &ExchangeQuery,
        exclude: &[String],
    ) -> Result<ExchangePage, StoreError> {
        self.ensure_ready().await?;
        let filter = query_filter(query, exclude);
        let total = self
            .call(self.exchanges.count_documents(filter.clone()))
            .await?;
        let mut find = self
            .exchanges
            .find(filter)
            .sort(doc! {"timestamp": -1, "_id": -1});
        if let Some(n) = query.limit {
            find = find.limit(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let cursor = self.call(find).await?;
        let mut exchanges = self
            .collect(cursor)
            .await?
            .iter()
            .map(|d| {
                Ok(FoundExchange {
                    notebook: get_str(d, "notebook"),
                    session_id: get_str(d, "session_id"),
                    record: record_from(d)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // An exchange appended before its session was opened was stored without the notebook.
        let unnamed: Vec<String> = exchanges
            .iter()
            .filter(|f| f.notebook.is_empty())
            .map(|f| f.session_id.clone())
            .collect();
        if !unnamed.is_empty() {
            let names = self.notebooks_of(&unnamed).await?;
            for f in exchanges.iter_mut().filter(|f| f.notebook.is_empty()) {
                f.notebook = names.get(&f.session_id).cloned().unwrap_or_default();
            }
        }
        Ok(ExchangePage {
            total: usize::try_from(total).unwrap_or(usize::MAX),
            exchanges,
            incomplete: None,
        })
    }

    /// session id -> notebook, for the sessions that exist.
    pub(crate) async fn notebooks_of(
        &self,
        session_ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        self.ensure_ready().await?;
        let cursor = self
            .call(
                self.sessions
                    .find(doc! {"_id": {"$in": session_ids}})
                    .projection(doc! {"notebook": 1}),
            )
            .await?;
        Ok(self
            .collect(cursor)
            .await?
            .iter()
            .map(|d| (get_str(d, "_id"), get_str(d, "notebook")))
            .collect())
    }
}

/// `ExchangeQuery` as a filter on the `exchanges` collection (same rule as `matches`).
fn query_filter(query: &ExchangeQuery, exclude: &[String]) -> Document {
    let mut filter = Document::new();
    if let Some(model) = &query.model {
        filter.insert("model", model);
    }
    if let Some(since) = query.since {
        filter.insert("timestamp", doc! {"$gte": date(since)});
    }
    if query.errors_only {
        filter.insert("error", doc! {"$ne": Bson::Null});
    }
    if query.replayed_only {
        filter.insert("replayed", true);
    }
    if !exclude.is_empty() {
        filter.insert("_id", doc! {"$nin": exclude});
    }
    filter
}

fn get_str(d: &Document, field: &str) -> String {
    d.get_str(field).unwrap_or_default().to_string()
}

/// Refuses, before sending, an entry that would push the session document
/// over MongoDB's size limit (the server would refuse it anyway, and not
/// every MongoDB-compatible server says so clearly).
fn check_entry_size(entry: &Document, cap: usize) -> Result<(), StoreError> {
    let mut bytes = Vec::new();
    entry
        .to_writer(&mut bytes)
        .map_err(|e| StoreError::Data(e.to_string()))?;
    let limit = (HISTORY_BYTES / cap.max(1)).max(MIN_ENTRY_LIMIT);
    if bytes.len() > limit {
        return Err(StoreError::TooLarge {
            size_kib: bytes.len() / 1024,
            limit_kib: limit / 1024,
        });
    }
    Ok(())
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

/// The driver's parse errors describe the problem without echoing the URL.
fn invalid_url_reason(e: &mongodb::error::Error) -> String {
    match e.kind.as_ref() {
        ErrorKind::InvalidArgument { message, .. } => message.clone(),
        ErrorKind::DnsResolve { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The password part of `scheme://user:password@host/...`, raw as written.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_string())
}

fn redact(message: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(message.to_string(), |m, s| m.replace(s.as_str(), "***"))
}

#[async_trait]
impl HistoryStore for MongoStore {
    async fn open_session(&self, info: &SessionInfo) -> Result<(), StoreError> {
        self.ensure_ready().await?;
        let info = info.normalized();
        // $setOnInsert: refreshing a session keeps its creation time and history.
        let update = doc! {
            "$set": session_set(&info, Utc::now()),
            "$setOnInsert": {"created_at": date(info.created_at), "conversation_history": []},
        };
        self.call(
            self.sessions
                .update_one(doc! {"_id": &info.session_id}, update)
                .upsert(true),
        )
        .await?;
        Ok(())
    }

    async fn append(
        &self,
        session_id: &str,
        rec: &ExchangeRecord,
        cap: usize,
    ) -> Result<(), StoreError> {
        self.ensure_ready().await?;
        let rec = rec.normalized();
        let entry = record_doc(&rec);
        check_entry_size(&entry, cap)?;
        let slice = -i64::try_from(cap).unwrap_or(i64::MAX);
        let push = doc! {
            "$push": {"conversation_history": {"$each": [&entry], "$slice": slice}},
            "$set": {"updated_at": date(Utc::now())},
        };
        // The `$ne` filter makes a re-sent record (after a crash or retry) a no-op.
        let filter = doc! {"_id": session_id, "conversation_history.id": {"$ne": &rec.id}};
        let mut notebook = None;
        for _ in 0..2 {
            let before = self
                .call(
                    self.sessions
                        .find_one_and_update(filter.clone(), push.clone())
                        .projection(doc! {"notebook": 1})
                        .return_document(ReturnDocument::Before),
                )
                .await?;
            if let Some(d) = before {
                notebook = Some(d.get_str("notebook").unwrap_or_default().to_string());
                break;
            }
            // No match: the record is already there, or the session does not exist yet.
            let existing = self
                .call(
                    self.sessions
                        .find_one(doc! {"_id": session_id})
                        .projection(doc! {"notebook": 1}),
                )
                .await?;
            if let Some(d) = existing {
                notebook = Some(d.get_str("notebook").unwrap_or_default().to_string());
                break;
            }
            let stub = doc! {
                "_id": session_id,
                "notebook": "",
                "created_at": date(rec.timestamp),
                "updated_at": date(Utc::now()),
                "datasets": [],
                "conversation_history": [&entry],
            };
            // A duplicate key here means someone created it meanwhile: try the push again.
            if self.call_idempotent(self.sessions.insert_one(stub)).await? {
                notebook = Some(String::new());
                break;
            }
        }
        let notebook = notebook.unwrap_or_default();
        // Audit copy; a duplicate key means an earlier attempt already stored it.
        self.call_idempotent(
            self.exchanges
                .insert_one(exchange_doc(session_id, &notebook, &rec)),
        )
        .await?;
        Ok(())
    }

    async fn recent(&self, session_id: &str, n: usize) -> Result<Vec<ExchangeRecord>, StoreError> {
        self.ensure_ready().await?;
        let found = self
            .call(
                self.sessions
                    .find_one(doc! {"_id": session_id})
                    .projection(doc! {"conversation_history": 1}),
            )
            .await?;
        let Some(session) = found else {
            return Ok(Vec::new());
        };
        let history = session
            .get_array("conversation_history")
            .map_or(&[][..], |a| a.as_slice());
        let skip = history.len().saturating_sub(n);
        history[skip..]
            .iter()
            .filter_map(Bson::as_document)
            .map(record_from)
            .collect()
    }

    async fn find_replay(
        &self,
        question: &str,
        data_fingerprint: &str,
        context_key: &str,
    ) -> Result<Option<ExchangeRecord>, StoreError> {
        self.ensure_ready().await?;
        let filter = doc! {
            "question": question,
            "data_fingerprint": data_fingerprint,
            "context_key": context_key,
            "error": Bson::Null,
        };
        let found = self
            .call(self.exchanges.find_one(filter).sort(doc! {"timestamp": -1}))
            .await?;
        found.as_ref().map(record_from).transpose()
    }

    async fn notebook_history(
        &self,
        notebook: &str,
    ) -> Result<Vec<(SessionInfo, Vec<ExchangeRecord>)>, StoreError> {
        self.ensure_ready().await?;
        let cursor = self
            .call(
                self.sessions
                    .find(doc! {"notebook": notebook})
                    .projection(doc! {"conversation_history": 0})
                    .sort(doc! {"created_at": 1, "_id": 1}),
            )
            .await?;
        let sessions = self
            .collect(cursor)
            .await?
            .iter()
            .map(session_from)
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<&str> = sessions.iter().map(|s| s.session_id.as_str()).collect();
        let cursor = self
            .call(
                self.exchanges
                    .find(doc! {"session_id": {"$in": ids}})
                    .sort(doc! {"session_id": 1, "timestamp": 1}),
            )
            .await?;
        let mut by_session: std::collections::HashMap<String, Vec<ExchangeRecord>> =
            std::collections::HashMap::new();
        for d in self.collect(cursor).await? {
            let sid = d.get_str("session_id").unwrap_or_default().to_string();
            by_session.entry(sid).or_default().push(record_from(&d)?);
        }
        Ok(sessions
            .into_iter()
            .map(|s| {
                let records = by_session.remove(&s.session_id).unwrap_or_default();
                (s, records)
            })
            .collect())
    }

    async fn query_exchanges(&self, query: &ExchangeQuery) -> Result<ExchangePage, StoreError> {
        self.query_excluding(query, &[]).await
    }

    fn describe(&self) -> String {
        format!("MongoDB at {}", self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_found_and_redacted() {
        let url = "mongodb://kernel:s3cr%40t@db.example:27017/?authSource=admin";
        let pw = url_password(url);
        assert_eq!(pw.as_deref(), Some("s3cr%40t"));
        let secrets: Vec<String> = pw.into_iter().collect();
        assert_eq!(redact("bad s3cr%40t here", &secrets), "bad *** here");
        assert_eq!(url_password("mongodb://db.example:27017"), None);
        assert_eq!(url_password("mongodb://user@db.example"), None);
    }
}
