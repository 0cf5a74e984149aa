"""The committed notebooks re-run offline (recorded answers, no key, no network) with nbclient,
reproduce their committed outputs, and export to HTML reports that show everything."""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["tour", "web_traffic", "support_tickets"]

pytestmark = pytest.mark.kernel


def offline_env(tmp_path: Path, notebook: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MONGODB_URL")}
    # Any model call would go to a closed port and fail loudly.
    env["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"
    env["OPENAI_API_KEY"] = "unused"
    env["LLM_ANALYTICS_DATA_DIR"] = str(tmp_path / "data")
    env["JPY_SESSION_NAME"] = str(notebook)
    return env


def role_outputs(cell) -> list[tuple[str, str]]:
    """(role, text) of each output that carries a role; images as a marker."""
    out = []
    for o in cell.get("outputs", []):
        role = o.get("metadata", {}).get("llm_analytics", {}).get("role")
        data = o.get("data", {})
        if role is None:
            continue
        if "image/png" in data:
            out.append((role, "<png>"))
        else:
            out.append((role, data.get("text/plain", "")))
    return out


def execute(path: Path, tmp_path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    fresh = copy.deepcopy(nb)
    for cell in fresh.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    env = offline_env(tmp_path, path)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        NotebookClient(fresh, kernel_name="llm-analytics", timeout=180,
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return fresh


@pytest.mark.parametrize("name", NAMES)
def test_notebook_replays_offline_and_matches_committed_outputs(name, tmp_path):
    path = NOTEBOOKS / f"{name}.ipynb"
    committed = nbformat.read(path, as_version=4)
    rerun = execute(path, tmp_path)
    questions = 0
    for old, new in zip(committed.cells, rerun.cells):
        if old.cell_type != "code":
            continue
        assert not [o for o in new.outputs if o.output_type == "error"], new.outputs
        old_roles, new_roles = role_outputs(old), role_outputs(new)
        assert new_roles == old_roles, f"cell {old.source!r} changed"
        if any(r == "interpretation" for r, _ in new_roles):
            questions += 1
            codes = [o for o in new.outputs if o.get("metadata", {}).get("llm_analytics", {}).get("role") == "code"]
            assert "Replayed a recorded answer" in codes[0]["data"]["text/markdown"]
    assert questions >= 3


def test_answers_files_are_labelled():
    for name in NAMES:
        text = (NOTEBOOKS / f"{name}.answers.json").read_text()
        assert "HAND-WRITTEN ANSWERS" in text
        assert "Delete this file to ask your own model" in text


def test_html_report_shows_code_results_charts_and_interpretation(tmp_path):
    out = tmp_path / "tour.html"
    env = offline_env(tmp_path, NOTEBOOKS / "tour.ipynb")
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", "--execute",
         "--ExecutePreprocessor.kernel_name=llm-analytics",
         "--output-dir", str(tmp_path), "--output", "tour", "tour.ipynb"],
        cwd=NOTEBOOKS, env=env, check=True, capture_output=True, timeout=300,
    )
    html = out.read_text()
    assert "groupby" in html and "sort_values" in html  # the generated code
    assert "<table" in html and "Electronics" in html  # a result table
    assert "data:image/png;base64," in html  # the chart
    assert "generates the highest revenue" in html  # the interpretation
    assert "Missing columns" in html  # the explained error
    # Dollar amounts read as dollars in the report: no stray backslash, no math markup.
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for junk in soup(["script", "style"]):
        junk.decompose()
    text = " ".join(soup.get_text().split())
    assert "$252,625.80" in text, text[text.find("highest revenue") - 300:][:600]
    assert "\\$" not in text, "a backslash shows before a dollar amount"
    # nbconvert marks what it treats as math for MathJax; no amount may be among it.
    for span in soup.find_all(class_=["math", "MathJax", "MathJax_Preview"]):
        assert "252" not in span.get_text(), span
