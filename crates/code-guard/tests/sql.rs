//! `check_sql`: one read-only DuckDB query over the registered tables.

use code_guard::check_sql;

const TABLES: &[&str] = &["sales", "Customers"];

#[track_caller]
fn allowed(query: &str) {
    if let Err(rejection) = check_sql(query, TABLES) {
        panic!("refused {query:?}: {rejection}");
    }
}

/// Refused with rule `sql` and a message containing `needle`.
#[track_caller]
fn refused(query: &str, needle: &str) {
    match check_sql(query, TABLES) {
        Ok(()) => panic!("allowed {query:?}"),
        Err(rejection) => {
            assert_eq!(rejection.rule, "sql", "{query:?}: {rejection}");
            assert!(
                rejection.message.contains(needle),
                "{query:?}: message {:?} lacks {needle:?}",
                rejection.message
            );
        }
    }
}

#[test]
fn allows_aggregates_and_group_by() {
    allowed("SELECT region, SUM(amount) AS total, COUNT(*) FROM sales GROUP BY region");
    allowed("SELECT region, avg(amount) FROM sales GROUP BY ALL HAVING avg(amount) > 10 ORDER BY 2 DESC LIMIT 5");
    allowed("select count(distinct customer_id) from SALES;");
    allowed("SELECT median(amount), quantile_cont(amount, 0.9), stddev_samp(amount) FROM sales");
    allowed("SELECT region, sum(amount) FILTER (WHERE amount > 0) FROM sales GROUP BY region");
    allowed("FROM sales SELECT region, max(amount) GROUP BY region");
    allowed("SELECT 1 + 1");
}

#[test]
fn allows_window_functions_and_qualify() {
    allowed(
        "SELECT region, amount, rank() OVER (PARTITION BY region ORDER BY amount DESC) AS r, \
         sum(amount) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) FROM sales",
    );
    allowed(
        "SELECT * FROM sales QUALIFY row_number() OVER (PARTITION BY region ORDER BY amount DESC) = 1",
    );
    allowed("SELECT lag(amount) OVER w FROM sales WINDOW w AS (ORDER BY day)");
}

#[test]
fn allows_ctes_joins_and_subqueries() {
    allowed(
        "WITH totals AS (SELECT customer_id, sum(amount) AS t FROM sales GROUP BY 1), \
         big AS (SELECT * FROM totals WHERE t > 100) \
         SELECT c.name, big.t FROM big JOIN customers c ON c.id = big.customer_id",
    );
    allowed("SELECT * FROM sales s LEFT JOIN Customers c USING (customer_id)");
    allowed("SELECT * FROM sales WHERE customer_id IN (SELECT id FROM customers WHERE vip)");
    allowed(
        "SELECT * FROM (SELECT region, sum(amount) s FROM sales GROUP BY region) t WHERE s > 0",
    );
    allowed("SELECT (SELECT max(amount) FROM sales) AS m, EXISTS (SELECT 1 FROM customers) AS e");
    allowed("SELECT region FROM sales UNION ALL SELECT city FROM customers EXCEPT SELECT 'x'");
    allowed("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT * FROM n");
    // A CTE may shadow a table; a nested WITH sees the outer CTEs.
    allowed("WITH sales AS (SELECT 1 AS x) SELECT * FROM sales");
    allowed(
        "WITH a AS (SELECT 1 AS x) SELECT * FROM (WITH b AS (SELECT * FROM a) SELECT * FROM b)",
    );
    allowed("SELECT * FROM sales, LATERAL (SELECT amount * 2 AS double) d");
    allowed("SELECT \"amount\" FROM \"Sales\"");
}

#[test]
fn allows_string_date_and_generator_functions() {
    allowed(
        "SELECT upper(name), lower(name), length(name), concat(name, '!'), name || '?', \
         regexp_replace(name, '[0-9]+', ''), split_part(name, ' ', 1), strftime(day, '%Y-%m'), \
         date_trunc('month', day), CAST(amount AS INTEGER), amount::DOUBLE, \
         CASE WHEN amount > 0 THEN 'pos' ELSE 'neg' END, coalesce(city, 'n/a'), \
         list_transform([1, 2], x -> x + 1) FROM customers, sales",
    );
    allowed("SELECT * FROM range(10) t(i)");
    allowed("SELECT * FROM generate_series(1, 5) AS g(x) JOIN sales ON sales.id = g.x");
    allowed("SELECT unnest([1, 2, 3]) AS x");
    allowed("SELECT * FROM unnest([1, 2, 3]) AS t(x)");
    allowed("VALUES (1, 'a'), (2, 'b')");
}

#[test]
fn refuses_unparseable_sql_quoting_the_parser() {
    refused("SELEC * FROM sales", "does not parse");
    refused("SELECT * FROM sales WHERE", "sql parser error");
    refused("SELECT * FROM sales WHERE", "read-only query");
}

#[test]
fn refuses_anything_but_exactly_one_statement() {
    refused("", "no statement");
    refused("SELECT 1; SELECT 2", "2 statements");
    refused("SELECT * FROM sales; DROP TABLE sales", "2 statements");
}

#[test]
fn refuses_statements_that_are_not_read_only_queries() {
    for (statement, keyword) in [
        ("ATTACH 'other.db' AS o", "ATTACH"),
        ("INSTALL httpfs", "INSTALL"),
        ("LOAD httpfs", "LOAD"),
        ("COPY sales TO 'out.csv'", "COPY"),
        ("SET threads = 1", "SET"),
        ("CREATE TABLE t AS SELECT * FROM sales", "CREATE"),
        ("CREATE VIEW v AS SELECT 1", "CREATE"),
        ("INSERT INTO sales VALUES (1)", "INSERT"),
        ("UPDATE sales SET amount = 0", "UPDATE"),
        ("DELETE FROM sales", "DELETE"),
        ("DROP TABLE sales", "DROP"),
        ("ALTER TABLE sales ADD COLUMN x INT", "ALTER"),
        ("EXPLAIN SELECT 1", "EXPLAIN"),
        ("DESCRIBE sales", "DESC"),
    ] {
        refused(statement, keyword);
        refused(statement, "read-only");
    }
    // Statements the parser does not know are refused as unparseable, with
    // the same pointer to what is allowed.
    for statement in [
        "PRAGMA enable_profiling",
        "EXPORT DATABASE 'dir'",
        "IMPORT DATABASE 'dir'",
    ] {
        refused(statement, "read-only");
    }
    refused("SELECT * INTO new_table FROM sales", "INTO");
}

#[test]
fn refuses_unregistered_and_qualified_tables() {
    refused("SELECT * FROM orders", "'orders' is not a registered table");
    refused("SELECT * FROM sales JOIN secrets USING (id)", "'secrets'");
    refused("SELECT * FROM main.sales", "plain names");
    refused("SELECT * FROM other_db.main.sales", "plain names");
    refused("SELECT * FROM information_schema.tables", "plain names");
    refused("SELECT * FROM duckdb_tables", "'duckdb_tables'");
    refused(
        "SELECT * FROM sales WHERE id IN (SELECT id FROM orders)",
        "'orders'",
    );
}

#[test]
fn refuses_strings_in_from() {
    refused("SELECT * FROM 'data.csv'", "file path");
    refused("SELECT * FROM 'sales'", "file path");
    refused("FROM 's3://bucket/x.parquet'", "file path");
    refused(
        "SELECT * FROM sales JOIN 'other.parquet' USING (id)",
        "file path",
    );
    refused(
        "SELECT * FROM sales WHERE id IN (FROM 'ids.csv')",
        "file path",
    );
    refused(
        "SELECT * FROM \"data.csv\"",
        "'data.csv' is not a registered table",
    );
}

#[test]
fn refuses_table_functions_other_than_generators() {
    refused("SELECT * FROM read_csv('x.csv')", "read_csv");
    refused("SELECT * FROM read_csv_auto('x.csv')", "reads files");
    refused("SELECT * FROM read_parquet('x.parquet')", "read_parquet");
    refused("SELECT * FROM read_json_auto('x.json')", "read_json_auto");
    refused("SELECT * FROM read_text('/etc/passwd')", "read_text");
    refused("SELECT * FROM read_blob('x')", "read_blob");
    refused("SELECT * FROM glob('*')", "glob");
    refused("SELECT * FROM parquet_scan('x')", "parquet_scan");
    refused("SELECT * FROM sniff_csv('x.csv')", "sniff_csv");
    refused("SELECT * FROM duckdb_settings()", "duckdb_settings");
    refused(
        "SELECT * FROM pragma_table_info('sales')",
        "pragma_table_info",
    );
    refused("SELECT * FROM query('SELECT 1')", "query");
    refused("SELECT * FROM query_table('sales')", "query_table");
    refused("SELECT * FROM iceberg_scan('s3://x')", "iceberg_scan");
    refused("SELECT * FROM delta_scan('x')", "delta_scan");
    refused("SELECT * FROM summary(sales)", "summary");
    refused(
        "SELECT * FROM sales JOIN read_csv('x.csv') r USING (id)",
        "read_csv",
    );
    refused("SELECT * FROM main.range(3)", "main.range");
    refused(
        "SELECT * FROM range(3) t, generate_series(1, 2) g, repeat(1, 3) r",
        "repeat",
    );
}

#[test]
fn refuses_functions_that_read_files_network_or_settings() {
    for call in [
        "getenv('HOME')",
        "current_setting('threads')",
        "getvariable('x')",
        "read_text('/etc/passwd')",
        "http_get('http://example.com')",
        "duckdb_extensions()",
        "pragma_version()",
        "nextval('seq')",
        "json_execute_serialized_sql('x')",
        "main.getenv('HOME')",
        "GETENV('HOME')",
    ] {
        refused(&format!("SELECT {call}"), "reads files, the network");
    }
}

#[test]
fn refuses_nested_violations() {
    // A file read in a subquery, a CTE, a join condition, a window, a lambda.
    refused(
        "SELECT * FROM sales WHERE amount > (SELECT max(x) FROM read_csv('x.csv'))",
        "read_csv",
    );
    refused(
        "WITH t AS (SELECT * FROM 'x.csv') SELECT * FROM t",
        "file path",
    );
    refused(
        "SELECT * FROM sales s JOIN customers c ON c.id = s.id AND getenv('x') = ''",
        "getenv",
    );
    refused(
        "SELECT sum(amount) OVER (PARTITION BY current_setting('x')) FROM sales",
        "current_setting",
    );
    refused("SELECT list_transform([1], x -> getenv('x'))", "getenv");
    refused(
        "SELECT * FROM (SELECT * FROM (SELECT * FROM sales UNION SELECT * FROM orders))",
        "'orders'",
    );
    refused(
        "SELECT * FROM range(3) r JOIN LATERAL (SELECT * FROM read_parquet('y')) p ON true",
        "read_parquet",
    );
    refused(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM glob('*')) THEN 1 END FROM sales",
        "glob",
    );
}

#[test]
fn cte_names_are_scoped_to_their_with() {
    // Used outside its WITH: in a sibling subquery, after the WITH query,
    // in an outer query.
    refused(
        "SELECT * FROM (WITH t AS (SELECT 1) SELECT * FROM t) a, t",
        "'t' is not a registered table",
    );
    refused(
        "SELECT (WITH t AS (SELECT 1 AS x) SELECT x FROM t), (SELECT x FROM t)",
        "'t'",
    );
    refused(
        "SELECT * FROM sales UNION ALL (WITH t AS (SELECT 1) SELECT * FROM t) UNION ALL SELECT * FROM t",
        "'t'",
    );
    // A CTE sees only the CTEs before it, not itself (without RECURSIVE)
    // nor later ones.
    refused(
        "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a",
        "'b'",
    );
    refused("WITH a AS (SELECT * FROM a) SELECT * FROM a", "'a'");
    refused(
        "WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a",
        "'b'",
    );
    // A nested WITH's names end with it, even inside the outer WITH.
    refused(
        "WITH a AS (WITH inner_t AS (SELECT 1) SELECT * FROM inner_t), \
         b AS (SELECT * FROM inner_t) SELECT * FROM b",
        "'inner_t'",
    );
}

#[test]
fn messages_name_the_registered_tables() {
    let rejection = check_sql("SELECT * FROM orders", &["sales", "customers"]).unwrap_err();
    assert!(
        rejection.message.contains("sales, customers"),
        "{rejection}"
    );
    let rejection = check_sql("SELECT * FROM orders", &[]).unwrap_err();
    assert!(
        rejection.message.contains("none are registered"),
        "{rejection}"
    );
}
