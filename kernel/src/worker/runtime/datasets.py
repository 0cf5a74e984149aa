"""Datasets: register a loaded file as a frame (bound to its name and `df`) and describe it
in a profile for the kernel (the prompt's view of the data and the notebook's summary)."""

import keyword
import os
import re

import numpy as np
import pandas as pd

from . import output, state, values

PROFILE_CELL_CHARS = 40  # widest sample cell in a dataset profile's text
PROFILE_LINE_WIDTH = 160  # the profile's sample text wraps its columns past this width

def load_dataset(name: str, ipc_path: str, make_current: bool, source: str,
                 null_counts: list | None = None, sheet: str | None = None) -> dict:
    """Register a dataset (an Arrow file from csv_ingest, or a staged Parquet/Excel/JSON file
    read here with pandas' own reader) and return its profile, or ``{"load_error": why}``.
    ``null_counts`` (per column, from the loader) saves a pass over the data."""
    shape = _parquet_shape(ipc_path)  # known before reading: a frame too large never exists
    if shape is not None and shape[0] * shape[1] > state.MAX_DATAFRAME_SIZE:
        return _too_large(source, *shape)
    try:
        frame = read_dataset(ipc_path, sheet)
    except _LoadError as e:
        return {"load_error": str(e)}
    if not ipc_path.endswith(".arrow") and frame.size > state.MAX_DATAFRAME_SIZE:
        return _too_large(source, *frame.shape)
    register_frame(name, frame, ipc_path, sheet, make_current)
    return _profile(name, frame, source, null_counts)


def _parquet_shape(path: str):
    """(rows, columns) from a Parquet file's footer, or None (not Parquet, or unreadable:
    the reader will say why)."""
    if not path.lower().endswith((".parquet", ".pq")):
        return None
    try:
        import pyarrow.parquet as pq

        meta = pq.read_metadata(path)
        schema = pq.read_schema(path)
    except Exception:  # noqa: BLE001 - the full read reports the problem
        return None
    stored = (schema.pandas_metadata or {}).get("index_columns") if schema.metadata else None
    index = {c for c in stored or [] if isinstance(c, str)}  # a RangeIndex is a dict, not a column
    return meta.num_rows, len([n for n in schema.names if n not in index])


def _too_large(source: str, rows: int, columns: int) -> dict:
    """Over MAX_DATAFRAME_SIZE; "too_large" lets the kernel query the file with DuckDB."""
    return {"too_large": True, "load_error": (
        f"{source} has {rows:,} rows x {columns:,} columns = {rows * columns:,} cells, "
        f"over MAX_DATAFRAME_SIZE={state.MAX_DATAFRAME_SIZE:,}. Raise MAX_DATAFRAME_SIZE "
        "(environment or .env) and restart the kernel, or load a smaller extract.")}


def restore_dataset(name: str, ipc_path: str, make_current: bool, sheet: str | None = None) -> dict:
    """Register a dataset again after a worker respawn; returns only its size."""
    frame = read_dataset(ipc_path, sheet)
    register_frame(name, frame, ipc_path, sheet, make_current)
    return {"name": name, "rows": len(frame), "columns": frame.shape[1]}


class _LoadError(Exception):
    """A file pandas cannot read as its extension says; the message is for the user."""


_EXCEL = (".xlsx", ".xlsm", ".xls")


def read_dataset(path: str, sheet: str | None) -> pd.DataFrame:
    """The frame of a staged file: csv_ingest's Arrow file, or pandas' own reader for
    Parquet, Excel and JSON (so the dtypes are exactly pandas')."""
    lower = path.lower()
    if lower.endswith(".arrow"):
        import arrow_bridge  # the worker's sibling module; imported on first use to keep init fast

        return arrow_bridge.read_ipc_to_pandas(path)
    try:
        if lower.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if lower.endswith(_EXCEL):
            return _read_excel(path, sheet)
        if lower.endswith((".jsonl", ".ndjson")):
            return pd.read_json(path, lines=True)
        if lower.endswith(".json"):
            return pd.read_json(path)
    except _LoadError:
        raise
    except ImportError as e:
        raise _LoadError(f"The worker's Python lacks a reader for this file ({e}). Run ./install.sh to repair it.") from e
    except Exception as e:  # noqa: BLE001 - any reader failure is the file's, said plainly
        kind = {".parquet": "Parquet", ".pq": "Parquet", ".json": "JSON", ".jsonl": "JSON lines",
                ".ndjson": "JSON lines"}.get(os.path.splitext(lower)[1], "Excel")
        raise _LoadError(f"Could not read the file as {kind}: {type(e).__name__}: {e}") from e
    raise _LoadError(f"No reader for {os.path.basename(path)}")


def _read_excel(path: str, sheet: str | None) -> pd.DataFrame:
    with pd.ExcelFile(path) as book:
        names = [str(n) for n in book.sheet_names]
        listed = ", ".join(repr(n) for n in names)
        if sheet is None:
            if len(names) > 1:
                raise _LoadError(
                    f"The workbook has {len(names)} sheets: {listed}. Name one: %load PATH --sheet NAME")
            sheet = names[0]
        elif sheet not in names:
            raise _LoadError(f"The workbook has no sheet {sheet!r}; its sheets are {listed}.")
        return book.parse(sheet)


def register_frame(name: str, frame: pd.DataFrame, path: str, sheet: str | None,
                    make_current: bool) -> None:
    frame = state.integrity.seal_frame(frame)
    state.DATASETS[name] = frame
    state.dataset_files[name] = (path, sheet)
    state.integrity.STATE.dirty = True
    view = frame.copy(deep=False)  # cells change their own copy; the registry stays as loaded
    if bindable(name):
        state.NS[name] = view
    if make_current:
        state.current_dataset = name
        state.NS["df"] = view
    output.flush_streams()


def bindable(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and name not in state.RESERVED_NAMES


# Wide tables: the profile shows this many columns (all are still listed in "columns").
PROFILE_MAX_COLUMNS = 40


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _printable(value):
    """Text with control and invisible characters written as escapes: a cell value or a
    column name can never start a new line of a profile or a prompt."""
    if isinstance(value, str) and _CONTROL_CHARS.search(value):
        return _CONTROL_CHARS.sub(lambda m: repr(m.group())[1:-1], value)
    return value


def _printable_sample(sample: pd.DataFrame) -> pd.DataFrame:
    """The sample as text-safe values; numbers keep their dtype and formatting."""
    text_columns = [i for i, dtype in enumerate(sample.dtypes) if str(dtype) in state.TEXT_DTYPES]
    if not text_columns and not any(_CONTROL_CHARS.search(str(c)) for c in sample.columns):
        return sample
    out = sample.copy()
    for i in text_columns:
        out.isetitem(i, out.iloc[:, i].map(_printable))
    out.columns = [_printable(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _profile(name: str, frame: pd.DataFrame, source: str, null_counts: list | None = None) -> dict:
    shown = frame.iloc[:, :PROFILE_MAX_COLUMNS]
    sample = shown.head(state.DEFAULT_SAMPLE_ROWS)
    overview = _column_overview(frame, null_counts)
    sample_text = _printable_sample(sample).to_string(
        max_colwidth=PROFILE_CELL_CHARS, line_width=PROFILE_LINE_WIDTH)
    hidden = frame.shape[1] - shown.shape[1]
    if hidden:
        sample_text += f"\n[sample shows the first {shown.shape[1]} of {frame.shape[1]} columns]"
    shown_overview = overview.head(PROFILE_MAX_COLUMNS)
    more = f"\n... and {hidden} more columns" if hidden else ""
    return {
        "name": name,
        "source": source,
        "rows": len(frame),
        "columns": values.column_names(frame),
        "dtypes": {str(column): str(dtype) for column, dtype in frame.dtypes.items()},
        "null_counts": {column: int(n) for column, n in zip(overview["column"], overview["nulls"])},
        "numeric_columns": values.column_names(frame.select_dtypes(include=[np.number])),
        "categorical_columns": values.column_names(frame.select_dtypes(include=state.TEXT_DTYPES)),
        "sample_text": sample_text,
        # Every column: a wide table's column that a question names is described from here.
        "sample_records": values.records(frame.head(state.DEFAULT_SAMPLE_ROWS), SAMPLE_RECORD_CHARS),
        # For the kernel's matching of names in questions only; never put into a prompt.
        "categories": _categories(frame),
        "html": _profile_html(shown_overview, sample, hidden),
        "text": f"{shown_overview.to_string(index=False)}{more}\n\n{sample_text}",
        "memory_bytes": int(frame.memory_usage(deep=False).sum()),
    }


# Category values for matching names in questions (analysis/assumptions/): text columns with at most
# CATEGORY_MAX_VALUES distinct values among the first CATEGORY_SCAN_ROWS rows, the first
# CATEGORY_MAX_COLUMNS text columns examined, values of at most CATEGORY_MAX_CHARS characters.
CATEGORY_MAX_VALUES = 50
CATEGORY_SCAN_ROWS = 200_000
CATEGORY_MAX_COLUMNS = 40
CATEGORY_MAX_CHARS = 80
# A column whose first rows already hold more distinct values is skipped without a full scan.
CATEGORY_PROBE_ROWS = 2_000
# Text values in sample_records are cut to this many characters.
SAMPLE_RECORD_CHARS = 200


def _categories(frame: pd.DataFrame) -> dict:
    out = {}
    text = [i for i, dtype in enumerate(frame.dtypes) if str(dtype) in state.TEXT_DTYPES]
    for i in text[:CATEGORY_MAX_COLUMNS]:
        column = frame.iloc[:CATEGORY_SCAN_ROWS, i]
        try:
            if column.iloc[:CATEGORY_PROBE_ROWS].nunique() > CATEGORY_MAX_VALUES:
                continue
            values = column.dropna().unique()
        except TypeError:  # unhashable cells (a %%python-made frame): no categories
            continue
        if len(values) > CATEGORY_MAX_VALUES:
            continue
        kept = [v for v in values if isinstance(v, str) and len(v) <= CATEGORY_MAX_CHARS]
        if kept:
            out[str(frame.columns[i])] = kept
    return out


def _column_overview(frame: pd.DataFrame, null_counts: list | None = None) -> pd.DataFrame:
    if null_counts is None or len(null_counts) != frame.shape[1]:
        null_counts = [len(frame) - int(n) for n in frame.count()]
    return pd.DataFrame(
        {
            "column": values.column_names(frame),
            "dtype": [str(dtype) for dtype in frame.dtypes],
            "non-null": [len(frame) - int(n) for n in null_counts],
            "nulls": [int(n) for n in null_counts],
        }
    )


def _profile_html(overview: pd.DataFrame, sample: pd.DataFrame, hidden: int = 0) -> str:
    note = f"<p>... and {hidden} more columns (the profile shows the first {len(overview)}).</p>" if hidden else ""
    tables = overview.to_html(index=False, escape=True, border=0) + note + sample.to_html(escape=True, border=0)
    return f'<div class="llm-analytics-profile">{tables}</div>'
