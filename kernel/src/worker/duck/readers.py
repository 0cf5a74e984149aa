"""How the engine reads the files: one VIEW per table over read_parquet / read_csv (CSV read
as pandas reads it: header, missing values, column types from every row), and SQL quoting."""

from __future__ import annotations

import duckdb

# What pd.read_csv reads as missing by default, so a CSV means the same to both engines
# (and a numeric column holding "NA" stays numeric).
PANDAS_NA_STRINGS = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)


def _create_views(con: duckdb.DuckDBPyConnection, tables: dict) -> None:
    for name, table in tables.items():
        if table["fmt"] == "csv" and table["csv_types"] is None:
            table["csv_types"] = _csv_types(con, table["paths"])
        con.execute(f"CREATE VIEW {_ident(name)} AS SELECT * FROM {_reader_sql(table)}")


def _reader_sql(table: dict) -> str:
    files = _sql_list(table["paths"])
    # Several files: columns matched by name, as pandas' concat would.
    union = ", union_by_name = true" if len(table["paths"]) > 1 else ""
    if table["fmt"] == "parquet":
        return f"read_parquet({files}{union})"
    types = ", ".join(f"{_sql_str(c)}: {_sql_str(t)}" for c, t in table["csv_types"].items())
    return f"read_csv({files}, {_csv_options()}{union}, types = {{{types}}})"


def _csv_options() -> str:
    # header: pandas always takes the first line as the header (DuckDB would guess, and
    # guesses "no header" when every column is text); missing values as pandas reads them.
    return f"header = true, nullstr = {_sql_list(PANDAS_NA_STRINGS)}"


def _csv_types(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict:
    """Column types from every row, as pandas infers them. DuckDB's sniffer reads a sample
    only and then casts the rest silently (a 1.5 after the sample becomes BIGINT 2, a
    timestamp a DATE); sniffing the whole file once here (single-threaded, ~50 MB/s) and
    pinning the types keeps each query's own sniff to the sample."""
    union = ", union_by_name = true" if len(paths) > 1 else ""
    rows = con.execute(f"DESCRIBE SELECT * FROM read_csv({_sql_list(paths)}, {_csv_options()}"
                       f"{union}, sample_size = -1)").fetchall()
    return {name: kind for name, kind, *_ in rows}


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _sql_list(values) -> str:
    return "[" + ", ".join(_sql_str(v) for v in values) + "]"

