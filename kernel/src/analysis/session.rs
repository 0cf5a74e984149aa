//! Session identity, data fingerprints and replay keys, and the notebook's recorded-answers
//! file. A session is a notebook plus the data loaded in it.

use super::state::Dataset;
use history_store::{DatasetInfo, ExchangeRecord, SessionInfo};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The notebook this kernel serves: Jupyter Server sets JPY_SESSION_NAME to its path.
pub fn notebook_id() -> String {
    match std::env::var("JPY_SESSION_NAME") {
        Ok(name) if !name.trim().is_empty() => name,
        _ => std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "unknown".into()),
    }
}

/// Content fingerprint of a loaded file: the xxh3-128 of its bytes (computed by the
/// loader while parsing) and its length.
pub fn content_fingerprint(hash: u128, len: u64) -> String {
    format!("xxh3:{hash:032x}:{len}")
}

/// The fingerprint of everything a question can see: every dataset, by name.
pub fn data_fingerprint(datasets: &[Dataset]) -> String {
    datasets
        .iter()
        .map(|d| format!("{}={}", d.name, d.fingerprint))
        .collect::<Vec<_>>()
        .join(";")
}

/// A key for the context that preceded a question (the questions and code the model saw).
/// The replay scope of a notebook: a recorded answer replays only in the notebook that asked
/// it (stored in the records' `context_key` field). It is not the preceding conversation: after
/// a restart the resumed conversation already holds the very questions being re-run, so a key
/// that included it would never match on "Restart & Run All".
pub fn replay_scope(notebook: &str) -> String {
    let text = format!("replay-scope\u{1f}{notebook}");
    format!("nb:{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
}

/// A resumed conversation with each question once, at its latest place (replays of a
/// re-run notebook must not repeat what they replay).
pub fn latest_per_question(
    records: Vec<history_store::ExchangeRecord>,
) -> Vec<history_store::ExchangeRecord> {
    let mut out: Vec<history_store::ExchangeRecord> = Vec::with_capacity(records.len());
    for r in records {
        out.retain(|e| e.question != r.question);
        out.push(r);
    }
    out
}

fn str_vec(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn dataset_info(d: &Dataset) -> DatasetInfo {
    let p = &d.profile;
    DatasetInfo {
        name: d.name.clone(),
        file_name: d
            .source
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        fingerprint: d.fingerprint.clone(),
        rows: p["rows"].as_u64().unwrap_or(0),
        columns: str_vec(&p["columns"]),
        dtypes: p["dtypes"].as_object().cloned().unwrap_or_default(),
        sample: p["sample_records"].as_array().cloned().unwrap_or_default(),
        null_counts: p["null_counts"].as_object().cloned().unwrap_or_default(),
        numeric_columns: str_vec(&p["numeric_columns"]),
        categorical_columns: str_vec(&p["categorical_columns"]),
    }
}

pub fn session_info(notebook: &str, datasets: &[Dataset]) -> SessionInfo {
    let fps: Vec<String> = datasets.iter().map(|d| d.fingerprint.clone()).collect();
    SessionInfo {
        session_id: history_store::session_id(notebook, &fps),
        notebook: notebook.to_string(),
        datasets: datasets.iter().map(dataset_info).collect(),
        created_at: chrono::Utc::now(),
    }
}

/// `analysis.ipynb` -> `analysis.answers.json`, next to the notebook. Jupyter Server gives
/// the path relative to its root while the kernel runs in the notebook's folder, so a relative
/// path that does not resolve from here is taken as a file in the working directory.
pub fn answers_path(notebook: &str) -> Option<PathBuf> {
    let nb = Path::new(notebook);
    if nb.extension()?.to_str()? != "ipynb" {
        return None;
    }
    let stem = nb.file_stem()?.to_string_lossy().into_owned();
    let file = format!("{stem}.answers.json");
    if nb.is_relative() && !nb.exists() {
        return Some(PathBuf::from(file));
    }
    Some(nb.with_file_name(file))
}

/// Recorded answers shipped next to a notebook (may be absent).
pub fn read_answers(path: &Path) -> Result<Vec<ExchangeRecord>, String> {
    let raw = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&raw)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    serde_json::from_value(doc["records"].clone())
        .map_err(|e| format!("{} has unreadable records: {e}", path.display()))
}

/// Write the notebook's successful exchanges as its recorded answers.
pub fn write_answers(
    path: &Path,
    notebook: &str,
    records: &[ExchangeRecord],
) -> Result<usize, String> {
    let records: Vec<&ExchangeRecord> = records.iter().filter(|r| r.error.is_none()).collect();
    let doc = json!({
        "about": format!(
            "Recorded model answers for {}. When a question, its data and the questions before it match a record, \
             the kernel re-runs the recorded code on the data instead of calling the model, so the notebook \
             re-runs offline with no API key. Delete this file to ask your own model.",
            Path::new(notebook).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
        ),
        "records": records,
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_file_sits_next_to_the_notebook() {
        assert_eq!(
            answers_path("/a/b/tour.ipynb"),
            Some(PathBuf::from("/a/b/tour.answers.json"))
        );
        assert_eq!(answers_path("/a/b"), None);
        assert_eq!(
            answers_path("elsewhere/report.ipynb"),
            Some(PathBuf::from("report.answers.json"))
        );
    }

    #[test]
    fn replay_belongs_to_its_notebook() {
        assert_eq!(
            replay_scope("/a/report.ipynb"),
            replay_scope("/a/report.ipynb")
        );
        assert_ne!(
            replay_scope("/a/report.ipynb"),
            replay_scope("/b/report.ipynb")
        );
    }

    #[test]
    fn resumed_conversations_hold_each_question_once() {
        let rec = |q: &str, code: &str| history_store::ExchangeRecord {
            id: code.into(),
            timestamp: chrono::Utc::now(),
            question: q.into(),
            code: code.into(),
            result_summary: String::new(),
            interpretation: String::new(),
            error: None,
            full_result: Value::Null,
            model: String::new(),
            endpoint_host: String::new(),
            usage: Default::default(),
            llm_ms: 0,
            exec_ms: 0,
            total_ms: 0,
            data_fingerprint: String::new(),
            context_key: String::new(),
            replayed: false,
            parameters: Default::default(),
            engine_runs: serde_json::Value::Null,
        };
        let got = latest_per_question(vec![rec("a", "1"), rec("b", "2"), rec("a", "3")]);
        let got: Vec<(&str, &str)> = got
            .iter()
            .map(|r| (r.question.as_str(), r.code.as_str()))
            .collect();
        assert_eq!(got, vec![("b", "2"), ("a", "3")]);
    }

    #[test]
    fn fingerprint_changes_with_content() {
        let limits = csv_ingest::Limits::default();
        let fingerprint = |text: &str| {
            let table = csv_ingest::load_bytes(text.as_bytes(), "x.csv", &limits).unwrap();
            content_fingerprint(table.content_hash, table.source_bytes)
        };
        assert_eq!(fingerprint("a\n1\n"), fingerprint("a\n1\n"));
        assert_ne!(fingerprint("a\n1\n"), fingerprint("a\n2\n"));
        assert!(fingerprint("a\n1\n").ends_with(":4"));
    }
}
