//! A question's Spark queries, run before its code: the validator extracts every `sql("...")`
//! literal and says which read Spark tables; the Spark engine runs those on the cluster and
//! writes each result as an Arrow file the question worker (no network) reads by query text.

use super::super::services::Services;
use super::super::state::State;
use super::super::worker_client::{CallError, Request};
use super::connect::link;
use super::errors::{last_error, why};
use crate::protocol::backend::ErrorInfo;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// At most this many rows (and bytes) of one result come into pandas; a larger result is
/// refused with a message that says to aggregate in SQL, as for DuckDB (a cut table gives
/// wrong answers).
pub const MAX_ROWS: u64 = 1_000_000;
pub const MAX_BYTES: u64 = 256 << 20;

static NEXT_RESULT: AtomicU64 = AtomicU64::new(1);

/// Run the Spark queries of `code` and return what the worker's `sql()` needs: query text ->
/// {"path", "rows_returned", "seconds"}, {"refused": true, ...} over the bounds, or {"error"}
/// when Spark refused the query (the code then fails at that call and the model may repair
/// it). Null when the code has none. The result files are listed in `files` for removal.
pub async fn prepare(
    svc: &Services,
    state: &mut State,
    code: &str,
    files: &mut Vec<PathBuf>,
) -> Result<Value, ErrorInfo> {
    let tables = state.sql_tables();
    if tables.spark.is_empty() {
        return Ok(Value::Null);
    }
    let policy = code_guard::Policy {
        require_result: false,
        // The DuckDB tables too, so a query is routed as the validator routed it.
        sql_tables: tables.duckdb,
        spark_tables: tables.spark,
        ..Default::default()
    };
    // Code the validator refused never runs; without the validator (escape tests), code
    // that does not pass gets no Spark result either.
    let Ok(queries) = code_guard::validate_with_queries(code, &policy) else {
        return Ok(Value::Null);
    };
    let jobs: Vec<(String, u64)> = queries
        .into_iter()
        .filter(|q| q.dialect == code_guard::SqlDialect::Spark)
        .map(|q| (q.text, MAX_ROWS))
        .collect();
    let reads = selections(state, code, svc.settings.max_dataframe_size, true);
    run(svc, state, jobs, reads, Map::new(), files).await
}

/// `prepare` for a `%%python` cell (the user's own code, not validated as a whole): its
/// `sql('...')` literals that read Spark tables, each checked as a question's would be (a
/// refused one gets the reason, raised at its call), and the columns it selects. A Spark
/// table's name stays a reference in the user's namespace, so no table is read whole.
pub async fn prepare_cell(
    svc: &Services,
    state: &mut State,
    code: &str,
    files: &mut Vec<PathBuf>,
) -> Result<Value, ErrorInfo> {
    let tables = state.sql_tables();
    if tables.spark.is_empty() {
        return Ok(Value::Null);
    }
    let duck: Vec<&str> = tables.duckdb.iter().map(String::as_str).collect();
    let spark: Vec<&str> = tables.spark.iter().map(String::as_str).collect();
    let mut jobs = Vec::new();
    let mut prepared = Map::new();
    for query in code_guard::sql_literals(code) {
        match code_guard::check_sql_over(&query, &duck, &spark) {
            Ok(code_guard::SqlDialect::Spark) => jobs.push((query, MAX_ROWS)),
            Ok(code_guard::SqlDialect::DuckDb) => {}
            Err(rejection) => {
                prepared.insert(query, json!({"error": rejection.message}));
            }
        }
    }
    let reads = selections(state, code, svc.settings.max_dataframe_size, false);
    run(svc, state, jobs, reads, prepared, files).await
}

/// Run `jobs` (query, row bound) and the `reads` of pandas code on the Spark engine, into
/// Arrow files listed in `files`; `prepared` holds entries decided without Spark.
async fn run(
    svc: &Services,
    state: &mut State,
    mut jobs: Vec<(String, u64)>,
    reads: Vec<(String, Option<u64>)>,
    mut prepared: Map<String, Value>,
    files: &mut Vec<PathBuf>,
) -> Result<Value, ErrorInfo> {
    for (sql, fits) in reads {
        match fits {
            Some(rows) => jobs.push((sql, rows)),
            None => {
                prepared.insert(sql, json!({"refused": true}));
            }
        }
    }
    if jobs.is_empty() && prepared.is_empty() {
        return Ok(Value::Null);
    }
    let dir = svc.scratch_path().join("spark");
    std::fs::create_dir_all(&dir).map_err(|e| {
        ErrorInfo::new(
            "SparkError",
            format!("Cannot write Spark results to {}: {e}", dir.display()),
        )
    })?;
    let timeout = svc.settings.spark_query_timeout;
    let link = link(svc, state).await?;
    for (sql, max_rows) in jobs {
        let out = dir.join(format!(
            "result-{}.arrow",
            NEXT_RESULT.fetch_add(1, Ordering::Relaxed)
        ));
        let request = Request::SparkRun {
            sql: sql.clone(),
            max_rows,
            max_bytes: MAX_BYTES,
            out: out.clone(),
        };
        let entry = match link.call(request, timeout).await {
            Ok(mut info) => {
                if info.get("refused").is_none() {
                    info["path"] = json!(out);
                    files.push(out);
                }
                info
            }
            Err(CallError::Failed(traceback)) => {
                json!({"error": format!("Spark refused the query: {}", last_error(&traceback))})
            }
            Err(CallError::Timeout) => {
                // The engine is still waiting on the cluster: end it (the next use reopens).
                if let Some(old) = state.spark.take() {
                    old.close().await;
                }
                return Err(ErrorInfo::new(
                    "TimeoutError",
                    format!(
                        "The Spark query ran longer than SPARK_QUERY_TIMEOUT={} s and was stopped: {sql}",
                        timeout.as_secs_f64()
                    ),
                ));
            }
            Err(CallError::Interrupted) | Err(CallError::Unresponsive) => {
                return Err(ErrorInfo::new(
                    "KeyboardInterrupt",
                    "Interrupted while Spark ran the query.",
                ))
            }
            Err(other) => {
                return Err(ErrorInfo::new(
                    "SparkError",
                    format!("The Spark engine failed: {}", why(&other)),
                ))
            }
        };
        prepared.insert(sql, entry);
    }
    Ok(Value::Object(prepared))
}

/// What the code reads from Spark tables besides its sql() queries. Models trained on pandas
/// write pandas whatever the prompt says (a 1.5B model did on 10 of 10 questions), so a table
/// that fits MAX_DATAFRAME_SIZE cells (the profile gives the row count) and that the code
/// uses by name is read whole; of a larger one, the columns the code selects
/// (`trips['fare']`, `df[['a', 'b']]`) when they fit. Each comes
/// as the projection the worker's table reference asks for (worker/runtime/engines.py
/// `projection`), with its row bound, or None when it does not fit (the worker refuses it,
/// saying to aggregate in SQL). Columns not in the table are left to fail in the worker.
fn selections(
    state: &State,
    code: &str,
    max_cells: u64,
    whole_tables: bool,
) -> Vec<(String, Option<u64>)> {
    let spark: Vec<&super::super::state::Dataset> = state
        .datasets
        .iter()
        .filter(|d| d.spark.is_some())
        .collect();
    let current = state.datasets.last().filter(|d| d.spark.is_some());
    let mut names: Vec<&str> = spark.iter().map(|d| d.name.as_str()).collect();
    if current.is_some() {
        names.push("df");
    }
    let mut out = Vec::new();
    // A table that fits pandas, used as a DataFrame (its name outside sql()'s strings): read
    // whole, so pandas code answers as it would on a loaded file. Selections are then moot.
    let (used, _) = code_guard::names_and_strings(code);
    let mut whole: Vec<&str> = Vec::new();
    for table in &spark {
        let by_name = used.iter().any(|n| n == &table.name);
        let as_df = used.iter().any(|n| n == "df") && current.is_some_and(|c| c.name == table.name);
        let columns = table.profile["columns"]
            .as_array()
            .map_or(1, Vec::len)
            .max(1) as u64;
        let rows = table.profile["rows"].as_u64().unwrap_or(u64::MAX);
        if whole_tables && (by_name || as_df) && rows.saturating_mul(columns) <= max_cells {
            out.push((whole_table(&table.name), Some(rows.max(1))));
            whole.push(table.name.as_str());
        }
    }
    for (name, columns) in code_guard::column_selections(code, &names) {
        let table = match name.as_str() {
            "df" => current,
            other => spark.iter().copied().find(|d| d.name == other),
        };
        let Some(table) = table else { continue };
        if whole.contains(&table.name.as_str()) {
            continue;
        }
        let known = table.profile["columns"].as_array();
        let all_known = columns
            .iter()
            .all(|c| known.is_some_and(|k| k.iter().any(|x| x == c)));
        if !all_known {
            continue;
        }
        let limit = (max_cells / columns.len() as u64).max(1);
        let rows = table.profile["rows"].as_u64().unwrap_or(u64::MAX);
        let sql = projection(&table.name, &columns);
        if !out.iter().any(|(s, _)| s == &sql) {
            out.push((sql, (rows <= limit).then_some(limit)));
        }
    }
    out
}

/// `SELECT * FROM "trips"`: the same text the worker looks up for a table read whole.
fn whole_table(table: &str) -> String {
    format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""))
}

/// `SELECT "a", "b" FROM "trips"`: the same text the worker builds for `trips[['a', 'b']]`.
fn projection(table: &str, columns: &[String]) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let picked: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    format!("SELECT {} FROM {}", picked.join(", "), quote(table))
}

#[cfg(test)]
mod tests {
    use super::projection;

    #[test]
    fn projections_quote_as_the_worker_does() {
        assert_eq!(
            projection("trips", &["fare".into(), "say \"hi\"".into()]),
            "SELECT \"fare\", \"say \"\"hi\"\"\" FROM \"trips\""
        );
    }
}
