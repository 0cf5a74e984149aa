"""Parameterized reports: papermill runs a question notebook with new parameters.

A real papermill (PyPI) executes a notebook whose `parameters` cell sets `region` and
`path`, against the scripted model: the injected parameters run as Python (no model call),
`%load {path}` reads the parameter, a question that uses `region` is asked again when the
region changes while a question that does not is replayed, and the output notebook keeps
the `llm_analytics` roles and reads as an HTML report (nbconvert).
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from fake_llm import FakeLLM
from kernel_helpers import find_kernel_spec, make_kernel_env

papermill = pytest.importorskip("papermill", reason="papermill is installed by requirements/test.txt")

Q_REGION = "Total revenue for the selected region"
Q_ROWS = "How many orders are there?"
CODE = {
    Q_REGION: "```python\nresult = round(float(df[df['region'] == region]['revenue'].sum()), 2)\n```",
    Q_ROWS: "```python\nresult = len(df)\n```",
}
INTERPRETATION = "This is the figure the question asked for."


@pytest.fixture
def llm():
    with FakeLLM() as server:
        rules = [{"match": f"Current question: {q}\n", "reply": {"content": c}} for q, c in CODE.items()]
        rules.append({"match_regex": r"\A\s*The user asked:", "reply": {"content": INTERPRETATION}})
        server.script(rules=rules, reset=True)
        yield server


def write_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "llm-analytics", "display_name": "LLM Analytics",
                                 "language": "llm-analytics"}
    params = nbformat.v4.new_code_cell('region = "US"\npath = "sales_q3.csv"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Revenue report"),
        params,
        nbformat.v4.new_code_cell("%load {path} as sales"),
        nbformat.v4.new_code_cell(Q_REGION),
        nbformat.v4.new_code_cell(Q_ROWS),
    ]
    path = folder / "report.ipynb"
    nbformat.write(nb, path)
    return path


def sales(folder: Path, name: str, rows: list[tuple[str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["region", "revenue"])
    frame.to_csv(folder / name, index=False)
    return frame


def run(nb: Path, out: Path, **parameters) -> nbformat.NotebookNode:
    papermill.execute_notebook(str(nb), str(out), parameters=parameters, kernel_name="llm-analytics",
                               language="python", cwd=str(nb.parent), progress_bar=False,
                               execution_timeout=120)
    return nbformat.read(out, as_version=4)


def cell_for(nb, source: str):
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.strip() == source)


def by_role(cell, role: str) -> list[dict]:
    return [o for o in cell.outputs if o.get("metadata", {}).get("llm_analytics", {}).get("role") == role]


def result_text(cell) -> str:
    results = by_role(cell, "result")
    assert results, f"no result output in {cell.outputs}"
    return results[0]["data"]["text/plain"]


def code_note(cell) -> str:
    """The code output's markdown as it reads (escapes undone)."""
    return html.unescape(by_role(cell, "code")[0]["data"]["text/markdown"].replace("\\", ""))


def code_calls(llm: FakeLLM) -> list[str]:
    prompts = []
    for r in llm.chat_requests:
        user = [m["content"] for m in r["json"]["messages"] if m["role"] == "user"][-1]
        if "Current question:" in user:
            prompts.append(user)
    return prompts


def test_papermill_reruns_only_what_the_parameters_change(llm, tmp_path, monkeypatch):
    find_kernel_spec()
    env = make_kernel_env(llm.base_url, tmp_path)
    env.pop("JPY_SESSION_NAME")  # papermill sets no notebook name: the run's folder scopes replay
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    q3 = sales(tmp_path, "sales_q3.csv", [("US", 100.5), ("EU", 20.25), ("US", 7.0), ("EU", 1.0)])
    q4 = sales(tmp_path, "sales_q4.csv", [("US", 3.0), ("EU", 50.0), ("EU", 50.0)])
    nb = write_notebook(tmp_path)

    first = run(nb, tmp_path / "us.ipynb", region="US")
    # Papermill's injected cell ran as Python: no model call for it, and it set `region`.
    injected = next(c for c in first.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert injected.source.startswith("# Parameters") and not injected.outputs
    assert float(result_text(cell_for(first, Q_REGION))) == pytest.approx(107.5)
    assert result_text(cell_for(first, Q_ROWS)).strip() == str(len(q3))
    prompts = code_calls(llm)
    assert len(prompts) == 2, prompts
    assert all("region = \"US\"" in p and "path = \"sales_q3.csv\"" in p for p in prompts)
    assert not any("Current question: region" in p for p in prompts)
    for question in (Q_REGION, Q_ROWS):
        cell = cell_for(first, question)
        assert [len(by_role(cell, r)) for r in ("code", "result", "interpretation")] == [1, 1, 1]

    # New region: the question that uses it is asked again and says why; the other replays.
    before = len(code_calls(llm))
    second = run(nb, tmp_path / "eu.ipynb", region="EU")
    asked = code_calls(llm)[before:]
    assert [p.split("Current question: ")[1].split("\n")[0] for p in asked] == [Q_REGION]
    region_cell = cell_for(second, Q_REGION)
    assert float(result_text(region_cell)) == pytest.approx(21.25)
    assert "Asked the model again" in code_note(region_cell)
    assert 'region = "US" → "EU"' in code_note(region_cell)
    rows_cell = cell_for(second, Q_ROWS)
    assert "Replayed a recorded answer" in code_note(rows_cell)
    assert result_text(rows_cell).strip() == str(len(q3))

    # The same parameters again: everything replays, no model call.
    before = len(code_calls(llm))
    again = run(nb, tmp_path / "eu-again.ipynb", region="EU")
    assert len(code_calls(llm)) == before
    assert float(result_text(cell_for(again, Q_REGION))) == pytest.approx(21.25)
    assert "Replayed a recorded answer" in code_note(cell_for(again, Q_REGION))

    # The data itself as a parameter: other data, so both questions are asked again.
    before = len(code_calls(llm))
    q4_run = run(nb, tmp_path / "eu-q4.ipynb", region="EU", path="sales_q4.csv")
    assert len(code_calls(llm)) == before + 2
    assert float(result_text(cell_for(q4_run, Q_REGION))) == pytest.approx(100.0)
    assert result_text(cell_for(q4_run, Q_ROWS)).strip() == str(len(q4))

    # The output notebook reads as a report: nbconvert HTML shows the parameters, the code,
    # the result and the interpretation, and no markup from the kernel's notes leaks.
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_notebook_node(second)
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Revenue report" in text
    assert "21.25" in text and INTERPRETATION in text
    assert "Asked the model again" in text


def test_a_load_placeholder_without_a_parameter_is_a_clear_error(llm, tmp_path):
    from kernel_helpers import errors, execute, start_kernel, stop_kernel, stream_text

    km, kc = start_kernel(env=make_kernel_env(llm.base_url, tmp_path), cwd=tmp_path)
    try:
        reply, outputs = execute(kc, "%load {path}")
        err = errors(outputs)
        assert err and err[0]["content"]["ename"] == "UsageError"
        assert "no parameter named path" in err[0]["content"]["evalue"]
        # A parameters cell typed by hand works the same as papermill's.
        reply, outputs = execute(kc, "region = 'EU'\nyear = 2026")
        assert reply["status"] == "ok" and not errors(outputs)
        assert not llm.chat_requests
        _, outputs = execute(kc, "%%python\nprint(region, year + 1)")
        assert "EU 2027" in stream_text(outputs)
    finally:
        stop_kernel(km, kc)
