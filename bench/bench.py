"""Benchmark suite: llm-analytics beside ipykernel + pandas, in the same run on the same machine.

Prints one markdown table of medians and ratios (timings are noisy on shared machines:
compare ratios from one run, never absolute numbers across runs).

    python3 bench/bench.py [--runs 5] [--big] [--only startup]   # --big adds a ~1 GB CSV

Needs ./install.sh first. Any Python 3 can start it: it re-runs itself under the kernel's
Python environment (${LLM_ANALYTICS_HOME:-~/.local/share/llm-analytics}/venv), so that the
comparison kernel uses the same pandas as the worker, and installs ipykernel (the comparison
kernel, pinned in requirements/test.txt) into that environment when it is missing.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _venv_dir() -> Path:
    """The environment ./install.sh creates (same rule as install.sh and tests/run.sh)."""
    home = os.environ.get("LLM_ANALYTICS_HOME")
    if not home:
        data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        home = str(Path(data) / "llm-analytics")
    return Path(home) / "venv"


def _say(message: str) -> None:
    print(f"bench.py: {message}", file=sys.stderr, flush=True)


def _run_in_venv() -> None:
    """Re-exec under the venv's Python unless this already is it."""
    venv = _venv_dir()
    python = venv / "bin" / "python"
    # As in tests/run.sh, the venv's bin comes first on PATH: the kernels started here inherit
    # it, and the worker's embedded Python must not meet another `python3` first (e.g. the one
    # pyenv puts first when it ran this script), or it looks for its standard library there.
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != str(venv / "bin"):
        os.environ["PATH"] = os.pathsep.join([str(venv / "bin"), path] if path else [str(venv / "bin")])
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    if not python.is_file():
        sys.exit(f"bench.py: no kernel environment at {venv}; run ./install.sh first")
    if os.environ.get("LLM_ANALYTICS_BENCH_REEXEC") == str(python):
        sys.exit(f"bench.py: re-running under {python} did not take effect (sys.prefix {sys.prefix})")
    _say(f"re-running under the kernel's Python, {python}")
    os.environ["LLM_ANALYTICS_BENCH_REEXEC"] = str(python)
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def _ipykernel_requirement() -> str:
    for line in (ROOT / "requirements" / "test.txt").read_text().splitlines():
        if line.strip().lower().startswith("ipykernel"):
            return line.split("#")[0].strip()
    return "ipykernel"


def _ensure_kernels() -> None:
    """The llm-analytics kernel from ./install.sh, and ipykernel's python3 to compare with."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if "llm-analytics" not in specs:
        sys.exit("bench.py: the llm-analytics kernelspec is not installed; run ./install.sh first")
    if importlib.util.find_spec("ipykernel") is None:
        requirement = _ipykernel_requirement()
        _say(f"installing the comparison kernel ({requirement}) into {sys.prefix}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        requirement], check=True)
        importlib.invalidate_caches()
        specs = KernelSpecManager().find_kernel_specs()
    if "python3" not in specs:
        _say(f"installing the python3 kernelspec (ipykernel) into {sys.prefix}")
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix"], check=True,
                       stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    _run_in_venv()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from fake_llm import FakeLLM  # noqa: E402

CACHE = Path(os.environ.get("LLM_ANALYTICS_BENCH_DATA", Path.home() / ".cache/llm-analytics-bench"))


def make_csv(path: Path, mb: int, cols: int = 8) -> Path:
    """Mixed int, float, text columns, ~mb megabytes, deterministic."""
    if path.exists():
        return path
    rng = np.random.default_rng(42)
    rows_per_chunk = 200_000
    path.parent.mkdir(parents=True, exist_ok=True)
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])
    with open(path, "w") as f:
        header = True
        while f.tell() < mb * 1_000_000:
            n = rows_per_chunk
            data = {}
            for c in range(cols):
                kind = c % 3
                if kind == 0:
                    data[f"int_{c}"] = rng.integers(0, 1_000_000, n)
                elif kind == 1:
                    data[f"float_{c}"] = rng.normal(100, 25, n).round(4)
                else:
                    data[f"text_{c}"] = words[rng.integers(0, len(words), n)]
            pd.DataFrame(data).to_csv(f, header=header, index=False)
            header = False
    return path


def make_wide(path: Path, cols: int, rows: int) -> Path:
    if not path.exists():
        rng = np.random.default_rng(7)
        pd.DataFrame(rng.integers(0, 100, (rows, cols)), columns=[f"measure_{i}" for i in range(cols)]).to_csv(path, index=False)
    return path


class Kernel:
    def __init__(self, name: str, env: dict | None = None, cwd: str | None = None):
        self.km = KernelManager(kernel_name=name)
        t0 = time.perf_counter()
        self.km.start_kernel(env=env or dict(os.environ), cwd=cwd)
        self.kc = self.km.client()
        self.kc.start_channels()
        msg_id = self.kc.kernel_info()
        while self.kc.get_shell_msg(timeout=60)["parent_header"].get("msg_id") != msg_id:
            pass
        self.spawn_s = time.perf_counter() - t0
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 600) -> tuple[float, dict]:
        t0 = time.perf_counter()
        msg_id = self.kc.execute(code)
        while True:
            m = self.kc.get_iopub_msg(timeout=timeout)
            if (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                    and m["content"]["execution_state"] == "idle"):
                break
        reply = self.kc.get_shell_msg(timeout=timeout)
        return time.perf_counter() - t0, reply["content"]

    def rss_mb(self) -> float:
        """RSS of the kernel process and all its descendants (the worker)."""
        pid = self.km.provisioner.process.pid
        total, stack = 0, [pid]
        while stack:
            p = stack.pop()
            try:
                for line in open(f"/proc/{p}/status"):
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                for task in os.listdir(f"/proc/{p}/task"):
                    kids = open(f"/proc/{p}/task/{task}/children").read().split()
                    stack.extend(int(k) for k in kids)
            except FileNotFoundError:
                pass
        return total / 1024

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def median(xs):
    return statistics.median(xs)


def rows_table(rows):
    print("| metric | llm-analytics | alternative | ratio | goal |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def bench_startup(runs):
    ours, theirs, ours_cell, theirs_cell = [], [], [], []
    for _ in range(runs):
        for name, spawn, cell, code in (("llm-analytics", ours, ours_cell, "%%python\n1 + 1"),
                                         ("python3", theirs, theirs_cell, "1 + 1")):
            k = Kernel(name)
            spawn.append(k.spawn_s)
            k.run(code)
            cell.extend(k.run(code)[0] for _ in range(20))
            k.close()
    return [
        ["spawn -> kernel_info_reply", f"{median(ours)*1e3:.0f} ms", f"ipykernel {median(theirs)*1e3:.0f} ms",
         f"{median(ours)/median(theirs):.2f}x", "<= 0.2x"],
        ["trivial cell (`%%python 1 + 1` vs `1 + 1`)", f"{median(ours_cell)*1e3:.2f} ms",
         f"ipykernel {median(theirs_cell)*1e3:.2f} ms", f"{median(ours_cell)/median(theirs_cell):.2f}x", "<= 1.0x"],
    ]


def bench_load(runs, sizes):
    out = []
    # Raise the upload limits so the ~1 GB file (--big) is accepted.
    ours_k = Kernel("llm-analytics", env={**os.environ, "MAX_UPLOAD_SIZE": str(4 << 30),
                                          "MAX_DATAFRAME_SIZE": str(1 << 31)})
    ipy = Kernel("python3")
    # Same warm-up on both sides: Python and pandas imported before the first timed load.
    ours_k.run("%%python\n1")
    ipy.run("import pandas as pd")
    for label, path in sizes:
        # Interleaved, so the machine's drift (large on a shared VM) hits both sides alike;
        # small files get more runs, their times being a few tens of milliseconds.
        ours, c_engine, arrow = [], [], []
        for _ in range(runs if path.stat().st_size > 50e6 else 3 * runs):
            ours.append(ours_k.run(f"%load {path} as data")[0])
            c_engine.append(ipy.run(f"df = pd.read_csv({str(path)!r})")[0])
            arrow.append(ipy.run(f"df = pd.read_csv({str(path)!r}, engine='pyarrow')")[0])
        out.append([f"`%load` {label} vs `pd.read_csv` (C)", f"{median(ours):.3f} s", f"{median(c_engine):.3f} s",
                    f"{median(ours)/median(c_engine):.2f}x", "<= 1.0x"])
        out.append([f"`%load` {label} vs `pd.read_csv(engine='pyarrow')`", f"{median(ours):.3f} s",
                    f"{median(arrow):.3f} s", f"{median(ours)/median(arrow):.2f}x", "(report)"])
    ours_k.close()
    ipy.close()
    return out


def bench_first_load(runs, path):
    """The first load in a fresh kernel: no warm allocator pages on either side."""
    ours, theirs = [], []
    for _ in range(runs):
        k = Kernel("llm-analytics")
        k.run("%%python\n1")  # Python and pandas imported, as in the notebook's first cell
        ours.append(k.run(f"%load {path} as data")[0])
        k.close()
        ipy = Kernel("python3")
        ipy.run("import pandas as pd")
        theirs.append(ipy.run(f"df = pd.read_csv({str(path)!r})")[0])
        ipy.close()
    return [["first `%load` ~100 MB in a fresh kernel vs first `pd.read_csv` in a fresh ipykernel",
             f"{median(ours):.3f} s", f"{median(theirs):.3f} s", f"{median(ours)/median(theirs):.2f}x",
             "<= 1.0x"]]


def bench_memory(path_100):
    ours = Kernel("llm-analytics")
    ours.run("%%python\n1")
    ours.run(f"%load {path_100} as data")
    ours_rss = ours.rss_mb()
    ipy = Kernel("python3")
    ipy.run(f"import pandas as pd\ndf = pd.read_csv({str(path_100)!r})")
    ipy_rss = ipy.rss_mb()
    # The kernel keeps the parse's freed memory for the next load for 5 s (alloc.rs).
    time.sleep(6)
    ours_settled, ipy_settled = ours.rss_mb(), ipy.rss_mb()
    ipy.close()
    # Respawn: kill the worker from inside; the cell returns once a new worker has the data back.
    base = median([ours.run("%%python\n1")[0] for _ in range(3)])
    respawn = [ours.run("%%python\nimport os\nos.kill(os.getpid(), 9)")[0] - base for _ in range(3)]
    ok = ours.run("%%python\nlen(data)")[1]["status"] == "ok"
    ours.close()
    return [
        ["RSS right after loading 100 MB (kernel + worker vs ipykernel after read_csv)", f"{ours_rss:.0f} MB",
         f"{ipy_rss:.0f} MB", f"{ours_rss/ipy_rss:.2f}x", "<= 1.3x"],
        ["RSS 6 s after loading 100 MB", f"{ours_settled:.0f} MB",
         f"{ipy_settled:.0f} MB", f"{ours_settled/ipy_settled:.2f}x", "<= 1.3x"],
        ["worker respawn with 100 MB restored (crash -> data back)", f"{median(respawn):.3f} s" + ("" if ok else " (data NOT restored!)"),
         "-", "-", "<= 1 s"],
    ]


def bench_datasets(path_10, n=4):
    k = Kernel("llm-analytics")
    k.run("%%python\n1")
    before = k.rss_mb()
    steps = []
    for i in range(n):
        k.run(f"%load {path_10} as d{i}")
        steps.append(k.rss_mb())
    k.close()
    per = (steps[-1] - before) / n
    size = path_10.stat().st_size / 1e6
    return [["memory per loaded dataset (10 MB CSV, 4 loaded)", f"{per:.0f} MB each", f"CSV is {size:.0f} MB", "-", "(report)"]]


def bench_question(runs, path_10, wide_paths):
    code = "result = df.groupby('text_2')['float_1'].mean()"
    with FakeLLM() as llm:
        llm.script(rules=[{"match": "The user asked:", "reply": {"content": "Fine."}, "times": None},
                          {"match": "Current question:", "reply": {"content": f"```python\n{code}\n```"}}])
        env = dict(os.environ, OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="bench", LLM_ANALYTICS_REPLAY="0",
                   LLM_ANALYTICS_DATA_DIR=tempfile.mkdtemp())
        k = Kernel("llm-analytics", env=env)
        k.run(f"%load {path_10}")
        k.run("%%python\n" + code.replace("result = ", ""))
        # Every question runs in a fresh question worker, started while the model writes the
        # code. A real model takes seconds, so the worker is warm: pause as a model would.
        q, p = [], []
        for i in range(runs * 4):
            time.sleep(2.5)
            q.append(k.run(f"mean float by text, run {i}")[0])
            p.append(k.run("%%python\n" + code.replace("result = ", ""))[0])
        overhead = median([a - b for a, b in zip(q, p)])
        # Back to back with a zero-latency model: the next worker is still importing pandas.
        cold = []
        for i in range(runs):
            cold.append(k.run(f"mean float by text, back to back {i}")[0])
        time.sleep(3)
        idle_rss = k.rss_mb()
        k.close()
        sizes = []
        for label, path in wide_paths:
            # A fresh kernel per table: the prompt describes every loaded dataset.
            k = Kernel("llm-analytics", env=dict(env, LLM_ANALYTICS_DATA_DIR=tempfile.mkdtemp()))
            n_before = len(llm.requests)
            k.run(f"%load {path}")
            k.run(f"mean of the first measure ({label})")
            reqs = [r for r in llm.requests[n_before:] if "Current question:" in str(r.get("json", r))]
            prompt = reqs[0]["json"]["messages"][-1]["content"] if reqs else ""
            sizes.append((label, len(prompt)))
            k.close()
    rows = [["question overhead, question worker warm (question cell - same code in %%python)",
             f"{overhead*1e3:.1f} ms", "in-process, 2026-11-25: 17.3 ms", "-", "<= 30 ms"],
            ["question cell back to back, zero-latency model (next worker still starting)",
             f"{median(cold)*1e3:.0f} ms", "-", "-", "(report)"],
            ["RSS, kernel + user worker + idle question worker, 10 MB loaded",
             f"{idle_rss:.0f} MB", "-", "-", "(report)"]]
    for label, chars in sizes:
        rows.append([f"prompt size, {label}", f"~{chars // 4} tokens ({chars} chars)", "-", "-",
                     "<= 3000 tokens at 2000 columns, independent of rows"])
    return rows


def bench_history(runs, path_10):
    """Question cell time with MongoDB vs the embedded store (history writes are off the
    critical path: the goal is no difference beyond noise)."""
    import socket
    import subprocess

    exe = Path(sys.executable).parent / "secantusd-py"
    if not exe.exists():
        return [["question with MongoDB vs embedded store", "skipped: secantusd-py not installed", "-", "-", "(report)"]]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    storage = tempfile.mkdtemp()
    server = subprocess.Popen([str(exe), "--host", "127.0.0.1", "--port", str(port), "--storage-path", storage,
                               "--standalone"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        code = "result = df['float_1'].mean()"
        times = {}
        with FakeLLM() as llm:
            llm.script(rules=[{"match": "The user asked:", "reply": {"content": "Fine."}},
                              {"match": "Current question:", "reply": {"content": f"```python\n{code}\n```"}}])
            for label, extra in (("embedded SQLite", {}), ("MongoDB", {"MONGODB_URL": f"mongodb://127.0.0.1:{port}"})):
                env = dict(os.environ, OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="bench", LLM_ANALYTICS_REPLAY="0",
                           LLM_ANALYTICS_DATA_DIR=tempfile.mkdtemp(), **extra)
                k = Kernel("llm-analytics", env=env)
                k.run(f"%load {path_10}")
                k.run("warm-up question")
                times[label] = median([k.run(f"mean of float_1, run {i}")[0] for i in range(runs * 4)])
                k.close()
    finally:
        server.kill()
    ratio = times["MongoDB"] / times["embedded SQLite"]
    return [["question cell, history in MongoDB vs embedded SQLite", f"{times['MongoDB']*1e3:.1f} ms",
             f"{times['embedded SQLite']*1e3:.1f} ms", f"{ratio:.2f}x", "~1.0x (within noise)"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--big", action="store_true", help="also load a ~1 GB CSV")
    ap.add_argument("--only", choices=["startup", "load", "memory", "datasets", "question", "history"],
                    action="append", help="run only these sections (repeatable)")
    args = ap.parse_args()
    _ensure_kernels()

    # The data files are made (once, cached in CACHE) only for the sections that use them.
    def p10():
        return make_csv(CACHE / "mixed_10mb.csv", 10)

    def p100():
        return make_csv(CACHE / "mixed_100mb.csv", 100)

    def sizes():
        out = [("~10 MB", p10()), ("~100 MB", p100())]
        if args.big:
            out.append(("~1 GB", make_csv(CACHE / "mixed_1gb.csv", 1000)))
        return out

    def wide():
        return [("20 columns x 1k rows", make_wide(CACHE / "wide_20x1k.csv", 20, 1000)),
                ("20 columns x 1M rows", make_wide(CACHE / "wide_20x1m.csv", 20, 1_000_000)),
                ("200 columns x 1k rows", make_wide(CACHE / "wide_200x1k.csv", 200, 1000)),
                ("2000 columns x 1k rows", make_wide(CACHE / "wide_2000x1k.csv", 2000, 1000))]

    sections = {
        "startup": lambda: bench_startup(args.runs),
        "load": lambda: bench_load(args.runs, sizes()) + bench_first_load(args.runs, p100()),
        "memory": lambda: bench_memory(p100()),
        "datasets": lambda: bench_datasets(p10()),
        "question": lambda: bench_question(args.runs, p10(), wide()),
        "history": lambda: bench_history(args.runs, p10()),
    }
    rows = []
    for name, run in sections.items():
        if not args.only or name in args.only:
            rows += run()
    import platform
    print(f"Machine: {os.cpu_count()} cores, {platform.platform()}; pandas {pd.__version__}; "
          f"date {time.strftime('%Y-%m-%d')}; medians of {args.runs}+ runs\n")
    rows_table(rows)


if __name__ == "__main__":
    main()
