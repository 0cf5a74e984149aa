//! The structure block of one dataset (columns, dtypes, samples, nulls), bounded whatever its width.

use super::text::{cut, joined_within, sql_ident, str_list};
use crate::analysis::quote::{data_text, py_str};
use serde_json::Value;

/// Columns listed one per line with their dtype; beyond this they are grouped by dtype.
const MAX_LISTED_COLUMNS: usize = 60;
/// Character budget for the grouped list of the remaining column names.
const MAX_GROUPED_CHARS: usize = 3_000;
/// Each sample line is cut to this width; wide frames get a column subset anyway.
const MAX_SAMPLE_LINE: usize = 220;
/// The whole sample block stays within this many characters (wide frames wrap into blocks).
pub(super) const MAX_SAMPLE_CHARS: usize = 2_500;
const MAX_NULL_LINES: usize = 40;
/// Sample values shown per column the question refers to, and their width.
const REFERENCED_SAMPLES: usize = 5;
const REFERENCED_VALUE_CHARS: usize = 30;

fn column_info(profile: &Value, columns: &[String]) -> String {
    let dtype = |c: &str| {
        profile
            .pointer(&format!(
                "/dtypes/{}",
                c.replace('~', "~0").replace('/', "~1")
            ))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let mut lines: Vec<String> = columns
        .iter()
        .take(MAX_LISTED_COLUMNS)
        .map(|c| format!("- {}: {}", py_str(c), dtype(c)))
        .collect();
    if columns.len() > MAX_LISTED_COLUMNS {
        let rest = &columns[MAX_LISTED_COLUMNS..];
        let mut by_type: Vec<(String, Vec<String>)> = vec![];
        for c in rest {
            let t = dtype(c);
            match by_type.iter_mut().find(|(k, _)| *k == t) {
                Some((_, v)) => v.push(py_str(c)),
                None => by_type.push((t, vec![py_str(c)])),
            }
        }
        lines.push(format!("... and {} more columns:", rest.len()));
        let budget = MAX_GROUPED_CHARS / by_type.len().max(1);
        for (t, names) in by_type {
            lines.push(format!(
                "  {t} ({}): {}",
                names.len(),
                joined_within(&names, budget)
            ));
        }
    }
    lines.join("\n")
}

fn null_info(profile: &Value, columns: &[String]) -> String {
    let counts = profile.get("null_counts");
    let with_nulls: Vec<String> = columns
        .iter()
        .filter_map(|c| {
            let n = counts?.get(c)?.as_u64()?;
            (n > 0).then(|| format!("- {}: {n} null values", py_str(c)))
        })
        .collect();
    if with_nulls.is_empty() {
        return "No null values".into();
    }
    let total = with_nulls.len();
    let mut lines: Vec<String> = with_nulls.into_iter().take(MAX_NULL_LINES).collect();
    if total > MAX_NULL_LINES {
        lines.push(format!(
            "... and {} more columns with nulls",
            total - MAX_NULL_LINES
        ));
    }
    lines.join("\n")
}

pub(super) fn sample_info(profile: &Value) -> String {
    let text = profile
        .get("sample_text")
        .and_then(Value::as_str)
        .unwrap_or("No data available");
    let text = data_text(text);
    let mut out = String::new();
    for line in text.lines().map(|l| cut(l, MAX_SAMPLE_LINE)) {
        if out.len() + line.len() + 1 > MAX_SAMPLE_CHARS {
            out.push_str("[... more sample columns omitted]");
            break;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// A wide table's columns the question refers to, wherever they sit, in full: dtype, nulls
/// and sample values (from `sample_records`), one line each.
fn referenced_info(profile: &Value, referenced: &[String]) -> String {
    let mut lines = vec!["Columns the question refers to:".to_string()];
    for c in referenced {
        let key = c.replace('~', "~0").replace('/', "~1");
        let dtype = profile
            .pointer(&format!("/dtypes/{key}"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        let nulls = profile
            .pointer(&format!("/null_counts/{key}"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let samples: Vec<String> = profile["sample_records"]
            .as_array()
            .into_iter()
            .flatten()
            .take(REFERENCED_SAMPLES)
            .map(|r| match r.get(c) {
                Some(Value::String(s)) => py_str(&cut(s, REFERENCED_VALUE_CHARS)),
                Some(Value::Null) | None => "None".into(),
                Some(v) => cut(&v.to_string(), REFERENCED_VALUE_CHARS),
            })
            .collect();
        // No sample rows in privacy mode `schema`: dtype and nulls only.
        let line = if samples.is_empty() {
            format!("- {}: {dtype}, {nulls} null values", py_str(c))
        } else {
            format!(
                "- {}: {dtype}, {nulls} null values, first values: {}",
                py_str(c),
                samples.join(", ")
            )
        };
        lines.push(cut(&line, MAX_SAMPLE_LINE));
    }
    lines.join("\n")
}

/// The structure block for one dataset; `referenced` are the columns the question names
/// (described in full even when a wide table lists them only by name).
pub fn describe_dataset(profile: &Value, intro: &str, referenced: &[String]) -> String {
    let columns = str_list(profile, "columns");
    let rows = profile.get("rows").and_then(Value::as_u64).unwrap_or(0);
    let sample_rows = profile
        .get("sample_records")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let quoted =
        |key: &str| -> Vec<String> { str_list(profile, key).iter().map(|c| py_str(c)).collect() };
    let numeric = joined_within(&quoted("numeric_columns"), 1_000);
    let categorical = joined_within(&quoted("categorical_columns"), 1_000);
    let mut listed = column_info(profile, &columns);
    if columns.len() > MAX_LISTED_COLUMNS && !referenced.is_empty() {
        listed.push_str("\n\n");
        listed.push_str(&referenced_info(profile, referenced));
    }
    format!(
        "{intro}\n\nShape: {rows} rows × {} columns\n\nColumns and types:\n{}\n\nNumeric columns: {numeric}\nCategorical columns: {categorical}\n\nFirst {sample_rows} rows of data:\n{}\n\nNull value counts per column:\n{}\n",
        columns.len(),
        listed,
        sample_info(profile),
        null_info(profile, &columns),
    )
}

/// A dataset DuckDB queries where it lies (`%load --engine duckdb`) or that lives on a
/// Spark cluster (`%load spark:`) and is too large for pandas: not a DataFrame.
pub fn is_sql_table(profile: &Value) -> bool {
    profile["engine"] == "duckdb" || is_spark_table(profile)
}

/// A table on the Spark cluster that the model must query with SQL. One that fits pandas
/// is read whole for code that uses it, so the model is shown a DataFrame: a 1.5B model
/// told "Spark" wrote `pd.read_sql(..., con=spark)` instead of pandas or sql().
pub fn is_spark_table(profile: &Value) -> bool {
    profile["engine"] == "spark" && profile["fits_pandas"] != true
}

/// `"name" BIGINT, "city" VARCHAR` for a DuckDB table, within a bounded length.
pub(super) fn sql_types(profile: &Value) -> Option<String> {
    let types = profile["sql_types"].as_object()?;
    let listed: Vec<String> = types
        .iter()
        .map(|(c, t)| format!("{} {}", sql_ident(c), t.as_str().unwrap_or("?")))
        .collect();
    Some(joined_within(&listed, 2_000))
}
