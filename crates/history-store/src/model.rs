//! The records the kernel stores, independent of the backend.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One loaded CSV file, as described to the model (the design doc's session metadata).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatasetInfo {
    pub name: String,
    pub file_name: String,
    pub fingerprint: String,
    pub rows: u64,
    pub columns: Vec<String>,
    pub dtypes: serde_json::Map<String, Value>,
    pub sample: Vec<Value>,
    pub null_counts: serde_json::Map<String, Value>,
    pub numeric_columns: Vec<String>,
    pub categorical_columns: Vec<String>,
}

/// A notebook working on a set of datasets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionInfo {
    pub session_id: String,
    pub notebook: String,
    pub datasets: Vec<DatasetInfo>,
    pub created_at: DateTime<Utc>,
}

/// Token counts reported by the LLM endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// One question/answer exchange plus its audit fields.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExchangeRecord {
    /// Unique (uuid); used for de-duplication on flush.
    pub id: String,
    pub timestamp: DateTime<Utc>,
    pub question: String,
    pub code: String,
    pub result_summary: String,
    pub interpretation: String,
    pub error: Option<String>,
    /// Already bounded by the caller (<= 20 KB).
    pub full_result: Value,
    pub model: String,
    pub endpoint_host: String,
    pub usage: Usage,
    pub llm_ms: u64,
    pub exec_ms: u64,
    pub total_ms: u64,
    /// Fingerprint(s) of the data the code ran on.
    pub data_fingerprint: String,
    /// The replay scope computed by the caller (the kernel: the notebook that asked, so a
    /// recorded answer replays only there). Older records hold a hash of the preceding context.
    pub context_key: String,
    pub replayed: bool,
    /// The notebook's parameters the answer depended on, name → value as written
    /// (papermill reports); a replay needs the same values. Absent in older records.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Where the work ran when not in pandas: one entry per query an engine (DuckDB) ran,
    /// `{"engine", "sql", "rows_scanned", "rows_returned", "seconds"}`. Absent (null) when
    /// the question used pandas only, and in older records.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub engine_runs: Value,
}

/// Stable session id: sha256 of the notebook and its sorted data fingerprints,
/// so reopening the same notebook on the same data continues the same history.
pub fn session_id(notebook: &str, fingerprints: &[String]) -> String {
    let mut sorted: Vec<&str> = fingerprints.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut hasher = Sha256::new();
    hasher.update(notebook.as_bytes());
    for fp in sorted {
        // Separator byte keeps ("ab", "c") distinct from ("a", "bc").
        hasher.update([0u8]);
        hasher.update(fp.as_bytes());
    }
    let mut hex = hex::encode(hasher.finalize());
    hex.truncate(24);
    hex
}

/// MongoDB dates have millisecond resolution; every backend stores timestamps
/// at that resolution so a record reads back the same whichever store held it.
pub(crate) fn to_millis(ts: DateTime<Utc>) -> DateTime<Utc> {
    ts.trunc_subsecs(3)
}

impl ExchangeRecord {
    /// The copy a store keeps (timestamp at millisecond resolution).
    pub(crate) fn normalized(&self) -> ExchangeRecord {
        let mut rec = self.clone();
        rec.timestamp = to_millis(rec.timestamp);
        rec
    }

    pub(crate) fn is_replay_of(
        &self,
        question: &str,
        fingerprint: &str,
        context_key: &str,
    ) -> bool {
        self.error.is_none()
            && self.question == question
            && self.data_fingerprint == fingerprint
            && self.context_key == context_key
    }
}

impl SessionInfo {
    pub(crate) fn normalized(&self) -> SessionInfo {
        let mut info = self.clone();
        info.created_at = to_millis(info.created_at);
        info
    }
}

/// Merges record lists from several sources: one copy per id, ordered by
/// timestamp (stable, so equal timestamps keep source order), last `n` kept.
pub(crate) fn merge_recent(
    sources: impl IntoIterator<Item = ExchangeRecord>,
    n: usize,
) -> Vec<ExchangeRecord> {
    let mut seen = std::collections::HashSet::new();
    let mut all: Vec<ExchangeRecord> = sources
        .into_iter()
        .filter(|r| seen.insert(r.id.clone()))
        .collect();
    all.sort_by_key(|r| r.timestamp);
    let skip = all.len().saturating_sub(n);
    all.split_off(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_is_stable_and_order_independent() {
        let a = session_id("nb.ipynb", &["f1".into(), "f2".into()]);
        let b = session_id("nb.ipynb", &["f2".into(), "f1".into()]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 24);
        assert_ne!(a, session_id("other.ipynb", &["f1".into(), "f2".into()]));
        assert_ne!(
            session_id("nb", &["ab".into(), "c".into()]),
            session_id("nb", &["a".into(), "bc".into()])
        );
    }
}
