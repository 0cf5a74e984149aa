//! Each question's exchange: what every record shares (`Key`), the record itself, and saving
//! it to the conversation and the history store.

use super::parameters;
use super::services::Services;
use super::solve::Ledger;
use super::state::State;
use history_store::{ExchangeRecord, HistoryStore, Usage};
use serde_json::Value;
use std::time::Instant;

/// What every exchange record shares, whichever path produced it.
pub(super) struct Key<'a> {
    pub(super) question: &'a str,
    pub(super) fingerprint: String,
    pub(super) context_key: String,
    /// The notebook's parameters when the question was asked.
    pub(super) parameters: Vec<code_guard::Parameter>,
    pub(super) started: Instant,
}

pub(super) fn record(
    key: &Key<'_>,
    code: &str,
    result: &Value,
    interpretation: &str,
    error: Option<String>,
    ledger: &Ledger,
) -> ExchangeRecord {
    ExchangeRecord {
        id: uuid::Uuid::new_v4().to_string(),
        timestamp: chrono::Utc::now(),
        question: key.question.to_string(),
        code: code.to_string(),
        result_summary: result["summary"]
            .as_str()
            .unwrap_or(if error.is_some() {
                "Error"
            } else {
                "No result"
            })
            .to_string(),
        interpretation: interpretation.to_string(),
        error,
        full_result: result.get("full_result").cloned().unwrap_or(Value::Null),
        model: String::new(),
        endpoint_host: String::new(),
        usage: {
            let t = ledger.total();
            Usage {
                prompt_tokens: t.prompt_tokens.min(u64::from(u32::MAX)) as u32,
                completion_tokens: t.completion_tokens.min(u64::from(u32::MAX)) as u32,
            }
        },
        llm_ms: ledger.llm.as_millis() as u64,
        exec_ms: ledger.exec.as_millis() as u64,
        total_ms: key.started.elapsed().as_millis() as u64,
        data_fingerprint: key.fingerprint.clone(),
        context_key: key.context_key.clone(),
        replayed: false,
        parameters: parameters::used_by(&key.parameters, key.question, code),
        engine_runs: result.get("engine_runs").cloned().unwrap_or(Value::Null),
    }
}

/// Keep the exchange for follow-ups and write it to the store (spooled locally if the
/// database is down, so nothing shown to the user is lost).
pub(super) async fn save(svc: &Services, state: &mut State, rec: ExchangeRecord) {
    let cap = svc.settings.max_conversation_history.max(1);
    if let Some(sid) = state.session_id.clone() {
        if let Err(e) = svc.store().await.append(&sid, &rec, cap).await {
            tracing::warn!("history: could not record the exchange: {e}");
        }
    }
    // A replay of a question the conversation already holds (Restart & Run All) adds nothing
    // to it: the earlier copy goes, so each question appears once, at its latest place.
    if rec.replayed {
        state.exchanges.retain(|e| e.question != rec.question);
    }
    state.exchanges.push(rec);
    if state.exchanges.len() > cap {
        let excess = state.exchanges.len() - cap;
        state.exchanges.drain(..excess);
    }
}
