"""DABench dev questions through the kernel with each table loaded by pandas, as a DuckDB
table (`%load ... --engine duckdb`) or as a table on a Spark Connect server in local mode
(`%load spark:PATH`; tests/setup-spark.sh installs it), same questions, same model, same
run: does a real model answer as well when it must write `sql("SELECT ...")` instead of
pandas on `df`? Each line also records the question's model calls and tokens.

    bench/local-model.sh start --port 8088
    OPENAI_BASE_URL=http://127.0.0.1:8088/v1 python bench/dabench_engines.py --limit 12

Scored by DABench's own rule (bench/dabench.py); writes one JSON line per (engine, question)
to --out and the ABQ per engine to stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import dabench  # noqa: E402
from kernel_helpers import all_text, execute, start_kernel, stop_kernel  # noqa: E402
from spark_server import SparkServer  # noqa: E402


def answer_text(outputs) -> str:
    """The result as the notebook shows it (text/plain of the result outputs)."""
    parts = []
    for o in outputs:
        meta = (o["content"].get("metadata") or {}).get("llm_analytics") or {}
        if meta.get("role") == "result" and not meta.get("engine_runs"):
            parts.append((o["content"].get("data") or {}).get("text/plain", ""))
    return "\n".join(parts)


def usage_of(outputs) -> dict:
    """Calls and tokens of the cell (its usage metadata; the last output carrying it)."""
    found = {}
    for o in outputs:
        meta = (o["content"].get("metadata") or {}).get("llm_analytics") or {}
        if meta.get("usage"):
            found = meta["usage"]
    return {k: found.get(k, 0) for k in ("calls", "prompt_tokens", "completion_tokens")}


def run(engine: str, questions: list[dict], out, timeout: float) -> dict:
    ok = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, LLM_ANALYTICS_DATA_DIR=str(Path(tmp) / "data"),
                   JPY_SESSION_NAME=str(Path(tmp) / f"dabench-{engine}.ipynb"),
                   OPENAI_API_KEY=os.environ.get("OPENAI_API_KEY", "local"))
        env.pop("MONGODB_URL", None)
        km, kc = start_kernel(env=env, cwd=tmp)
        server = None
        try:
            if engine == "spark":
                server = SparkServer(Path(tmp) / "spark.log")
                server.wait()
                reply, outs = execute(kc, f"%connect spark {server.url}", timeout=600)
                assert reply["status"] == "ok", all_text(outs)
            for q in questions:
                table = dabench.table_path(q)
                load = {"duckdb": f"%load {table} --engine duckdb as data",
                        "spark": f"%load spark:{table} as data"}.get(engine, f"%load {table} as data")
                reply, outs = execute(kc, load, timeout=600)
                if reply["status"] != "ok":
                    response, status = all_text(outs), "load-error"
                else:
                    reply, outs = execute(kc, "%%fresh\n" + dabench.question_text(q), timeout=timeout)
                    response, status = answer_text(outs), reply["status"]
                verdict = dabench.score(response, q["labels"])
                ok[q["id"]] = verdict["ok"]
                used_sql = "sql(" in all_text(outs)
                out.write(json.dumps({"engine": engine, "id": q["id"], "level": q["level"],
                                      "ok": verdict["ok"], "status": status, "used_sql": used_sql,
                                      **usage_of(outs), "response": response[-2000:],
                                      # what the cell said when it missed: errors, refusals
                                      "cell": "" if verdict["ok"] else all_text(outs)[-3000:]}) + "\n")
                out.flush()
                print(f"{engine} {q['id']}: {'right' if verdict['ok'] else 'wrong'} ({status})",
                      file=sys.stderr)
        finally:
            stop_kernel(km, kc)
            if server is not None:
                server.stop()
    return ok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=12)
    ap.add_argument("--ids", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--out", type=Path, default=Path("/tmp/dabench-engines.jsonl"))
    ap.add_argument("--engines", default="pandas,duckdb")
    args = ap.parse_args()
    questions = dabench.select(dabench.load(), ids=args.ids, limit=args.limit)
    with open(args.out, "w") as out:
        results = {engine: run(engine, questions, out, args.timeout) for engine in args.engines.split(",")}
    for engine, ok in results.items():
        print(f"{engine}: {dabench.format_abq(dabench.abq(questions, ok))}")


if __name__ == "__main__":
    main()
