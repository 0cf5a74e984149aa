"""Code-prompt size per privacy mode, on tables 20 and 2,000 columns wide, read from the
kernel's own `%show_prompt` (exactly what would be sent; no model needed).

    python bench/prompt_sizes.py            # prints a markdown table for bench/RESULTS.md

Tokens are estimated as characters / 4 (what the kernel's ledger assumes for endpoints that
report no usage); the column count of the table matters, the row count does not.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from jupyter_client.manager import start_new_kernel

MODES = ("schema", "masked", "sample")
QUESTION_WIDE = "What is the mean of m1500 for rows where c3 is 'b'?"
QUESTION_NARROW = "What is the mean of m15 for rows where c3 is 'b'?"


def table(path: Path, columns: int, rows: int = 1_000) -> None:
    rng = np.random.default_rng(0)
    data = {}
    for i in range(columns):
        if i % 4 == 3:
            data[f"c{i}"] = rng.choice(["a", "b", "c"], rows)
        else:
            data[f"m{i}"] = rng.normal(100, 15, rows).round(2)
    pd.DataFrame(data).to_csv(path, index=False)


def run(kc, code: str) -> list[dict]:
    msg_id = kc.execute(code)
    out = []
    while True:
        m = kc.get_iopub_msg(timeout=120)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return out
        out.append(m)


def prompt_chars(kc, question: str) -> int:
    for m in run(kc, f"%show_prompt {question}"):
        data = m["content"].get("data", {})
        if "application/json" in data:
            return len(data["application/json"]["messages"][-1]["content"])
    raise RuntimeError("no prompt shown")


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    rows = []
    for columns, question in ((20, QUESTION_NARROW), (2_000, QUESTION_WIDE)):
        path = tmp / f"t{columns}.csv"
        table(path, columns)
        env = dict(os.environ, LLM_ANALYTICS_DATA_DIR=str(tmp / f"d{columns}"),
                   JPY_SESSION_NAME=str(tmp / f"n{columns}.ipynb"), OPENAI_API_KEY="unused")
        km, kc = start_new_kernel(kernel_name="llm-analytics", env=env)
        try:
            run(kc, f"%load {path}")
            for mode in MODES:
                run(kc, f"%privacy {mode}")
                chars = prompt_chars(kc, question)
                rows.append((columns, mode, chars))
        finally:
            km.shutdown_kernel(now=True)
    print("| table | privacy mode | code prompt (user message) |")
    print("|---|---|---|")
    for columns, mode, chars in rows:
        print(f"| {columns:,} columns × 1,000 rows | {mode} | ~{chars // 4:,} tokens ({chars:,} chars) |")


if __name__ == "__main__":
    main()
