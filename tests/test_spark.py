"""Spark through Spark Connect (issue 15 §3, §4): `%connect spark`, `%load spark:PATH as NAME`,
questions whose `sql("...")` reduces on the cluster, and the layers that keep the question
worker away from the network, the token and Spark's own dangers.

A real Spark Connect server runs in local mode (tests/setup-spark.sh installs it; the tests
skip, saying so, where it is absent). Expected answers are computed here with numpy from the
numbers the files were generated from, never by Spark or the kernel.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kernel_helpers import all_text, errors, execute, make_kernel_env, role, stream_text
from spark_server import SparkServer, spark_home
from test_questions import code_bodies, script

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(600)]
CELL = 240
ROWS = 30_000
REGIONS = ["North", "South", "West"]


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    if spark_home() is None:
        pytest.skip("no Spark Connect server installed: run tests/setup-spark.sh (tests/run.sh does)")
    server = SparkServer(tmp_path_factory.mktemp("spark") / "server.log")
    server.wait()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def trips(tmp_path_factory) -> tuple[Path, dict]:
    """A Parquet file the cluster reads: region = i % 3, amount = i % 100; and the truth."""
    path = tmp_path_factory.mktemp("cluster-data") / "trips.parquet"
    i = np.arange(ROWS, dtype=np.int64)
    pq.write_table(pa.table({"region": np.array(REGIONS)[i % 3], "amount": i % 100,
                             "trip id": i}), path)
    truth = {r: int((i[i % 3 == k] % 100).sum()) for k, r in enumerate(REGIONS)}
    return path, truth


def connected(kernel_factory, fake_llm, tmp_path, spark, trips, **extra):
    _, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path, **extra))
    reply, out = execute(kc, f"%connect spark {spark.url}", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    assert "Connected to Spark 4." in stream_text(out)
    reply, out = execute(kc, f"%load spark:{trips[0]} as trips", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    return kc, out


def engine_runs(out) -> list[dict]:
    for o in out:
        runs = (o["content"].get("metadata") or {}).get("llm_analytics", {}).get("engine_runs")
        if role(o) == "result" and runs:
            return runs
    return []


def results(out) -> str:
    return "\n".join(o["content"]["data"]["text/plain"] for o in out
                     if o["msg_type"] == "execute_result")


def test_question_reduces_on_spark_and_says_where(kernel_factory, fake_llm, tmp_path, spark, trips):
    # 90,000 cells: over this limit, so the table is one the model must query with SQL.
    kc, out = connected(kernel_factory, fake_llm, tmp_path, spark, trips, MAX_DATAFRAME_SIZE="50000")
    profile = [o for o in out if role(o) == "profile"][0]["content"]["data"]["text/plain"]
    assert "Spark 4." in profile and str(ROWS) in profile.replace(",", "")
    assert "region" in profile and "trip id" in profile

    code = ('totals = sql(\'SELECT region, sum(amount) AS total FROM trips GROUP BY region ORDER BY region\')\n'
            'result = dict(zip(totals["region"], totals["total"]))')
    script(fake_llm, [f"```python\n{code}\n```"])
    reply, out = execute(kc, "What is the total amount per region?", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    prompt = code_bodies(fake_llm)[0]["messages"][-1]["content"]
    assert "on a Spark cluster" in prompt and "one Spark SQL SELECT" in prompt
    assert "`df` is the DataFrame" not in prompt and "SQL column types:" in prompt
    shown = results(out)
    for region, total in trips[1].items():
        assert region in shown and str(total) in shown, shown
    runs = engine_runs(out)
    assert [r["engine"] for r in runs] == ["spark"] and runs[0]["rows_returned"] == 3
    assert "GROUP BY region" in runs[0]["sql"]
    assert "Ran on Spark: 3 rows returned" in all_text(out)
    # The history keeps the engine and SQL; asked again, the answer replays the same SQL.
    db = sqlite3.connect(tmp_path / "data" / "history.sqlite3")
    record = json.loads(db.execute("SELECT record FROM exchanges ORDER BY timestamp").fetchall()[-1][0])
    db.close()
    assert record["engine_runs"][0]["engine"] == "spark"
    asked = len(fake_llm.chat_requests)
    reply, out = execute(kc, "What is the total amount per region?", timeout=CELL)
    assert reply["status"] == "ok" and "Replayed" in all_text(out), all_text(out)
    assert len(fake_llm.chat_requests) == asked
    assert engine_runs(out)[0]["sql"] == runs[0]["sql"]


def test_pandas_habits_and_spark_errors_reach_the_model(kernel_factory, fake_llm, tmp_path, spark, trips):
    """Real models write pandas on the table and misname columns: each attempt fails with a
    message that says what to do, and the next attempt answers. A result too large for
    pandas is refused (not cut), so the model aggregates."""
    # 90,000 cells: too many to read whole; one column (30,000) fits.
    kc, _ = connected(kernel_factory, fake_llm, tmp_path, spark, trips, MAX_DATAFRAME_SIZE="50000")
    replies = [
        "result = trips.groupby('region')['amount'].mean()",
        "result = sql('SELECT avg(amout) AS m FROM trips').iloc[0, 0]",
        "rows = sql('SELECT t.amount FROM trips t CROSS JOIN range(50)')\nresult = rows.amount.mean()",
        # Selected columns are read from Spark before the code runs, when they fit pandas.
        "result = round(df['amount'].mean(), 2)",
    ]
    script(fake_llm, [f"```python\n{c}\n```" for c in replies])
    reply, out = execute(kc, "What is the average amount?", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    assert f"{(np.arange(ROWS) % 100).mean():.1f}" in results(out), results(out)
    feedback = [b["messages"][-1]["content"] for b in code_bodies(fake_llm)[1:]]
    assert len(feedback) == 3, feedback
    assert "table on the Spark cluster" in feedback[0] and "sql(" in feedback[0]
    assert "UNRESOLVED_COLUMN" in feedback[1] or "amout" in feedback[1], feedback[1]
    assert "too many to bring into pandas" in feedback[2], feedback[2]
    runs = engine_runs(out)
    assert runs[0]["sql"] == 'SELECT "amount" FROM "trips"' and runs[0]["rows_returned"] == ROWS


@pytest.mark.parametrize("layer", ["validator", "sandbox"])
def test_spark_dangers_never_reach_the_cluster(kernel_factory, fake_llm, tmp_path, spark, trips, layer):
    """Spark SQL can read configuration (${...}), call Java (reflect) and read files by path:
    the validator refuses each. With the validator off, nothing reaches Spark either: the
    kernel runs only queries that pass it, and the question worker has no network."""
    extra = {"LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION": "1"} if layer == "sandbox" else {}
    kc, _ = connected(kernel_factory, fake_llm, tmp_path, spark, trips, **extra)
    hostile = [
        "result = sql(\"SELECT reflect('java.lang.System', 'getProperty', 'user.home') AS h FROM trips\")",
        f"import socket\nsocket.create_connection(('127.0.0.1', {spark.port}), timeout=2)\nresult = 1",
        "result = sql(\"SELECT '${spark.app.name}' AS name FROM trips\")",
        "result = sql(\"SELECT * FROM parquet.`/etc/passwd`\")",
    ]
    script(fake_llm, [f"```python\n{c}\n```" for c in hostile])
    reply, out = execute(kc, "Show the system properties", timeout=CELL)
    text = all_text(out)
    assert "SparkConnectServer" not in text and "/root" not in text.replace(str(tmp_path), "")
    assert not results(out) and not engine_runs(out), text
    feedback = "\n".join(b["messages"][-1]["content"] for b in code_bodies(fake_llm)[1:])
    if layer == "validator":
        assert feedback.count("Forbidden") >= 2 and "socket" in feedback, feedback
    else:
        assert "not run on the Spark cluster" in feedback, feedback
        assert "Permission" in feedback or "Operation not permitted" in feedback or "Network" in feedback \
            or "Errno" in feedback, feedback


def test_connect_errors_are_clear_and_never_show_the_token(kernel_factory, fake_llm, tmp_path):
    _, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path))
    reply, out = execute(kc, "%load spark:trips as trips", timeout=CELL)
    assert "%connect spark" in errors(out)[0]["content"]["evalue"]
    reply, out = execute(kc, "%connect spark http://example.com", timeout=CELL)
    assert "sc://" in errors(out)[0]["content"]["evalue"]
    reply, out = execute(kc, "%connect spark sc://127.0.0.1:9/;token=canary-7f3a;use_ssl=false",
                         timeout=CELL)
    assert reply["status"] == "error"
    text = all_text(out)
    assert "canary-7f3a" not in text and "token=***" in text, text
    # The kernel's own log (stderr) does not hold it either... and no worker was given it.
    reply, out = execute(kc, "%%python\nimport os\nprint(sorted(k for k in os.environ if 'SPARK' in k))",
                         timeout=CELL)
    assert stream_text(out).strip() == "[]", all_text(out)


def test_python_cells_query_spark_tables_with_literal_sql(kernel_factory, fake_llm, tmp_path, spark, trips):
    """%%python is the user's own code, but its Python has no network either: its literal
    sql('...') queries and column selections run on the cluster before the cell, checked as
    a question's would be."""
    kc, _ = connected(kernel_factory, fake_llm, tmp_path, spark, trips)
    total = sum(trips[1].values())
    for cell, expected in [
        ("print(int(sql('SELECT count(*) AS n FROM trips').n[0]))", str(ROWS)),
        ("print(int(df['amount'].sum()), int(trips[['amount', 'region']].shape[0]))", f"{total} {ROWS}"),
    ]:
        reply, out = execute(kc, "%%python\n" + cell, timeout=CELL)
        assert reply["status"] == "ok" and stream_text(out).strip() == expected, all_text(out)
    for cell, says in [
        ("q = 'SELECT 1 FROM trips'\nsql(q)", "not run on the Spark cluster"),
        ("sql(\"SELECT reflect('java.lang.System', 'getProperty', 'user.home') FROM trips\")", "Forbidden SQL"),
        ("df.describe()", "table on the Spark cluster"),
    ]:
        reply, out = execute(kc, "%%python\n" + cell, timeout=CELL)
        assert reply["status"] == "error" and says in all_text(out), all_text(out)
        assert "/root" not in all_text(out).replace(str(tmp_path), "")
    reply, out = execute(kc, "%datasets", timeout=CELL)
    assert "trips (Spark table" in all_text(out)


@pytest.mark.parametrize("max_cells, read", [("100000000", 'SELECT * FROM "data"'),
                                             ("6000", 'SELECT "Fare" FROM "data"')])
def test_a_real_models_pandas_reply_answers(kernel_factory, fake_llm, tmp_path, spark, max_cells, read):
    """Qwen2.5-Coder-1.5B's reply to DABench question 0 on a table it was told to query with
    sql() (kept in test_duckdb): pandas on the table's name. The kernel reads the table whole
    when it fits pandas (10,000 cells), else just the selected column, from Spark before the
    code runs, so the reply answers either way."""
    from test_duckdb import REAL_PANDAS_STYLE_REPLY

    rng = np.random.default_rng(3)
    fares = rng.gamma(2.0, 16.0, 5_000).round(4)
    path = tmp_path / "titanic.parquet"
    pq.write_table(pa.table({"Fare": fares, "Name": [f"p{i}" for i in range(5_000)]}), path)
    _, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path, MAX_DATAFRAME_SIZE=max_cells))
    for cell in (f"%connect spark {spark.url}", f"%load spark:{path} as data"):
        reply, out = execute(kc, cell, timeout=CELL)
        assert reply["status"] == "ok", all_text(out)
    script(fake_llm, [REAL_PANDAS_STYLE_REPLY])
    reply, out = execute(kc, "Calculate the mean fare paid by the passengers. @mean_fare[mean_fare_value]",
                         timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    assert f"@mean_fare[{round(float(fares.mean()), 2)}]" in all_text(out), all_text(out)
    # A table that fits pandas is shown to the model as the DataFrame it will be.
    prompt = code_bodies(fake_llm)[0]["messages"][-1]["content"]
    small = read.startswith("SELECT *")
    assert ("`df` is the DataFrame" in prompt) == small and ("Spark SQL" in prompt) != small, prompt
    runs = engine_runs(out)
    assert runs == [{**runs[0], "engine": "spark", "sql": read, "rows_returned": 5_000}]


def test_a_catalog_table_loads_by_name(kernel_factory, fake_llm, tmp_path, spark, trips):
    """`%load spark:db.table`: a table in the cluster's catalog (made here through Spark
    Connect itself, as a data engineer would have), not a path."""
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(spark.url).create()
    session.sql("CREATE DATABASE IF NOT EXISTS shop")
    session.read.parquet(str(trips[0])).write.mode("overwrite").saveAsTable("shop.rides")
    session.stop()
    _, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path, MAX_DATAFRAME_SIZE="50000"))
    for cell in (f"%connect spark {spark.url}", "%load spark:shop.rides"):
        reply, out = execute(kc, cell, timeout=CELL)
        assert reply["status"] == "ok", all_text(out)
    assert "holds shop.rides" in all_text(out) and str(ROWS) in all_text(out).replace(",", "")
    script(fake_llm, ["```python\nresult = int(sql('SELECT count(*) FROM rides WHERE amount > 49').iloc[0, 0])\n```"])
    reply, out = execute(kc, "How many rides cost more than 49?", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    assert str(int(((np.arange(ROWS) % 100) > 49).sum())) in results(out), all_text(out)
    reply, out = execute(kc, "%load spark:shop.nothing_here as x", timeout=CELL)
    assert reply["status"] == "error" and "Spark could not read shop.nothing_here" in all_text(out), all_text(out)
