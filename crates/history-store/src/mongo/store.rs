//! `HistoryStore` for MongoDB: sessions with a capped `conversation_history`, plus the audit trail.

use async_trait::async_trait;
use chrono::Utc;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::ReturnDocument;

use super::MongoStore;
use crate::error::StoreError;
use crate::model::{ExchangeRecord, SessionInfo};
use crate::mongo_doc::{date, exchange_doc, record_doc, record_from, session_from, session_set};
use crate::query::{ExchangePage, ExchangeQuery};
use crate::HistoryStore;

/// The session document must stay under MongoDB's 16 MiB limit with `cap`
/// entries; 1 MiB is left for the dataset metadata.
const HISTORY_BYTES: usize = 15 * 1024 * 1024;
const MIN_ENTRY_LIMIT: usize = 64 * 1024;

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
