"""Issue 14 §3/§4 figures: the assumption matcher's speed, the profile's category scan, and
the code-prompt size when a question names a column of a wide table.

    CARGO_TARGET_DIR=... PYO3_PYTHON=... python3 bench/assumptions.py

1. `cargo test --release ... speed_at_2000_columns -- --ignored` (analysis/assumptions/): matcher vs a
   naive all-pairs Damerau-Levenshtein, same run.
2. `runtime.datasets._categories` on a ~100 MB CSV (8 columns, a third of them text) read by pandas.
3. A kernel (the `llm-analytics` kernelspec on JUPYTER_PATH) with the scripted model: the code
   prompt's size for a question naming one column, at 20 and 2,000 columns (tokens estimated as
   characters / 4).
"""
from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import bench  # noqa: E402  (make_csv, make_wide, Kernel, CACHE)
import pandas as pd  # noqa: E402
from fake_llm import FakeLLM  # noqa: E402


def matcher() -> str:
    out = subprocess.run(
        ["cargo", "test", "--release", "-j1", "-p", "llm-analytics-kernel", "speed_at_2000_columns",
         "--", "--ignored", "--nocapture"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if line.startswith("assumption matcher:"))


def categories_scan() -> str:
    folder = ROOT / "kernel/src/worker/runtime"
    spec = importlib.util.spec_from_file_location(
        "runtime", folder / "__init__.py", submodule_search_locations=[str(folder)])
    runtime = importlib.util.module_from_spec(spec)
    sys.modules["runtime"] = runtime
    spec.loader.exec_module(runtime)
    path = bench.make_csv(bench.CACHE / "mixed_100mb.csv", 100)
    frame = pd.read_csv(path)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        found = runtime.datasets._categories(frame)
        times.append(time.perf_counter() - t)
    return (f"profile categories scan, ~100 MB CSV ({len(frame)} rows, {frame.shape[1]} columns, "
            f"{len(found)} text columns kept): {statistics.median(times) * 1e3:.1f} ms (median of 5)")


def prompt_sizes() -> list[str]:
    lines = []
    with FakeLLM() as llm:
        code = "result = df.iloc[:, 0].mean()"
        llm.script(rules=[{"match": "The user asked:", "reply": {"content": "Fine."}, "times": None},
                          {"match": "Current question:", "reply": {"content": f"```python\n{code}\n```"},
                           "times": None}])
        env = dict(os.environ, OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="bench",
                   LLM_ANALYTICS_REPLAY="0")
        for cols, named in [(20, "measure_15"), (2000, "measure_1500")]:
            path = bench.make_wide(bench.CACHE / f"wide_{cols}x1k.csv", cols, 1000)
            k = bench.Kernel("llm-analytics", env=dict(env, LLM_ANALYTICS_DATA_DIR=tempfile.mkdtemp()))
            k.run(f"%load {path}")
            for question in [f"mean of {named}", "mean of the first measure"]:
                before = len(llm.requests)
                k.run(question)
                reqs = [r for r in llm.requests[before:] if "Current question:" in str(r["json"])]
                prompt = reqs[0]["json"]["messages"][-1]["content"]
                full = f"- '{named}': int64" in prompt and "first values:" in prompt
                lines.append(f"code prompt, {cols} columns x 1k rows, {question!r}: ~{len(prompt) // 4} "
                             f"tokens ({len(prompt)} chars; named column in full: {full})")
            k.close()
    return lines


if __name__ == "__main__":
    print(matcher(), flush=True)
    print(categories_scan(), flush=True)
    for line in prompt_sizes():
        print(line, flush=True)
