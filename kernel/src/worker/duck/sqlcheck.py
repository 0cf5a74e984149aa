"""The first layer: `check_query` reads the model's SQL with DuckDB's own parser
(json_serialize_sql, on a connection that can read nothing) and allows one SELECT over the
registered tables, its own CTEs and a few table functions that only make rows."""

from __future__ import annotations

import json
import threading

import duckdb


class SqlRefused(ValueError):
    """SQL that `check_query` does not allow; the message is a sentence for the model."""


# Table functions a SELECT may call: they make rows, they read nothing.
_TABLE_FUNCTIONS = {"range", "generate_series", "unnest"}
# Functions that read files, the catalog, settings or the environment, run other SQL, or
# only stall (sleep): refused wherever they appear, whatever their case.
_REFUSED_PREFIXES = (
    "read_", "duckdb_", "pragma_", "sniff_", "parquet_", "iceberg_", "delta_", "sqlite_",
    "postgres_", "mysql_", "http", "json_execute", "python_", "__internal", "enable_",
    "disable_", "register_", "s3", "gcs", "azure",
)
_REFUSED_FUNCTIONS = {
    "glob", "getenv", "current_setting", "getvariable", "query", "query_table",
    "load_extension", "checkpoint", "force_checkpoint", "which_secret", "sleep_ms", "pg_sleep",
    "write_log", "setval", "nextval", "currval", "current_query", "import_database",
    "copy_database", "pandas_scan", "arrow_scan", "arrow_scan_dumb", "seq_scan", "summary",
    "test_all_types", "test_vector_types", "sql_auto_complete", "truncate_duckdb_logs",
    "add_parquet_key", "create_external_resource", "destroy_external_resource",
    "deregister_external_resource",
}
# Parsed-expression classes of a SELECT; anything else is refused as unknown.
_EXPRESSION_CLASSES = {
    "BETWEEN", "CASE", "CAST", "COLLATE", "COLUMN_REF", "COMPARISON", "CONJUNCTION",
    "CONSTANT", "FUNCTION", "LAMBDA", "LAMBDA_REF", "OPERATOR", "PARAMETER",
    "POSITIONAL_REFERENCE", "STAR", "SUBQUERY", "WINDOW", "TYPE",
}
# Query nodes, table references, modifiers and ORDER BY directions a SELECT is made of.
_NODE_TYPES = {
    "SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE",
    "BASE_TABLE", "TABLE_FUNCTION", "SUBQUERY", "JOIN", "EXPRESSION_LIST", "EMPTY", "PIVOT",
    "SHOW_REF", "ORDER_MODIFIER", "LIMIT_MODIFIER", "LIMIT_PERCENT_MODIFIER",
    "DISTINCT_MODIFIER", "ORDER_DEFAULT", "ASCENDING", "DESCENDING",
}

_parser_lock = threading.Lock()
_parser = None


def _parse(query: str) -> dict:
    """DuckDB's parse of `query` as JSON, from a connection that can read nothing."""
    global _parser
    with _parser_lock:
        if _parser is None:
            con = duckdb.connect(":memory:", config={"threads": 1, "async_threads": 1})
            for statement in ("SET temp_directory = ''", "SET autoload_known_extensions = false",
                              "SET autoinstall_known_extensions = false",
                              "SET enable_external_access = false", "SET lock_configuration = true"):
                con.execute(statement)
            _parser = con
        return json.loads(_parser.execute("SELECT json_serialize_sql(?)", [query]).fetchall()[0][0])


def check_query(query: str, tables: list[str]) -> str | None:
    """None when `query` is one SELECT that reads only `tables` (case-insensitive) and its
    own CTEs, calls no function that reaches outside the data, and no table function but
    range/generate_series/unnest; else a sentence saying why, for the model."""
    if not isinstance(query, str) or not query.strip():
        return "The query is empty: write one SELECT statement."
    try:
        parsed = _parse(query)
    except duckdb.Error as e:
        return f"DuckDB could not read the query: {str(e).splitlines()[0]}"
    if parsed.get("error"):
        message = parsed.get("error_message") or "unknown error"
        if parsed.get("error_type") == "parser":
            return f"DuckDB could not parse the query: {message}"
        return ("Only a single SELECT statement (WITH, UNION, subqueries and joins allowed) "
                "may run; other statements (COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, CREATE, "
                f"INSERT, EXPORT, CALL, PIVOT statements...) are refused ({message}).")
    statements = parsed.get("statements") or []
    if len(statements) != 1:
        return f"Write exactly one SELECT statement, not {len(statements)}."
    return _check(statements[0], frozenset(), {t.lower() for t in tables})


def _check(node, scope: frozenset, tables: set) -> str | None:
    """The first rule `node` (a parsed JSON value) breaks, walking every part of it.
    `scope` holds the CTE names visible here: a CTE's body sees the CTEs before it (and
    itself only when recursive), so `WITH x AS (SELECT * FROM x)` cannot reach a catalog x."""
    if isinstance(node, list):
        for item in node:
            problem = _check(item, scope, tables)
            if problem:
                return problem
        return None
    if not isinstance(node, dict):
        return None
    cte_map = node.get("cte_map")
    if isinstance(cte_map, dict) and cte_map.get("map"):
        names = []
        for entry in cte_map["map"]:
            problem = _check(entry.get("value"), scope | frozenset(names), tables)
            if problem:
                return problem
            names.append(str(entry.get("key", "")).lower())
        scope = scope | frozenset(names)
    if node.get("type") == "RECURSIVE_CTE_NODE":
        scope = scope | {str(node.get("cte_name", "")).lower()}
    problem = _check_here(node, scope, tables)
    if problem:
        return problem
    for key, value in node.items():
        if key != "cte_map" and isinstance(value, (dict, list)):
            problem = _check(value, scope, tables)
            if problem:
                return problem
    return None


def _check_here(node: dict, scope: frozenset, tables: set) -> str | None:
    """The rules for this one JSON object (its children are checked by the caller)."""
    if "function_name" in node:
        problem = _check_function(node)
        if problem:
            return problem
    kind = node.get("type")
    if "class" in node:
        if node["class"] not in _EXPRESSION_CLASSES:
            return f"The query uses an expression kind the engine does not allow ({node['class']})."
        return None
    if not isinstance(kind, str):
        return None
    if kind not in _NODE_TYPES:
        return f"The query uses a construct the engine does not allow ({kind})."
    if kind == "BASE_TABLE":
        return _check_table(node, scope, tables)
    if kind == "TABLE_FUNCTION":
        function = node.get("function") or {}
        name = str(function.get("function_name", "")).lower()
        if function.get("class") != "FUNCTION" or name not in _TABLE_FUNCTIONS:
            return (f"The table function {name or '?'}() is not allowed; read the registered "
                    "tables by name (only range, generate_series and unnest may make rows).")
    if kind == "SHOW_REF":
        # DESCRIBE / SUMMARIZE of a query over the tables (checked as any query); SHOW
        # TABLES and friends list the catalog.
        if node.get("query") is None or node.get("show_type") not in ("DESCRIBE", "SUMMARY"):
            return "SHOW statements are not allowed; the registered tables are: " + _names(tables)
    return None


def _check_table(node: dict, scope: frozenset, tables: set) -> str | None:
    name = str(node.get("table_name", ""))
    path = (node.get("qualified_name") or {}).get("path") or []
    if node.get("schema_name") or node.get("catalog_name") or len(path) > 1:
        return (f"Refer to tables by their plain name, without schema or catalog "
                f"({'.'.join(map(str, path)) or name} is not allowed); the tables are: "
                + _names(tables))
    if name.lower() in tables or name.lower() in scope:
        return None
    return f"The query reads {name!r}, which is not a registered table; the tables are: " + _names(tables)


def _check_function(node: dict) -> str | None:
    name = str(node.get("function_name", "")).lower()
    path = (node.get("qualified_name") or {}).get("path") or []
    if node.get("schema") or node.get("catalog") or len(path) > 1:
        return f"Call functions by their plain name ({'.'.join(map(str, path))} is not allowed)."
    if name in _REFUSED_FUNCTIONS or name.startswith(_REFUSED_PREFIXES):
        return (f"The function {name}() is not allowed: queries may only read the registered "
                "tables, not files, settings, the catalog or the environment.")
    return None


def _names(tables: set) -> str:
    return ", ".join(sorted(tables)) or "(none)"
