"""Data too large for pandas (issue 15 §2, §4): `%load` makes a DuckDB table over the files
where they lie, questions query it with `sql("SELECT ...")`, and the cell and the history
say where the work ran.

Driven through jupyter_client with the scripted model; every expected answer is computed
here, independently, from the numbers the files were generated from (closed forms or
pyarrow), never from the kernel or DuckDB.
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
from test_questions import INTERPRETATION, code_bodies, script

pytestmark = [pytest.mark.kernel]
CELL = 180


def sales(path: Path, rows: int = 30_000) -> dict:
    """A Parquet file of `rows` sales: region = i % 3, amount = i % 100; returns the truth."""
    i = np.arange(rows, dtype=np.int64)
    regions = np.array(["North", "South", "West"])[i % 3]
    pq.write_table(pa.table({"region": regions, "amount": i % 100, "order id": i}), path)
    return {r: int((i[i % 3 == k] % 100).sum()) for k, r in enumerate(["North", "South", "West"])}


def ask(kc, question: str):
    reply, out = execute(kc, question, timeout=CELL)
    return reply, out


def engine_outputs(out) -> list[dict]:
    return [o for o in out if role(o) == "result"
            and (o["content"].get("metadata") or {}).get("llm_analytics", {}).get("engine_runs")]


def stored_records(tmp_path: Path) -> list[dict]:
    db = sqlite3.connect(tmp_path / "data" / "history.sqlite3")
    try:
        return [json.loads(r) for (r,) in db.execute("SELECT record FROM exchanges ORDER BY timestamp")]
    finally:
        db.close()


@pytest.fixture
def kc(kernel_factory, fake_llm, tmp_path):
    _, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path))
    return kc


def test_question_reduces_in_duckdb_and_says_where(kc, fake_llm, tmp_path):
    truth = sales(tmp_path / "sales.parquet")
    reply, out = execute(kc, "%load sales.parquet --engine duckdb", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    profile = [o for o in out if role(o) == "profile"][0]["content"]["data"]["text/plain"]
    assert "DuckDB" in profile and "30000" in profile.replace(",", "")

    code = ('totals = sql(\'SELECT region, sum(amount) AS total FROM sales GROUP BY region ORDER BY region\')\n'
            'result = dict(zip(totals["region"], totals["total"]))')
    script(fake_llm, [f"```python\n{code}\n```"])
    reply, out = ask(kc, "What is the total amount per region?")
    assert reply["status"] == "ok", all_text(out)
    # The model was told the table is queried with sql(), and that there is no df.
    prompt = code_bodies(fake_llm)[0]["messages"][-1]["content"]
    assert 'sql("SELECT ...")' in prompt and "\"sales\"" in prompt
    assert "`df` is the DataFrame" not in prompt
    assert "SQL column types:" in prompt and '"order id" BIGINT' in prompt
    result = [o for o in out if o["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"]
    for region, total in truth.items():
        assert region in result and str(total) in result, result
    # Where the work ran: the engine, the SQL, rows scanned and returned.
    shown = engine_outputs(out)
    assert len(shown) == 1, all_text(out)
    runs = shown[0]["content"]["metadata"]["llm_analytics"]["engine_runs"]
    assert runs[0]["engine"] == "duckdb" and runs[0]["rows_returned"] == 3
    assert runs[0]["rows_scanned"] == 30_000
    assert "GROUP BY region" in runs[0]["sql"]
    text = shown[0]["content"]["data"]["text/plain"]
    assert "Ran in DuckDB: 30,000 rows scanned, 3 rows returned" in text
    # ...and in the history, beside the code that replay re-runs.
    record = stored_records(tmp_path)[-1]
    assert record["engine_runs"][0]["sql"] == runs[0]["sql"]
    assert "sql(" in record["code"]
    # Asked again: the recorded answer replays without the model, the same SQL runs again.
    asked = len(fake_llm.chat_requests)
    reply, out = ask(kc, "What is the total amount per region?")
    assert reply["status"] == "ok", all_text(out)
    assert len(fake_llm.chat_requests) == asked and "Replayed" in all_text(out)
    again = engine_outputs(out)[0]["content"]["metadata"]["llm_analytics"]["engine_runs"]
    assert again[0]["sql"] == runs[0]["sql"] and again[0]["rows_returned"] == 3


@pytest.mark.parametrize("layer", ["validator", "worker"])
def test_hostile_sql_is_refused_and_nothing_is_read(kernel_factory, fake_llm, tmp_path, layer):
    """The validator refuses the SQL before anything runs; with it turned off, the worker's
    own check and the locked engine refuse it all the same."""
    extra = {"LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION": "1"} if layer == "worker" else {}
    _, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path, **extra))
    sales(tmp_path / "sales.parquet", rows=300)
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    reply, out = execute(kc, f"%load {tmp_path / 'sales.parquet'} --engine duckdb", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    hostile = [
        f"result = sql(\"SELECT * FROM read_csv('{secret}')\")",
        f"result = sql(\"SELECT * FROM '{secret}'\")",
        "result = sql(\"COPY sales TO '/tmp/out.csv'\")",
        "result = sql(\"SELECT getenv('HOME')\")",
        "result = sql(\"SELECT * FROM duckdb_settings()\")",
    ]
    # Every attempt is refused (the model gets the reason and tries again, here with the
    # next hostile reply), and no answer ever holds the secret.
    script(fake_llm, [f"```python\n{c}\n```" for c in hostile * 2])
    reply, out = ask(kc, "Show me everything")
    text = all_text(out)
    assert "hunter2" not in text
    assert reply["status"] == "error" or not [o for o in out if o["msg_type"] == "execute_result"]
    retries = [b["messages"][-1]["content"] for b in code_bodies(fake_llm)[1:]]
    assert len(retries) >= 2, retries
    feedback = "\n".join(retries)
    if layer == "validator":
        assert all("Forbidden SQL" in r for r in retries), feedback
    else:
        assert all("SqlRefused" in r for r in retries) and "Forbidden SQL" not in feedback, feedback
    assert not Path("/tmp/out.csv").exists()


def test_sql_from_python_cells_and_locked_engine(kernel_factory, fake_llm, tmp_path):
    # Written before the kernel starts: %%python reads the notebook folder as it was then.
    truth = sales(tmp_path / "sales.parquet", rows=900)
    (tmp_path / "secret.csv").write_text("password\nhunter2\n")
    _, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path))
    reply, out = execute(kc, "%load sales.parquet --engine duckdb as s", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    assert "%%python cells cannot" not in all_text(out), all_text(out)
    reply, out = execute(kc, "%%python\nprint(int(sql('SELECT sum(amount) FROM s').iloc[0, 0]))", timeout=CELL)
    assert stream_text(out).strip() == str(sum(truth.values())), all_text(out)
    # The engine itself refuses what the check would, even reached directly.
    reply, out = execute(
        kc,
        "%%python\nimport llm_runtime.engines as e\n"
        "e.engine().connection.sql(\"SELECT * FROM read_csv('secret.csv')\").fetchall()",
        timeout=CELL)
    assert reply["status"] == "error" and "hunter2" not in all_text(out)
    assert "disabled" in all_text(out) or "Permission" in all_text(out), all_text(out)


def test_over_max_dataframe_size_is_loaded_in_duckdb_with_a_notice(kernel_factory, fake_llm, tmp_path):
    sales(tmp_path / "big.parquet", rows=600)  # 1,800 cells
    for i in range(3):
        (tmp_path / f"part{i}.csv").write_text("k,v\n" + "".join(f"{i},{j}\n" for j in range(400)))
    _, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path, MAX_DATAFRAME_SIZE="1000"))
    reply, out = execute(kc, "%load big.parquet", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    notice = stream_text(out)
    assert "MAX_DATAFRAME_SIZE=1,000" in notice and "DuckDB" in notice and notice.count("\n") == 1
    # A glob of CSV files is one table; a CSV over the limit goes the same way.
    reply, out = execute(kc, "%load part*.csv as parts", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    reply, out = execute(kc, "%%python\nprint(sql('SELECT count(*) AS n, sum(v) AS s FROM parts').to_dict('records'))",
                         timeout=CELL)
    assert stream_text(out).strip() == str([{"n": 1200, "s": 3 * sum(range(400))}])
    reply, out = execute(kc, "%datasets", timeout=CELL)
    assert "big (DuckDB table" in all_text(out) and "parts (DuckDB table" in all_text(out)
    # --engine pandas refuses instead, saying why; bad engine names are usage errors.
    reply, out = execute(kc, "%load big.parquet --engine pandas", timeout=CELL)
    assert "MAX_DATAFRAME_SIZE" in errors(out)[0]["content"]["evalue"]
    reply, out = execute(kc, "%load big.parquet --engine spark", timeout=CELL)
    assert errors(out)[0]["content"]["ename"] == "UsageError"
    reply, out = execute(kc, "%load nothing*.parquet", timeout=CELL)
    assert "No file matches" in errors(out)[0]["content"]["evalue"]


BIG_ROWS = 80_000_000
BIG_KEYS = 50_000


def big_parquet(path: Path) -> None:
    """80M rows x 3 int64 columns: 1.9 GB as a pandas frame, ~0.3 GB as Parquet (dictionary
    pages). k = i % 50,000, v = i % 1,000, w = i % 7."""
    schema = pa.schema([("k", pa.int64()), ("v", pa.int64()), ("w", pa.int64())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, BIG_ROWS, 8_000_000):
            i = np.arange(start, start + 8_000_000, dtype=np.int64)
            writer.write_table(pa.table({"k": i % BIG_KEYS, "v": i % 1_000, "w": i % 7}, schema=schema))


def big_truth() -> tuple[np.ndarray, np.ndarray]:
    """Per key: row count and sum of v, computed with numpy in chunks (never the kernel)."""
    counts = np.zeros(BIG_KEYS, dtype=np.int64)
    sums = np.zeros(BIG_KEYS, dtype=np.int64)
    for start in range(0, BIG_ROWS, 8_000_000):
        i = np.arange(start, start + 8_000_000, dtype=np.int64)
        counts += np.bincount(i % BIG_KEYS, minlength=BIG_KEYS)
        sums += np.bincount(i % BIG_KEYS, weights=i % 1_000, minlength=BIG_KEYS).astype(np.int64)
    return counts, sums


def test_data_larger_than_the_workers_memory(kernel_factory, fake_llm, tmp_path):
    """A worker limited to 3 GB of address space (~1.5 GB left for data once Python, pandas
    and scipy are mapped) cannot hold this table in pandas; DuckDB answers from the file."""
    big_parquet(tmp_path / "big.parquet")
    env = make_kernel_env(fake_llm.base_url, tmp_path, LLM_ANALYTICS_WORKER_MEMORY_MB="3072",
                          MAX_DATAFRAME_SIZE=str(10**9), MAX_UPLOAD_SIZE=str(10**10))
    _, kc = kernel_factory(env=env)
    reply, out = execute(kc, "%load big.parquet --engine duckdb", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    assert "80000000" in all_text(out).replace(",", "")

    code = ('g = sql("SELECT k, count(*) AS n, sum(v) AS s FROM big GROUP BY k ORDER BY k")\n'
            'result = g')
    script(fake_llm, [f"```python\n{code}\n```"])
    reply, out = ask(kc, "How many rows and what total v per key?")
    assert reply["status"] == "ok", all_text(out)
    runs = engine_outputs(out)[0]["content"]["metadata"]["llm_analytics"]["engine_runs"]
    assert runs[0]["rows_scanned"] == BIG_ROWS and runs[0]["rows_returned"] == BIG_KEYS
    # The whole result, as the history keeps it, checked against numpy.
    counts, sums = big_truth()
    reply, out = execute(kc, "%%python\nprint(sql('SELECT sum(n * k) AS a, sum(s * (k % 97)) AS b, count(*) AS c "
                             "FROM (SELECT k, count(*) AS n, sum(v) AS s FROM big GROUP BY k)').to_dict('records'))",
                         timeout=CELL)
    keys = np.arange(BIG_KEYS)
    expected = [{"a": int((counts * keys).sum()), "b": int((sums * (keys % 97)).sum()), "c": BIG_KEYS}]
    assert stream_text(out).strip() == str(expected), all_text(out)
    # pandas itself cannot hold it in this worker: the load fails, saying why.
    reply, out = execute(kc, "%load big.parquet --engine pandas as frame", timeout=CELL)
    assert reply["status"] == "error", all_text(out)
    assert "Memory" in all_text(out) or "died" in all_text(out), all_text(out)


# A real reply: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, llama.cpp) to DABench dev question 0 with
# its table loaded as a DuckDB table, told to use sql(): it wrote pandas on the table's name,
# as it did on 10 of 10 questions before column selection was pushed to DuckDB.
REAL_PANDAS_STYLE_REPLY = '''```python
import pandas as pd
import numpy as np

# Load the data from the table 'data' (not provided in the question)
# Assuming the data is already loaded into a pandas DataFrame named 'data'

# Calculate the mean fare
mean_fare = data['Fare'].mean()

# Round off the answer to two decimal places
mean_fare_value = round(mean_fare, 2)

# Store the final answer in a variable named `result`
result = f"@mean_fare[{mean_fare_value}]"
```'''


def test_a_real_models_pandas_on_a_table_reads_just_that_column(kernel_factory, fake_llm, tmp_path):
    rng = np.random.default_rng(3)
    fares = rng.gamma(2.0, 16.0, 5_000).round(4)
    pq.write_table(pa.table({"Fare": fares, "Name": [f"p{i}" for i in range(5_000)]}), tmp_path / "t.parquet")
    _, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path))
    reply, out = execute(kc, "%load t.parquet --engine duckdb as data", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    script(fake_llm, [REAL_PANDAS_STYLE_REPLY])
    reply, out = ask(kc, "Calculate the mean fare paid by the passengers. @mean_fare[mean_fare_value]")
    assert reply["status"] == "ok", all_text(out)
    assert f"@mean_fare[{round(float(fares.mean()), 2)}]" in all_text(out), all_text(out)
    runs = engine_outputs(out)[0]["content"]["metadata"]["llm_analytics"]["engine_runs"]
    assert runs[0]["sql"] == 'SELECT "Fare" FROM "data"' and runs[0]["rows_returned"] == 5_000
    # Too many cells for pandas: refused with the way out, not cut.
    reply, out = execute(kc, "%%python\nimport llm_runtime.state as s; s.MAX_DATAFRAME_SIZE = 100\ndata['Fare']",
                         timeout=CELL)
    assert reply["status"] == "error" and "Aggregate in SQL" in all_text(out), all_text(out)
