"""End-to-end: names a question misspells or the data lacks (issue 14 §3) and wide tables'
columns a question names (§4), through jupyter_client and the scripted model.

Expected values are computed here with pandas from the CSV the kernel loads.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fake_llm import last_user_message
from kernel_helpers import errors, show
from test_questions import (
    ask, assert_error, assert_ok, code_bodies, final_code, load, make_sales_frame, result_text,
    script, write_csv,
)

pytestmark = [pytest.mark.kernel]


def plain(markdown: str) -> str:
    """Markdown as the user reads it (the kernel escapes punctuation and HTML)."""
    return html.unescape(re.sub(r"\\(.)", r"\1", markdown))


@pytest.fixture
def sales(tmp_path: Path) -> pd.DataFrame:
    frame = write_csv(make_sales_frame(), tmp_path / "sales.csv")
    assert "Electronics" in set(frame["category"])
    return frame


@pytest.fixture
def sales_kernel(kernel_factory, sales):
    _, kc = kernel_factory()
    load(kc, "sales.csv")
    return kc


def test_a_misspelled_category_is_named_to_the_model_and_stated_to_the_user(
        sales_kernel, fake_llm, sales):
    code = "result = df.loc[df['category'] == 'Electronics', 'revenue'].mean()"
    script(fake_llm, [code])
    reply, outputs = ask(sales_kernel, "What is the average revenue for elektronics?")
    assert_ok(reply, outputs)

    [body] = code_bodies(fake_llm)
    prompt = last_user_message(body)
    assert ("In the question, 'elektronics' means the value 'Electronics' of column 'category'."
            in prompt), prompt
    shown = plain(final_code(outputs)["text/markdown"])
    assert "Read 'elektronics' as category 'Electronics' of column 'category'." in shown, shown
    # The assumption sits above the code that ran, and the answer is the real one.
    assert shown.index("Read 'elektronics'") < shown.index(code)
    expected = sales.loc[sales["category"] == "Electronics", "revenue"].mean()
    assert float(result_text(outputs)) == pytest.approx(expected, abs=1e-6)


def test_a_quoted_column_the_data_lacks_is_reported_without_asking_the_model(
        sales_kernel, fake_llm, sales):
    reply, outputs = ask(sales_kernel, "What is the mean of the 'reveneu_total' column?")
    err = assert_error(reply, outputs, "ColumnNotFound")
    assert "no column 'reveneu_total'" in err["evalue"], err["evalue"]
    nearest = re.search(r"Nearest columns: (.*)\.", err["evalue"]).group(1)
    listed = re.findall(r"'([^']*)'", nearest)
    assert listed and set(listed) <= set(sales.columns), listed
    assert listed[0] == "revenue", listed
    assert fake_llm.chat_requests == [], "the model must not be asked"

    # A column the question asks to create is not refused.
    script(fake_llm, ["df['Title'] = df['product'].str.upper()\nresult = df['Title'].nunique()"])
    reply, outputs = ask(sales_kernel, "Create a new column 'Title' from product; how many distinct?")
    assert_ok(reply, outputs)
    assert result_text(outputs) == str(sales["product"].nunique())


def test_a_wide_tables_named_column_reaches_the_prompt_in_full(kernel_factory, fake_llm, tmp_path):
    rows = 12
    rng = np.random.default_rng(7)
    columns = {f"c{i:04d}": rng.integers(0, 100, rows) for i in range(2000)}
    humidity = np.round(rng.uniform(20, 90, rows), 2)
    humidity[[3, 8]] = np.nan
    names = list(columns)
    names[1499] = "humidity_reading"
    columns["c1499"] = humidity
    frame = pd.DataFrame(columns)
    frame.columns = names
    frame = write_csv(frame, tmp_path / "wide.csv")
    assert list(frame.columns).index("humidity_reading") == 1499

    _, kc = kernel_factory()
    load(kc, "wide.csv")
    script(fake_llm, ["result = df['humidity_reading'].mean()"])
    reply, outputs = ask(kc, "What is the average humidity reading?")
    assert_ok(reply, outputs)

    prompt = last_user_message(code_bodies(fake_llm)[0])
    line = next((l for l in prompt.splitlines() if l.startswith("- 'humidity_reading':")), None)
    assert line is not None, prompt
    column = frame["humidity_reading"]
    assert f": {column.dtype}, {int(column.isna().sum())} null values" in line, line
    first = [("None" if pd.isna(v) else repr(float(v))) for v in column.head(5)]
    assert line.endswith("first values: " + ", ".join(first)), line
    assert len(prompt) < 12_000, len(prompt)  # ~3,000 tokens at ~4 characters a token
    assert not errors(outputs), show(outputs)
