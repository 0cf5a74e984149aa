//! Static validation of model-written SQL (DuckDB, or Spark SQL for tables
//! on a Spark cluster): one read-only query over the registered tables
//! (rule `sql`).

mod functions;
mod message;
mod walk;

use std::ops::ControlFlow;

use sqlparser::ast::Visit;
use sqlparser::dialect::{Dialect, DuckDbDialect, SparkSqlDialect};
use sqlparser::parser::Parser;

use crate::Rejection;

/// Check one DuckDB query before it runs; `tables` are the names it may
/// read (case-insensitive).
///
/// Allowed: exactly one query (`SELECT`, `WITH ... SELECT`, set operations,
/// `VALUES`, DuckDB's `FROM ... SELECT`) whose every table reference is one
/// of `tables` or a CTE in scope (a CTE is visible in its own `WITH` query:
/// the body, the later CTEs, itself too with `RECURSIVE`), with the table
/// functions `range`, `generate_series` and `unnest` in `FROM`, and any
/// function not on the deny list. Refused, with rule `sql`: text that does
/// not parse (the parser's error is quoted), several statements, any
/// statement that is not a query (`ATTACH`, `COPY`, `SET`, `CREATE`, ...),
/// `SELECT ... INTO`, quoted strings in `FROM` (file paths), qualified
/// table names, other table functions, and functions that read files or
/// the network, run SQL text or read settings (`read_*`, `glob`,
/// `parquet_scan`, `sniff_csv`, `query`, `getenv`, `current_setting`,
/// `duckdb_*`, `pragma_*`, `http*`, ...), wherever they are nested.
pub fn check_sql(query: &str, tables: &[&str]) -> Result<(), Rejection> {
    check_sql_in(query, tables, SqlDialect::DuckDb).map(|_| ())
}

/// Which engine runs a query, and so whose SQL it must parse as and whose
/// dangerous functions it may not call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlDialect {
    DuckDb,
    /// Spark SQL through Spark Connect. On top of DuckDB's rules: no
    /// `${...}` (Spark substitutes configuration values into the text, a
    /// token among them), no `reflect`/`java_method` (any static Java
    /// method on the cluster) and no `input_file_*` (file paths).
    Spark,
}

/// Check a query of a session whose registered tables live in DuckDB
/// (`duck_tables`) and on Spark (`spark_tables`), and say which engine runs
/// it: Spark when it reads a Spark table (checked as Spark SQL over those
/// only), else DuckDB. A query reading tables of both is refused.
pub fn check_sql_over(
    query: &str,
    duck_tables: &[&str],
    spark_tables: &[&str],
) -> Result<SqlDialect, Rejection> {
    if spark_tables.is_empty() {
        return check_sql(query, duck_tables).map(|_| SqlDialect::DuckDb);
    }
    let all: Vec<&str> = spark_tables.iter().chain(duck_tables).copied().collect();
    let read = check_sql_in(query, &all, SqlDialect::Spark)?;
    let is_spark = |t: &String| spark_tables.iter().any(|s| s.eq_ignore_ascii_case(t));
    let (spark, duck): (Vec<String>, Vec<String>) = read.into_iter().partition(is_spark);
    match (spark.is_empty(), duck.is_empty()) {
        (false, false) => Err(message::mixed_engines(&spark, &duck)),
        (false, true) => Ok(SqlDialect::Spark),
        (true, _) => check_sql(query, duck_tables).map(|_| SqlDialect::DuckDb),
    }
}

/// [`check_sql`] for `dialect`; on success, the registered tables the
/// query reads (lower-cased, each once, CTEs not counted).
pub fn check_sql_in(
    query: &str,
    tables: &[&str],
    dialect: SqlDialect,
) -> Result<Vec<String>, Rejection> {
    let parser: &dyn Dialect = match dialect {
        SqlDialect::DuckDb => &DuckDbDialect {},
        SqlDialect::Spark => {
            if query.contains("${") {
                return Err(message::substitution());
            }
            &SparkSqlDialect {}
        }
    };
    let statements = Parser::parse_sql(parser, query)
        .map_err(|err| message::syntax(&err.to_string(), dialect))?;
    let [statement] = statements.as_slice() else {
        return Err(message::statement_count(statements.len()));
    };
    let tables: Vec<String> = tables.iter().map(|t| t.to_lowercase()).collect();
    let mut walk = walk::Walk::new(&tables, dialect);
    match statement.visit(&mut walk) {
        ControlFlow::Break(rejection) => Err(rejection),
        ControlFlow::Continue(()) => Ok(walk.read),
    }
}
