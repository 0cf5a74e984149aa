"""The plain loop's retry and error classes, against the scripted model server in tests/
(no ../shared, no real model).

    python -m pytest bench/test_plain_loop.py
"""
import sys
from pathlib import Path

import pytest

import dabench
import plain_loop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fake_llm import FakeLLM  # noqa: E402

QUESTION = {"id": 1, "question": "Mean of x?", "constraints": "Two decimals.", "format": "@mean_x[value]",
            "file_name": "t.csv", "level": "easy", "labels": {"mean_x": "2.00"}}


def code(text):
    return {"content": f"Here you go:\n```python\n{text}\n```"}


@pytest.fixture
def llm(tmp_path, monkeypatch):
    (tmp_path / "t.csv").write_text("x,y\n1,a\n2,b\n3,c\n")
    monkeypatch.setattr(dabench, "TABLES_DIR", tmp_path)
    monkeypatch.setattr(plain_loop, "EXEC_TIMEOUT", 3)
    with FakeLLM() as server:
        yield server


def solve(llm):
    return plain_loop.solve(QUESTION, llm.base_url, "m", 0.1)


def test_traceback_goes_back_and_the_fix_is_scored(llm):
    llm.script(replies=[code("print(df['nope'].mean())"), code('print(f"@mean_x[{df.x.mean():.2f}]")')])
    rec = solve(llm)
    assert rec["ok"] and rec["error"] is None and rec["calls"] == 2
    assert rec["response"] == "@mean_x[2.00]\n"
    first = llm.requests[0]["json"]["messages"][0]["content"]
    assert "x    int64" in first and "Mean of x?\nTwo decimals.\n@mean_x[value]" in first
    repair = llm.requests[1]["json"]["messages"][-1]["content"]
    assert "KeyError: 'nope'" in repair


def test_three_tries_at_most(llm):
    llm.script(replies=[code("1/0")] * 3 + [code('print("@mean_x[2.00]")')])
    rec = solve(llm)
    assert (rec["ok"], rec["error"], rec["calls"]) == (False, "exception", 3)


@pytest.mark.parametrize("reply, error", [
    (code('print("@mean_x[2.0001]")'), "wrong answer"),
    (code('print("the mean is 2.00")'), "format missing"),
])
def test_error_classes_when_it_ran(llm, reply, error):
    llm.script(replies=[reply])
    rec = solve(llm)
    assert (rec["ok"], rec["error"], rec["calls"]) == (False, error, 1)


def test_timeout_and_no_code(llm):
    llm.script(replies=[{"content": "I cannot."}, code("import time; time.sleep(10)"), code("while True: pass")])
    rec = solve(llm)
    assert (rec["error"], rec["calls"]) == ("timeout", 3)
    assert "did not finish" in llm.requests[2]["json"]["messages"][-1]["content"]
    assert "no ```python code block" in llm.requests[1]["json"]["messages"][-1]["content"]


def test_code_may_read_the_file_by_name(llm):
    llm.script(replies=[code('import pandas as pd\nd = pd.read_csv("t.csv")\nprint(f"@mean_x[{d.x.mean():.2f}]")')])
    assert solve(llm)["ok"]
