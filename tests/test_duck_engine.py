"""Tests of the worker's DuckDB engine (kernel/src/worker/duck/, imported as `llm_duck`).

In-process, no kernel: the package is imported from its folder. Expected answers come from
pandas, pyarrow or closed-form arithmetic, never from the engine itself. Each test works in
its own tmp_path (scratch and data); the larger-than-memory file is made once per module.

Two layers are tested apart: `check_query` refusing hostile SQL, and the engine's locked
connection refusing the same things when SQL reaches it without the check.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

WORKER_DIR = Path(__file__).resolve().parents[1] / "kernel" / "src" / "worker"
DUCK_DIR = WORKER_DIR / "duck"
DUCK_PATH = DUCK_DIR / "__init__.py"


def _import_duck():
    spec = importlib.util.spec_from_file_location(
        "llm_duck", DUCK_PATH, submodule_search_locations=[str(DUCK_DIR)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["llm_duck"] = module  # its modules import each other relative to this name
    spec.loader.exec_module(module)
    return module


duck = _import_duck()

TEXT_DTYPES = ["object", "str", "string", "category"]


# ---------------------------------------------------------------------------
# Data and engines


def sales_frame(n: int = 3_000, seed: int = 7) -> pd.DataFrame:
    """Every kind of column a profile describes: ints, floats with gaps, low- and
    high-cardinality text with gaps, booleans, timestamps, names with spaces."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "id": np.arange(n, dtype=np.int64),
        "region": rng.choice(["North", "South", "East", "West"], n),
        "customer": [f"customer {i % 997}" for i in range(n)],
        "amount": rng.normal(100, 25, n).round(2),
        "qty": rng.integers(1, 20, n),
        "order date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        "returned": rng.random(n) < 0.1,
        "unit price": rng.uniform(1, 50, n).round(3),
    })
    frame.loc[frame.index % 7 == 3, "amount"] = np.nan
    frame.loc[frame.index % 11 == 5, "region"] = None
    return frame


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def engine(tmp_path: Path):
    eng = duck.Engine(str(tmp_path / "scratch"), memory_limit_mb=256, threads=2)
    yield eng
    eng.close()


@pytest.fixture
def sales(engine, data_dir: Path):
    """The sales frame as Parquet (table `sales`) and CSV (table `sales_csv`)."""
    frame = sales_frame()
    parquet, csv = data_dir / "sales.parquet", data_dir / "sales.csv"
    frame.to_parquet(parquet, index=False)
    frame.to_csv(csv, index=False)
    engine.register("sales", [str(parquet)], "parquet")
    engine.register("sales_csv", [str(csv)], "csv")
    return {"parquet": parquet, "csv": csv}


def runtime_profile_keys() -> set:
    """The keys of the pandas runtime's profile dict, read from its source (runtime.py or the
    runtime/ package, wherever `_profile` lives), so a key added there fails here."""
    for path in sorted(WORKER_DIR.rglob("*.py")):
        if path == DUCK_PATH:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "_profile":
                returned = [n.value for n in ast.walk(node) if isinstance(n, ast.Return)]
                return {k.value for d in returned if isinstance(d, ast.Dict) for k in d.keys}
    raise AssertionError("the runtime's _profile was not found under kernel/src/worker")


def json_record(row: pd.Series) -> dict:
    """A pandas row as the profile's sample_records hold it (independent of the module)."""
    out = {}
    for name, value in row.items():
        if pd.isna(value):
            out[name] = None
        elif isinstance(value, pd.Timestamp):
            out[name] = value.isoformat()
        elif isinstance(value, np.generic):
            out[name] = value.item()
        else:
            out[name] = value
    return out


def first_seen(series: pd.Series) -> list:
    return list(series.dropna().unique())


# ---------------------------------------------------------------------------
# Configuration


def test_connection_is_configured_and_locked(engine, tmp_path):
    setting = lambda name: engine.connection.execute(  # noqa: E731
        "SELECT current_setting(?)", [name]).fetchall()[0][0]
    assert setting("threads") == 2
    assert setting("memory_limit") == "256.0 MiB"
    assert setting("temp_directory") == str(tmp_path / "scratch" / "duckdb")
    assert (tmp_path / "scratch" / "duckdb").is_dir()
    for name in ("enable_external_access", "autoinstall_known_extensions",
                 "autoload_known_extensions", "allow_community_extensions",
                 "allow_persistent_secrets", "python_enable_replacements"):
        assert setting(name) is False, name
    assert setting("lock_configuration") is True


# ---------------------------------------------------------------------------
# Profile


def test_profile_of_parquet_matches_pandas(engine, sales):
    expected = pd.read_parquet(sales["parquet"])
    profile = engine.profile("sales")

    assert runtime_profile_keys() <= set(profile)
    assert profile["engine"] == "duckdb"
    assert profile["name"] == "sales" and profile["source"] == "sales.parquet"
    assert profile["rows"] == len(expected)
    assert profile["columns"] == list(expected.columns)
    assert profile["dtypes"] == {c: str(t) for c, t in expected.dtypes.items()}
    assert profile["null_counts"] == {c: int(n) for c, n in expected.isna().sum().items()}
    assert profile["null_counts"]["amount"] > 0 and profile["null_counts"]["region"] > 0
    assert profile["numeric_columns"] == list(expected.select_dtypes(include=[np.number]).columns)
    assert profile["categorical_columns"] == list(expected.select_dtypes(include=TEXT_DTYPES).columns)
    assert profile["sample_records"] == [json_record(r) for _, r in expected.head(5).iterrows()]
    assert profile["sample_text"] == expected.head(5).to_string(max_colwidth=40, line_width=160)
    # region has 4 values; customer has 997 (over 50): no categories for it.
    assert profile["categories"] == {"region": first_seen(expected["region"])}
    assert profile["text"].endswith(profile["sample_text"])
    assert "<table" in profile["html"] and profile["memory_bytes"] == 0
    assert profile["sql_types"]["order date"].startswith("TIMESTAMP")


def test_profile_of_csv_matches_pandas(engine, sales):
    expected = pd.read_csv(sales["csv"])
    profile = engine.profile("sales_csv")

    assert profile["rows"] == len(expected)
    assert profile["columns"] == list(expected.columns)
    assert profile["null_counts"] == {c: int(n) for c, n in expected.isna().sum().items()}
    # The one deliberate difference: DuckDB types ISO dates, pd.read_csv leaves text.
    assert str(expected["order date"].dtype) == "str"
    assert profile["dtypes"]["order date"].startswith("datetime64")
    same = {c: str(t) for c, t in expected.dtypes.items() if c != "order date"}
    assert {c: t for c, t in profile["dtypes"].items() if c != "order date"} == same
    assert profile["categories"] == {"region": first_seen(expected["region"])}
    assert profile["sample_records"][0]["customer"] == expected.loc[0, "customer"]


def test_csv_reads_as_pandas_does(engine, data_dir):
    """Header always taken, pandas' missing-value strings, types from every row: a float
    after DuckDB's 20k-row sniff sample is not rounded into an integer column."""
    lines = ["n,label,score"] + [f"{i},x{i % 3},{i}" for i in range(30_000)]
    lines += ["1.5,NA,N/A", "7,n/a,"]
    path = data_dir / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    text_only = data_dir / "text.csv"
    text_only.write_text("a,b\nx,y\nz,w\n")
    engine.register("late", [str(path)], "csv")
    engine.register("text_only", [str(text_only)], "csv")

    expected = pd.read_csv(path)
    profile = engine.profile("late")
    assert profile["dtypes"] == {c: str(t) for c, t in expected.dtypes.items()}
    assert profile["null_counts"] == {c: int(n) for c, n in expected.isna().sum().items()}
    frame, _ = engine.run("SELECT sum(n) AS total, count(label) AS labels FROM late")
    assert frame.loc[0, "total"] == pytest.approx(expected["n"].sum(), rel=1e-12)
    assert frame.loc[0, "labels"] == expected["label"].notna().sum()
    assert engine.profile("text_only")["columns"] == list(pd.read_csv(text_only).columns)


def test_profile_of_several_files_and_wide_tables(engine, data_dir):
    """Files of one table with columns in another order or missing are matched by name;
    a missing column counts as nulls (the Parquet footers cannot say so)."""
    first = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    second = pd.DataFrame({"b": ["z"], "a": [3]})
    third = pd.DataFrame({"a": [4]})
    paths = []
    for i, frame in enumerate((first, second, third)):
        paths.append(str(data_dir / f"part{i}.parquet"))
        frame.to_parquet(paths[-1], index=False)
    engine.register("parts", paths, "parquet")
    expected = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    profile = engine.profile("parts")
    assert profile["rows"] == len(expected) == 4
    assert profile["null_counts"] == {c: int(n) for c, n in expected.isna().sum().items()}
    assert profile["source"] == "part0.parquet (+2 files)"

    wide = pd.DataFrame({f"c{i}": [i, i + 1] for i in range(45)})
    wide.to_parquet(data_dir / "wide.parquet", index=False)
    engine.register("wide", [str(data_dir / "wide.parquet")], "parquet")
    profile = engine.profile("wide")
    assert len(profile["columns"]) == 45 and len(profile["sample_records"][0]) == 45
    assert "... and 5 more columns" in profile["text"]


# ---------------------------------------------------------------------------
# Answers


@pytest.mark.parametrize("table", ["sales", "sales_csv"])
def test_group_by_matches_pandas(engine, sales, table):
    reader = pd.read_parquet if table == "sales" else pd.read_csv
    frame = reader(sales["parquet" if table == "sales" else "csv"])
    expected = (frame.dropna(subset=["region"]).groupby("region")
                .agg(n=("id", "size"), qty=("qty", "sum"), mean_amount=("amount", "mean"),
                     top_price=("unit price", "max"))
                .reset_index().sort_values("region", ignore_index=True))
    got, info = engine.run(
        f'SELECT region, count(*) AS n, sum(qty) AS qty, avg(amount) AS mean_amount, '
        f'max("unit price") AS top_price FROM {table} WHERE region IS NOT NULL '
        f'GROUP BY region ORDER BY region')
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, atol=1e-9)
    assert str(got["qty"].dtype) == "int64"  # sum() is HUGEINT in DuckDB: back to int64
    assert info["rows_returned"] == 4 and info["truncated"] is False
    # Rows the scan produced: after DuckDB pushed the WHERE into it, at most every row.
    assert frame["region"].notna().sum() <= info["rows_scanned"] <= len(frame)
    _, info = engine.run(f"SELECT sum(qty) AS n FROM {table}")
    assert info["rows_scanned"] == len(frame)


# ---------------------------------------------------------------------------
# Larger than memory

BIG_ROWS = 16_000_000
BIG_KEYS = 4_000_000
BIG_STRIDE = 7_919  # prime, so key = i * stride % keys visits every key BIG_ROWS/BIG_KEYS times


@pytest.fixture(scope="module")
def big_parquet(tmp_path_factory) -> Path:
    """16M rows x 3 int64/float64 columns (384 MB in memory), 4M distinct keys in
    scattered order: k = i * 7919 % 4M, v = i, f = i / 2."""
    path = tmp_path_factory.mktemp("big") / "big.parquet"
    schema = pa.schema([("k", pa.int64()), ("v", pa.int64()), ("f", pa.float64())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, BIG_ROWS, 2_000_000):
            i = np.arange(start, start + 2_000_000, dtype=np.int64)
            writer.write_table(pa.table({"k": i * BIG_STRIDE % BIG_KEYS, "v": i, "f": i / 2},
                                        schema=schema), row_group_size=1_000_000)
    return path


def big_group_sums(keys: np.ndarray) -> np.ndarray:
    """sum(v) of each key, in closed form: the rows of key k are r + j*K (j < N/K) with
    r = k * stride^-1 mod K."""
    per_key = BIG_ROWS // BIG_KEYS
    first_row = keys * pow(BIG_STRIDE, -1, BIG_KEYS) % BIG_KEYS
    return per_key * first_row + BIG_KEYS * per_key * (per_key - 1) // 2


def test_group_by_larger_than_memory_spills_and_is_right(tmp_path, big_parquet):
    # 96 MB: at 64 MB with 2 threads DuckDB 2.0.1 runs out of memory on this count + sum +
    # avg over 4M groups instead of spilling (it needs some memory per thread); 80 MB works.
    memory_mb = 96
    assert BIG_ROWS * 3 * 8 > 3.5 * memory_mb * 2**20
    engine = duck.Engine(str(tmp_path / "scratch"), memory_limit_mb=memory_mb, threads=2)
    try:
        engine.register("big", [str(big_parquet)], "parquet")
        started = time.perf_counter()
        profile = engine.profile("big")
        profile_seconds = time.perf_counter() - started
        assert profile["rows"] == pq.ParquetFile(big_parquet).metadata.num_rows == BIG_ROWS
        assert profile["null_counts"] == {"k": 0, "v": 0, "f": 0}
        assert profile["dtypes"] == {"k": "int64", "v": "int64", "f": "float64"}
        # Row and null counts come from the Parquet footers: faster than reading the data once.
        started = time.perf_counter()
        sums, _ = engine.run("SELECT sum(k) AS k, sum(v) AS v, sum(f) AS f FROM big")
        assert profile_seconds < time.perf_counter() - started
        assert sums.loc[0, "v"] == BIG_ROWS * (BIG_ROWS - 1) // 2

        groups, info = engine.run(
            "SELECT k, count(*) AS c, sum(v) AS s, avg(f) AS mean_f FROM big GROUP BY k",
            max_rows=2_000)
        assert info["truncated"] is True and info["rows_returned"] == len(groups) == 2_000
        assert info["bytes_spilled"] > 0  # it did not fit in memory
        assert info["rows_scanned"] == BIG_ROWS
        # ...and spilled into <scratch>/duckdb (DuckDB keeps its owner file there while open).
        spill = tmp_path / "scratch" / "duckdb"
        assert any(p.name.startswith("duckdb_temp") for p in spill.iterdir())
        keys = groups["k"].to_numpy()
        assert len(set(keys)) == 2_000 and keys.min() >= 0 and keys.max() < BIG_KEYS
        assert (groups["c"] == BIG_ROWS // BIG_KEYS).all()
        np.testing.assert_array_equal(groups["s"].to_numpy(), big_group_sums(keys))
        np.testing.assert_allclose(groups["mean_f"].to_numpy(),
                                   big_group_sums(keys) / 2 / (BIG_ROWS // BIG_KEYS))

        every = np.arange(BIG_KEYS, dtype=np.int64)
        totals, info = engine.run(
            "WITH g AS (SELECT k, count(*) AS c, sum(v) AS s FROM big GROUP BY k) "
            "SELECT count(*) AS groups, sum(c) AS n, min(c) AS least, max(c) AS most, "
            "sum(s * (k % 1000)) AS checksum FROM g")
        assert info["bytes_spilled"] > 0
        row = totals.iloc[0]
        assert row["groups"] == BIG_KEYS and row["n"] == BIG_ROWS
        assert row["least"] == row["most"] == BIG_ROWS // BIG_KEYS
        assert row["checksum"] == int((big_group_sums(every) * (every % 1000)).sum())
    finally:
        engine.close()


def test_spilling_group_by_fits_under_the_worker_address_space_limit(tmp_path, big_parquet):
    """Like the worker: RLIMIT_AS set once pandas & co. are loaded, the memory limit from
    suggested_memory_limit_mb(). DuckDB must spill (not fail with a bad allocation), and
    after its queries pandas must still find the room it was promised (keep_free_mb)."""
    script = textwrap.dedent(f"""
        import importlib.util, resource, sys
        import numpy, pandas, pyarrow, duckdb
        spec = importlib.util.spec_from_file_location("llm_duck", {str(DUCK_PATH)!r},
                                                      submodule_search_locations=[{str(DUCK_DIR)!r}])
        duck = importlib.util.module_from_spec(spec); sys.modules["llm_duck"] = duck
        spec.loader.exec_module(duck)
        with open("/proc/self/status") as f:
            mapped = next(int(l.split()[1]) for l in f if l.startswith("VmSize:")) * 1024
        limit = mapped + 1600 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        memory_mb = duck.suggested_memory_limit_mb(threads=2, keep_free_mb=300)
        assert 150 <= memory_mb <= 400, memory_mb
        engine = duck.Engine({str(tmp_path / "scratch")!r}, memory_limit_mb=memory_mb, threads=2)
        engine.register("big", [{str(big_parquet)!r}], "parquet")
        spilled = []
        for _ in range(2):
            frame, info = engine.run("WITH g AS (SELECT k, count(*) AS c, sum(v) AS s, avg(f) AS m "
                                     "FROM big GROUP BY k) SELECT count(*) AS groups, sum(s) AS total FROM g")
            spilled.append(info["bytes_spilled"] > 0)
        room = numpy.ones(200 * 2**20 // 8)  # pandas-sized work after DuckDB's queries
        print(int(frame.loc[0, "groups"]), int(frame.loc[0, "total"]), all(spilled), room.nbytes)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    groups, total, spilled, room = done.stdout.split()
    assert int(groups) == BIG_KEYS
    assert int(total) == BIG_ROWS * (BIG_ROWS - 1) // 2
    assert spilled == "True" and int(room) == 200 * 2**20


# ---------------------------------------------------------------------------
# Layer 1: check_query refuses

TABLES = ["sales", "other"]

HOSTILE = [
    # Files by path, through replacement scans and every reader.
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM \"/etc/passwd\"",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM READ_CSV_AUTO('/etc/passwd')",
    "SELECT * FROM Read_Parquet('/tmp/x.parquet')",
    "SELECT * FROM \"read_text\"('/etc/passwd')",
    "SELECT content FROM read_blob('/etc/hostname')",
    "SELECT * FROM read_json_auto('/etc/x.json')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM parquet_metadata('/tmp/x.parquet')",
    "SELECT * FROM sales, read_parquet('/tmp/x.parquet') p",
    # Other SQL run from inside SQL.
    "SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')",
    "SELECT * FROM query_table('sales')",
    "SELECT * FROM json_execute_serialized_sql('{}')",
    # Settings, environment, catalog.
    "SELECT getenv('HOME')",
    "SELECT current_setting('temp_directory')",
    "SELECT getvariable('x')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_tables",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM pragma_version()",
    "SELECT * FROM which_secret('s3://x', 's3')",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_catalog.pg_tables",
    "SELECT * FROM main.sales",
    "SELECT * FROM memory.main.sales",
    "SELECT main.lower('x')",
    "SHOW TABLES",
    "SHOW ALL TABLES",
    "SELECT * FROM test_all_types()",
    "SELECT * FROM sales, repeat_row(1, num_rows => 3)",
    "SELECT sleep_ms(100000)",
    "SELECT write_log('x')",
    "SELECT nextval('s')",
    # Unregistered tables.
    "SELECT * FROM secrets",
    "SELECT * FROM sales JOIN nowhere USING (id)",
    # The same, nested.
    "SELECT * FROM (SELECT * FROM read_csv('/etc/passwd'))",
    "WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x",
    "WITH a AS (SELECT 1), b AS (SELECT * FROM a, (SELECT getenv('HOME'))) SELECT * FROM b",
    "SELECT id FROM sales UNION ALL SELECT 1 FROM read_text('/etc/passwd')",
    "SELECT id FROM sales WHERE id IN (SELECT length(content) FROM read_text('/etc/passwd'))",
    "SELECT (SELECT current_setting('memory_limit')) AS x FROM sales",
    "SELECT list_transform(['/etc/passwd'], x -> getenv(x))",
    "SELECT sum(id) OVER (PARTITION BY (SELECT count(*) FROM duckdb_settings())) FROM sales",
    "SELECT * FROM sales s, LATERAL (SELECT * FROM read_csv('/etc/' || s.region))",
    "SELECT * FROM sales ORDER BY (SELECT count(*) FROM glob('/*'))",
    "SELECT * FROM sales LIMIT (SELECT count(*) FROM duckdb_tables())",
    "DESCRIBE SELECT * FROM read_csv('/etc/passwd')",
    # CTE names do not open the catalog: a CTE body cannot see its own name, and a name is
    # visible only inside its WITH.
    "WITH pg_tables AS (SELECT * FROM pg_tables) SELECT * FROM pg_tables",
    "WITH a AS (SELECT * FROM duckdb_views) , duckdb_views AS (SELECT 1) SELECT * FROM a",
    "SELECT * FROM (WITH duckdb_views AS (SELECT 1) SELECT * FROM duckdb_views) x, duckdb_views",
    # Comment and quoting tricks around a second statement.
    "SELECT 1 -- harmless\n; COPY sales TO '/tmp/out.csv'",
    "SELECT 1 /* ; */ ; ATTACH '/tmp/x.db' AS x",
    "/* SELECT */ INSTALL httpfs",
    "SELECT ';' AS s; DROP VIEW sales",
    # Statements that are not one SELECT.
    "SELECT 1; SELECT 2",
    "ATTACH '/tmp/x.db' AS x",
    "ATTACH ':memory:' AS m",
    "DETACH m",
    "COPY sales TO '/tmp/out.csv'",
    "COPY (SELECT * FROM sales) TO '/tmp/out.parquet' (FORMAT parquet)",
    "COPY sales FROM '/etc/passwd'",
    "EXPORT DATABASE '/tmp/export'",
    "IMPORT DATABASE '/tmp/export'",
    "INSTALL httpfs",
    "FORCE INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET GLOBAL lock_configuration = false",
    "RESET memory_limit",
    "SET VARIABLE x = 1",
    "PRAGMA version",
    "PRAGMA enable_profiling",
    "CALL pragma_version()",
    "CREATE TABLE t AS SELECT * FROM sales",
    "CREATE VIEW v AS SELECT * FROM read_csv('/etc/passwd')",
    "CREATE MACRO m(x) AS x",
    "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "INSERT INTO sales SELECT * FROM sales",
    "UPDATE sales SET id = 1",
    "DELETE FROM sales",
    "DROP VIEW sales",
    "EXPLAIN SELECT 1",
    "CHECKPOINT",
    "USE memory",
    "BEGIN TRANSACTION",
    "VACUUM",
    "PIVOT sales ON region USING sum(qty)",
    "",
    "   \n-- only a comment\n",
    "SELECT * FROM",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_check_query_refuses(query):
    why = duck.check_query(query, TABLES)
    assert isinstance(why, str) and len(why) > 20, why


def test_check_query_refusals_say_why():
    assert "read_csv" in duck.check_query("SELECT * FROM read_csv('/etc/passwd')", TABLES)
    assert "getenv" in duck.check_query("SELECT GETENV('HOME')", TABLES)
    assert "/etc/passwd" in duck.check_query("SELECT * FROM '/etc/passwd'", TABLES)
    assert "other, sales" in duck.check_query("SELECT * FROM secrets", TABLES)
    assert "one SELECT" in duck.check_query("SELECT 1; SELECT 2", TABLES)
    assert "SELECT" in duck.check_query("COPY sales TO '/tmp/out.csv'", TABLES)
    assert "parse" in duck.check_query("SELECT * FROM", TABLES)
    assert duck.check_query(None, TABLES)


def test_run_refuses_before_executing(engine, sales, tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(duck.SqlRefused, match="SELECT"):
        engine.run(f"COPY sales TO '{target}'")
    assert not target.exists()
    with pytest.raises(ValueError):  # SqlRefused is a ValueError
        engine.run("SELECT * FROM read_csv('/etc/passwd')")
    # A registered table outside the question's tables is refused too.
    with pytest.raises(duck.SqlRefused, match="sales_csv"):
        engine.run("SELECT * FROM sales_csv", tables=["sales"])


# ---------------------------------------------------------------------------
# Layer 2: the locked connection refuses on its own (SQL run without check_query)


def test_locked_connection_refuses_files_settings_extensions(engine, sales, data_dir, tmp_path):
    con = engine.connection
    unregistered = data_dir / "secret.csv"
    unregistered.write_text("token\nhunter2\n")
    (data_dir / "passwd_link.csv").symlink_to("/etc/passwd")
    written = tmp_path / "written.csv"
    db_file = tmp_path / "attached.db"
    before = sales["parquet"].read_bytes()
    no_file = "Permission Error: Cannot access (file|directory)"
    locked = "Cannot change configuration option .* the configuration has been locked"
    refused = [
        ("SELECT * FROM read_csv('/etc/passwd')", no_file),
        ("SELECT * FROM read_text('/etc/passwd')", no_file),
        ("SELECT * FROM read_blob('/etc/hostname')", no_file),
        ("SELECT * FROM sniff_csv('/etc/passwd')", no_file),
        (f"SELECT * FROM read_csv('{unregistered}')", no_file),
        (f"SELECT * FROM '{unregistered}'", no_file),
        (f"SELECT * FROM read_csv('{data_dir}/passwd_link.csv')", no_file),
        (f"SELECT * FROM read_csv('{data_dir}/*.csv')", no_file),
        (f"SELECT * FROM glob('{data_dir}/*')", no_file),
        (f"SELECT * FROM read_text('{data_dir}/../data/secret.csv')", no_file),
        (f"SELECT * FROM parquet_metadata('{data_dir}/nothing.parquet')", no_file),
        (f"COPY (SELECT 42 AS x) TO '{written}'", no_file),
        (f"COPY sales TO '{sales['parquet']}' (FORMAT parquet)", no_file),
        (f"COPY (SELECT 1) TO '{tmp_path}/scratch/duckdb/../escaped.csv'", no_file),
        (f"EXPORT DATABASE '{tmp_path}/export'", no_file),
        (f"ATTACH '{db_file}' AS x", no_file),
        ("INSTALL httpfs", no_file),  # the extension folder (~/.duckdb) is off limits
        ("LOAD httpfs", "Loading external extensions is disabled"),
        ("SET enable_external_access = true", locked),
        ("SET GLOBAL lock_configuration = false", locked),
        ("RESET enable_external_access", locked),
        (f"SET allowed_paths = ['{unregistered}']", locked),
        (f"SET allowed_directories = ['{data_dir}']", locked),
        ("SET memory_limit = '10GB'", locked),
        ("SET threads = 64", locked),
        ("SET temp_directory = '/tmp'", locked),
        ("SET autoload_known_extensions = true", locked),
        ("SET enable_profiling = 'json'", locked),
        ("SET profiling_output = '/tmp/profile.json'", locked),
        ("PRAGMA enable_progress_bar", locked),
    ]
    for sql, reason in refused:
        with pytest.raises(duckdb.Error, match=reason):
            con.execute(sql).fetchall()
    assert not written.exists() and not db_file.exists()
    assert not (tmp_path / "export").exists() and not (tmp_path / "scratch" / "escaped.csv").exists()
    assert sales["parquet"].read_bytes() == before
    assert engine.run("SELECT count(*) AS n FROM sales")[0].loc[0, "n"] == 3_000


def test_locked_connection_writes_only_into_its_spill_folder(engine, sales, tmp_path):
    """DuckDB always lets SQL write into temp_directory (<scratch>/duckdb), a folder the
    worker may write anyway; check_query refuses COPY so the model's SQL never does."""
    spill = tmp_path / "scratch" / "duckdb"
    engine.connection.execute(f"COPY (SELECT 42 AS x) TO '{spill}/x.csv'").fetchall()
    assert (spill / "x.csv").read_text().split() == ["x", "42"]
    assert duck.check_query(f"COPY (SELECT 42 AS x) TO '{spill}/x.csv'", ["sales"])
    with pytest.raises(duckdb.Error):
        engine.connection.execute(f"COPY (SELECT 42 AS x) TO '{tmp_path / 'scratch'}/x.csv'").fetchall()


# ---------------------------------------------------------------------------
# Legitimate queries pass both layers

LEGIT = [
    "SELECT region, count(*) AS n, sum(amount) AS total, avg(qty) FROM sales GROUP BY region",
    "select REGION, COUNT(*) from SALES group by all order by all",
    'SELECT "unit price", "order date" FROM sales WHERE "unit price" > 10 ORDER BY 1 DESC LIMIT 5',
    "WITH r AS (SELECT region, sum(amount) AS total FROM sales GROUP BY region) "
    "SELECT * FROM r WHERE total > (SELECT avg(total) FROM r)",
    "WITH a AS (SELECT * FROM sales), b AS (SELECT region, count(*) AS n FROM a GROUP BY 1) "
    "SELECT * FROM b ORDER BY n DESC",
    "SELECT id, amount, rank() OVER (PARTITION BY region ORDER BY amount DESC) AS rk, "
    "sum(amount) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving, "
    "lag(amount) OVER (ORDER BY id) AS previous FROM sales QUALIFY rk <= 3",
    "SELECT date_trunc('month', \"order date\") AS month, count(*) FROM sales GROUP BY 1 ORDER BY 1",
    "SELECT year(\"order date\") AS y, extract(quarter FROM \"order date\") AS q, "
    "strftime(\"order date\", '%Y-%m') AS ym, date_diff('day', DATE '2023-01-01', \"order date\") AS d "
    "FROM sales LIMIT 10",
    "SELECT region, quantile_cont(amount, 0.5) AS median, quantile_cont(amount, [0.1, 0.9]) AS deciles, "
    "median(qty), stddev_samp(amount), corr(amount, qty) FROM sales GROUP BY region",
    "SELECT CASE WHEN amount > 100 THEN 'high' ELSE 'low' END AS band, coalesce(region, '?') AS r, "
    "count(*) FILTER (WHERE returned) AS returns FROM sales GROUP BY ALL HAVING count(*) > 10",
    "SELECT DISTINCT lower(region) FROM sales WHERE region LIKE 'N%' OR regexp_matches(customer, '9$')",
    "SELECT s.region, o.n FROM sales s JOIN (SELECT region, count(*) AS n FROM sales_csv GROUP BY 1) o "
    "USING (region) LIMIT 3",
    "SELECT id FROM sales WHERE id < 3 UNION ALL SELECT id FROM sales_csv WHERE id > 2996 ORDER BY id",
    "SELECT * FROM sales WHERE id IN (SELECT max(id) FROM sales GROUP BY region)",
    "SELECT * FROM generate_series(1, 3) t(x), unnest(['a', 'b']) u(y)",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT sum(n) FROM r",
    "FROM sales SELECT region, max(amount) GROUP BY region",
    "SELECT * EXCLUDE (customer) FROM sales USING SAMPLE 10 ROWS",
    "SELECT COLUMNS('^(amount|qty)$') FROM sales LIMIT 2",
    "SELECT arg_max(customer, amount), string_agg(DISTINCT region, ', ' ORDER BY region), "
    "list(qty ORDER BY id)[1:3] FROM sales",
    "SELECT CAST(amount AS DECIMAL(10, 2)) AS a, amount::INTEGER AS i, "
    "try_cast(region AS INTEGER) FROM sales LIMIT 3",
    "SUMMARIZE sales",
    "DESCRIBE sales",
    "SELECT 1 -- a trailing comment",
    "SELECT 1;",
]


@pytest.mark.parametrize("query", LEGIT)
def test_legitimate_queries_pass_and_run(engine, sales, query):
    assert duck.check_query(query, ["sales", "sales_csv"]) is None
    frame, info = engine.run(query, max_rows=100)
    assert isinstance(frame, pd.DataFrame) and info["rows_returned"] == len(frame) > 0


def test_model_style_answers_match_pandas(engine, sales):
    frame = pd.read_parquet(sales["parquet"])
    got, _ = engine.run("SELECT region, quantile_cont(amount, 0.9) AS p90 FROM sales "
                        "WHERE region IS NOT NULL GROUP BY region ORDER BY region")
    expected = frame.dropna(subset=["region"]).groupby("region")["amount"].quantile(0.9)
    np.testing.assert_allclose(got["p90"].to_numpy(), expected.to_numpy())

    got, _ = engine.run('SELECT date_trunc(\'month\', "order date") AS month, count(*) AS n '
                        'FROM sales GROUP BY 1 ORDER BY 1')
    expected = frame.groupby(frame["order date"].dt.to_period("M")).size()
    assert list(got["n"]) == list(expected)
    assert list(got["month"].dt.strftime("%Y-%m")) == [str(p) for p in expected.index]

    got, _ = engine.run("SELECT region, id FROM sales WHERE region IS NOT NULL "
                        "QUALIFY row_number() OVER "
                        "(PARTITION BY region ORDER BY amount DESC NULLS LAST, id) = 1 "
                        "ORDER BY region")
    top = (frame.dropna(subset=["region", "amount"]).sort_values(["amount", "id"], ascending=[False, True])
           .groupby("region").head(1).sort_values("region"))
    assert list(got["id"]) == list(top["id"])


# ---------------------------------------------------------------------------
# Results: rows, bytes, info


def test_run_caps_rows_and_bytes(engine, sales):
    frame, info = engine.run("SELECT * FROM sales ORDER BY id", max_rows=10)
    assert list(frame["id"]) == list(range(10)) and info["truncated"] is True
    assert info["rows_returned"] == 10 and set(info) >= {"sql", "rows_returned", "truncated", "seconds"}
    frame, info = engine.run("SELECT * FROM sales WHERE id < 10", max_rows=10)
    assert len(frame) == 10 and info["truncated"] is False
    assert info["rows_scanned"] >= 10 and info["seconds"] >= 0

    frame, info = engine.run("SELECT id, repeat('x', 1000) AS pad FROM sales", max_rows=3_000,
                             max_bytes=100_000)
    assert info["truncated"] is True and 0 < len(frame) < 3_000
    assert pa.Table.from_pandas(frame, preserve_index=False).nbytes <= 100_000 + 2_000

    frame, info = engine.run("SELECT * FROM sales WHERE id < 0")
    assert len(frame) == 0 and list(frame.columns) == list(sales_frame().columns)
    assert info["truncated"] is False


def test_run_streams_instead_of_materialising(engine, sales):
    started = time.perf_counter()
    frame, info = engine.run("SELECT i, i * 2 AS j FROM range(1000000000000) t(i)", max_rows=5)
    assert list(frame["i"]) == [0, 1, 2, 3, 4] and info["truncated"] is True
    assert time.perf_counter() - started < 20  # 10^12 rows were never made


def test_result_types_are_what_pandas_users_expect(engine, sales):
    frame, _ = engine.run("SELECT sum(qty) AS total, CAST(1.25 AS DECIMAL(5, 2)) AS d, "
                          "DATE '2024-02-29' AS day, 'x' AS s, max(\"order date\") AS ts FROM sales")
    dtypes = {c: str(t) for c, t in frame.dtypes.items()}
    assert dtypes["total"] == "int64" and dtypes["d"] == "float64" and dtypes["s"] == "str"
    assert dtypes["day"].startswith("datetime64") and dtypes["ts"].startswith("datetime64")
    assert frame.loc[0, "total"] == pd.read_parquet(sales["parquet"])["qty"].sum()
    assert frame.loc[0, "day"] == pd.Timestamp("2024-02-29")


# ---------------------------------------------------------------------------
# Errors


def test_duckdb_errors_reach_the_caller(engine, sales):
    with pytest.raises(duckdb.BinderException, match="no_such_column"):
        engine.run("SELECT no_such_column FROM sales")
    with pytest.raises(duckdb.Error):
        engine.run("SELECT region + 1 FROM sales")
    assert engine.run("SELECT 1 AS ok")[0].loc[0, "ok"] == 1  # still usable


def test_out_of_memory_says_to_reduce_the_query(tmp_path):
    engine = duck.Engine(str(tmp_path / "scratch"), memory_limit_mb=32, threads=1)
    try:
        with pytest.raises(duckdb.OutOfMemoryException, match="aggregate first") as caught:
            engine.run("SELECT length(string_agg(i::VARCHAR, ',')) AS n FROM range(30000000) t(i)")
        assert "SET memory_limit" not in str(caught.value)  # impossible advice is dropped
        assert engine.run("SELECT 2 AS ok")[0].loc[0, "ok"] == 2
    finally:
        engine.close()


# ---------------------------------------------------------------------------
# Registration


def test_registration_adds_replaces_and_rolls_back(engine, data_dir):
    pd.DataFrame({"a": [1, 2, 3]}).to_parquet(data_dir / "one.parquet")
    pd.DataFrame({"a": [10, 20]}).to_csv(data_dir / "two.csv", index=False)
    engine.register("one", [str(data_dir / "one.parquet")], "parquet")
    engine.register("two", [str(data_dir / "two.csv")], "csv")
    frame, _ = engine.run("SELECT (SELECT sum(a) FROM one) + (SELECT sum(a) FROM two) AS s")
    assert frame.loc[0, "s"] == 36 and engine.tables() == ["one", "two"]

    pd.DataFrame({"a": [100]}).to_parquet(data_dir / "one_v2.parquet")
    engine.register("ONE", [str(data_dir / "one_v2.parquet")], "parquet")  # same name, any case
    assert engine.run("SELECT sum(a) AS s FROM one")[0].loc[0, "s"] == 100
    assert engine.tables() == ["two", "ONE"]

    (data_dir / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(duckdb.Error):
        engine.register("broken", [str(data_dir / "broken.parquet")], "parquet")
    with pytest.raises(FileNotFoundError):
        engine.register("gone", [str(data_dir / "gone.parquet")], "parquet")
    with pytest.raises(ValueError):
        engine.register("bad", [str(data_dir / "two.csv")], "xlsx")
    assert engine.tables() == ["two", "ONE"]
    assert engine.run("SELECT sum(a) AS s FROM two")[0].loc[0, "s"] == 30
    # The old file of "one" is no longer readable: allowed paths follow the registrations.
    with pytest.raises(duckdb.Error):
        engine.connection.execute(f"SELECT * FROM read_parquet('{data_dir / 'one.parquet'}')").fetchall()


# ---------------------------------------------------------------------------
# Interrupts

ENDLESS = "SELECT sum(hash(i)) AS h FROM range(10000000000000) t(i)"


def test_sigint_stops_a_running_query(engine, sales):
    """The worker's interrupt is SIGINT -> KeyboardInterrupt on the main thread; the query
    running inside DuckDB must stop too, and the connection stay usable."""
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    started = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.run(ENDLESS)
    finally:
        timer.cancel()
    assert time.perf_counter() - started < 30
    assert engine.run("SELECT count(*) AS n FROM sales")[0].loc[0, "n"] == 3_000


def test_interrupt_from_another_thread(engine, sales):
    timer = threading.Timer(0.5, engine.interrupt)
    timer.start()
    try:
        with pytest.raises(duckdb.InterruptException):
            engine.run(ENDLESS)
    finally:
        timer.cancel()
    assert engine.run("SELECT 3 AS ok")[0].loc[0, "ok"] == 3


def test_sigint_during_a_csv_registration_keeps_the_old_tables(engine, sales, data_dir):
    """Registering a CSV reads it whole (types from every row). DuckDB's sniffer does not
    poll for interrupts, so SIGINT lands when that read ends; the engine then keeps the
    tables it had, and the new one is not half-registered."""
    path = data_dir / "big.csv"
    with duckdb.connect() as maker:  # an ordinary connection, only to write the test file
        maker.execute(f"COPY (SELECT i AS id, i % 97 AS k, i * 0.25 AS x FROM range(3000000) t(i)) "
                      f"TO '{path}' (HEADER)")
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.register("big_csv", [str(path)], "csv")
    finally:
        timer.cancel()
    assert engine.tables() == ["sales", "sales_csv"]
    assert duck.check_query("SELECT * FROM big_csv", engine.tables())
    with pytest.raises(duckdb.CatalogException):
        engine.connection.execute("SELECT * FROM big_csv").fetchall()
    assert engine.run("SELECT count(*) AS n FROM sales_csv")[0].loc[0, "n"] == 3_000
    engine.register("big_csv", [str(path)], "csv")  # and it can be registered afterwards
    assert engine.run("SELECT max(id) AS m FROM big_csv")[0].loc[0, "m"] == 2_999_999
