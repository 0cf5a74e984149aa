"""Tables too large for pandas: registered with DuckDB (the `llm_duck` module), read where
they lie, and queried with `sql("SELECT ...")`, which returns the reduced result as a pandas
DataFrame. Each call is recorded (SQL, rows scanned and returned) for the cell and history."""

import os

from . import output, state

# A result larger than this is refused, not cut: a silently shortened table gives wrong
# answers, and the error tells the model to aggregate in SQL.
SQL_MAX_ROWS = 1_000_000
SQL_MAX_BYTES = 256 * 2**20
# Room the engine leaves for pandas under the worker's address-space limit.
PANDAS_ROOM_MB = 512
ENGINE_THREADS = 2
# DuckDB needs about this much to spill a group-by on 2 threads (duck/'s tests).
MIN_ENGINE_MEMORY_MB = 96

TABLES: dict = {}  # name -> {"paths", "fmt", "csv_types"}
RUNS: list = []  # this cell's sql() calls: {"sql", "rows_returned", "rows_scanned"?, "seconds"}
_engine = None


def _duck():
    return state._sibling("llm_duck", "duck.py")


def engine():
    """The one DuckDB engine of this process, made at the first registration (after pandas
    is imported, so its memory limit leaves pandas the room it was promised)."""
    global _engine
    if _engine is None:
        duck = _duck()
        memory = duck.suggested_memory_limit_mb(threads=ENGINE_THREADS, keep_free_mb=PANDAS_ROOM_MB)
        memory = max(memory or 4096, MIN_ENGINE_MEMORY_MB)
        _engine = duck.Engine(os.path.join(state.SCRATCH, "engine"), memory_limit_mb=memory,
                              threads=ENGINE_THREADS)
    return _engine


def load_engine_table(name: str, paths: list, fmt: str, make_current: bool, source: str) -> dict:
    """Register a table over `paths` and return its profile (computed by DuckDB), with the
    CSV column types to pass back at every restore, or {"load_error": why}."""
    try:
        engine().register(name, paths, fmt)
        profile = engine().profile(name, source=source)
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001 - a file DuckDB cannot read: the user is told why
        return {"load_error": f"DuckDB could not read {source}: {type(e).__name__}: {e}"}
    _bind(name, fmt, make_current)
    profile["csv_types"] = engine().csv_types(name)
    return profile


def restore_engine_table(name: str, paths: list, fmt: str, make_current: bool,
                         csv_types: dict | None = None) -> dict:
    """Register a table loaded before (question worker, respawn); the CSV types found at
    load are pinned, so the file is not read whole again."""
    engine().register(name, paths, fmt, csv_types=csv_types)
    _bind(name, fmt, make_current)
    return {"name": name}


def _bind(name: str, fmt: str, make_current: bool) -> None:
    TABLES[name] = {"fmt": fmt}
    state.NS["sql"] = sql
    if make_current:
        # The current dataset is this table: there is no frame to call `df`.
        state.current_dataset = None
        state.NS.pop("df", None)
    output.flush_streams()


def sql(query: str):
    """Run one read-only SELECT over the registered tables with DuckDB and return the
    result as a pandas DataFrame. Aggregate and filter in SQL: at most
    {SQL_MAX_ROWS:,} rows come back."""
    if not isinstance(query, str):
        raise TypeError("sql() takes the query as one string: sql(\"SELECT ... FROM table\")")
    if not TABLES:
        raise RuntimeError("No table is loaded for SQL: %load a file with --engine duckdb first.")
    frame, info = engine().run(query, max_rows=SQL_MAX_ROWS, max_bytes=SQL_MAX_BYTES)
    if info.get("truncated"):
        raise ValueError(
            f"The query returns more than {len(frame):,} rows, too many to bring into pandas. "
            "Aggregate or filter in SQL (GROUP BY, WHERE) or add a LIMIT.")
    RUNS.append({"engine": "duckdb", **{k: info[k] for k in ("sql", "rows_scanned", "rows_returned", "seconds") if k in info}})
    return frame


sql.__doc__ = sql.__doc__.format(SQL_MAX_ROWS=SQL_MAX_ROWS)


def take_runs() -> list:
    """The sql() calls since the last take (one cell's), oldest first."""
    runs = list(RUNS)
    RUNS.clear()
    return runs


def interrupt() -> None:
    if _engine is not None:
        _engine.interrupt()
