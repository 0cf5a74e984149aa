"""`%eval`: golden questions (DABench format) through the question path, scored by DABench's rule.

The model is scripted (tests/fake_llm.py); the expected answers are computed here with pandas
from the same tables, so a right and a wrong reply are both exercised.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fake_llm import FakeLLM
from kernel_helpers import execute, show

pytestmark = [pytest.mark.kernel]


def write_golden(tmp: Path) -> tuple[Path, Path, Path, pd.DataFrame]:
    tables = tmp / "tables"
    tables.mkdir()
    frame = pd.DataFrame({"Fare": [7.25, 71.28, 8.05, 53.1], "Age": [22, 38, 26, 35]})
    frame.to_csv(tables / "titanic.csv", index=False)
    questions = [
        {"id": 1, "question": "Calculate the mean fare.", "constraints": "Round to two decimals.",
         "format": "@mean_fare[value] where value is a number rounded to two decimals.",
         "file_name": "titanic.csv", "level": "easy"},
        {"id": 2, "question": "What is the maximum age?", "constraints": "",
         "format": "@max_age[value]", "file_name": "titanic.csv", "level": "medium"},
        {"id": 3, "question": "Ignored: not in --ids.", "constraints": "", "format": "@x[v]",
         "file_name": "titanic.csv", "level": "hard"},
    ]
    labels = [
        {"id": 1, "common_answers": [["mean_fare", f"{frame['Fare'].mean():.2f}"]]},
        {"id": 2, "common_answers": [["max_age", str(frame["Age"].max())]]},
        {"id": 3, "common_answers": [["x", "1"]]},
    ]
    q, lab = tmp / "questions.jsonl", tmp / "labels.jsonl"
    q.write_text("\n".join(json.dumps(x) for x in questions) + "\n")
    lab.write_text("\n".join(json.dumps(x) for x in labels) + "\n")
    return q, lab, tables, frame


def test_eval_scores_golden_questions(kernel_factory, fake_llm: FakeLLM, tmp_path: Path):
    q, labels, tables, frame = write_golden(tmp_path)
    # A small model's habits: it re-reads the data and prints its answer; for question 2 it
    # answers with the wrong number in the right format.
    fake_llm.script(rules=[
        {"match": "Calculate the mean fare", "reply": {"content":
            "```python\nimport pandas as pd\ndf = pd.read_csv('titanic.csv')\n"
            "mean_fare = round(df['Fare'].mean(), 2)\nprint(f'@mean_fare[{mean_fare}]')\n```"}},
        {"match": "maximum age", "reply": {"content":
            "```python\nresult = f\"@max_age[{df['Age'].min()}]\"\n```"}},
    ])
    _, kc = kernel_factory()
    reply, outputs = execute(
        kc, f"%eval {q} --labels {labels} --tables {tables} --ids 1,2", timeout=240)
    assert reply["status"] == "ok", show(outputs)
    final = [o for o in outputs if o["msg_type"] == "display_data"
             and o["content"]["metadata"].get("llm_analytics", {}).get("role") == "eval"]
    assert len(final) == 1, show(outputs)
    rows = {r["id"]: r for r in final[0]["content"]["metadata"]["llm_analytics"]["rows"]}
    assert set(rows) == {1, 2}
    assert rows[1]["ok"] is True, rows[1]
    assert rows[2]["ok"] is False and "wrong answer" in rows[2]["why"], rows[2]
    text = final[0]["content"]["data"]["text/plain"]
    assert "all             2      1       50.0%" in text, text
    assert "missed ids: 2" in text, text
    # No interpretation request, no history: only code requests reached the model.
    systems = [m["content"] for r in fake_llm.chat_requests for m in r["json"]["messages"]
               if m["role"] == "system"]
    assert systems and all("explaining results" not in s for s in systems), systems
    reply, outputs = execute(kc, "%history", timeout=60)
    assert "No questions asked yet" in json.dumps([o["content"] for o in outputs]), show(outputs)


def test_eval_usage_errors_are_clear(kernel_factory, tmp_path: Path):
    _, kc = kernel_factory()
    reply, outputs = execute(kc, "%eval questions.jsonl --tables x", timeout=60)
    assert reply["status"] == "error" and "--labels" in reply["evalue"], reply
    reply, outputs = execute(
        kc, f"%eval {tmp_path}/none.jsonl --labels {tmp_path}/l.jsonl --tables {tmp_path}", timeout=60)
    assert reply["status"] == "error" and "Could not read" in reply["evalue"], reply
