"""Issue 15 §2 measure: a group-by over a large Parquet file asked through the kernel (a
question whose scripted answer calls sql(), so validator, question worker, sandbox and
DuckDB all run) vs the same query in DuckDB's own Python API, in the same run, alternating.

    python bench/duckdb_bench.py [--gb 10] [--runs 3] [--data /work/bench-data]

The file is generated once (random int64/float64, so it does not compress away) and kept.
Peak RSS of the kernel path is the largest sum over the kernel process and its workers,
sampled every 50 ms; DuckDB direct runs in a child process (its ru_maxrss).
Writes a Markdown table to stdout; copy it into bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_llm import FakeLLM  # noqa: E402
from kernel_helpers import execute, kernel_pid, make_kernel_env, start_kernel, stop_kernel  # noqa: E402

QUERY = "SELECT k, count(*) AS n, sum(v) AS s, avg(f) AS m FROM big GROUP BY k ORDER BY k"
ROWS_PER_CHUNK = 2_000_000


def make_file(path: Path, gb: float) -> int:
    """k: 1,000 groups; v: random int64; f: random float64 (~17.8 bytes a row on disk: k
    packs into dictionary pages)."""
    rows = int(gb * 2**30 / 17.8) // ROWS_PER_CHUNK * ROWS_PER_CHUNK
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return rows
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    schema = pa.schema([("k", pa.int64()), ("v", pa.int64()), ("f", pa.float64())])
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema, compression="snappy") as writer:
        for _ in range(rows // ROWS_PER_CHUNK):
            writer.write_table(pa.table({
                "k": rng.integers(0, 1_000, ROWS_PER_CHUNK),
                "v": rng.integers(-2**62, 2**62, ROWS_PER_CHUNK),
                "f": rng.random(ROWS_PER_CHUNK),
            }, schema=schema), row_group_size=1_000_000)
    tmp.rename(path)
    return rows


DIRECT = """
import json, resource, sys, time, duckdb
path, memory_mb = sys.argv[1], int(sys.argv[2])
config = {"threads": 2}
if memory_mb:
    config["memory_limit"] = f"{memory_mb}MiB"
con = duckdb.connect(":memory:", config=config)
con.execute("SET enable_progress_bar = false")
con.execute(f"CREATE VIEW big AS SELECT * FROM read_parquet('{path}')")
started = time.perf_counter()
frame = con.sql(sys.argv[3]).df()
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rows": len(frame), "n": int(frame["n"].sum()),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def direct(path: Path, memory_mb: int) -> dict:
    out = subprocess.run([sys.executable, "-c", DIRECT, str(path), str(memory_mb), QUERY],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def tree_rss_mb(pid: int) -> float:
    """RSS of pid and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (OSError, StopIteration):
            pass
    return total / 1024


class Peak:
    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, tree_rss_mb(self.pid))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def kernel_runs(path: Path, runs: int, tmp: Path) -> tuple[list, list, int, dict]:
    llm = FakeLLM().start()
    code = f'result = sql("{QUERY}")'
    llm.script(rules=[{"match": "Current question:", "reply": {"content": f"```python\n{code}\n```"}},
                      {"match_regex": r"\A\s*The user asked:", "reply": {"content": "Totals per k."}}])
    # A group-by over 10 GB takes longer than the design's 5 s question limit.
    km, kc = start_kernel(env=make_kernel_env(llm.base_url, tmp, MAX_EXECUTION_TIMEOUT="900"), cwd=path.parent)
    try:
        reply, out = execute(kc, f"%load {path.name} --engine duckdb as big", timeout=3600)
        assert reply["status"] == "ok", out
        pid = kernel_pid(km)
        times, peaks, runs_info = [], [], {}
        for i in range(runs):
            with Peak(pid) as peak:
                started = time.perf_counter()
                reply, out = execute(kc, f"%%fresh\nWhat are count, sum of v and mean of f per k? ({i})",
                                     timeout=3600)
                times.append(time.perf_counter() - started)
            assert reply["status"] == "ok", out
            peaks.append(peak.peak)
            for o in out:
                meta = (o["content"].get("metadata") or {}).get("llm_analytics") or {}
                if meta.get("engine_runs"):
                    runs_info = meta["engine_runs"][0]
        worker_memory = _engine_memory(kc)
        return times, peaks, worker_memory, runs_info
    finally:
        stop_kernel(km, kc)
        llm.stop()


def _engine_memory(kc) -> int:
    reply, out = execute(kc, "%%python\nimport llm_runtime.engines as e; print(e.engine()._memory_limit_mb)",
                         timeout=600)
    text = "".join(o["content"].get("text", "") for o in out if o["msg_type"] == "stream")
    return int(text.strip() or 0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default="/work/bench-data")
    args = ap.parse_args()
    path = Path(args.data) / f"big-{args.gb:g}gb.parquet"
    t = time.perf_counter()
    rows = make_file(path, args.gb)
    print(f"file: {path} {path.stat().st_size / 2**30:.2f} GiB, {rows:,} rows "
          f"(made or checked in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    tmp = Path(args.data) / "kernel-tmp"
    tmp.mkdir(exist_ok=True)
    k_times, k_peaks, memory_mb, info = kernel_runs(path, args.runs, tmp)
    same = [direct(path, memory_mb) for _ in range(args.runs)]
    default = [direct(path, 0) for _ in range(args.runs)]
    assert all(d["rows"] == 1_000 and d["n"] == rows for d in same + default)
    med = statistics.median
    print(f"| path ({rows:,} rows, {path.stat().st_size / 2**30:.1f} GiB Parquet, group-by of 1,000 keys) "
          "| median wall s | peak RSS MB |")
    print("|---|---|---|")
    print(f"| kernel: question cell (validator, question worker, sandbox, DuckDB memory_limit "
          f"{memory_mb} MiB) | {med(k_times):.2f} | {max(k_peaks):.0f} (kernel + workers) |")
    print(f"| DuckDB Python directly, same memory_limit, 2 threads | {med(d['seconds'] for d in same):.2f} "
          f"| {max(d['rss_mb'] for d in same):.0f} |")
    print(f"| DuckDB Python directly, default memory_limit, 2 threads | "
          f"{med(d['seconds'] for d in default):.2f} | {max(d['rss_mb'] for d in default):.0f} |")
    print(f"\noverhead (kernel / direct same limit): {med(k_times) / med(d['seconds'] for d in same):.2f}x; "
          f"DuckDB inside the kernel reported {info.get('seconds')} s for the query itself, "
          f"rows_scanned {info.get('rows_scanned')}; kernel times {['%.2f' % x for x in k_times]}")


if __name__ == "__main__":
    main()
