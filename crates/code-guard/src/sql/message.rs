//! The sentences of `sql` rejections: what was refused, and what is allowed.

use sqlparser::ast::Statement;

use super::functions;
use crate::Rejection;

const READ_ONLY: &str = "only one read-only query (SELECT, WITH ... SELECT, UNION, ...) over \
                         the registered tables may run";

fn sql(message: String) -> Rejection {
    Rejection::new("sql", message)
}

fn table_list(tables: &[String]) -> String {
    if tables.is_empty() {
        "none are registered".into()
    } else {
        tables.join(", ")
    }
}

pub(super) fn syntax(error: &str, dialect: super::SqlDialect) -> Rejection {
    let name = match dialect {
        super::SqlDialect::DuckDb => "DuckDB",
        super::SqlDialect::Spark => "Spark",
    };
    sql(format!(
        "Forbidden SQL: the query does not parse as {name} SQL ({error}); {READ_ONLY}"
    ))
}

pub(super) fn substitution() -> Rejection {
    sql(format!(
        "Forbidden SQL: '${{' in a Spark query (Spark replaces ${{...}} with configuration \
         values); {READ_ONLY}, with literal values only"
    ))
}

pub(super) fn mixed_engines(spark: &[String], duck: &[String]) -> Rejection {
    sql(format!(
        "Forbidden SQL: one query reads tables of two engines (Spark: {}; DuckDB: {}); query \
         each engine with its own sql() call and combine the results in pandas",
        spark.join(", "),
        duck.join(", ")
    ))
}

pub(super) fn statement_count(count: usize) -> Rejection {
    let what = if count == 0 {
        "no statement".to_string()
    } else {
        format!("{count} statements")
    };
    sql(format!(
        "Forbidden SQL: the text holds {what}; {READ_ONLY}, so pass exactly one SELECT"
    ))
}

pub(super) fn not_a_query(statement: &Statement) -> Rejection {
    let text = statement.to_string();
    let keyword = text
        .split_whitespace()
        .next()
        .unwrap_or("this")
        .to_uppercase();
    sql(format!(
        "Forbidden SQL: a {keyword} statement is not a read-only query; {READ_ONLY} \
         (no ATTACH, INSTALL, LOAD, COPY, SET, PRAGMA, EXPORT, IMPORT, CREATE, INSERT, UPDATE, \
         DELETE, DROP or ALTER)"
    ))
}

pub(super) fn select_into(target: &str) -> Rejection {
    sql(format!(
        "Forbidden SQL: SELECT ... INTO {target} creates a table; {READ_ONLY}, so return the \
         rows instead"
    ))
}

pub(super) fn unknown_table(name: &str, tables: &[String]) -> Rejection {
    sql(format!(
        "Forbidden SQL: the table '{name}' is not a registered table ({}) nor a CTE of an \
         enclosing WITH clause; a query may read only those (a CTE is visible only inside its \
         own WITH query)",
        table_list(tables)
    ))
}

pub(super) fn qualified_table(name: &str, tables: &[String]) -> Rejection {
    sql(format!(
        "Forbidden SQL: the table reference '{name}' names a schema, catalog or path; refer to \
         the registered tables by their plain names ({})",
        table_list(tables)
    ))
}

pub(super) fn file_in_from(path: &str, tables: &[String]) -> Rejection {
    sql(format!(
        "Forbidden SQL: FROM '{path}' is a string, which DuckDB reads as a file path; read only \
         the registered tables by name, without quotes ({})",
        table_list(tables)
    ))
}

pub(super) fn table_function(name: &str, dialect: super::SqlDialect) -> Rejection {
    let bare = name.rsplit('.').next().unwrap_or(name);
    let why = if functions::is_denied_function(bare, dialect) {
        " (it reads files, the network, other databases or settings)"
    } else {
        ""
    };
    sql(format!(
        "Forbidden SQL: the table function {name}{why} is not allowed; FROM takes the registered \
         tables, CTEs, subqueries and only the table functions {}",
        functions::table_functions(dialect)
    ))
}

pub(super) fn denied_function(name: &str) -> Rejection {
    sql(format!(
        "Forbidden SQL: the function {name}() reads files, the network, other databases, SQL \
         text, the environment or settings; queries may only compute over the registered tables \
         (aggregates, window, string, date and math functions are fine)"
    ))
}

pub(super) fn computed_name(name: &str) -> Rejection {
    sql(format!(
        "Forbidden SQL: '{name}' is a name computed by a function; write table and function \
         names out"
    ))
}

pub(super) fn unsupported(what: &str) -> Rejection {
    sql(format!(
        "Forbidden SQL: {what} is not supported by the checker; {READ_ONLY}, written as plain \
         SELECT ... FROM ... queries"
    ))
}
