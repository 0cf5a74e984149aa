"""The obvious alternative to the kernel: a plain execute-and-repair loop over DABench.

What a developer would write in an afternoon: show the model the table (`df.dtypes`,
`df.head()`), ask for code that prints the answer, run it in a fresh `python -c`, feed a
traceback back, at most 3 tries. Same questions, same scoring (bench/dabench.py), any
OpenAI-compatible endpoint, so its numbers sit beside the kernel's.

    python bench/plain_loop.py --base-url http://127.0.0.1:8088/v1 --model qwen2.5-coder-1.5b \\
        --limit 10 --out results.jsonl
    python bench/plain_loop.py --ids 0,6 --level medium ...

Run it with a Python that has pandas (the kernel's venv: ~/.local/share/llm-analytics/venv).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

import dabench

TRIES = 3
EXEC_TIMEOUT = 60  # seconds per attempt
CODE_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.S)

PROMPT = """You have a pandas DataFrame `df` loaded from the file {file} ({rows} rows).

Columns and dtypes:
{dtypes}

First rows (df.head()):
{head}

Question:
{question}

Write Python code that computes the answer from `df` and prints each answer on its own line in
exactly the format asked, @name[value], e.g. print(f"@total_sales[{{total:.2f}}]").
`df` is already loaded and pandas is imported as `pd`. Reply with one ```python code block."""

REPAIR = """Running your code failed:
{error}
Fix it. Reply with the whole corrected code in one ```python code block."""


def chat(base_url: str, model: str, messages: list, temperature: float) -> dict:
    """One non-streamed chat completion; plain urllib so the loop needs no client library."""
    body = {"model": model, "messages": messages, "temperature": temperature, "max_tokens": 1024}
    headers = {"Content-Type": "application/json"}
    if os.environ.get("OPENAI_API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['OPENAI_API_KEY']}"
    req = urllib.request.Request(f"{base_url.rstrip('/')}/chat/completions",
                                 json.dumps(body).encode(), headers)
    with urllib.request.urlopen(req, timeout=900) as r:  # a small CPU model can take minutes
        return json.load(r)


def run_code(code: str, table: Path) -> tuple[str, str | None, str | None]:
    """Run in a fresh interpreter, in a scratch folder holding (a link to) the table, so code
    that re-reads the file by name works and nothing is written next to the shared data.
    Returns (stdout, error class or None, error text)."""
    prelude = f"import pandas as pd\ndf = pd.read_csv({str(table)!r})\n"
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(table, Path(tmp) / table.name)
        try:
            p = subprocess.run([sys.executable, "-c", prelude + code], cwd=tmp, capture_output=True,
                               text=True, timeout=EXEC_TIMEOUT, env={**os.environ, "MPLBACKEND": "Agg"})
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            return out, "timeout", f"It did not finish within {EXEC_TIMEOUT} s."
    if p.returncode != 0:
        return p.stdout, "exception", p.stderr[-3000:]  # the end of a traceback says what went wrong
    return p.stdout, None, None


def solve(q: dict, base_url: str, model: str, temperature: float) -> dict:
    table = dabench.table_path(q)
    df = pd.read_csv(table)
    messages = [{"role": "user", "content": PROMPT.format(
        file=table.name, rows=len(df), dtypes=df.dtypes.to_string(), head=df.head().to_string(),
        question=dabench.question_text(q))}]
    rec = {"id": q["id"], "level": q["level"], "calls": 0, "prompt_tokens": 0, "completion_tokens": 0,
           "gen_tok_s": [], "code": None, "response": None, "error": None}
    t0 = time.perf_counter()
    for _ in range(TRIES):
        reply = chat(base_url, model, messages, temperature)
        rec["calls"] += 1
        usage = reply.get("usage") or {}
        rec["prompt_tokens"] += usage.get("prompt_tokens", 0)
        rec["completion_tokens"] += usage.get("completion_tokens", 0)
        if "timings" in reply:  # llama-server reports its own speed
            rec["gen_tok_s"].append(round(reply["timings"].get("predicted_per_second", 0), 1))
        text = reply["choices"][0]["message"].get("content") or ""
        messages.append({"role": "assistant", "content": text})
        m = CODE_BLOCK.search(text)
        rec["code"] = rec["response"] = None  # what is scored is the last attempt's output
        if not m:
            rec["error"], detail = "no code", "Your reply had no ```python code block."
        else:
            rec["code"] = m.group(1)
            rec["response"], rec["error"], detail = run_code(rec["code"], table)
        if rec["error"] is None:
            break
        messages.append({"role": "user", "content": REPAIR.format(error=detail)})
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    verdict = dabench.score(rec["response"], q["labels"])
    rec["ok"] = verdict["ok"]
    rec["parts"] = verdict["parts"]
    if rec["ok"]:
        rec["error"] = None  # right answers printed before a crash still count: stdout is scored
    elif rec["error"] is None:
        # It ran: either the asked-for @name[...] lines are missing, or a value is wrong.
        rec["error"] = "format missing" if verdict["missing"] else "wrong answer"
    return rec


def summary(questions: list[dict], recs: list[dict]) -> str:
    ok = {r["id"]: r["ok"] for r in recs}
    lines = ["| | ABQ (strict) |", "|---|---|"]
    for level, v in dabench.abq(questions, ok).items():
        lines.append(f"| {level} | {v['right']}/{v['n']} = {100 * v['abq']:.1f}% |")
    mean = lambda k: statistics.mean(r[k] for r in recs) if recs else 0  # noqa: E731
    speeds = [s for r in recs for s in r["gen_tok_s"]]
    lines += ["", f"mean per question: {mean('calls'):.2f} calls, {mean('prompt_tokens'):.0f} prompt + "
              f"{mean('completion_tokens'):.0f} completion tokens, {mean('seconds'):.1f} s"
              + (f"; generation {statistics.median(speeds):.1f} tok/s (median)" if speeds else "")]
    missed = [r for r in recs if not r["ok"]]
    lines.append("passed ids: " + (", ".join(str(r["id"]) for r in recs if r["ok"]) or "none"))
    lines.append("missed ids: " + (", ".join(f"{r['id']} ({r['error']})" for r in missed) or "none"))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"))
    ap.add_argument("--model", default=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
    ap.add_argument("--temperature", type=float, default=0.1, help="the kernel's default for code")
    ap.add_argument("--ids", help="comma-separated question ids")
    ap.add_argument("--level", choices=dabench.LEVELS)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", type=Path, default=Path("plain_loop_results.jsonl"))
    args = ap.parse_args(argv)

    ids = [int(i) for i in args.ids.split(",")] if args.ids else None
    questions = dabench.select(dabench.load(), ids=ids, level=args.level, limit=args.limit)
    recs = []
    with open(args.out, "w") as out:
        for q in questions:
            try:
                rec = solve(q, args.base_url, args.model, args.temperature)
            except OSError as e:  # the endpoint failed (HTTP error, refused, timed out): no response
                rec = {"id": q["id"], "level": q["level"], "ok": False, "error": f"api: {e}", "calls": 0,
                       "prompt_tokens": 0, "completion_tokens": 0, "seconds": 0, "gen_tok_s": []}
            recs.append(rec)
            out.write(json.dumps(rec) + "\n")
            out.flush()  # a long run can be stopped and still scored
            print(f"{q['id']:>4} {q['level']:<6} {'ok' if rec['ok'] else rec['error']:<15} "
                  f"{rec['calls']} calls {rec['seconds']:>6.1f} s", file=sys.stderr, flush=True)
    print(summary(questions, recs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
