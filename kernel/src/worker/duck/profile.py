"""The dataset profile computed by DuckDB without loading the table: null counts (from
Parquet footers where they suffice), categories of text columns, and the profile dict with
the keys and meanings of the pandas runtime's dataset profile."""

from __future__ import annotations

import datetime
import math
import re

import pandas as pd

from .readers import _ident, _sql_list

# Profile limits: the same values as the pandas runtime's dataset profile.
SAMPLE_ROWS = 5
PROFILE_MAX_COLUMNS = 40
PROFILE_CELL_CHARS = 40
PROFILE_LINE_WIDTH = 160
SAMPLE_RECORD_CHARS = 200
CATEGORY_MAX_VALUES = 50
CATEGORY_SCAN_ROWS = 200_000
CATEGORY_PROBE_ROWS = 2_000
CATEGORY_MAX_COLUMNS = 40
CATEGORY_MAX_CHARS = 80
_TEXT_DTYPES = ("object", "str", "string", "category")


def _null_counts(con, view: str, table: dict, columns: list[str], rows: int) -> dict:
    """NULLs per column: from the Parquet footers when every row group of every file has the
    column with a null count (no data read), else one aggregate query over the rest.
    NULLs in SQL's sense: a float NaN stored in Parquet is a value (pandas would count it)."""
    counts: dict = {}
    if table["fmt"] == "parquet":
        meta = con.execute(
            "SELECT path_in_schema, sum(stats_null_count)::BIGINT, "
            "bool_and(stats_null_count IS NOT NULL), sum(row_group_num_rows)::BIGINT "
            f"FROM parquet_metadata({_sql_list(table['paths'])}) GROUP BY path_in_schema"
        ).fetchall()
        for column, nulls, complete, covered in meta:
            if column in columns and complete and covered == rows:
                counts[column] = int(nulls)
    rest = [c for c in columns if c not in counts]
    if rest:
        select = ", ".join(f"count(*) - count({_ident(c)})" for c in rest)
        found = con.execute(f"SELECT {select} FROM {view}").fetchall()[0]
        counts.update(zip(rest, (int(n) for n in found)))
    return {c: counts[c] for c in columns}


def _categories(con, view: str, columns: list[str], max_values: int, scan_rows: int,
                probe_rows: int, max_chars: int) -> dict:
    """Text columns with at most max_values distinct values among the first scan_rows rows
    (values in order of first appearance), as runtime's `_categories`: columns with more
    distinct values among the first probe_rows rows are dropped before the longer scan."""
    if not columns:
        return {}

    def distinct(candidates, limit):
        if not candidates:
            return []
        counts = ", ".join(f"count(DISTINCT {_ident(c)})" for c in candidates)
        picked = ", ".join(_ident(c) for c in candidates)
        first = f"SELECT {picked} FROM {view} LIMIT {int(limit)}"
        found = con.execute(f"SELECT {counts} FROM ({first})").fetchall()[0]
        return [c for c, n in zip(candidates, found) if n <= max_values]

    kept = distinct(distinct(columns, probe_rows), scan_rows)
    if not kept:
        return {}
    picked = ", ".join(_ident(c) for c in kept)
    first = con.sql(f"SELECT {picked} FROM {view} LIMIT {int(scan_rows)}").to_arrow_table()
    out = {}
    for column in kept:
        values = first.column(column).drop_null().unique().to_pylist()  # first-seen order
        values = [v for v in values if isinstance(v, str) and len(v) <= max_chars]
        if values:
            out[column] = values
    return out



def _pandas_dtype(dtype, nulls: int) -> str:
    """The dtype pandas shows for the whole column: integers with missing values become
    float64 and booleans object (what the sample's few rows cannot tell)."""
    name = str(dtype)
    if nulls and re.fullmatch(r"u?int\d+", name):
        return "float64"
    if nulls and name == "bool":
        return "object"
    return name


def _as_dtypes(sample: pd.DataFrame, dtypes: dict) -> pd.DataFrame:
    changed = {c: t for c, t in dtypes.items() if str(sample[c].dtype) != t}
    return sample.astype(changed) if changed else sample


def _profile_dict(name, source, rows, dtypes, nulls, sample, categories, sql_types) -> dict:
    columns = [str(c) for c in dtypes]
    overview = pd.DataFrame({
        "column": columns,
        "dtype": list(dtypes.values()),
        "non-null": [rows - nulls[c] for c in dtypes],
        "nulls": [nulls[c] for c in dtypes],
    })
    shown = sample.iloc[:, :PROFILE_MAX_COLUMNS]
    hidden = sample.shape[1] - shown.shape[1]
    sample_text = _printable_sample(shown).to_string(max_colwidth=PROFILE_CELL_CHARS,
                                                     line_width=PROFILE_LINE_WIDTH)
    if hidden:
        sample_text += f"\n[sample shows the first {shown.shape[1]} of {sample.shape[1]} columns]"
    shown_overview = overview.head(PROFILE_MAX_COLUMNS)
    more = f"\n... and {hidden} more columns" if hidden else ""
    note = (f"<p>... and {hidden} more columns (the profile shows the first "
            f"{len(shown_overview)}).</p>") if hidden else ""
    html = (shown_overview.to_html(index=False, escape=True, border=0) + note
            + shown.to_html(escape=True, border=0))
    numeric = sample.head(0).astype(dtypes).select_dtypes(include="number").columns
    return {
        "name": name,
        "source": source,
        "rows": int(rows),
        "columns": columns,
        "dtypes": {str(c): t for c, t in dtypes.items()},
        "null_counts": {str(c): int(n) for c, n in nulls.items()},
        "numeric_columns": [str(c) for c in numeric],
        "categorical_columns": [str(c) for c, t in dtypes.items() if t in _TEXT_DTYPES],
        "sample_text": sample_text,
        "sample_records": _records(sample, SAMPLE_RECORD_CHARS),
        # For the kernel's matching of names in questions only; never put into a prompt.
        "categories": categories,
        "html": f'<div class="llm-analytics-profile">{html}</div>',
        "text": f"{shown_overview.to_string(index=False)}{more}\n\n{sample_text}",
        # Bytes the dataset holds in the worker's memory: none, DuckDB reads the files.
        "memory_bytes": 0,
        "engine": "duckdb",
        "sql_types": sql_types,
    }


# Copies of runtime's text safety and JSON helpers (this module must not import runtime).
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _printable(value):
    """Control and invisible characters as escapes: a value never starts a new line."""
    if isinstance(value, str) and _CONTROL_CHARS.search(value):
        return _CONTROL_CHARS.sub(lambda m: repr(m.group())[1:-1], value)
    return value


def _printable_sample(sample: pd.DataFrame) -> pd.DataFrame:
    out = sample.copy()
    for i, dtype in enumerate(sample.dtypes):
        if str(dtype) in _TEXT_DTYPES:
            out.isetitem(i, out.iloc[:, i].map(_printable))
    out.columns = [_printable(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _records(frame: pd.DataFrame, max_chars: int) -> list:
    names = [str(c) for c in frame.columns]
    records = []
    for row in frame.itertuples(index=False, name=None):
        record = {}
        for name, value in zip(names, row):
            value = _json_safe(value)
            if isinstance(value, str) and len(value) > max_chars:
                value = value[:max_chars] + "…"
            record[name] = value
        records.append(record)
    return records


def _json_safe(value):
    """value as plain JSON: missing -> None, numpy -> Python, dates -> ISO text, else str."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)) and getattr(value, "ndim", 0):
        return _json_safe(value.tolist())
    try:
        if value is None or bool(pd.isna(value)):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item") and not isinstance(value, (str, bytes, datetime.date)):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)

