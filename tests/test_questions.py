"""End-to-end tests of question cells, through jupyter_client and a scripted model.

A question cell is any cell that is not a magic.  The kernel asks the model
(tests/fake_llm.py) for code, validates and runs it in the Python worker, then
streams an interpretation.  These tests script the model's replies, look at the
iopub outputs (roles in ``metadata.llm_analytics.role``) and at the requests the
fake server recorded.

Expected values are always computed here with pandas from the same CSV the
kernel loads; nothing is hard-coded.
"""
from __future__ import annotations

import ast
import base64
import html
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from fake_llm import FakeLLM, last_user_message
from kernel_helpers import collect_iopub, errors, execute, get_reply, results, role, show, table_numbers

pytestmark = [pytest.mark.kernel]

CODE_SYSTEM = "You are a data analyst. Generate only executable Python code."
RETRY_SYSTEM = (
    "You are a data analyst. Generate only valid, executable Python code that assigns "
    "result to 'result' variable."
)
INTERPRET_SYSTEM = (
    "You are a data analyst explaining results to a business user. Be concise and clear."
)
MAX_SAMPLE_ROWS = 10
INTERPRETATION = "Electronics brings in the most revenue."
CELL_TIMEOUT = 60

# The design document's example code, verbatim.
EXAMPLE1_Q = "What's the total revenue by category?"
EXAMPLE1_CODE = """\
# Check if required columns exist
if 'category' not in df.columns or 'revenue' not in df.columns:
    result = "Error: Required columns 'category' or 'revenue' not found"
else:
    # Calculate total revenue by category
    result = df.groupby('category')['revenue'].sum().sort_values(ascending=False)"""

EXAMPLE2_Q = "Now show me the average order value for Electronics"
EXAMPLE2_CODE = """\
# Filter for Electronics category based on previous analysis
electronics_df = df[df['category'] == 'Electronics']

if electronics_df.empty:
    result = "No data found for Electronics category"
else:
    # Calculate average order value (revenue per transaction)
    result = electronics_df['revenue'].mean()"""

EXAMPLE3_Q = "Calculate the correlation between price and quantity"
EXAMPLE3_CODE = """\
# Check if columns exist
required_cols = ['price', 'quantity']
missing_cols = [col for col in required_cols if col not in df.columns]

if missing_cols:
    available_cols = df.columns.tolist()
    result = f"Missing columns: {missing_cols}. Available columns: {available_cols}"
else:
    # Remove null values before correlation
    clean_df = df[['price', 'quantity']].dropna()

    if len(clean_df) < 2:
        result = "Not enough data points for correlation calculation"
    else:
        result = clean_df['price'].corr(clean_df['quantity'])"""


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------

PRODUCTS = {
    "Electronics": ["Laptop", "Phone", "Headphones", "Monitor"],
    "Furniture": ["Desk", "Chair", "Bookshelf"],
    "Clothing": ["Jacket", "Shirt", "Shoes"],
}


def make_sales_frame(n: int = 50, seed: int = 20240601) -> pd.DataFrame:
    """A small, realistic, deterministic sales table."""
    rng = np.random.default_rng(seed)
    cats = list(PRODUCTS)
    rows = []
    for i, day in enumerate(pd.date_range("2024-01-01", periods=n, freq="D")):
        cat = cats[i % len(cats)] if i < len(cats) else cats[int(rng.integers(0, len(cats)))]
        product = PRODUCTS[cat][int(rng.integers(0, len(PRODUCTS[cat])))]
        price = round(float(rng.uniform(5, 900)), 2)
        quantity = int(rng.integers(1, 12))
        rows.append(
            {
                "date": day.strftime("%Y-%m-%d"),
                "category": cat,
                "product": product,
                "revenue": round(price * quantity, 2),
                "price": price,
                "quantity": quantity,
            }
        )
    return pd.DataFrame(rows)


def write_csv(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Write frame and return it as pandas reads it back (what the kernel should see)."""
    frame.to_csv(path, index=False)
    return pd.read_csv(path)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def with_role(outputs, r: str) -> list[dict[str, Any]]:
    return [o for o in outputs if role(o) == r]


def script(llm: FakeLLM, codes: list[str], interpretation: Any = INTERPRETATION) -> None:
    """Queue code replies; every interpretation request gets `interpretation`."""
    reply = interpretation if isinstance(interpretation, dict) else {"content": interpretation}
    llm.script(
        replies=[c if isinstance(c, dict) else {"content": c} for c in codes],
        rules=[{"match_regex": r"\A\s*The user asked:", "reply": reply}],
    )


def chat_bodies(llm: FakeLLM) -> list[dict[str, Any]]:
    return [r["json"] for r in llm.chat_requests]


def is_interpretation(body: dict[str, Any]) -> bool:
    return system_message(body) == INTERPRET_SYSTEM


def code_bodies(llm: FakeLLM) -> list[dict[str, Any]]:
    """Code requests (streamed too, so the cell shows the code as it is written)."""
    return [b for b in chat_bodies(llm) if not is_interpretation(b)]


def stream_bodies(llm: FakeLLM) -> list[dict[str, Any]]:
    """Interpretation requests."""
    return [b for b in chat_bodies(llm) if is_interpretation(b)]


def system_message(body: dict[str, Any]) -> str:
    for m in body.get("messages", []):
        if m.get("role") == "system":
            return m.get("content") or ""
    return ""


def request_kinds(llm: FakeLLM) -> list[str]:
    """"code" for code requests, "stream" for the (streamed) interpretation."""
    return ["stream" if is_interpretation(b) else "code" for b in chat_bodies(llm)]


def final_code(outputs) -> dict[str, str]:
    """The code display as the notebook keeps it: its last state (display + updates)."""
    shown = with_role(outputs, "code")
    assert shown, f"no code output:\n{show(outputs)}"
    ids = {(o["content"].get("transient") or {}).get("display_id") for o in shown}
    assert len(ids) == 1, f"the code is one display, updated in place:\n{show(outputs)}"
    return shown[-1]["content"]["data"]


def ask(kc, question: str, timeout: float = CELL_TIMEOUT):
    return execute(kc, question, timeout=timeout)


def assert_ok(reply, outputs) -> None:
    assert reply["status"] == "ok", f"cell failed: {reply}\n{show(outputs)}"
    assert not errors(outputs), f"unexpected error output:\n{show(outputs)}"


def assert_error(reply, outputs, ename: str | None = None) -> dict[str, Any]:
    assert reply["status"] == "error", f"expected an error reply, got {reply}\n{show(outputs)}"
    errs = errors(outputs)
    assert len(errs) == 1, f"expected exactly one error output:\n{show(outputs)}"
    err = errs[0]["content"]
    if ename is not None:
        assert err["ename"] == ename, f"expected {ename}, got {err['ename']}: {err['evalue']!r}"
        assert reply.get("ename") == ename, f"reply ename {reply.get('ename')!r} != {ename!r}"
    return err


def result_output(outputs) -> dict[str, Any]:
    res = [o for o in outputs if o["msg_type"] == "execute_result"]
    assert len(res) == 1, f"expected one execute_result:\n{show(outputs)}"
    assert role(res[0]) == "result", f"execute_result without role 'result':\n{show(outputs)}"
    return res[0]


def result_text(outputs) -> str:
    return result_output(outputs)["content"]["data"]["text/plain"]


def interpretation_msgs(outputs) -> list[dict[str, Any]]:
    """The interpretation display_data and its update_display_data messages."""
    first = [o for o in outputs if o["msg_type"] == "display_data" and role(o) == "interpretation"]
    assert len(first) == 1, f"expected one interpretation display:\n{show(outputs)}"
    did = (first[0]["content"].get("transient") or {}).get("display_id")
    assert did, f"interpretation display has no transient display_id: {first[0]}"
    updates = [o for o in outputs if o["msg_type"] == "update_display_data"
               and role(o) == "interpretation"]
    for u in updates:
        assert (u["content"].get("transient") or {}).get("display_id") == did, (
            f"update_display_data for another display id:\n{show(outputs)}")
    return first + updates


def final_interpretation(outputs) -> dict[str, str]:
    return interpretation_msgs(outputs)[-1]["content"]["data"]


def html_body_rows(table_html: str) -> list[list[str]]:
    soup = BeautifulSoup(table_html, "html.parser")
    body = soup.find("tbody")
    assert body is not None, f"no <tbody> in {table_html[:500]}"
    return [[c.get_text() for c in tr.find_all(["th", "td"])] for tr in body.find_all("tr")]


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

@pytest.fixture
def sales(tmp_path: Path) -> pd.DataFrame:
    frame = write_csv(make_sales_frame(), tmp_path / "sales.csv")
    assert set(frame["category"]) == set(PRODUCTS)
    return frame


def load(kc, spec: str) -> None:
    reply, outputs = execute(kc, f"%load {spec}", timeout=CELL_TIMEOUT)
    assert reply["status"] == "ok", f"%load {spec} failed: {reply}\n{show(outputs)}"
    assert with_role(outputs, "profile"), f"%load {spec}: no profile output\n{show(outputs)}"


@pytest.fixture
def sales_kernel(kernel_factory, sales):
    """A kernel (cwd = tmp_path) with sales.csv loaded as df."""
    _, kc = kernel_factory()
    load(kc, "sales.csv")
    return kc


@pytest.fixture
def env_kernel(kernel_factory, kernel_env, sales):
    """start(**extra_env) -> client of a kernel with extra settings and sales.csv loaded."""
    def start(**extra: str):
        _, kc = kernel_factory(env={**kernel_env, **extra})
        load(kc, "sales.csv")
        return kc
    return start


# ---------------------------------------------------------------------------
# the happy path: requests, outputs, streaming
# ---------------------------------------------------------------------------

def test_question_makes_one_code_request_and_one_streamed_interpretation(
        sales_kernel, fake_llm, sales):
    q = "What is the total revenue?"
    code = "result = df['revenue'].sum()"
    script(fake_llm, [code])
    reply, outputs = ask(sales_kernel, q)
    assert_ok(reply, outputs)
    assert float(result_text(outputs)) == pytest.approx(sales["revenue"].sum(), rel=1e-9)

    assert request_kinds(fake_llm) == ["code", "stream"], chat_bodies(fake_llm)
    code_req, interp_req = chat_bodies(fake_llm)
    assert code_req["model"] == "fake-model"
    assert system_message(code_req) == CODE_SYSTEM
    prompt = last_user_message(code_req)
    assert f"Current question: {q}" in prompt
    assert "Previous conversation context:" not in prompt
    assert "Shape: 50 rows × 6 columns" in prompt, prompt
    for col in sales.columns:
        assert col in prompt
    # Only structure and a sample go to the model, never the whole table: the dates
    # (unique per row) of rows past the 5-row sample are absent.
    assert sales["date"].head(5).iloc[0] in prompt
    leaked = [d for d in sales["date"].iloc[5:] if d in prompt]
    assert not leaked, f"rows beyond the sample leaked into the prompt: {leaked[:5]}"

    assert interp_req.get("stream") is True
    assert system_message(interp_req) == INTERPRET_SYSTEM
    iprompt = last_user_message(interp_req)
    assert iprompt.startswith(f"\nThe user asked: {q}"), iprompt[:200]
    assert code in iprompt
    assert "The result was:" in iprompt


def test_success_outputs_in_order(sales_kernel, fake_llm, sales):
    code = (
        "print('categories:', df['category'].nunique())\n"
        "fig, ax = plt.subplots()\n"
        "totals = df.groupby('category')['revenue'].sum()\n"
        "totals.plot.bar(ax=ax)\n"
        "result = totals"
    )
    script(fake_llm, [code])
    reply, outputs = ask(sales_kernel, "Plot revenue by category")
    assert_ok(reply, outputs)

    kinds = []
    for o in outputs:
        k = (o["msg_type"], role(o))
        if o["msg_type"] == "display_data" and "image/png" in o["content"]["data"]:
            k = ("figure", role(o))
        if k == ("update_display_data", "code"):
            k = ("display_data", "code")  # the code display, redrawn as the model writes
        if not kinds or kinds[-1] != k:
            kinds.append(k)
    assert kinds == [
        ("display_data", "code"),
        ("stream", None),
        ("execute_result", "result"),
        ("figure", "result"),
        ("display_data", "interpretation"),
        ("update_display_data", "interpretation"),
        ("display_data", "usage"),
    ] or kinds == [
        ("display_data", "code"),
        ("stream", None),
        ("execute_result", "result"),
        ("figure", "result"),
        ("display_data", "interpretation"),
        ("display_data", "usage"),
    ], f"unexpected output order {kinds}\n{show(outputs)}"

    code_out = final_code(outputs)
    assert code_out["text/plain"] == code
    assert code_out["text/markdown"] == f"```python\n{code}\n```"
    stream = "".join(o["content"]["text"] for o in outputs if o["msg_type"] == "stream")
    assert stream == f"categories: {sales['category'].nunique()}\n"
    png = [o for o in outputs if "image/png" in (o["content"].get("data") or {})]
    assert len(png) == 1
    assert base64.b64decode(png[0]["content"]["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    totals = sales.groupby("category")["revenue"].sum()
    got = table_numbers(result_text(outputs), totals.index)
    for cat, value in totals.items():
        assert got[cat] == pytest.approx(value, abs=0.006), (cat, got, totals)
    assert final_interpretation(outputs)["text/plain"] == INTERPRETATION


def test_interpretation_streams_into_one_display_and_escapes_html(sales_kernel, fake_llm):
    text = ("Revenue is highest for <b>Electronics</b> & lowest for Clothing, "
            "so the store depends on gadgets more than on anything else this quarter.")
    script(fake_llm, ["result = df['revenue'].max()"],
           interpretation={"content": text, "chunk_delay": 0.1})
    msg_id = sales_kernel.execute("Which category earns most?")
    iopub = collect_iopub(sales_kernel, msg_id, timeout=CELL_TIMEOUT)
    reply = get_reply(sales_kernel, msg_id, timeout=CELL_TIMEOUT)["content"]
    outputs = [{"msg_type": m["msg_type"], "content": m["content"], "metadata": m["metadata"],
                "date": m["header"]["date"]}
               for m in iopub if m["msg_type"] not in ("status", "execute_input")]
    assert_ok(reply, outputs)
    msgs = interpretation_msgs(outputs)
    assert msgs[0]["msg_type"] == "display_data"
    updates = msgs[1:]
    assert len(updates) >= 3, f"tokens were not streamed as updates:\n{show(outputs)}"
    assert all(m["msg_type"] == "update_display_data" for m in updates)
    # Each update shows a growing prefix of the reply; the last one the whole text.
    texts = [m["content"]["data"]["text/plain"] for m in msgs]
    for a, b in zip(texts, texts[1:]):
        assert text.startswith(b.strip()) or b == text, f"not a prefix: {b!r}"
        assert len(b) >= len(a)
    final = msgs[-1]["content"]["data"]
    assert final["text/plain"] == text
    assert final["text/markdown"] == html.escape(text, quote=False)
    assert "&lt;b&gt;Electronics&lt;/b&gt;" in final["text/markdown"]
    assert "<b>" not in final["text/markdown"]
    # Shown while it arrived (~2 s of chunks), not all at once at the end.
    t0, t1 = msgs[0]["date"], msgs[-1]["date"]
    span = (pd.Timestamp(t1) - pd.Timestamp(t0)).total_seconds()
    assert span >= 0.8, f"interpretation updates spanned only {span:.2f}s"
    assert len(stream_bodies(fake_llm)) == 1


def test_dataframe_result_truncated_to_max_sample_rows(sales_kernel, fake_llm, sales):
    script(fake_llm, ["result = df[['product', 'revenue']]"])
    reply, outputs = ask(sales_kernel, "Show me product and revenue for every order")
    assert_ok(reply, outputs)
    data = result_output(outputs)["content"]["data"]
    assert "text/html" in data
    rows = html_body_rows(data["text/html"])
    assert len(rows) == MAX_SAMPLE_ROWS, rows
    assert [r[1] for r in rows] == sales["product"].head(MAX_SAMPLE_ROWS).tolist()
    note = f"Showing {MAX_SAMPLE_ROWS} of {len(sales)} rows"
    assert note in data["text/plain"], data["text/plain"]
    assert note in data["text/html"]


def test_small_dataframe_result_not_truncated(sales_kernel, fake_llm, sales):
    script(fake_llm, ["result = df.head(4)"])
    reply, outputs = ask(sales_kernel, "Show the first four orders")
    assert_ok(reply, outputs)
    data = result_output(outputs)["content"]["data"]
    assert len(html_body_rows(data["text/html"])) == 4
    assert "Showing" not in data["text/plain"]


@pytest.mark.parametrize(
    "code, expected",
    [
        ("result = 42", "The calculated result is: 42"),
        ("result = df.head(7)",
         "Analysis completed successfully. The result is a table with 7 rows and 6 columns."),
        ("result = df.groupby('category')['revenue'].sum()",
         "Analysis completed successfully. The results are shown above."),
    ],
    ids=["number", "frame", "other"],
)
def test_interpretation_failure_falls_back_to_design_text(sales_kernel, fake_llm, code, expected):
    script(fake_llm, [code], interpretation={"status": 500})
    reply, outputs = ask(sales_kernel, "Summarise it")
    assert_ok(reply, outputs)
    result_output(outputs)
    assert final_interpretation(outputs)["text/plain"] == expected, show(outputs)
    assert stream_bodies(fake_llm), "no interpretation request was made"


def test_prose_reply_with_fenced_block_is_extracted(sales_kernel, fake_llm, sales):
    reply_text = (
        "Sure! Here is the code you need to answer that question:\n\n"
        "```python\nresult = df['quantity'].sum()\n```\n\n"
        "This adds up the quantity column, giving the number of units sold."
    )
    script(fake_llm, [reply_text])
    reply, outputs = ask(sales_kernel, "How many units were sold?")
    assert_ok(reply, outputs)
    assert final_code(outputs)["text/plain"] == "result = df['quantity'].sum()"
    assert int(result_text(outputs)) == int(sales["quantity"].sum())
    assert request_kinds(fake_llm) == ["code", "stream"]


# ---------------------------------------------------------------------------
# the design document's conversation examples
# ---------------------------------------------------------------------------

def test_example1_total_revenue_by_category(sales_kernel, fake_llm, sales):
    script(fake_llm, [EXAMPLE1_CODE])
    reply, outputs = ask(sales_kernel, EXAMPLE1_Q)
    assert_ok(reply, outputs)
    expected = sales.groupby("category")["revenue"].sum().sort_values(ascending=False)
    text = result_text(outputs)
    got = table_numbers(text, expected.index)
    for cat, value in expected.items():
        assert got[cat] == pytest.approx(value, abs=0.006), (cat, text)
    order = sorted(expected.index, key=lambda c: text.index(f"\n{c} "))
    assert order == list(expected.index), f"not sorted descending:\n{text}"
    html_rows = html_body_rows(result_output(outputs)["content"]["data"]["text/html"])
    assert [r[0] for r in html_rows] == list(expected.index)
    # The interpretation request sees the Series as a dict (design doc's format).
    iprompt = last_user_message(stream_bodies(fake_llm)[0])
    m = re.search(r"The result was:\nSeries:\n(\{.*?\})\n", iprompt, re.S)
    assert m, iprompt
    described = ast.literal_eval(m.group(1))
    assert list(described) == list(expected.index)
    assert described == pytest.approx(expected.to_dict(), abs=0.006)


def test_example2_follow_up_uses_previous_context(sales_kernel, fake_llm, sales):
    script(fake_llm, [EXAMPLE1_CODE, EXAMPLE2_CODE])
    assert_ok(*ask(sales_kernel, EXAMPLE1_Q))
    reply, outputs = ask(sales_kernel, EXAMPLE2_Q)
    assert_ok(reply, outputs)
    expected = sales.loc[sales["category"] == "Electronics", "revenue"].mean()
    assert float(result_text(outputs)) == pytest.approx(expected, rel=1e-9)

    codes = code_bodies(fake_llm)
    assert len(codes) == 2, request_kinds(fake_llm)
    first, second = (last_user_message(b) for b in codes)
    assert "Previous conversation context:" not in first
    assert "Previous conversation context:" in second
    assert f"1. Question: {EXAMPLE1_Q}" in second
    n_cats = sales["category"].nunique()
    assert f"Result: Series with {n_cats} values" in second, second
    # The example code is longer than 200 characters: a snippet is shown.
    assert "Generated code snippet: # Check if required columns exist" in second
    assert f"Current question: {EXAMPLE2_Q}" in second
    assert second.index("Previous conversation context:") < second.index("Current question:")
    assert request_kinds(fake_llm) == ["code", "stream", "code", "stream"]


def test_example3_correlation_between_price_and_quantity(sales_kernel, fake_llm, sales):
    script(fake_llm, [EXAMPLE3_CODE])
    reply, outputs = ask(sales_kernel, EXAMPLE3_Q)
    assert_ok(reply, outputs)
    expected = sales["price"].corr(sales["quantity"])
    assert float(result_text(outputs)) == pytest.approx(expected, abs=1e-9)


def test_example3_missing_column_returns_message(kernel_factory, fake_llm, tmp_path):
    frame = write_csv(make_sales_frame().drop(columns=["quantity"]), tmp_path / "noqty.csv")
    _, kc = kernel_factory()
    load(kc, "noqty.csv")
    script(fake_llm, [EXAMPLE3_CODE])
    reply, outputs = ask(kc, EXAMPLE3_Q)
    assert_ok(reply, outputs)
    expected = f"Missing columns: {['quantity']}. Available columns: {frame.columns.tolist()}"
    assert result_text(outputs) == expected


# ---------------------------------------------------------------------------
# model failures
# ---------------------------------------------------------------------------

def test_missing_api_key_for_remote_endpoint(kernel_factory, kernel_env, sales, fake_llm):
    env = dict(kernel_env)
    env.pop("OPENAI_API_KEY", None)
    env["OPENAI_BASE_URL"] = "https://api.openai.example.invalid/v1"
    _, kc = kernel_factory(env=env)
    load(kc, "sales.csv")  # %load works without a key
    reply, outputs = ask(kc, "What is the total revenue?")
    err = assert_error(reply, outputs, "MissingApiKey")
    assert "OPENAI_API_KEY" in err["evalue"]
    assert "export OPENAI_API_KEY=" in err["evalue"] or ".env" in err["evalue"], err["evalue"]
    assert not fake_llm.chat_requests
    # %%python still works, with the data.
    reply, outputs = execute(kc, "%%python\ndf.shape", timeout=CELL_TIMEOUT)
    assert reply["status"] == "ok", show(outputs)
    assert results(outputs) == [str(sales.shape)]


def test_llm_500_on_every_attempt(sales_kernel, fake_llm):
    fake_llm.script(default={"status": 500, "body": {"error": {
        "message": "upstream exploded", "type": "server_error", "param": None, "code": None}}})
    t0 = time.monotonic()
    reply, outputs = ask(sales_kernel, "What is the total revenue?")
    elapsed = time.monotonic() - t0
    err = assert_error(reply, outputs, "LLMError")
    assert fake_llm.base_url in err["evalue"], err["evalue"]
    assert "500" in err["evalue"], err["evalue"]
    # async-openai retries 5xx three times: 4 requests, all for code, no interpretation.
    assert request_kinds(fake_llm) == ["code"] * 4, request_kinds(fake_llm)
    assert elapsed < 30


def test_rate_limit_retry_after_is_honoured(sales_kernel, fake_llm, sales):
    script(fake_llm, [{"status": 429, "retry_after": 1}, "result = len(df)"])
    t0 = time.monotonic()
    reply, outputs = ask(sales_kernel, "How many orders are there?")
    elapsed = time.monotonic() - t0
    assert_ok(reply, outputs)
    assert int(result_text(outputs)) == len(sales)
    reqs = [r for r in fake_llm.chat_requests if not is_interpretation(r["json"])]
    assert len(reqs) == 2, request_kinds(fake_llm)
    gap = reqs[1]["timestamp"] - reqs[0]["timestamp"]
    assert gap >= 0.95, f"retried after {gap:.2f}s, Retry-After was 1 s"
    assert elapsed >= 1.0


def test_hanging_model_times_out(env_kernel, fake_llm):
    kc = env_kernel(OPENAI_REQUEST_TIMEOUT="2")
    fake_llm.script(default={"hang": 60})
    t0 = time.monotonic()
    reply, outputs = ask(kc, "What is the total revenue?", timeout=90)
    elapsed = time.monotonic() - t0
    err = assert_error(reply, outputs, "LLMError")
    assert re.search(r"time", err["evalue"], re.I), err["evalue"]
    assert fake_llm.base_url in err["evalue"]
    assert elapsed < 30, f"took {elapsed:.1f}s with OPENAI_REQUEST_TIMEOUT=2"
    # The kernel is usable afterwards.
    reply, outputs = execute(kc, "%%python\n1+1", timeout=CELL_TIMEOUT)
    assert results(outputs) == ["2"]


def test_malformed_json_reply(sales_kernel, fake_llm):
    fake_llm.script(replies=[{"malformed": True}])
    reply, outputs = ask(sales_kernel, "What is the total revenue?")
    err = assert_error(reply, outputs, "LLMError")
    assert fake_llm.base_url in err["evalue"], err["evalue"]
    assert re.search(r"json|invalid|not valid", err["evalue"], re.I), err["evalue"]
    assert not stream_bodies(fake_llm)


# ---------------------------------------------------------------------------
# validation and repair
# ---------------------------------------------------------------------------

BAD_CODE = "import os\nresult = os.listdir()"


ROUNDS = 3  # MAX_REPAIR_ROUNDS default: attempts after the first


def test_invalid_code_every_time_is_refused(sales_kernel, fake_llm):
    script(fake_llm, [BAD_CODE] * (ROUNDS + 1))
    reply, outputs = ask(sales_kernel, "List the files")
    err = assert_error(reply, outputs, "ValidationError")
    assert "Forbidden import" in err["evalue"], err["evalue"]
    assert "[rule: import]" in err["evalue"], err["evalue"]
    assert request_kinds(fake_llm) == ["code"] * (ROUNDS + 1)
    first, retry = code_bodies(fake_llm)[:2]
    assert system_message(first) == CODE_SYSTEM
    assert system_message(retry) == RETRY_SYSTEM
    assert "Previous attempt failed validation:" in last_user_message(retry)
    assert "Forbidden import" in last_user_message(retry)
    # The retry says what to do instead, not only what was wrong.
    assert "already imported" in last_user_message(retry)
    assert "Previous attempt failed validation:" not in last_user_message(first)
    assert not [o for o in outputs if o["msg_type"] == "execute_result"]
    # The refused code is shown once, marked as not run, with one line per attempt.
    shown = final_code(outputs)
    assert shown["text/plain"] == BAD_CODE
    assert "did not run" in shown["text/markdown"]
    assert shown["text/markdown"].count("refused") >= ROUNDS + 1, shown["text/markdown"]


def test_invalid_then_valid_code(sales_kernel, fake_llm, sales):
    good = "result = df['price'].max()"
    script(fake_llm, [BAD_CODE, good])
    reply, outputs = ask(sales_kernel, "What is the highest price?")
    assert_ok(reply, outputs)
    assert float(result_text(outputs)) == pytest.approx(sales["price"].max())
    assert request_kinds(fake_llm) == ["code", "code", "stream"]
    assert "Previous attempt failed validation:" in last_user_message(code_bodies(fake_llm)[1])
    shown = final_code(outputs)
    assert shown["text/plain"] == good
    assert "Attempt 1: refused \\(import\\)" in shown["text/markdown"], shown["text/markdown"]
    assert good in last_user_message(stream_bodies(fake_llm)[0])


def test_runtime_error_repaired(sales_kernel, fake_llm, sales):
    broken = "result = df['revenu'].sum()"
    fixed = "result = df['revenue'].sum()"
    script(fake_llm, [broken, fixed])
    reply, outputs = ask(sales_kernel, "What is the total revenue?")
    assert_ok(reply, outputs)
    assert float(result_text(outputs)) == pytest.approx(sales["revenue"].sum(), rel=1e-9)
    # code request, repair request, interpretation: no other call.
    assert request_kinds(fake_llm) == ["code", "code", "stream"], request_kinds(fake_llm)
    repair = last_user_message(code_bodies(fake_llm)[1])
    assert "The previous code failed when it ran:" in repair
    assert broken in repair and "KeyError" in repair
    # The hint lists the real column names, quoted.
    assert "'revenue'" in repair.split("The previous code failed")[1]
    assert "The previous code failed" not in last_user_message(code_bodies(fake_llm)[0])
    # One code display: the code that ran, with one line about the failed attempt.
    shown = final_code(outputs)
    assert shown["text/plain"] == fixed
    assert "Attempt 1" in shown["text/markdown"] and "KeyError" in shown["text/markdown"]
    assert broken not in shown["text/markdown"]
    # The interpretation is about the code that ran.
    iprompt = last_user_message(stream_bodies(fake_llm)[0])
    assert fixed in iprompt and broken not in iprompt


def test_runtime_error_every_time_gives_friendly_error(sales_kernel, fake_llm):
    script(fake_llm, ["result = df['revenu'].sum()"] * ROUNDS + ["result = df['revenue_total'].sum()"])
    reply, outputs = ask(sales_kernel, "What is the total revenue?")
    err = assert_error(reply, outputs)
    assert "Column not found in DataFrame:" in err["evalue"], err["evalue"]
    assert "revenue_total" in err["evalue"], err["evalue"]
    assert request_kinds(fake_llm) == ["code"] * (ROUNDS + 1), request_kinds(fake_llm)
    assert not [o for o in outputs if o["msg_type"] == "execute_result"]


def test_repair_rounds_setting_bounds_the_calls(env_kernel, fake_llm):
    kc = env_kernel(MAX_REPAIR_ROUNDS="1")
    script(fake_llm, ["result = df['revenu'].sum()"] * 5)
    reply, outputs = ask(kc, "What is the total revenue?")
    assert_error(reply, outputs)
    assert request_kinds(fake_llm) == ["code", "code"], request_kinds(fake_llm)
    # Every code request is capped, so a looping model cannot run to its context end.
    for body in code_bodies(fake_llm):
        assert body.get("max_tokens") == 1024 or body.get("max_completion_tokens") == 1024, body


def test_infinite_loop_times_out_then_the_model_rewrites_it(env_kernel, fake_llm, sales):
    kc = env_kernel(MAX_EXECUTION_TIMEOUT="2")
    reply, outputs = execute(kc, "%%python\nkeep = [1, 2, 3]", timeout=CELL_TIMEOUT)
    assert reply["status"] == "ok", show(outputs)
    script(fake_llm, ["while True: pass\nresult = 1", "result = df['revenue'].sum()"])
    t0 = time.monotonic()
    reply, outputs = ask(kc, "Spin forever")
    elapsed = time.monotonic() - t0
    assert_ok(reply, outputs)
    assert 1.9 <= elapsed < 60, elapsed
    assert float(result_text(outputs)) == pytest.approx(sales["revenue"].sum(), rel=1e-9)
    assert request_kinds(fake_llm) == ["code", "code", "stream"]
    assert "timed out after 2" in last_user_message(code_bodies(fake_llm)[1])
    assert "timed out" in final_code(outputs)["text/markdown"]
    # The user's data and variables were never in the process that spun.
    reply, outputs = execute(kc, "%%python\n(df.shape, keep)", timeout=CELL_TIMEOUT)
    assert reply["status"] == "ok", show(outputs)
    assert results(outputs) == [str((sales.shape, [1, 2, 3]))]


def test_timeout_without_repair_rounds_is_reported(env_kernel, fake_llm, sales):
    kc = env_kernel(MAX_EXECUTION_TIMEOUT="2", MAX_REPAIR_ROUNDS="0")
    script(fake_llm, ["while True: pass\nresult = 1"])
    reply, outputs = ask(kc, "Spin forever")
    err = assert_error(reply, outputs, "TimeoutError")
    assert "timed out after 2" in err["evalue"], err["evalue"]
    assert "untouched" in err["evalue"], err["evalue"]
    assert request_kinds(fake_llm) == ["code"]
    script(fake_llm, ["result = df['revenue'].sum()"])
    reply, outputs = ask(kc, "What is the total revenue?")
    assert_ok(reply, outputs)
    assert float(result_text(outputs)) == pytest.approx(sales["revenue"].sum(), rel=1e-9)


def test_question_cannot_mutate_df_for_the_next_question(sales_kernel, fake_llm, sales):
    script(fake_llm, [
        "df.drop(columns=['revenue'], inplace=True)\ndf['price'] = 0\nresult = 1",
        "result = df.shape",
        "result = df['price'].sum()",
    ])
    assert_ok(*ask(sales_kernel, "Drop the revenue column"))
    reply, outputs = ask(sales_kernel, "What is the shape?")
    assert_ok(reply, outputs)
    assert result_text(outputs) == str(sales.shape)
    reply, outputs = ask(sales_kernel, "What is the price total?")
    assert_ok(reply, outputs)
    assert float(result_text(outputs)) == pytest.approx(sales["price"].sum(), rel=1e-9)
    reply, outputs = execute(sales_kernel, "%%python\nlist(df.columns)", timeout=CELL_TIMEOUT)
    assert results(outputs) == [str(list(sales.columns))]


# ---------------------------------------------------------------------------
# prompts: several datasets, wide tables, long questions
# ---------------------------------------------------------------------------

def test_two_datasets_are_described_and_df_is_the_last(kernel_factory, fake_llm, tmp_path):
    a = write_csv(pd.DataFrame({"alpha_id": [1, 2, 3], "alpha_score": [0.5, 0.25, 1.0]}),
                  tmp_path / "a.csv")
    b = write_csv(pd.DataFrame({"beta_key": ["x", "y"], "beta_amount": [10, 20],
                                "beta_flag": [True, False]}), tmp_path / "b.csv")
    _, kc = kernel_factory()
    load(kc, "a.csv as a")
    load(kc, "b.csv as b")
    script(fake_llm, ["result = [list(df.columns), list(a.columns), int(b['beta_amount'].sum())]"])
    reply, outputs = ask(kc, "Which columns are there?")
    assert_ok(reply, outputs)
    assert ast.literal_eval(result_text(outputs)) == [
        list(b.columns), list(a.columns), int(b["beta_amount"].sum())]
    prompt = last_user_message(code_bodies(fake_llm)[0])
    assert "'a'" in prompt and "'b'" in prompt, prompt
    for col in [*a.columns, *b.columns]:
        assert col in prompt, col
    assert "Shape: 3 rows × 2 columns" in prompt and "Shape: 2 rows × 3 columns" in prompt
    # b, the current df, is described as such.
    m = re.search(r"'df' \(also '(\w+)'\)", prompt)
    assert m and m.group(1) == "b", prompt[:600]


def test_wide_table_prompt_stays_bounded(kernel_factory, fake_llm, tmp_path):
    ncols = 500
    rng = np.random.default_rng(5)
    wide = pd.DataFrame(rng.integers(0, 1000, size=(8, ncols)),
                        columns=[f"measurement_{i:03d}" for i in range(ncols)])
    wide = write_csv(wide, tmp_path / "wide.csv")
    _, kc = kernel_factory()
    load(kc, "wide.csv")
    script(fake_llm, ["result = df.shape[1]"])
    reply, outputs = ask(kc, "How many columns?")
    assert_ok(reply, outputs)
    assert int(result_text(outputs)) == ncols
    prompt = last_user_message(code_bodies(fake_llm)[0])
    assert len(prompt) < 20_000, f"code prompt has {len(prompt)} characters"
    assert f"× {ncols} columns" in prompt
    assert "measurement_000" in prompt
    iprompt = last_user_message(stream_bodies(fake_llm)[0])
    assert len(iprompt) < 20_000


def test_question_too_long(sales_kernel, fake_llm):
    # The default limit (MAX_QUESTION_CHARS=8000) leaves room for a question that carries its
    # own instructions and answer format, well past the design document's 1 000.
    script(fake_llm, ["result = 1"])
    q = ("What is the total? " * 60)[:1500]
    assert_ok(*ask(sales_kernel, q))
    fake_llm.reset()
    reply, outputs = ask(sales_kernel, "Why " + "x" * 8000)
    err = assert_error(reply, outputs, "QuestionTooLong")
    assert "8000" in err["evalue"] and "MAX_QUESTION_CHARS" in err["evalue"]
    assert not fake_llm.chat_requests


def test_question_length_is_a_setting(env_kernel, fake_llm):
    kc = env_kernel(MAX_QUESTION_CHARS="1000")
    reply, outputs = ask(kc, "Why " + "x" * 1000)
    err = assert_error(reply, outputs, "QuestionTooLong")
    assert "1000" in err["evalue"]
    assert not fake_llm.chat_requests
    script(fake_llm, ["result = 1"])
    q = ("What is the total? " * 60)[:1000].strip()
    q = q + "?" * (1000 - len(q))
    assert len(q) == 1000
    assert_ok(*ask(kc, q))


def test_code_magic_puts_last_code_in_next_cell(sales_kernel, fake_llm, sales):
    reply, outputs = execute(sales_kernel, "%code", timeout=CELL_TIMEOUT)
    assert reply["status"] == "error", "no question asked yet"
    code = "result = df['revenue'].mean()"
    script(fake_llm, [code])
    assert_ok(*ask(sales_kernel, "Average revenue?"))
    reply, outputs = execute(sales_kernel, "%code", timeout=CELL_TIMEOUT)
    assert reply["status"] == "ok", show(outputs)
    nexts = [p for p in reply.get("payload", []) if p.get("source") == "set_next_input"]
    assert len(nexts) == 1, reply
    assert nexts[0]["text"] == f"%%python\n{code}"
    # The cell it proposes runs.
    reply, outputs = execute(sales_kernel, nexts[0]["text"] + "\nprint(float(result))",
                             timeout=CELL_TIMEOUT)
    assert reply["status"] == "ok", show(outputs)
    printed = "".join(o["content"]["text"] for o in outputs if o["msg_type"] == "stream")
    assert float(printed) == pytest.approx(sales["revenue"].mean())


def test_question_without_data_says_how_to_load(kernel, fake_llm):
    reply, outputs = ask(kernel, "What is the total revenue?")
    err = assert_error(reply, outputs)
    assert "%load" in err["evalue"], err["evalue"]
    assert not fake_llm.chat_requests


# ---------------------------------------------------------------------------
# limits and settings (issue 12)
# ---------------------------------------------------------------------------

def test_question_output_is_capped_at_max_output_size(env_kernel, fake_llm):
    kc = env_kernel(MAX_OUTPUT_SIZE="10000")
    script(fake_llm, ["print('x' * 50_000_000)\nresult = 1"])
    reply, outputs = ask(kc, "Print a lot")
    assert_ok(reply, outputs)
    printed = sum(len(o["content"]["text"]) for o in outputs
                  if o["msg_type"] == "stream" and o["content"]["name"] == "stdout")
    assert 9_000 <= printed <= 10_000, printed
    notices = [o for o in outputs if o["msg_type"] == "stream" and "output truncated" in o["content"]["text"]]
    assert len(notices) == 1, show(outputs)
    assert "MAX_OUTPUT_SIZE" in notices[0]["content"]["text"], notices[0]
    # %%python keeps a kernel's larger cap
    reply, outputs = execute(kc, "%%python\nprint('y' * 200_000)", timeout=CELL_TIMEOUT)
    assert reply["status"] == "ok", show(outputs)
    assert sum(len(o["content"]["text"]) for o in outputs if o["msg_type"] == "stream") >= 200_000


@pytest.mark.parametrize("name, value", [
    ("MAX_EXECUTION_TIMEOUT", "-1"), ("MAX_SAMPLE_ROWS", "0"), ("MAX_OUTPUT_SIZE", "0"),
    ("DEFAULT_SAMPLE_ROWS", "0"), ("MAX_EXECUTION_TIMEOUT", "NaN"), ("MAX_REPAIR_ROUNDS", "99"),
])
def test_a_bad_setting_warns_once_and_breaks_nothing(env_kernel, fake_llm, sales, name, value):
    kc = env_kernel(**{name: value})  # starting at all is the first check (a panic before)
    script(fake_llm, ["result = df['revenue'].sum()"])
    reply, outputs = ask(kc, "What is the total revenue?")
    assert_ok(reply, outputs)
    assert float(result_text(outputs)) == pytest.approx(sales["revenue"].sum(), rel=1e-9)
    reply, outputs = execute(kc, "%%python\n1 + 1", timeout=CELL_TIMEOUT)
    assert reply["status"] == "ok", show(outputs)


def test_a_bad_setting_is_named_with_its_range(kernel_factory, kernel_env, fake_llm):
    _, kc = kernel_factory(env={**kernel_env, "MAX_EXECUTION_TIMEOUT": "-1"})
    reply, outputs = execute(kc, "%%python\n1 + 1", timeout=CELL_TIMEOUT)
    warning = "".join(o["content"]["text"] for o in outputs if o["msg_type"] == "stream")
    assert "MAX_EXECUTION_TIMEOUT" in warning and "-1" in warning and "from 0.1 to" in warning, warning
    reply, outputs = execute(kc, "%%python\n2 + 2", timeout=CELL_TIMEOUT)
    assert not [o for o in outputs if o["msg_type"] == "stream"], "the warning is shown once"


def test_fresh_alone_says_what_it_needs(sales_kernel, fake_llm):
    reply, outputs = execute(sales_kernel, "%%fresh", timeout=CELL_TIMEOUT)
    assert reply["status"] == "error"
    assert "needs a question" in reply["evalue"] and "Unknown magic" not in reply["evalue"], reply
