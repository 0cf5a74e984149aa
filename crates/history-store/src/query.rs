//! Audit queries across every notebook in the store (`%history --everywhere`).
//!
//! Each backend turns an [`ExchangeQuery`] into its own filter (SQL `WHERE`,
//! a MongoDB filter document); [`ExchangeQuery::matches`] is the same rule in
//! Rust, for the few records only held locally (the spool) and for tests.

use chrono::{DateTime, Utc};

use crate::model::ExchangeRecord;

/// Which exchanges to list. Filters combine (all must hold); the default matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExchangeQuery {
    /// Exactly this model name.
    pub model: Option<String>,
    /// At or after this instant (millisecond resolution, like the stored timestamps).
    pub since: Option<DateTime<Utc>>,
    /// Only exchanges that ended in an error.
    pub errors_only: bool,
    /// Only exchanges answered by replaying a recorded answer.
    pub replayed_only: bool,
    /// Return only the newest `limit` matches (None: all); the count is of every match.
    pub limit: Option<usize>,
}

/// One matching exchange and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundExchange {
    /// The notebook of its session ("" when the session was never opened, e.g. imported
    /// recorded answers).
    pub notebook: String,
    pub session_id: String,
    pub record: ExchangeRecord,
}

/// The answer to an [`ExchangeQuery`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExchangePage {
    /// How many exchanges matched in all (may exceed `exchanges.len()` when limited).
    pub total: usize,
    /// Newest first (timestamp, then record id, both descending).
    pub exchanges: Vec<FoundExchange>,
    /// Set when part of the store could not be read (e.g. MongoDB down): says what is missing.
    pub incomplete: Option<String>,
}

impl ExchangeQuery {
    /// The filter as a predicate; every backend must select exactly these records.
    pub fn matches(&self, r: &ExchangeRecord) -> bool {
        self.model.as_ref().is_none_or(|m| &r.model == m)
            && self
                .since
                .is_none_or(|s| r.timestamp.timestamp_millis() >= s.timestamp_millis())
            && (!self.errors_only || r.error.is_some())
            && (!self.replayed_only || r.replayed)
    }
}

/// Newest first, with the record id breaking timestamp ties (the backends' sort order).
pub(crate) fn newest_first(found: &mut [FoundExchange]) {
    found.sort_by(|a, b| {
        (b.record.timestamp, &b.record.id).cmp(&(a.record.timestamp, &a.record.id))
    });
}
