"""`%load` of Parquet, Excel and JSON files (issue 15 §1): the frame the kernel binds must be
the one pandas' own reader gives (values and dtypes), with the same profile, fingerprint,
errors and limits as a CSV.

Real files written here with pandas/pyarrow/openpyxl; the kernel is driven through
jupyter_client, and the frame it holds is compared with `pd.read_*` of the same file.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kernel_helpers import all_text, errors, execute, make_kernel_env, role, stream_text

pytestmark = [pytest.mark.kernel]
CELL = 90


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "city": ["Zurich", "Basel", None, "Bern"],
        "amount": [1.5, None, 3.25, 4.0],
        "units": [3, 4, 5, 6],
        "when": pd.to_datetime(["2024-01-02", "2024-02-03", "2024-03-04", "2024-04-05"]),
        "flag": [True, False, True, True],
    })


def kernel_frame(kc) -> tuple[dict, list]:
    """The bound `df` as {column: dtype} and its records, read inside the kernel."""
    reply, out = execute(
        kc,
        "%%python\nimport json\nprint(json.dumps({'dtypes': {c: str(t) for c, t in df.dtypes.items()},"
        " 'records': [[None if pd.isna(v) else str(v) for v in row] for row in df.itertuples(index=False, name=None)],"
        " 'shape': list(df.shape)}))",
        timeout=CELL,
    )
    assert reply["status"] == "ok", all_text(out)
    got = json.loads(stream_text(out))
    return got


def expected(df: pd.DataFrame) -> dict:
    return {"dtypes": {c: str(t) for c, t in df.dtypes.items()},
            "records": [[None if pd.isna(v) else str(v) for v in row]
                        for row in df.itertuples(index=False, name=None)],
            "shape": list(df.shape)}


@pytest.fixture
def kc(kernel_factory, fake_llm, tmp_path):
    km, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path))
    return kc


@pytest.mark.parametrize("kind", ["parquet", "xlsx", "json", "jsonl"])
def test_each_format_loads_as_pandas_reads_it(kc, tmp_path, kind):
    path = tmp_path / f"sales.{kind}"
    df = frame()
    if kind == "parquet":
        df.to_parquet(path)
        want = pd.read_parquet(path)
    elif kind == "xlsx":
        df.to_excel(path, index=False, sheet_name="Sales")
        want = pd.read_excel(path)
    elif kind == "json":
        df.to_json(path, orient="records", date_format="iso")
        want = pd.read_json(path)
    else:
        df.to_json(path, orient="records", lines=True, date_format="iso")
        want = pd.read_json(path, lines=True)
    reply, out = execute(kc, f"%load {path}", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    profile = [o for o in out if role(o) == "profile"]
    assert profile and "amount" in all_text(profile)
    assert kernel_frame(kc) == expected(want)
    # The same frame in a question's own worker: the name binds there too.
    reply, out = execute(kc, "%datasets", timeout=CELL)
    assert "sales" in all_text(out)


def test_a_workbook_with_several_sheets_needs_one_named(kc, tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as w:
        frame().to_excel(w, sheet_name="Q1 sales", index=False)
        frame().head(2).to_excel(w, sheet_name="Notes", index=False)
    reply, out = execute(kc, f"%load {path}", timeout=CELL)
    assert reply["status"] == "error"
    err = errors(out)[0]["content"]
    assert err["ename"] == "LoadError"
    assert "'Q1 sales'" in err["evalue"] and "'Notes'" in err["evalue"] and "--sheet" in err["evalue"]
    reply, out = execute(kc, f"%load {path} --sheet Missing", timeout=CELL)
    assert "no sheet 'Missing'" in errors(out)[0]["content"]["evalue"]
    reply, out = execute(kc, f"%load {path} --sheet 'Notes' as notes", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    assert kernel_frame(kc) == expected(pd.read_excel(path, sheet_name="Notes"))
    reply, out = execute(kc, "%%python\nprint(notes.shape)", timeout=CELL)
    assert stream_text(out).strip() == "(2, 5)"


def test_bad_files_and_limits_are_clear_errors_and_lose_nothing(kernel_factory, fake_llm, tmp_path):
    km, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path, MAX_DATAFRAME_SIZE="12"))
    good = tmp_path / "good.parquet"
    frame().head(2).to_parquet(good)  # 2 x 5 = 10 cells
    reply, out = execute(kc, f"%load {good}", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    big = tmp_path / "big.parquet"
    frame().to_parquet(big)  # 20 cells
    reply, out = execute(kc, f"%load {big} --engine pandas", timeout=CELL)
    err = errors(out)[0]["content"]
    assert err["ename"] == "LoadError" and "MAX_DATAFRAME_SIZE=12" in err["evalue"]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    reply, out = execute(kc, f"%load {broken}", timeout=CELL)
    err = errors(out)[0]["content"]
    assert err["ename"] == "LoadError" and "Could not read the file as Parquet" in err["evalue"]
    csv = tmp_path / "plain.csv"
    csv.write_text("a\n1\n")
    reply, out = execute(kc, f"%load {csv} --sheet One", timeout=CELL)
    assert errors(out)[0]["content"]["ename"] == "UsageError"
    # The dataset loaded before the failures is still there, unchanged.
    assert kernel_frame(kc) == expected(pd.read_parquet(good))
    # Without --engine pandas, a file over the limit becomes a DuckDB table (test_duckdb.py).
    reply, out = execute(kc, f"%load {big} as big", timeout=CELL)
    assert reply["status"] == "ok" and "MAX_DATAFRAME_SIZE=12" in stream_text(out), all_text(out)


def test_a_restarted_worker_gets_the_file_back(kc, tmp_path):
    path = tmp_path / "sales.xlsx"
    frame().to_excel(path, index=False)
    execute(kc, f"%load {path}", timeout=CELL)
    reply, out = execute(kc, "%%python\nimport os; os._exit(3)", timeout=CELL)
    assert reply["status"] == "error" and "restored" in all_text(out).lower()
    assert kernel_frame(kc) == expected(pd.read_excel(path))


@pytest.mark.parametrize("kind", ["parquet", "xlsx"])
def test_questions_run_on_the_loaded_file(kc, fake_llm, tmp_path, kind):
    path = tmp_path / f"sales.{kind}"
    df = frame()
    df.to_parquet(path) if kind == "parquet" else df.to_excel(path, index=False)
    execute(kc, f"%load {path}", timeout=CELL)
    fake_llm.script(
        rules=[{"match_any": "explaining results", "reply": {"content": "The total is shown above."}}],
        replies=[{"content": "```python\nresult = df['units'].sum()\n```"}],
    )
    reply, out = execute(kc, "Total units?", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    shown = [o for o in out if role(o) == "result"]
    assert shown and shown[0]["content"]["data"]["text/plain"] == str(df["units"].sum())
