"""DuckDB engine of the worker (imported as `llm_duck`): SQL over registered Parquet and CSV
files, so datasets larger than memory can be queried.

Two layers hold the model's SQL in, each on its own:
* `check_query` parses the SQL with DuckDB's own parser (json_serialize_sql) and allows one
  SELECT over the registered tables and a few harmless table functions;
* the engine's connection itself runs with external access off (only the registered files
  are readable), extensions off and its configuration locked, so even SQL that skipped the
  check cannot read other files, write files, attach databases or change settings.
  One exception is DuckDB's own: it may always write into its temp_directory (the spill
  folder inside the worker's scratch), which the worker may write anyway.

Nothing here imports the rest of the runtime; the profile mirrors runtime's dataset profile.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import resource
import threading
import time

import duckdb
import pandas as pd
import pyarrow as pa

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

# What pd.read_csv reads as missing by default, so a CSV means the same to both engines
# (and a numeric column holding "NA" stays numeric).
PANDAS_NA_STRINGS = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)

_OOM_HINT = ("The query needs more memory than the engine has (its memory limit and settings "
             "are fixed). Reduce it: filter and aggregate first (GROUP BY), select fewer "
             "columns, and avoid building huge lists or strings.")
_FILE_TOO_LARGE_HINT = ("The query spilled more intermediate data than one scratch file may "
                        "hold. Reduce it: filter and aggregate first, select fewer columns.")


class SqlRefused(ValueError):
    """SQL that `check_query` does not allow; the message is a sentence for the model."""


def suggested_memory_limit_mb(threads: int = 2, keep_free_mb: int = 512) -> int | None:
    """A DuckDB memory_limit for this process under RLIMIT_AS (None when unlimited).

    DuckDB maps far more address space than its memory_limit and keeps it (measured on
    2.0.1, spilling group-bys, sorts and joins: about 500 MB + 100 MB per thread + 1.6 x
    memory_limit), and a query that reaches RLIMIT_AS fails with "bad allocation" instead
    of spilling, after which pandas gets MemoryError too. So: the address space free now,
    less keep_free_mb for pandas, less DuckDB's overhead, over 1.6. Call it before the
    Engine exists."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/status") as status:
            mapped_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        mapped_kb = 0
    free_mb = soft / 2**20 - mapped_kb / 1024
    return max(32, int((free_mb - keep_free_mb - 500 - 100 * threads) / 1.6))


# ---------------------------------------------------------------------------
# The engine


class Engine:
    """One DuckDB connection over the registered tables (one VIEW per table).

    DuckDB cannot change a locked configuration, and allowed_paths cannot grow once external
    access is off, so every registration closes the connection and opens a new one with all
    tables; views cost nothing to recreate. Call it from one thread at a time.
    """

    def __init__(self, scratch: str, memory_limit_mb: int, threads: int | None = None,
                 max_temp_mb: int | None = None):
        # Spill files go to <scratch>/duckdb, made here: DuckDB would fail only at the first
        # spill when a parent is missing.
        self._temp_directory = os.path.join(os.path.abspath(scratch), "duckdb")
        os.makedirs(self._temp_directory, mode=0o700, exist_ok=True)
        self._memory_limit_mb = int(memory_limit_mb)
        self._threads = int(threads or os.cpu_count() or 1)
        self._max_temp_mb = max_temp_mb
        # name -> {"fmt", "paths", "csv_types"}; insertion order is registration order.
        self._tables: dict[str, dict] = {}
        self._con = self._connect(self._tables)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The locked connection (tests use it to run SQL that skips `check_query`)."""
        return self._con

    def tables(self) -> list[str]:
        return list(self._tables)

    def register(self, name: str, paths: list[str], fmt: str,
                 csv_types: dict | None = None) -> None:
        """Make `name` a view over the files `paths` (glob already expanded) read as `fmt`
        ("csv" or "parquet"). A name registered again (in any case) is replaced. On failure,
        or KeyboardInterrupt, the engine keeps the tables it had. `csv_types` (column ->
        DuckDB type, from `csv_types()` of an earlier registration of the same files) saves
        reading a CSV whole again."""
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"format must be 'csv' or 'parquet', not {fmt!r}")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a table needs a non-empty name")
        if not paths:
            raise ValueError(f"no files given for table {name!r}")
        files = [os.path.abspath(p) for p in paths]
        missing = [p for p in files if not os.path.isfile(p)]
        if missing:
            raise FileNotFoundError(f"not a readable file: {missing[0]}")
        tables = {k: v for k, v in self._tables.items() if k.lower() != name.lower()}
        tables[name] = {"fmt": fmt, "paths": files,
                        "csv_types": dict(csv_types) if fmt == "csv" and csv_types else None}
        self._con.close()
        con = self._connect(tables)
        try:
            # On the helper thread so SIGINT is handled; DuckDB's CSV sniffer, which reads a
            # new CSV whole (_csv_types), notices the interrupt only when it ends.
            self._blocking(lambda: _create_views(con, tables), con)
        except BaseException:
            con.close()
            self._con = self._connect(self._tables)
            _create_views(self._con, self._tables)  # these worked before
            raise
        self._con, self._tables = con, tables

    def csv_types(self, name: str) -> dict | None:
        """The column types pinned for a CSV table (None for Parquet)."""
        return self._table(name)[1]["csv_types"]

    def close(self) -> None:
        self._con.close()

    def interrupt(self) -> None:
        """Stop the running query (safe from another thread)."""
        self._con.interrupt()

    def _connect(self, tables: dict) -> duckdb.DuckDBPyConnection:
        """A new connection, locked, that can read the files of `tables` and nothing else."""
        config = {
            # Given at connect so DuckDB never starts with more threads or memory.
            "threads": self._threads,
            "async_threads": 1,  # default 8 I/O threads: 8 MB of stack each under RLIMIT_AS
            "memory_limit": f"{self._memory_limit_mb}MiB",  # DuckDB's MB is 10^6 bytes
            "temp_directory": self._temp_directory,
        }
        if self._max_temp_mb:
            config["max_temp_directory_size"] = f"{self._max_temp_mb}MiB"
        con = duckdb.connect(":memory:", config=config)
        allowed = sorted({q for t in tables.values() for p in t["paths"]
                          for q in (p, os.path.realpath(p))})
        try:
            for statement in (
                "SET autoinstall_known_extensions = false",
                "SET autoload_known_extensions = false",
                "SET allow_community_extensions = false",
                "SET allow_persistent_secrets = false",  # no ~/.duckdb/stored_secrets
                "SET python_enable_replacements = false",  # no FROM <python variable>
                "SET enable_progress_bar = false",  # it would print into the cell output
                # Profiling for rows_scanned: into memory only, read by run().
                "SET enable_profiling = 'no_output'",
                "SET profiling_coverage = 'SELECT'",
                # Exact files (DuckDB resolves symlinks); it refuses to change this list
                # once external access is off.
                f"SET allowed_paths = {_sql_list(allowed)}",
                "SET enable_external_access = false",
                "SET lock_configuration = true",  # last: nothing above can change any more
            ):
                con.execute(statement)
        except BaseException:
            con.close()
            raise
        return con

    def _table(self, name: str) -> tuple[str, dict]:
        for key, table in self._tables.items():
            if key.lower() == name.lower():
                return key, table
        raise KeyError(f"no table {name!r} is registered")

    def _blocking(self, work, con: duckdb.DuckDBPyConnection | None = None):
        """Run `work()` (DuckDB calls on `con`, default ours) on a helper thread. The worker's SIGINT raises
        KeyboardInterrupt only on this, the main thread, and only between bytecodes, so a
        query running on the main thread would not stop; here it is interrupted at once."""
        con = con or self._con
        box: dict = {}
        done = threading.Event()
        cancelled = threading.Event()

        def target():
            try:
                if not cancelled.is_set():
                    box["value"] = work()
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                box["error"] = e
            finally:
                done.set()

        # Event.wait, not Thread.join: a KeyboardInterrupt inside join() can leave the thread
        # looking finished (Python < 3.13) while DuckDB still runs.
        try:
            threading.Thread(target=target, name="llm-duck", daemon=True).start()
            while not done.wait(0.05):
                pass
        except KeyboardInterrupt:
            cancelled.set()
            while not done.wait(0.05):
                con.interrupt()  # again and again: the query may not have started
            raise
        if "error" in box:
            raise _explained(box["error"]) from None
        return box["value"]

    # -----------------------------------------------------------------------
    # Profile

    def profile(self, name: str, source: str | None = None, sample_rows: int = SAMPLE_ROWS,
                max_categories: int = CATEGORY_MAX_VALUES,
                category_scan_rows: int = CATEGORY_SCAN_ROWS,
                category_probe_rows: int = CATEGORY_PROBE_ROWS,
                max_category_columns: int = CATEGORY_MAX_COLUMNS,
                max_category_chars: int = CATEGORY_MAX_CHARS) -> dict:
        """The dataset profile the kernel expects (the keys of the pandas runtime's, with
        the same meanings) computed by DuckDB without loading the table, plus
        "engine": "duckdb" and "sql_types" (column -> DuckDB type, for writing SQL)."""
        key, table = self._table(name)
        if source is None:
            paths = table["paths"]
            source = os.path.basename(paths[0]) + (f" (+{len(paths) - 1} files)" if len(paths) > 1 else "")

        def work():
            con, view = self._con, _ident(key)
            rows = con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0]
            sql_types = {n: t for n, t, *_ in con.execute(f"DESCRIBE {view}").fetchall()}
            sample = con.sql(f"SELECT * FROM {view} LIMIT {int(sample_rows)}").to_arrow_table()
            nulls = _null_counts(con, view, table, list(sql_types), rows)
            text = [n for n, t in sql_types.items() if t == "VARCHAR" or t.startswith("ENUM")]
            categories = _categories(con, view, text[:max_category_columns], max_categories,
                                     category_scan_rows, category_probe_rows, max_category_chars)
            return rows, sql_types, sample, nulls, categories

        rows, sql_types, sample_table, nulls, categories = self._blocking(work)
        sample = _to_pandas(sample_table)
        dtypes = {column: _pandas_dtype(sample[column].dtype, nulls[column])
                  for column in sample.columns}
        sample = _as_dtypes(sample, dtypes)
        return _profile_dict(key, source, rows, dtypes, nulls, sample, categories, sql_types)

    # -----------------------------------------------------------------------
    # Queries

    def check_query(self, query: str, tables: list[str] | None = None) -> str | None:
        return check_query(query, self._allowed(tables))

    def run(self, query: str, tables: list[str] | None = None, max_rows: int = 10_000,
            max_bytes: int = 64 * 2**20) -> tuple[pd.DataFrame, dict]:
        """Run the model's SELECT over `tables` (default: all registered) and return at most
        `max_rows` rows (and about `max_bytes` of Arrow data) as a DataFrame, with
        info = {sql, rows_returned, truncated, seconds[, rows_scanned, bytes_spilled]}."""
        why = check_query(query, self._allowed(tables))
        if why:
            raise SqlRefused(why)
        started = time.perf_counter()

        def work():
            # A streaming reader: DuckDB produces rows as they are read, so stopping after
            # max_rows + 1 never materialises the rest (no text wrapping of the query).
            reader = self._con.sql(query).to_arrow_reader(min(max(max_rows + 1, 1), 100_000))
            try:
                batches, truncated = _take(reader, max_rows, max_bytes)
                schema = reader.schema
            finally:
                reader.close()
            return pa.Table.from_batches(batches, schema=schema), truncated, self._last_profile(query)

        table, truncated, metrics = self._blocking(work)
        frame = _to_pandas(table)
        info = {"sql": query, "rows_returned": len(frame), "truncated": truncated,
                "seconds": round(time.perf_counter() - started, 3)}
        info.update(metrics)
        return frame, info

    def _allowed(self, tables: list[str] | None) -> list[str]:
        if tables is None:
            return self.tables()
        return [self._table(t)[0] for t in tables]

    def _last_profile(self, query: str) -> dict:
        """rows_scanned (rows the table scans produced, after DuckDB pushed filters and
        skipped row groups) and bytes_spilled from DuckDB's in-memory profile of the query
        just run. Profiling is on for every query (set before the lock; no measurable cost)
        and reading the JSON is cheap. A query stopped early (max_rows) reports what it had
        scanned by then; one DuckDB answers from Parquet footers alone (count(*)) has no
        profile, so neither key is given."""
        try:
            profile = json.loads(self._con.get_profiling_information("json"))
        except (duckdb.Error, ValueError):
            return {}
        summary = profile.get("query") or {}
        if summary.get("sql") != query:
            return {}  # not the query we ran: say nothing rather than something wrong
        out = {}
        if isinstance(summary.get("total_rows_scanned"), int):
            out["rows_scanned"] = summary["total_rows_scanned"]
        spilled = (profile.get("system") or {}).get("total_bytes_spilled")
        if isinstance(spilled, int):
            out["bytes_spilled"] = spilled
        return out


def _take(reader: pa.RecordBatchReader, max_rows: int, max_bytes: int) -> tuple[list, bool]:
    """At most max_rows rows and about max_bytes of batches; truncated when more existed."""
    batches, rows, size = [], 0, 0
    for batch in reader:
        if batch.num_rows == 0:
            continue
        keep = min(batch.num_rows, max_rows - rows)
        per_row = batch.nbytes / batch.num_rows
        if per_row > 0:
            keep = min(keep, int((max_bytes - size) // per_row))
        keep = max(keep, 0)
        if keep < batch.num_rows:
            if keep:
                batches.append(batch.slice(0, keep))
            return batches, True
        batches.append(batch)
        rows += keep
        size += batch.nbytes
    return batches, False


def _explained(error: BaseException) -> BaseException:
    """DuckDB's error, with what to do instead where its own advice (raise memory_limit,
    fewer threads) is impossible under the locked configuration."""
    if isinstance(error, duckdb.OutOfMemoryException):
        return duckdb.OutOfMemoryException(f"{str(error).splitlines()[0]}\n{_OOM_HINT}")
    if isinstance(error, duckdb.IOException) and "File too large" in str(error):
        return duckdb.IOException(f"{str(error).splitlines()[0]}\n{_FILE_TOO_LARGE_HINT}")
    return error


# ---------------------------------------------------------------------------
# Readers


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


# ---------------------------------------------------------------------------
# Profile parts


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


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow result -> DataFrame as pandas users expect: whole DECIMALs (HUGEINT, which is
    what sum() of integers gives) as int64 when they fit, other DECIMALs as float64 (pandas
    would hold Decimal objects), DATE as datetime64 (not Python dates); the rest is pyarrow's
    default (text -> str, integers with NULLs -> float64, timestamps keep their unit)."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_decimal(field.type):
            column = _from_decimal(column)
        elif pa.types.is_date(field.type):
            column = column.cast(pa.timestamp("us"))
        columns.append(column)
    # One thread: the result is small, and a thread start can fail under RLIMIT_AS.
    return pa.Table.from_arrays(columns, names=table.column_names).to_pandas(use_threads=False)


def _from_decimal(column):
    if column.type.scale == 0:
        try:
            return column.cast(pa.int64())  # a safe cast: refuses values that do not fit
        except pa.ArrowInvalid:
            pass
    return column.cast(pa.float64())


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


# ---------------------------------------------------------------------------
# The SQL check

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
