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
SPARK_TABLES: set = set()  # tables on a Spark cluster (the kernel runs their SQL)
# This question's Spark results, run by the kernel's Spark engine before the code started:
# query text -> {"path": Arrow file, "rows_returned", "seconds"} or {"refused": True, ...}.
PREPARED: dict = {}
RUNS: list = []  # this cell's sql() calls: {"sql", "rows_returned", "rows_scanned"?, "seconds"}
CURRENT = [None]  # the current dataset's name when it is a table (else None)
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


class TableRef:
    """What the table's name (and `df`, when the table is current) is bound to: not a frame.
    Models trained on pandas write `data['Fare'].mean()` whatever the prompt says (a 1.5B
    model did on 10 of 10 DABench questions), so selecting columns works: DuckDB reads just
    those columns and they come back as pandas when they fit MAX_DATAFRAME_SIZE cells. Anything
    else, or columns that do not fit, gets an error that says how to query the table, which
    the repair loop feeds back to the model."""

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def _refuse(self, *_args, **_kwargs):
        # Looked up on the instance's class, so a subclass's dunders (bound to this function)
        # say its own message.
        raise TypeError(object.__getattribute__(self, "_refusal")())

    def _refusal(self) -> str:
        name = object.__getattribute__(self, "_name")
        return (
            f"{name!r} is a DuckDB table (too large for pandas), not a DataFrame: select columns "
            f"({name}['col'] or {name}[['a', 'b']]) or query it with sql(), which returns a "
            f"DataFrame, e.g. sql('SELECT AVG(\"col\") AS mean FROM {name}').iloc[0, 0] or "
            f"sql('SELECT \"col\", COUNT(*) AS n FROM {name} GROUP BY \"col\"')")

    def __getitem__(self, key):
        name = object.__getattribute__(self, "_name")
        columns = _selected_columns(key)
        if columns is None:
            self._refuse()
        limit = max(1, state.MAX_DATAFRAME_SIZE // len(columns))
        frame = _select(projection(name, columns), limit)
        return frame[key] if isinstance(key, str) else frame

    @property
    def columns(self):
        name = object.__getattribute__(self, "_name")
        return engine().run(f'SELECT * FROM "{name}" LIMIT 0', max_rows=1)[0].columns

    __getattr__ = __setitem__ = __len__ = __iter__ = __call__ = _refuse
    __setattr__ = __eq__ = __lt__ = __gt__ = __add__ = __array__ = _refuse
    __hash__ = object.__hash__

    def __repr__(self):
        return f"<DuckDB table {object.__getattribute__(self, '_name')}: query it with sql()>"


def _selected_columns(key) -> list | None:
    """The columns `ref[key]` selects ('col' or ['a', 'b']), or None for any other key."""
    columns = [key] if isinstance(key, str) else key
    if isinstance(columns, list) and columns and all(isinstance(c, str) for c in columns):
        return columns
    return None


def _record(engine_name: str, info: dict) -> None:
    """One query of this cell, for the cell's "where it ran" and the history."""
    keys = ("sql", "rows_scanned", "rows_returned", "seconds")
    RUNS.append({"engine": engine_name, **{k: info[k] for k in keys if k in info}})


def projection(table: str, columns: list) -> str:
    """The SQL that reads `columns` of `table` (the kernel builds the same text for Spark:
    analysis/spark/queries.rs `projection`)."""
    quote = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731
    return f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)}"


def _select(query: str, max_rows: int):
    """A projection of a table into pandas, refused (not cut) when over max_rows."""
    return _run(query, max_rows, SQL_MAX_BYTES * 4, lambda _returned: (
        f"Those columns have more than {max_rows:,} rows, too many for pandas "
        f"(MAX_DATAFRAME_SIZE={state.MAX_DATAFRAME_SIZE:,} cells). Aggregate in SQL instead: "
        "sql('SELECT AVG(\"col\") FROM table') or GROUP BY."))


def _run(query: str, max_rows: int, max_bytes: int, too_many):
    """Run a query for pandas; a result over the bounds is refused with too_many(rows kept), not
    cut (a shortened table gives wrong answers). Each run is recorded for the cell."""
    frame, info = engine().run(query, max_rows=max_rows, max_bytes=max_bytes)
    if info.get("truncated"):
        raise ValueError(too_many(len(frame)))
    _record("duckdb", info)
    return frame


def refs(current: str | None) -> dict:
    """Names to bind in a namespace: each table's name, and `df` when the current dataset
    is a table. A Spark table the kernel read whole for this question (it fits pandas and the
    code uses it as a DataFrame) is bound as that DataFrame."""
    out = {name: TableRef(name) for name in TABLES if name.isidentifier()}
    for name in SPARK_TABLES:
        out[name] = _whole(name) if whole_table(name) in PREPARED else SparkTableRef(name)
    if current in TABLES:
        out["df"] = TableRef(current)
    elif current in SPARK_TABLES:
        out["df"] = out[current]
    return {k: v for k, v in out.items() if k.isidentifier()}


def whole_table(table: str) -> str:
    """The SQL that reads a whole table (the kernel builds the same text: analysis/spark/
    queries.rs `whole_table`)."""
    return 'SELECT * FROM "' + table.replace('"', '""') + '"'


def _whole(name: str):
    """The whole Spark table as a DataFrame, or its reference when Spark refused it (too
    large after all): the reference says how to query it."""
    info = PREPARED[whole_table(name)]
    if info.get("error") or info.get("refused"):
        return SparkTableRef(name)
    return _prepared(whole_table(name))


def _bind(name: str, fmt: str, make_current: bool) -> None:
    TABLES[name] = {"fmt": fmt}
    state.NS["sql"] = sql
    if name.isidentifier() and name not in state.RESERVED_NAMES:
        state.NS[name] = TableRef(name)
    if make_current:
        # The current dataset is this table: `df` says how to query it instead of a frame.
        state.current_dataset = None
        state.NS["df"] = TableRef(name)
        CURRENT[0] = name
    elif CURRENT[0] == name:
        CURRENT[0] = None
    output.flush_streams()


def sql(query: str):
    """Run one read-only SELECT over the registered tables (DuckDB, or Spark for tables on a
    cluster) and return the result as a pandas DataFrame. Aggregate and filter in SQL: at
    most {SQL_MAX_ROWS:,} rows come back."""
    if not isinstance(query, str):
        raise TypeError("sql() takes the query as one string: sql(\"SELECT ... FROM table\")")
    if query in PREPARED:
        return _prepared(query)
    if SPARK_TABLES and not TABLES:
        # This process has no network: Spark queries run before the code, from its text.
        raise RuntimeError(
            "This query was not run on the Spark cluster: sql() over a Spark table takes the "
            "query as a string literal written in the code, sql('SELECT ...'), which the kernel "
            "runs before the code starts (this Python has no network).")
    if not TABLES:
        raise RuntimeError("No table is loaded for SQL: %load a file with --engine duckdb first.")
    return _run(query, SQL_MAX_ROWS, SQL_MAX_BYTES, lambda rows: (
        f"The query returns more than {rows:,} rows, too many to bring into pandas. "
        "Aggregate or filter in SQL (GROUP BY, WHERE) or add a LIMIT."))


sql.__doc__ = sql.__doc__.format(SQL_MAX_ROWS=SQL_MAX_ROWS)


def _prepared(query: str):
    """A Spark result the kernel fetched for this query (read from its Arrow file)."""
    import pyarrow as pa

    info = PREPARED[query]
    if info.get("error"):
        raise RuntimeError(info["error"])
    if info.get("refused"):
        raise ValueError(
            f"The query returns more than {info.get('rows_returned', SQL_MAX_ROWS):,} rows (or "
            f"{SQL_MAX_BYTES // 2**20} MB), too many to bring into pandas. Aggregate or filter "
            "in SQL (GROUP BY, WHERE) or add a LIMIT.")
    with pa.memory_map(info["path"]) as source:
        frame = pa.ipc.open_file(source).read_all().to_pandas()
    _record("spark", info)
    return frame


class SparkTableRef(TableRef):
    """A Spark table's name (and `df`): it lives on the cluster, so only sql() reads it."""

    def _refusal(self) -> str:
        name = object.__getattribute__(self, "_name")
        return (
            f"{name!r} is a table on the Spark cluster, not a DataFrame: query it with sql(), "
            f"which returns a DataFrame, e.g. sql('SELECT AVG(\"col\") AS mean FROM {name}')"
            f".iloc[0, 0] or sql('SELECT \"col\", COUNT(*) AS n FROM {name} GROUP BY \"col\"')")

    def __getitem__(self, key):
        """Columns the kernel read from Spark before the code ran (it reads what the code
        selects, when it fits MAX_DATAFRAME_SIZE): `trips['fare']`, `df[['a', 'b']]`."""
        name = object.__getattribute__(self, "_name")
        columns = _selected_columns(key)
        if columns is not None:
            query = projection(name, columns)
            if query in PREPARED:
                frame = _prepared(query)
                return frame[key] if isinstance(key, str) else frame
        self._refuse()

    # The rest of TableRef's refusals say this class's message (`_refusal`); the columns are
    # not known here without a query.
    columns = property(TableRef._refuse)

    def __repr__(self):
        return f"<Spark table {object.__getattribute__(self, '_name')}: query it with sql()>"


def restore_spark_table(name: str, make_current: bool) -> dict:
    """Bind a table that lives on the Spark cluster (the kernel's Spark engine holds it)."""
    SPARK_TABLES.add(name)
    state.NS["sql"] = sql
    ref = SparkTableRef(name)
    if name.isidentifier() and name not in state.RESERVED_NAMES:
        state.NS[name] = ref
    if make_current:
        state.current_dataset = None
        state.NS["df"] = ref
        CURRENT[0] = name
    elif CURRENT[0] == name:
        CURRENT[0] = None
    return {"name": name}


def take_runs() -> list:
    """The sql() calls since the last take (one cell's), oldest first."""
    runs = list(RUNS)
    RUNS.clear()
    return runs


def interrupt() -> None:
    if _engine is not None:
        _engine.interrupt()
