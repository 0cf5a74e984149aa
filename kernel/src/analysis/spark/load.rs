//! `%load spark:TABLE_OR_PATH [as NAME]`: register a table that lives on the cluster (a
//! catalog table, or a path the cluster reads) and show its profile, computed there. No row
//! comes to this machine but the profile's sample.

use super::super::services::Services;
use super::super::state::{Dataset, State};
use super::super::worker_client::Request;
use super::connect::link;
use crate::protocol::backend::{ErrorInfo, ExecuteOutcome, OutputSink};
use serde_json::Value;
use std::path::PathBuf;

pub async fn load(
    svc: &Services,
    state: &mut State,
    source: &str,
    name: Option<String>,
    sink: &OutputSink,
) -> ExecuteOutcome {
    let fail = |e: ErrorInfo| {
        sink.error(e.clone());
        ExecuteOutcome::error(e)
    };
    let source = source.trim();
    if source.is_empty() {
        return fail(ErrorInfo::new(
            "UsageError",
            "Usage: %load spark:TABLE_OR_PATH as NAME, e.g. %load spark:sales.orders as orders or %load spark:/data/trips.parquet as trips",
        ));
    }
    let name = name.unwrap_or_else(|| default_name(source));
    if !is_view_name(&name) {
        return fail(ErrorInfo::new(
            "UsageError",
            format!("{name:?} cannot name a Spark table: use letters, digits and _ (starting with a letter), e.g. %load spark:{source} as trips"),
        ));
    }
    let timeout = svc.settings.spark_query_timeout;
    let link = match link(svc, state).await {
        Ok(link) => link,
        Err(e) => return fail(e),
    };
    let shown = link.shown();
    let request = Request::SparkRegister {
        name: name.clone(),
        source: source.to_string(),
    };
    let mut profile = match link.call(request, timeout).await {
        Ok(v) => v,
        Err(e) => {
            return fail(ErrorInfo::new(
                "SparkError",
                format!(
                    "The Spark engine failed while loading {source}: {}",
                    super::errors::why(&e)
                ),
            ))
        }
    };
    if let Some(why) = profile.get("load_error").and_then(Value::as_str) {
        return fail(ErrorInfo::new("LoadError", why));
    }
    profile["location"] = Value::String(shown.clone());
    let fingerprint = fingerprint(&shown, source, &profile);
    let cells = profile["rows"]
        .as_u64()
        .unwrap_or(u64::MAX)
        .saturating_mul(profile["columns"].as_array().map_or(1, Vec::len) as u64);
    let fits = cells <= svc.settings.max_dataframe_size;
    profile["fits_pandas"] = Value::Bool(fits);
    let small = if fits {
        format!(" It fits pandas (MAX_DATAFRAME_SIZE), so code that uses {name} as a DataFrame gets the whole table.")
    } else {
        String::new()
    };
    let text = format!(
        "{}\n\nEngine: Spark {} at {shown} holds {source}; questions query {name} with Spark SQL there, and only results come back.{small}",
        profile["text"].as_str().unwrap_or(""),
        link.version,
    );
    let dataset = Dataset {
        name,
        source: PathBuf::from(format!("{}{source}", super::LOAD_PREFIX)),
        ipc_path: PathBuf::new(),
        sheet: None,
        profile,
        fingerprint,
        engine: None,
        spark: Some(source.to_string()),
    };
    // The user worker binds the name too, so %%python says how the table is read.
    if let Ok(worker) = svc.worker(state).await {
        let bind = Request::RestoreSparkTable {
            name: dataset.name.clone(),
            make_current: true,
        };
        if let Err(e) = worker.call(bind, None, None).await {
            tracing::warn!("the user worker did not bind the Spark table: {e:?}");
        }
    }
    super::super::load::finish(svc, state, dataset, text, sink).await;
    ExecuteOutcome::ok()
}

/// The table's last name part, or the file's stem: `db.orders` -> orders, `/d/trips.parquet`
/// -> trips.
fn default_name(source: &str) -> String {
    let last = source
        .trim_end_matches('/')
        .rsplit(['/', '.'])
        .find(|p| !p.is_empty() && !matches!(*p, "parquet" | "csv" | "json" | "orc" | "pq"))
        .unwrap_or("data");
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if cleaned.starts_with(|c: char| c.is_ascii_alphabetic()) {
        cleaned
    } else {
        format!("t_{cleaned}")
    }
}

/// A name a temporary view, a Python variable and the validator's table list all take.
fn is_view_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Identity of a Spark table for replay and sessions: where it is, what, its size and
/// columns (the data itself is not read here; a changed table changes its row count or
/// schema in most cases, and the profile says when it was taken).
fn fingerprint(location: &str, source: &str, profile: &Value) -> String {
    let key = format!(
        "{location}|{source}|{}|{}|{}",
        profile["rows"], profile["sql_types"], profile["null_counts"]
    );
    let hash = xxhash_rust::xxh3::xxh3_128(key.as_bytes());
    format!("spark:{hash:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_sources() {
        assert_eq!(default_name("sales.orders"), "orders");
        assert_eq!(default_name("/data/trips.parquet"), "trips");
        assert_eq!(default_name("s3a://bucket/yellow-2024/"), "yellow_2024");
        assert_eq!(default_name("/d/2024.csv"), "t_2024");
        assert!(is_view_name("trips_2"));
        assert!(!is_view_name("2trips"));
        assert!(!is_view_name("a-b"));
    }
}
