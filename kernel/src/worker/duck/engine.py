"""The engine: one locked DuckDB connection over the registered tables (`Engine`), its
queries and profiles run on a helper thread so an interrupt stops them, and the memory limit
it can have under the worker's address-space limit (`suggested_memory_limit_mb`)."""

from __future__ import annotations

import json
import os
import resource
import threading
import time

import duckdb
import pandas as pd
import pyarrow as pa

from .profile import (
    CATEGORY_MAX_CHARS,
    CATEGORY_MAX_COLUMNS,
    CATEGORY_MAX_VALUES,
    CATEGORY_PROBE_ROWS,
    CATEGORY_SCAN_ROWS,
    SAMPLE_ROWS,
    _as_dtypes,
    _categories,
    _null_counts,
    _pandas_dtype,
    _profile_dict,
)
from .readers import _create_views, _ident, _sql_list
from .results import _explained, _take, _to_pandas
from .sqlcheck import SqlRefused, check_query


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
