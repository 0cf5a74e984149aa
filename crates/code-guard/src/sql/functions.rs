//! Which DuckDB functions a checked query may call: the table-function
//! allowlist and the deny list of functions that read files, reach the
//! network, run SQL given as text, or read or change settings.

/// The only functions allowed in `FROM`: they generate rows from their
/// arguments and read nothing.
const TABLE_FUNCTIONS: &[&str] = &["range", "generate_series", "unnest"];

/// Functions refused anywhere (as table functions, scalars or aggregates).
const DENIED_FUNCTIONS: &[&str] = &[
    // Files (the `read_` prefix covers read_csv, read_csv_auto, read_json*,
    // read_ndjson*, read_parquet, read_text, read_blob, read_xlsx, ...).
    "glob",
    "parquet_scan",
    "parquet_metadata",
    "parquet_schema",
    "parquet_file_metadata",
    "parquet_kv_metadata",
    "parquet_bloom_probe",
    "sniff_csv",
    "scan_arrow_ipc",
    "arrow_scan",
    "arrow_scan_dumb",
    "st_read",
    "st_read_meta",
    "st_readosm",
    "st_readshp",
    "st_drivers",
    "iceberg_scan",
    "iceberg_metadata",
    "iceberg_snapshots",
    "delta_scan",
    // Other databases.
    "sqlite_scan",
    "sqlite_query",
    "sqlite_attach",
    "postgres_scan",
    "postgres_scan_pushdown",
    "postgres_query",
    "postgres_execute",
    "postgres_attach",
    "mysql_scan",
    "mysql_query",
    "mysql_execute",
    // SQL given as text or as a plan.
    "query",
    "query_table",
    "json_execute_serialized_sql",
    "from_substrait",
    "from_substrait_json",
    // The environment, settings, secrets and catalog state.
    "getenv",
    "current_setting",
    "getvariable",
    "which_secret",
    "load_aws_credentials",
    "nextval",
    "currval",
    "checkpoint",
    "force_checkpoint",
    "enable_logging",
    "disable_logging",
];

/// Name prefixes refused anywhere: file readers, DuckDB's catalog and
/// settings functions, PRAGMA functions, HTTP clients and the scanners of
/// lakehouse and external-database extensions.
const DENIED_PREFIXES: &[&str] = &[
    "read_",
    "duckdb_",
    "pragma_",
    "http",
    "iceberg_",
    "delta_",
    "ducklake_",
    "sqlite_",
    "postgres_",
    "mysql_",
];

/// Whether `name` (any case) may be used as a table function in `FROM`.
pub(super) fn is_table_function(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    TABLE_FUNCTIONS.contains(&name.as_str())
}

/// Whether `name` (any case) is a function no query may call.
pub(super) fn is_denied_function(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    DENIED_FUNCTIONS.contains(&name.as_str()) || DENIED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The allowed table functions, for messages.
pub(super) fn table_functions() -> String {
    TABLE_FUNCTIONS
        .iter()
        .map(|f| format!("{f}()"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_case() {
        assert!(is_denied_function("READ_CSV_AUTO"));
        assert!(is_denied_function("duckdb_settings"));
        assert!(is_denied_function("pragma_table_info"));
        assert!(is_denied_function("http_get"));
        assert!(is_denied_function("GetEnv"));
        assert!(!is_denied_function("sum"));
        assert!(!is_denied_function("regexp_replace"));
        assert!(!is_denied_function("thread_count"));
        assert!(is_table_function("Generate_Series"));
        assert!(!is_table_function("read_csv"));
    }
}
