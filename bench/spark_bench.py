"""Issue 15 §3 measure: a group-by over a Parquet file on a Spark Connect server (local mode,
2 cores) asked through the kernel (a question whose scripted answer calls sql(): validator,
Spark engine process, Arrow hand-off, question worker) vs the same SQL sent by pyspark's
Connect client directly (`spark.sql(q).toPandas()`, one warm session), same server, same run, alternating.

    python bench/spark_bench.py [--gb 1] [--runs 3] [--data /work/bench-data]

The server is the tests' (tests/setup-spark.sh installs it). Peak RSS of the kernel path is
the kernel process and its children (the Spark engine and workers), not the JVM. Writes a
Markdown table to stdout; copy it into bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from duckdb_bench import Peak, make_file  # noqa: E402
from fake_llm import FakeLLM  # noqa: E402
from kernel_helpers import execute, kernel_pid, make_kernel_env, start_kernel, stop_kernel  # noqa: E402
from spark_server import SparkServer  # noqa: E402

# avg(v), not sum(v): v is random int64, whose sum overflows in Spark's ANSI mode (DuckDB widens).
QUERY = "SELECT k, count(*) AS n, avg(v) AS a, avg(f) AS m FROM big GROUP BY k ORDER BY k"

# One session, warmed by one untimed run like the kernel's (its %load profiles the table);
# then one timed run per line read, so the two paths alternate on a JVM equally warm.
DIRECT = """
import json, sys, time
from pyspark.sql import SparkSession
url, path, query = sys.argv[1:4]
spark = SparkSession.builder.remote(url).create()
spark.read.parquet(path).createOrReplaceTempView("big")
spark.sql(query).toPandas()
print("ready", flush=True)
for _ in sys.stdin:
    started = time.perf_counter()
    frame = spark.sql(query).toPandas()
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": len(frame),
                      "n": int(frame["n"].sum())}), flush=True)
"""


class Direct:
    def __init__(self, url: str, path: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", DIRECT, url, str(path), QUERY],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def run(self) -> dict:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default="/work/bench-data")
    args = ap.parse_args()
    path = Path(args.data) / f"big-{args.gb:g}gb.parquet"
    rows = make_file(path, args.gb)
    tmp = Path(args.data) / "kernel-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    server = SparkServer(tmp / "spark-server.log")
    server.wait()
    llm = FakeLLM().start()
    code = f'result = sql("{QUERY}")'
    llm.script(rules=[{"match": "Current question:", "reply": {"content": f"```python\n{code}\n```"}},
                      {"match_regex": r"\A\s*The user asked:", "reply": {"content": "Totals per k."}}])
    km, kc = start_kernel(env=make_kernel_env(llm.base_url, tmp), cwd=path.parent)
    k_times, peaks, d_times, spark_seconds = [], [], [], []
    try:
        for cell in (f"%connect spark {server.url}", f"%load spark:{path} as big"):
            reply, out = execute(kc, cell, timeout=3600)
            assert reply["status"] == "ok", out
        pid = kernel_pid(km)
        direct = Direct(server.url, path)
        for i in range(args.runs):
            d = direct.run()
            assert d["rows"] == 1_000 and d["n"] == rows
            d_times.append(d["seconds"])
            with Peak(pid) as peak:
                started = time.perf_counter()
                reply, out = execute(kc, f"%%fresh\nCount, sum of v and mean of f per k? ({i})",
                                     timeout=3600)
                k_times.append(time.perf_counter() - started)
            assert reply["status"] == "ok", out
            peaks.append(peak.peak)
            for o in out:
                meta = (o["content"].get("metadata") or {}).get("llm_analytics") or {}
                if meta.get("engine_runs"):
                    spark_seconds.append(meta["engine_runs"][0]["seconds"])
        direct.close()
    finally:
        stop_kernel(km, kc)
        llm.stop()
        server.stop()
    med = statistics.median
    print(f"| path ({rows:,} rows, {path.stat().st_size / 2**30:.1f} GiB Parquet, group-by of 1,000 keys, "
          "Spark 4.0.1 local[2]) | median wall s |")
    print("|---|---|")
    print(f"| kernel: question cell (scripted model, validator, Spark engine, Arrow hand-off, question worker; "
          f"peak RSS {max(peaks):.0f} MB kernel + engine + workers) | {med(k_times):.2f} |")
    print(f"| pyspark Connect client directly: spark.sql(q).toPandas() | {med(d_times):.2f} |")
    path_cost = med(k - q for k, q in zip(k_times, spark_seconds))
    print(f"\noverhead (kernel / direct): {med(k_times) / med(d_times):.2f}x; kernel path beyond the query "
          f"(cell minus the engine's own query time): {path_cost:.2f} s; the query itself in the kernel's "
          f"engine: {['%.2f' % s for s in spark_seconds]} s; kernel cells {['%.2f' % x for x in k_times]}; "
          f"direct {['%.2f' % x for x in d_times]}")


if __name__ == "__main__":
    main()
