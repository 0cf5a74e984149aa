//! Static validation of model-written DuckDB queries: one read-only query
//! over the registered tables (rule `sql`).

mod functions;
mod message;
mod walk;

use std::ops::ControlFlow;

use sqlparser::ast::Visit;
use sqlparser::dialect::DuckDbDialect;
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
    let statements = Parser::parse_sql(&DuckDbDialect {}, query)
        .map_err(|err| message::syntax(&err.to_string()))?;
    let [statement] = statements.as_slice() else {
        return Err(message::statement_count(statements.len()));
    };
    let tables: Vec<String> = tables.iter().map(|t| t.to_lowercase()).collect();
    match statement.visit(&mut walk::Walk::new(&tables)) {
        ControlFlow::Break(rejection) => Err(rejection),
        ControlFlow::Continue(()) => Ok(()),
    }
}
