//! Spark SQL through `sql()`: the queries of tables on a Spark cluster are
//! checked as Spark SQL, with Spark's own dangers refused, and reported to
//! the kernel (which runs them on the cluster before the code runs).

use code_guard::{check_sql_in, check_sql_over, validate_with_queries, Policy, SqlDialect};

fn spark(query: &str) -> Result<Vec<String>, String> {
    check_sql_in(query, &["trips"], SqlDialect::Spark).map_err(|r| r.message)
}

#[test]
fn spark_reads_registered_tables_with_its_own_syntax() {
    assert_eq!(
        spark("SELECT `zone`, avg(fare) AS f FROM trips GROUP BY `zone` ORDER BY f DESC LIMIT 5"),
        Ok(vec!["trips".to_string()])
    );
    assert_eq!(
        spark("WITH t AS (SELECT * FROM Trips) SELECT count(*) FROM t"),
        Ok(vec!["trips".to_string()])
    );
    assert!(spark("SELECT explode(array(1, 2))").is_ok());
    assert!(spark("SELECT * FROM range(10)").is_ok());
}

#[test]
fn spark_dangers_are_refused() {
    for (query, says) in [
        // Configuration values (a token among them) substituted into the text.
        ("SELECT '${spark.connect.token}' AS x", "${"),
        (
            "SELECT reflect('java.lang.System', 'getProperty', 'user.home')",
            "reflect",
        ),
        (
            "SELECT java_method('java.lang.System', 'exit', 0)",
            "java_method",
        ),
        ("SELECT input_file_name() FROM trips", "input_file_name"),
        ("SELECT * FROM parquet.`/etc/passwd`", "names a schema"),
        ("SELECT * FROM `/data/secret.parquet`", "not a registered"),
        ("SELECT * FROM read_files('/etc')", "read_files"),
        ("SET spark.sql.ansi.enabled=false", "not a read-only query"),
        (
            "CREATE TEMPORARY VIEW v AS SELECT 1",
            "not a read-only query",
        ),
        ("SELECT 1; SELECT 2", "2 statements"),
        ("SELECT * FROM other", "not a registered"),
    ] {
        let err = spark(query).expect_err(query);
        assert!(
            err.to_lowercase().contains(&says.to_lowercase()),
            "{query}: {err}"
        );
    }
}

#[test]
fn a_session_with_both_engines_routes_each_query() {
    let route = |q: &str| check_sql_over(q, &["big"], &["trips"]).map_err(|r| r.message);
    assert_eq!(route("SELECT count(*) FROM trips"), Ok(SqlDialect::Spark));
    assert_eq!(route("SELECT count(*) FROM big"), Ok(SqlDialect::DuckDb));
    let mixed = route("SELECT * FROM trips JOIN big USING (id)").unwrap_err();
    assert!(mixed.contains("two engines"), "{mixed}");
    // DuckDB's own rules still hold for its tables.
    assert!(route("SELECT * FROM read_csv('/etc/passwd')").is_err());
}

#[test]
fn validation_reports_the_queries_and_their_engine() {
    let policy = Policy {
        require_result: false,
        sql_tables: vec!["big".into()],
        spark_tables: vec!["trips".into()],
        ..Default::default()
    };
    let code = "q = 'SELECT count(*) AS n FROM trips'\n\
                a = sql(q)\n\
                b = sql(\"SELECT max(x) FROM big\")\n\
                c = sql(q)\n\
                result = a.n[0] + b.iloc[0, 0]\n";
    let queries = validate_with_queries(code, &policy).unwrap();
    let got: Vec<(&str, SqlDialect)> = queries
        .iter()
        .map(|q| (q.text.as_str(), q.dialect))
        .collect();
    assert_eq!(
        got,
        [
            ("SELECT count(*) AS n FROM trips", SqlDialect::Spark),
            ("SELECT max(x) FROM big", SqlDialect::DuckDb)
        ]
    );
    let hostile = "result = sql(\"SELECT reflect('java.lang.Runtime', 'getRuntime') FROM trips\")";
    let err = validate_with_queries(hostile, &policy).unwrap_err();
    assert_eq!(err.rule, "sql");
    let built = "t = 'trips'\nresult = sql(f'SELECT * FROM {t}')";
    assert!(validate_with_queries(built, &policy).is_err());
}
