//! Mapping between the model and MongoDB documents shaped like the design doc.
//!
//! Session document: `_id`, `notebook`, `filename`, `created_at`, `columns`,
//! `dtypes`, `row_count`, `column_count`, `data_sample`, `null_counts`,
//! `numeric_columns`, `categorical_columns` (of the first dataset, as in the
//! design doc), `file_names` and `datasets` (all datasets), `conversation_history`.

use chrono::{DateTime, Utc};
use mongodb::bson::{doc, Bson, DateTime as BsonDateTime, Document};
use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::model::{DatasetInfo, ExchangeRecord, SessionInfo, Usage};

pub(crate) fn date(ts: DateTime<Utc>) -> Bson {
    Bson::DateTime(BsonDateTime::from_millis(ts.timestamp_millis()))
}

/// Column names become keys in `dtypes`, `null_counts`, samples and results.
/// Keys MongoDB may refuse to store (`$...`, dotted, NUL) would make the
/// whole write fail, so such a value is stored as a JSON string instead
/// under `<field>_json`.
fn storable(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().all(storable),
        Value::Object(map) => map.iter().all(|(k, v)| {
            !k.is_empty() && !k.starts_with('$') && !k.contains(['.', '\0']) && storable(v)
        }),
        _ => true,
    }
}

fn json_to_bson(v: &Value) -> Bson {
    match v {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Bson::Int64(i),
            // u64 beyond i64 and floats: BSON has only a double left.
            None => Bson::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(items) => Bson::Array(items.iter().map(json_to_bson).collect()),
        Value::Object(map) => Bson::Document(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_bson(v)))
                .collect(),
        ),
    }
}

/// Inverse of `json_to_bson`; types JSON lacks (dates, ids, decimals written
/// by other tools) become strings rather than failing the whole read.
fn bson_to_json(b: Bson) -> Value {
    match b {
        Bson::Null | Bson::Undefined => Value::Null,
        Bson::Boolean(v) => Value::Bool(v),
        Bson::Int32(v) => v.into(),
        Bson::Int64(v) => v.into(),
        Bson::Double(v) => serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        Bson::String(v) => Value::String(v),
        Bson::Array(items) => Value::Array(items.into_iter().map(bson_to_json).collect()),
        Bson::Document(d) => {
            Value::Object(d.into_iter().map(|(k, v)| (k, bson_to_json(v))).collect())
        }
        Bson::DateTime(t) => Value::String(
            DateTime::<Utc>::from_timestamp_millis(t.timestamp_millis())
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
        ),
        other => Value::String(other.to_string()),
    }
}

fn put_json(d: &mut Document, field: &str, v: &Value) {
    if storable(v) {
        d.insert(field, json_to_bson(v));
    } else {
        d.insert(field, Bson::Null);
        d.insert(format!("{field}_json"), v.to_string());
    }
}

fn get_json(d: &Document, field: &str) -> Result<Value, StoreError> {
    if let Ok(text) = d.get_str(format!("{field}_json")) {
        return Ok(serde_json::from_str(text)?);
    }
    Ok(d.get(field)
        .cloned()
        .map(bson_to_json)
        .unwrap_or(Value::Null))
}

fn get_json_map(d: &Document, field: &str) -> Result<Map<String, Value>, StoreError> {
    match get_json(d, field)? {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        other => Err(StoreError::Data(format!(
            "`{field}` is not an object: {other}"
        ))),
    }
}

fn get_json_vec(d: &Document, field: &str) -> Result<Vec<Value>, StoreError> {
    match get_json(d, field)? {
        Value::Array(v) => Ok(v),
        Value::Null => Ok(Vec::new()),
        other => Err(StoreError::Data(format!(
            "`{field}` is not an array: {other}"
        ))),
    }
}

fn get_string(d: &Document, field: &str) -> Result<String, StoreError> {
    match d.get(field) {
        Some(Bson::String(s)) => Ok(s.clone()),
        None | Some(Bson::Null) => Ok(String::new()),
        Some(other) => Err(StoreError::Data(format!(
            "`{field}` is not a string: {other}"
        ))),
    }
}

fn get_strings(d: &Document, field: &str) -> Vec<String> {
    d.get_array(field)
        .map(|a| {
            a.iter()
                .filter_map(|b| b.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn get_u64(d: &Document, field: &str) -> u64 {
    match d.get(field) {
        Some(Bson::Int32(i)) => u64::try_from(*i).unwrap_or(0),
        Some(Bson::Int64(i)) => u64::try_from(*i).unwrap_or(0),
        Some(Bson::Double(f)) if *f >= 0.0 => *f as u64,
        _ => 0,
    }
}

fn get_date(d: &Document, field: &str) -> Result<DateTime<Utc>, StoreError> {
    let ms = d
        .get_datetime(field)
        .map_err(|_| StoreError::Data(format!("`{field}` is not a date")))?
        .timestamp_millis();
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Data(format!("`{field}` is out of range")))
}

fn int(v: u64) -> Bson {
    Bson::Int64(i64::try_from(v).unwrap_or(i64::MAX))
}

/// The design doc's per-dataset fields, plus name and fingerprint.
fn dataset_fields(ds: &DatasetInfo) -> Document {
    let mut d = doc! {
        "name": &ds.name,
        "filename": &ds.file_name,
        "fingerprint": &ds.fingerprint,
        "columns": &ds.columns,
        "row_count": int(ds.rows),
        "column_count": int(ds.columns.len() as u64),
        "numeric_columns": &ds.numeric_columns,
        "categorical_columns": &ds.categorical_columns,
    };
    put_json(&mut d, "dtypes", &Value::Object(ds.dtypes.clone()));
    put_json(&mut d, "data_sample", &Value::Array(ds.sample.clone()));
    put_json(
        &mut d,
        "null_counts",
        &Value::Object(ds.null_counts.clone()),
    );
    d
}

fn dataset_from(d: &Document) -> Result<DatasetInfo, StoreError> {
    Ok(DatasetInfo {
        name: get_string(d, "name")?,
        file_name: get_string(d, "filename")?,
        fingerprint: get_string(d, "fingerprint")?,
        rows: get_u64(d, "row_count"),
        columns: get_strings(d, "columns"),
        dtypes: get_json_map(d, "dtypes")?,
        sample: get_json_vec(d, "data_sample")?,
        null_counts: get_json_map(d, "null_counts")?,
        numeric_columns: get_strings(d, "numeric_columns"),
        categorical_columns: get_strings(d, "categorical_columns"),
    })
}

/// `$set` part of the session upsert: everything except `created_at` and the history.
pub(crate) fn session_set(info: &SessionInfo, now: DateTime<Utc>) -> Document {
    // The first dataset's fields sit at the top level, exactly as in the design doc.
    let mut d = info
        .datasets
        .first()
        .map(dataset_fields)
        .unwrap_or_default();
    d.remove("name");
    d.remove("fingerprint");
    d.insert("notebook", &info.notebook);
    let names: Vec<&str> = info
        .datasets
        .iter()
        .map(|ds| ds.file_name.as_str())
        .collect();
    d.insert("file_names", names);
    let datasets: Vec<Document> = info.datasets.iter().map(dataset_fields).collect();
    d.insert("datasets", datasets);
    d.insert("updated_at", date(now));
    d
}

pub(crate) fn session_from(d: &Document) -> Result<SessionInfo, StoreError> {
    let datasets = match d.get_array("datasets") {
        Ok(items) => items
            .iter()
            .filter_map(Bson::as_document)
            .map(dataset_from)
            .collect::<Result<Vec<_>, _>>()?,
        Err(_) => Vec::new(),
    };
    Ok(SessionInfo {
        session_id: get_string(d, "_id")?,
        notebook: get_string(d, "notebook")?,
        datasets,
        created_at: get_date(d, "created_at")?,
    })
}

/// A `conversation_history` entry: the design doc's eight fields plus the audit fields.
pub(crate) fn record_doc(rec: &ExchangeRecord) -> Document {
    let mut d = doc! {
        "id": &rec.id,
        "timestamp": date(rec.timestamp),
        "question": &rec.question,
        "code": &rec.code,
        "result_summary": &rec.result_summary,
        "interpretation": &rec.interpretation,
        "error": rec.error.as_deref().map_or(Bson::Null, |e| Bson::String(e.to_string())),
    };
    put_json(&mut d, "full_result", &rec.full_result);
    d.extend(doc! {
        "model": &rec.model,
        "endpoint_host": &rec.endpoint_host,
        "usage": {
            "prompt_tokens": i64::from(rec.usage.prompt_tokens),
            "completion_tokens": i64::from(rec.usage.completion_tokens),
        },
        "llm_ms": int(rec.llm_ms),
        "exec_ms": int(rec.exec_ms),
        "total_ms": int(rec.total_ms),
        "data_fingerprint": &rec.data_fingerprint,
        "context_key": &rec.context_key,
        "replayed": rec.replayed,
    });
    let parameters: Document = rec
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), Bson::String(v.clone())))
        .collect();
    d.insert("parameters", parameters);
    if !rec.engine_runs.is_null() {
        put_json(&mut d, "engine_runs", &rec.engine_runs);
    }
    d
}

/// A document of the `exchanges` collection (the unbounded audit trail).
pub(crate) fn exchange_doc(session_id: &str, notebook: &str, rec: &ExchangeRecord) -> Document {
    let mut d = doc! { "_id": &rec.id, "session_id": session_id, "notebook": notebook };
    d.extend(record_doc(rec));
    d
}

pub(crate) fn record_from(d: &Document) -> Result<ExchangeRecord, StoreError> {
    let usage = d.get_document("usage").ok();
    let tokens = |f: &str| {
        usage
            .map(|u| get_u64(u, f))
            .map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX))
    };
    let error = match d.get("error") {
        Some(Bson::String(e)) => Some(e.clone()),
        _ => None,
    };
    Ok(ExchangeRecord {
        id: get_string(d, "id")?,
        timestamp: get_date(d, "timestamp")?,
        question: get_string(d, "question")?,
        code: get_string(d, "code")?,
        result_summary: get_string(d, "result_summary")?,
        interpretation: get_string(d, "interpretation")?,
        error,
        full_result: get_json(d, "full_result")?,
        model: get_string(d, "model")?,
        endpoint_host: get_string(d, "endpoint_host")?,
        usage: Usage {
            prompt_tokens: tokens("prompt_tokens"),
            completion_tokens: tokens("completion_tokens"),
        },
        llm_ms: get_u64(d, "llm_ms"),
        exec_ms: get_u64(d, "exec_ms"),
        total_ms: get_u64(d, "total_ms"),
        data_fingerprint: get_string(d, "data_fingerprint")?,
        context_key: get_string(d, "context_key")?,
        replayed: d.get_bool("replayed").unwrap_or(false),
        parameters: d
            .get_document("parameters")
            .map(|p| {
                p.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        engine_runs: get_json(d, "engine_runs")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(full: Value) -> ExchangeRecord {
        ExchangeRecord {
            id: "r1".into(),
            timestamp: DateTime::from_timestamp_millis(1_700_000_000_123).unwrap(),
            question: "q".into(),
            code: "c".into(),
            result_summary: "s".into(),
            interpretation: "i".into(),
            error: None,
            full_result: full,
            model: "m".into(),
            endpoint_host: "h".into(),
            usage: Usage {
                prompt_tokens: 3,
                completion_tokens: 4,
            },
            llm_ms: 1,
            exec_ms: 2,
            total_ms: 3,
            data_fingerprint: "fp".into(),
            context_key: "ck".into(),
            replayed: false,
            parameters: Default::default(),
            engine_runs: Value::Null,
        }
    }

    #[test]
    fn records_round_trip_including_awkward_keys() {
        for full in [
            json!({"type": "dataframe", "data": [{"a": 1, "b": 2.5, "c": null}], "big": u64::MAX}),
            json!({"price.usd": 1, "$total": 2}),
            json!("text"),
            json!(null),
        ] {
            let r = rec(full);
            let mut back = record_from(&record_doc(&r)).unwrap();
            if r.full_result.get("big").is_some() {
                // u64::MAX can only be kept as a double in BSON.
                back.full_result["big"] = json!(u64::MAX);
            }
            assert_eq!(back, r);
        }
        let d = record_doc(&rec(json!({"a.b": 1})));
        assert!(d.get_str("full_result_json").is_ok());
    }
}
