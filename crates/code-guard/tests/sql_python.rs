//! `validate` with `Policy::sql_tables`: the kernel's `sql(query)` function.

use code_guard::{validate, Policy, Rejection};

fn with_tables(tables: &[&str]) -> Policy {
    Policy {
        sql_tables: tables.iter().map(|t| t.to_string()).collect(),
        ..Policy::default()
    }
}

fn check(code: &str) -> Result<(), Rejection> {
    validate(code, &with_tables(&["sales", "customers"]))
}

#[track_caller]
fn allowed(code: &str) {
    if let Err(rejection) = check(code) {
        panic!("refused {code:?}: {rejection}");
    }
}

#[track_caller]
fn refused(code: &str, needle: &str) {
    match check(code) {
        Ok(()) => panic!("allowed {code:?}"),
        Err(rejection) => {
            assert_eq!(rejection.rule, "sql", "{code:?}: {rejection}");
            assert!(
                rejection.message.contains(needle),
                "{code:?}: message {:?} lacks {needle:?}",
                rejection.message
            );
        }
    }
}

#[test]
fn default_policy_has_no_sql_tables_and_sql_stays_unknown() {
    assert!(Policy::default().sql_tables.is_empty());
    // As before: `sql` is a name like any other, whatever it is given.
    let off = Policy::default();
    for code in [
        "result = sql('SELECT * FROM read_csv(\\'x\\')')",
        "q = 'x'\nq += 'y'\nresult = sql(q)",
        "sql = 1\nresult = sql",
        "def sql(x):\n    return x\nresult = sql(2)",
        "f = sql\nresult = f(1)",
    ] {
        assert_eq!(validate(code, &off), Ok(()), "{code:?}");
    }
}

#[test]
fn literal_queries_are_allowed() {
    allowed("result = sql('SELECT region, sum(amount) AS total FROM sales GROUP BY region')");
    allowed("result = sql(\"SELECT * FROM sales JOIN customers USING (customer_id)\")");
    allowed("result = sql('''\nWITH t AS (SELECT * FROM sales)\nSELECT count(*) FROM t\n''')");
    allowed("result = sql(f'SELECT count(*) FROM Sales')");
    allowed("result = sql('SELECT count(*) ' 'FROM sales')");
    allowed("result = sql(f'SELECT {{\\'a\\': 1}}' ' AS s')");
    allowed("top = sql('SELECT * FROM sales ORDER BY amount DESC LIMIT 5')\nresult = top.head()");
    allowed("def f():\n    return sql('SELECT 1')\nresult = f()");
}

#[test]
fn a_name_bound_once_earlier_to_a_literal_is_allowed() {
    allowed("q = 'SELECT count(*) FROM sales'\nresult = sql(q)");
    allowed("q: str = 'SELECT count(*) FROM sales'\nprint(q)\nresult = sql(q)");
    allowed("q = f'SELECT 1'\nresult = sql(q)");
    allowed("q = 'SELECT 1'\ndef f():\n    return sql(q)\nresult = f()");
}

#[test]
fn queries_are_checked_with_check_sql() {
    refused(
        "result = sql('SELECT * FROM read_csv(\\'x.csv\\')')",
        "read_csv",
    );
    refused("result = sql('SELECT * FROM orders')", "'orders'");
    refused("result = sql('DROP TABLE sales')", "read-only");
    refused("q = 'SELECT getenv(\\'HOME\\')'\nresult = sql(q)", "getenv");
    refused("result = sql('SELECT * FROM \\'data.csv\\'')", "file path");
    refused("result = sql('SELEC 1')", "does not parse");
    // The line of the call is named.
    refused("x = 1\nresult = sql('SELECT * FROM orders')", "line 2");
}

#[test]
fn queries_built_at_run_time_are_refused() {
    refused(
        "t = 'sales'\nresult = sql(f'SELECT * FROM {t}')",
        "f-string with placeholders",
    );
    refused("result = sql('SELECT * FROM ' + 'sales')", "computed value");
    refused("result = sql(' '.join(['SELECT', '1']))", "computed value");
    refused("result = sql('SELECT {}'.format(1))", "computed value");
    refused("qs = ['SELECT 1']\nresult = sql(*qs)", "computed value");
    refused("result = sql(query='SELECT 1')", "keyword arguments");
    refused("result = sql('SELECT 1', con=None)", "keyword arguments");
    refused("result = sql()", "given 0 arguments");
    refused("result = sql('SELECT 1', 'SELECT 2')", "given 2 arguments");
}

#[test]
fn names_not_bound_exactly_once_earlier_at_top_level_are_refused() {
    let cases = [
        // Bound twice, or changed.
        "q = 'SELECT 1'\nq = 'SELECT * FROM orders'\nresult = sql(q)",
        "q = 'SELECT 1'\nq += ' FROM orders'\nresult = sql(q)",
        "q = 'SELECT 1'\nfor q in ['x']:\n    pass\nresult = sql(q)",
        // Bound after the call.
        "def f():\n    return sql(q)\nq = 'SELECT 1'\nresult = f()",
        // Bound conditionally (an older value may remain in the namespace).
        "if False:\n    q = 'SELECT 1'\nresult = sql(q)",
        "try:\n    q = 'SELECT 1'\nexcept Exception:\n    pass\nresult = sql(q)",
        // Bound inside a function, or a parameter.
        "def f():\n    q = 'SELECT 1'\n    return sql(q)\nresult = f()",
        "def f(q):\n    return sql(q)\nresult = f('SELECT 1')",
        // Bound to something other than a literal, or never bound here.
        "q = 'SELECT ' + '1'\nresult = sql(q)",
        "t = 'x'\nq = f'SELECT {t}'\nresult = sql(q)",
        "result = sql(q)",
    ];
    for code in cases {
        refused(code, "not bound exactly once");
    }
}

#[test]
fn sql_as_a_value_or_rebound_is_refused() {
    for code in [
        "f = sql\nresult = f('SELECT 1')",
        "result = list(map(sql, ['SELECT 1']))",
        "result = [sql][0]('SELECT 1')",
        "result = sql.__call__",
        "result = sql.x",
        "result = (lambda: sql)()",
    ] {
        refused(code, "used as a value");
    }
    for code in [
        "sql = lambda q: q\nresult = sql('SELECT 1')",
        "def sql(q):\n    return q\nresult = sql('SELECT 1')",
        "def f(sql):\n    return sql('SELECT 1')\nresult = f(print)",
        "for sql in [print]:\n    pass\nresult = 1",
        "from pandas import sql\nresult = 1",
        "from math import sqrt as sql\nresult = 1",
        "import math as sql\nresult = 1",
        "global sql\nresult = 1",
        "class sql:\n    pass\nresult = 1",
        "result = [1 for sql in [1]]",
        "(sql := print)\nresult = 1",
        "del sql\nresult = 1",
    ] {
        refused(code, "'sql' is bound");
    }
}

#[test]
fn keywords_named_sql_are_harmless() {
    allowed("def f(**kw):\n    return kw\nresult = f(sql=1)");
}
