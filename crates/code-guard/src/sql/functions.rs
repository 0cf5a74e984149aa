//! Which functions a checked query may call, per dialect: the
//! table-function allowlist and the deny list of functions that read files,
//! reach the network, run SQL given as text, run code, or read or change
//! settings.

use super::SqlDialect;

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

/// Spark's generators: the only functions allowed in `FROM` of a Spark query.
const SPARK_TABLE_FUNCTIONS: &[&str] = &[
    "range",
    "explode",
    "explode_outer",
    "inline",
    "inline_outer",
    "posexplode",
    "posexplode_outer",
    "stack",
];

/// Spark functions refused anywhere: `reflect`/`java_method` call any
/// static Java method on the cluster (System.getProperty, file access, ...);
/// `input_file_*` tell file paths; the rest read files or secrets on
/// platforms built on Spark.
const SPARK_DENIED_FUNCTIONS: &[&str] = &[
    "reflect",
    "java_method",
    "try_reflect",
    "input_file_name",
    "input_file_block_start",
    "input_file_block_length",
    "secret",
    "try_secret",
    "current_setting",
    "cloud_files_state",
];

/// Spark name prefixes refused anywhere (file readers, HTTP clients).
const SPARK_DENIED_PREFIXES: &[&str] = &["read_", "http", "ai_", "vector_search"];

/// Whether `name` (any case) may be used as a table function in `FROM`.
pub(super) fn is_table_function(name: &str, dialect: SqlDialect) -> bool {
    let name = name.to_ascii_lowercase();
    table_function_list(dialect).contains(&name.as_str())
}

/// Whether `name` (any case) is a function no query may call.
pub(super) fn is_denied_function(name: &str, dialect: SqlDialect) -> bool {
    let name = name.to_ascii_lowercase();
    let (names, prefixes) = match dialect {
        SqlDialect::DuckDb => (DENIED_FUNCTIONS, DENIED_PREFIXES),
        SqlDialect::Spark => (SPARK_DENIED_FUNCTIONS, SPARK_DENIED_PREFIXES),
    };
    names.contains(&name.as_str()) || prefixes.iter().any(|p| name.starts_with(p))
}

fn table_function_list(dialect: SqlDialect) -> &'static [&'static str] {
    match dialect {
        SqlDialect::DuckDb => TABLE_FUNCTIONS,
        SqlDialect::Spark => SPARK_TABLE_FUNCTIONS,
    }
}

/// The allowed table functions, for messages.
pub(super) fn table_functions(dialect: SqlDialect) -> String {
    table_function_list(dialect)
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
        let duck = SqlDialect::DuckDb;
        assert!(is_denied_function("READ_CSV_AUTO", duck));
        assert!(is_denied_function("duckdb_settings", duck));
        assert!(is_denied_function("pragma_table_info", duck));
        assert!(is_denied_function("http_get", duck));
        assert!(is_denied_function("GetEnv", duck));
        assert!(!is_denied_function("sum", duck));
        assert!(!is_denied_function("regexp_replace", duck));
        assert!(!is_denied_function("thread_count", duck));
        assert!(is_table_function("Generate_Series", duck));
        assert!(!is_table_function("read_csv", duck));
    }

    #[test]
    fn spark_lists() {
        let spark = SqlDialect::Spark;
        assert!(is_denied_function("REFLECT", spark));
        assert!(is_denied_function("java_method", spark));
        assert!(is_denied_function("input_file_name", spark));
        assert!(is_denied_function("read_files", spark));
        assert!(!is_denied_function("avg", spark));
        assert!(!is_denied_function("date_trunc", spark));
        assert!(is_table_function("explode", spark));
        assert!(!is_table_function("generate_series", spark));
        assert!(!is_table_function("explode", SqlDialect::DuckDb));
    }
}
