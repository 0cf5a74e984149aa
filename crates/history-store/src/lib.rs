//! Conversation history for the LLM analytics kernel.
//!
//! Each notebook session (a notebook plus the fingerprints of its datasets)
//! keeps the design doc's session document with a capped
//! `conversation_history`, and every exchange is also kept in an unbounded
//! audit trail. Backends: [`SqliteStore`] (embedded default), [`MongoStore`],
//! and [`ResilientStore`], which the kernel uses: MongoDB behind a durable
//! local spool, so no exchange is lost while the server is down.

mod error;
mod flusher;
mod model;
mod mongo;
mod mongo_doc;
mod query;
mod remote;
mod resilient;
mod spool;
mod sqlite;

pub use error::StoreError;
pub use model::{session_id, DatasetInfo, ExchangeRecord, SessionInfo, Usage};
pub use mongo::MongoStore;
pub use query::{ExchangePage, ExchangeQuery, FoundExchange};
pub use resilient::{ResilientStore, StoreConfig, DEFAULT_OP_TIMEOUT};
pub use sqlite::SqliteStore;

#[async_trait::async_trait]
pub trait HistoryStore: Send + Sync {
    /// Create or refresh the session document (upsert; keeps existing history).
    async fn open_session(&self, info: &SessionInfo) -> Result<(), StoreError>;
    /// Append one exchange, keeping at most `cap` in the session's history
    /// (oldest dropped). Idempotent per record id.
    async fn append(
        &self,
        session_id: &str,
        rec: &ExchangeRecord,
        cap: usize,
    ) -> Result<(), StoreError>;
    /// The last `n` exchanges of a session, oldest first.
    async fn recent(&self, session_id: &str, n: usize) -> Result<Vec<ExchangeRecord>, StoreError>;
    /// A successful (error == None) exchange with exactly this question, data
    /// fingerprint and context key, newest first, from any session.
    async fn find_replay(
        &self,
        question: &str,
        data_fingerprint: &str,
        context_key: &str,
    ) -> Result<Option<ExchangeRecord>, StoreError>;
    /// Every session of a notebook with its exchanges (for `%history --all`),
    /// oldest session first.
    async fn notebook_history(
        &self,
        notebook: &str,
    ) -> Result<Vec<(SessionInfo, Vec<ExchangeRecord>)>, StoreError>;
    /// Exchanges of every notebook matching `query`, newest first, with the total count
    /// (for `%history --everywhere`). Filtering happens in the backend.
    async fn query_exchanges(&self, query: &ExchangeQuery) -> Result<ExchangePage, StoreError>;
    /// Human-readable name, e.g. "SQLite at /path" or "MongoDB at host:port/db".
    fn describe(&self) -> String;
}
