"""Record tests/fixtures/real_replies/*.json: real replies to the kernel's own prompts.

    bench/local-model.sh start
    python bench/record_replies.py --upstream http://127.0.0.1:8088/v1 --port 8099 --out /tmp/r.jsonl &
    python bench/record_fixtures.py --proxy http://127.0.0.1:8099/v1 --log /tmp/r.jsonl

Each case asks one question about a table the repository may ship (tests/data/realworld, or a
synthetic table in tests/fixtures/tables) through a real kernel pointed at the recording proxy,
then writes the model's raw replies for that question into a fixture beside the question and
the pandas expression that computes the right answer. tests/test_real_replies.py replays them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "fixtures" / "real_replies"

CASES = [
    {"name": "reread-and-print", "habit": "re-reads the data under a guessed name, prints the answer",
     "table": "tests/data/realworld/danish_money_demand.csv",
     "question": "What is the mean of the ibo column? Give it as @mean_ibo[value] rounded to 4 decimals.",
     "expected": "round(df['ibo'].mean(), 4)"},
    {"name": "spaced-header", "habit": "asks for 'BARO' where the header says ' BARO'",
     "table": "tests/fixtures/tables/spaced_header_weather.csv",
     "question": "What is the average BARO reading, rounded to 1 decimal?",
     "expected": "round(df[' BARO'].mean(), 1)"},
    {"name": "strikes-average", "habit": "prose around the code, a value formatted by the model",
     "table": "tests/data/realworld/us_strikes.csv",
     "question": "What is the average strike duration? Answer as @avg_duration[value] rounded to 2 decimals.",
     "expected": "round(df['duration'].mean(), 2)"},
    {"name": "numpy-tuple", "habit": "a tuple of numpy scalars as the result",
     "table": "tests/data/realworld/danish_money_demand.csv",
     "question": "Give the minimum and the maximum of lrm as a tuple.",
     "expected": "df['lrm'].min()"},
    {"name": "fertility-top-country", "habit": "a text answer from a wide table with year columns",
     "table": "tests/data/realworld/worldbank_fertility.csv",
     "question": "Which country name has the highest value in the 2015 column?",
     "expected": "df.loc[df['2015'].idxmax(), 'Country Name']"},
]


def ask(proxy: str, table: Path, question: str) -> tuple[str, list]:
    work = Path(tempfile.mkdtemp())
    shutil.copy(table, work / table.name)
    env = dict(os.environ, OPENAI_BASE_URL=proxy, OPENAI_MODEL="qwen2.5-coder-1.5b",
               LLM_ANALYTICS_DATA_DIR=str(work / "data"), JPY_SESSION_NAME=str(work / "f.ipynb"),
               LLM_ANALYTICS_REPLAY="0")
    env.pop("OPENAI_API_KEY", None)
    km, kc = start_new_kernel(kernel_name="llm-analytics", env=env, cwd=str(work))
    try:
        outputs = []
        for cell in (f"%load {table.name}", question):
            msg_id = kc.execute(cell)
            while True:
                m = kc.get_iopub_msg(timeout=1800)
                if m["parent_header"].get("msg_id") != msg_id:
                    continue
                if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                    break
                outputs.append(m)
        return work.name, outputs
    finally:
        km.shutdown_kernel(now=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--log", required=True, help="the recording proxy's --out file")
    ap.add_argument("--only", action="append")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        if args.only and case["name"] not in args.only:
            continue
        log = Path(args.log)
        before = len(log.read_text().splitlines()) if log.exists() else 0
        table = REPO / case["table"]
        started = time.time()
        ask(args.proxy, table, case["question"])
        records = [json.loads(line) for line in log.read_text().splitlines()[before:]]
        code = [r for r in records if "explaining results" not in r["messages"][0]["content"]]
        fixture = {
            "habit": case["habit"],
            "model": "Qwen2.5-Coder-1.5B-Instruct Q4_K_M on llama.cpp llama-server (CPU), bench/local-model.sh",
            "recorded": time.strftime("%Y-%m-%d"),
            "file_name": table.name,
            "csv": table.read_text(encoding="utf-8-sig"),
            "question": case["question"],
            "replies": [r["reply"] for r in code],
            "code_requests": len(code),
            "expected": case["expected"],
        }
        (OUT / f"{case['name']}.json").write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n")
        print(f"{case['name']}: {len(code)} code replies in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
