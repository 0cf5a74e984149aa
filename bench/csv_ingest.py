"""Does crates/csv-ingest earn its size? Its load path beside the libraries it re-creates.

One run, the same generated files (10 MB and 100 MB: rows x 8 columns of ints, floats, a
low-cardinality text column, free text, dates as strings, bools, some missing values; plus a
messy 10 MB file with blank lines, short rows, stray quotes, padded numbers and NA spellings):

  a  rust_fast      csv2arrow (the crate's fast path) -> Arrow file in /dev/shm, then
                    kernel/src/worker/arrow_bridge.py maps it -> pandas (the kernel's path)
  b  rust_fallback  the same with CSV_INGEST_FORCE_FALLBACK=1 (polars + pandas-faithful rewrite)
  c  pandas_c       pd.read_csv(path)
  d  pandas_pyarrow pd.read_csv(path, engine="pyarrow")
  e  polars_compat  polars.read_csv(...).to_pandas() with a small compat layer (polars_compat)
     polars_plain   polars.read_csv(path).to_pandas(), no options
  f  remap          a respawned worker: map the existing Arrow file -> pandas (vs c: re-parse)

Each measurement is a fresh subprocess (VmHWM: that approach's own peak RSS); the median of
--runs runs, interleaved across approaches. Files are read from the page cache (warm).
Then FIDELITY: every CSV the tests use (tests/data, tests/fixtures, the quirk/low-memory/late/
random files of tests/test_csv_parity.py) plus the shared dabench tables, each approach's
frame compared column by column with pd.read_csv's.

    /root/.local/share/llm-analytics/venv/bin/python bench/csv_ingest.py \
        [--runs 3] [--csv2arrow PATH] [--polars-path DIR] [--json out.json] [--skip-timing]

Needs the release csv2arrow (cargo build --release -p csv-ingest; CARGO_TARGET_DIR honoured)
and Python polars (not a project requirement: `pip install --target DIR polars`, then
--polars-path DIR). Prints markdown tables; bench/RESULTS.md ("csv-ingest beside the libraries it re-creates") has a run's figures.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BRIDGE = REPO / "kernel" / "src" / "worker" / "arrow_bridge.py"
PARITY_TESTS = REPO / "tests" / "test_csv_parity.py"
SHARED_TABLES = REPO.parent / "shared" / "data" / "dabench-tables"
FORCE_FALLBACK_VAR = "CSV_INGEST_FORCE_FALLBACK"

TIMED = ["rust_fast", "rust_fallback", "pandas_c", "pandas_pyarrow", "polars_compat",
         "polars_plain", "remap", "baseline"]
FIDELITY = ["rust_fast", "rust_fallback", "pandas_pyarrow", "polars_compat", "polars_plain"]
LABELS = {
    "rust_fast": "(a) csv-ingest fast path -> Arrow -> pandas",
    "rust_fallback": "(b) csv-ingest forced polars fallback -> Arrow -> pandas",
    "pandas_c": "(c) pd.read_csv",
    "pandas_pyarrow": "(d) pd.read_csv(engine=\"pyarrow\")",
    "polars_compat": "(e) polars read_csv + compat layer -> pandas",
    "polars_plain": "(e') polars read_csv().to_pandas(), no options",
    "remap": "(f) respawn: map existing Arrow file -> pandas",
    "baseline": "python + pandas + pyarrow imported, nothing read",
}

# pandas' default na_values (pandas/_libs/parsers.pyx STR_NA_VALUES).
PANDAS_NA = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
             "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def say(message: str) -> None:
    print(f"csv_ingest.py: {message}", file=sys.stderr, flush=True)


def default_csv2arrow() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR",
                            Path.home() / ".cache" / "llm-analytics-kernel" / "target")
    return Path(target) / "release" / "csv2arrow"


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sep_for(path: Path) -> str:
    return "\t" if path.suffix == ".tsv" else ","


# --- the approaches ------------------------------------------------------------------------


GNU_TIME = Path("/usr/bin/time")
CSV2ARROW_PEAK_MIB: list[float] = []
CSV2ARROW_SECONDS: list[float] = []


def run_csv2arrow(csv2arrow: Path, csv: Path, arrow: Path, fallback: bool) -> None:
    """The crate's CLI, as the kernel calls the crate. Its peak RSS is taken by GNU time
    (a forked Python child would report the forking interpreter's pages as its peak)."""
    env = dict(os.environ, MAX_UPLOAD_SIZE=str(1 << 31))
    env.pop(FORCE_FALLBACK_VAR, None)
    if fallback:
        env[FORCE_FALLBACK_VAR] = "1"
    command = [str(csv2arrow), str(csv), str(arrow)]
    peak_file = arrow.with_suffix(".peak")
    if GNU_TIME.is_file():
        command = [str(GNU_TIME), "-f", "%M", "-o", str(peak_file)] + command
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    CSV2ARROW_SECONDS.append(time.perf_counter() - started)
    if done.returncode != 0:
        raise RuntimeError(f"csv2arrow: {done.stderr.strip()}")
    if peak_file.exists():
        CSV2ARROW_PEAK_MIB.append(int(peak_file.read_text().split()[-1]) / 1024)
        peak_file.unlink()


def polars_compat(path: Path):
    """The "let a library parse" alternative: polars with pandas' NA spellings, types from
    all rows (not the first 100), latin-1 when the file is not UTF-8; pandas' object
    column (NaN for missing) for booleans with missing values."""
    import numpy as np
    import polars as pl

    options = dict(separator=sep_for(path), infer_schema_length=None, null_values=PANDAS_NA)
    try:
        frame = pl.read_csv(path, **options)
    except pl.exceptions.ComputeError as e:
        if "utf-8" not in str(e).lower() and "utf8" not in str(e).lower():
            raise
        frame = pl.read_csv(io.BytesIO(path.read_bytes().decode("latin-1").encode()), **options)
    out = frame.to_pandas()
    for name, dtype in frame.schema.items():
        if dtype == pl.Boolean and frame[name].null_count():
            out[name] = out[name].astype(object).where(out[name].notna(), np.nan)
    return out


def polars_plain(path: Path):
    import polars as pl

    return pl.read_csv(path, separator=sep_for(path)).to_pandas()


def load(approach: str, csv: Path, arrow: Path, csv2arrow: Path, bridge):
    """The pandas frame `approach` gives for `csv` (arrow: where the Arrow file goes)."""
    import pandas as pd

    if approach in ("rust_fast", "rust_fallback"):
        run_csv2arrow(csv2arrow, csv, arrow, fallback=approach == "rust_fallback")
        return bridge.read_ipc_to_pandas(str(arrow))
    if approach == "remap":
        return bridge.read_ipc_to_pandas(str(arrow))
    if approach == "pandas_c":
        return pd.read_csv(csv, sep=sep_for(csv))
    if approach == "pandas_pyarrow":
        return pd.read_csv(csv, sep=sep_for(csv), engine="pyarrow")
    if approach == "polars_compat":
        return polars_compat(csv)
    if approach == "polars_plain":
        return polars_plain(csv)
    raise ValueError(approach)


def peak_rss_mib() -> float:
    """This process's peak RSS since its exec (VmHWM). ru_maxrss would also count the pages
    of the parent it was forked from."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(approach: str, csv: Path, arrow: Path, csv2arrow: Path) -> None:
    """One timed load in this fresh process; prints a JSON line."""
    import numpy  # noqa: F401  (imports are not timed: a worker has them already)
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    bridge = load_module("arrow_bridge", BRIDGE)
    import_s = 0.0
    if approach.startswith("polars"):
        started = time.perf_counter()
        import polars  # noqa: F401
        import_s = time.perf_counter() - started
    warnings.simplefilter("ignore")
    cpu0 = os.times()
    started = time.perf_counter()
    rows = 0
    if approach != "baseline":
        rows = len(load(approach, csv, arrow, csv2arrow, bridge))
    seconds = time.perf_counter() - started
    cpu1 = os.times()
    cpu = sum(cpu1[:4]) - sum(cpu0[:4])
    print(json.dumps({
        "seconds": seconds,
        "cpu_s": cpu,
        "rows": rows,
        "import_s": import_s,
        "maxrss_mib": peak_rss_mib(),
        "child_maxrss_mib": max(CSV2ARROW_PEAK_MIB, default=0.0),
        "csv2arrow_s": sum(CSV2ARROW_SECONDS),
    }))


# --- generated files -----------------------------------------------------------------------

WORDS = ("data sales region north south growth quarter revenue customer order shipped late "
         "early refund price discount premium basic review good bad great product item "
         "store online delivery fast slow").split()
CATEGORIES = ["Books", "Garden", "Toys", "Electronics", "Grocery", "Sports", "Beauty",
              "Music", "Home", "Auto", "Health", "Office"]


def make_frame(rows: int, seed: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    qty = pd.array(rng.integers(0, 500, rows), dtype="Int64")
    qty[rng.random(rows) < 0.02] = pd.NA
    score = rng.normal(50, 15, rows).round(4)
    score[rng.random(rows) < 0.05] = np.nan
    category = np.array(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), rows)]
    category[rng.random(rows) < 0.01] = None
    lengths = rng.integers(3, 13, rows)
    words = rng.integers(0, len(WORDS), int(lengths.sum()))
    comma = rng.random(rows) < 0.10
    comments, at = [], 0
    for i, n in enumerate(lengths):
        text = " ".join(WORDS[w] for w in words[at:at + n])
        at += n
        comments.append(text.replace(" ", ", ", 1) if comma[i] else text)
    comment = np.array(comments, dtype=object)
    comment[rng.random(rows) < 0.01] = None
    days = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, rows), unit="D")
    return pd.DataFrame({
        "id": np.arange(1, rows + 1),
        "qty": qty,
        "price": rng.uniform(0.5, 999.99, rows).round(2),
        "score": score,
        "category": category,
        "comment": comment,
        "date": days.strftime("%Y-%m-%d"),
        "active": rng.random(rows) < 0.5,
    })


def write_messy(clean: Path, messy: Path, seed: int) -> None:
    """The clean file with what sends csv-ingest to its polars path and trips other readers:
    blank lines, short rows, a stray quote in unquoted text, padded numbers, NA spellings."""
    import random

    rng = random.Random(seed)
    lines = clean.read_text().split("\n")
    out = [lines[0]]
    for i, line in enumerate(lines[1:-1], start=1):
        fields = line.split(",")
        if '"' not in line and len(fields) == 8:
            if i % 4001 == 0:
                fields[5] = 'about 5\'10" tall'
            if i % 1499 == 0:
                fields[1] = f" {fields[1]} " if fields[1] else "n/a"
            if i % 733 == 0:
                fields[3] = rng.choice(["NA", "n/a", "NULL", "-nan", "#N/A"])
            if i % 6007 == 0:
                fields = fields[:6]
        out.append(",".join(fields))
        if i % 997 == 0:
            out.append(rng.choice(["", "   ", "\t"]))
    messy.write_text("\n".join(out) + "\n")


def make_files(workdir: Path) -> dict[str, Path]:
    files = {}
    for label, rows in (("10MB", 100_000), ("100MB", 1_000_000)):
        path = workdir / f"mixed_{label}.csv"
        make_frame(rows, seed=rows).to_csv(path, index=False)
        files[label] = path
    messy = workdir / "messy_10MB.csv"
    write_messy(files["10MB"], messy, seed=7)
    files["messy"] = messy
    return files


# --- timing ----------------------------------------------------------------------------------


def time_file(csv: Path, arrow: Path, args, approaches: list[str]) -> dict:
    """Median of args.runs fresh-process runs per approach, interleaved."""
    csv.read_bytes()  # into the page cache
    runs: dict[str, list[dict]] = {a: [] for a in approaches}
    env = dict(os.environ)
    if args.polars_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.polars_path,
                                                          env.get("PYTHONPATH")]))
    # The respawn case needs the Arrow file: one untimed fast-path load makes it.
    load_in_child = [sys.executable, __file__, "--child"]
    subprocess.run(load_in_child + ["rust_fast", str(csv), str(arrow), str(args.csv2arrow)],
                   env=env, check=True, capture_output=True)
    for _ in range(args.runs):
        for approach in approaches:
            target = arrow if approach == "remap" else arrow.with_suffix(f".{approach}.arrow")
            done = subprocess.run(load_in_child + [approach, str(csv), str(target),
                                                   str(args.csv2arrow)],
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0:
                runs[approach].append({"error": done.stderr.strip().splitlines()[-1]})
                continue
            runs[approach].append(json.loads(done.stdout.strip().splitlines()[-1]))
            if target != arrow and target.exists():
                runs[approach][-1]["arrow_mib"] = target.stat().st_size / 2**20
                target.unlink()
    result = {}
    for approach, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        if not ok:
            result[approach] = {"error": rs[0]["error"]}
            continue
        result[approach] = {key: statistics.median(r[key] for r in ok) for key in ok[0]}
        result[approach]["runs"] = len(ok)
    return result


# --- fidelity --------------------------------------------------------------------------------


def corpus(scratch: Path, bench_files: dict[str, Path]) -> list[tuple[str, Path]]:
    """Every CSV the tests use, written out where the tests build them, plus the shared
    dabench tables and the benchmark's own files."""
    files = [(f"tests/data/{p.relative_to(REPO / 'tests' / 'data')}", p)
             for p in sorted((REPO / "tests" / "data").rglob("*.csv"))]
    files += [(f"tests/fixtures/{p.relative_to(REPO / 'tests' / 'fixtures')}", p)
              for p in sorted((REPO / "tests" / "fixtures").rglob("*.csv"))]
    files += [(f"shared/{p.name}", p) for p in sorted(SHARED_TABLES.glob("*.csv"))]
    parity = load_module("test_csv_parity", PARITY_TESTS)
    made = scratch / "parity"
    made.mkdir()
    for case, data in sorted(parity.QUIRKS.items()):
        path = made / f"quirk_{case}.csv"
        path.write_bytes(data)
        files.append((f"quirk:{case}", path))
    for case, first in sorted(parity.LOW_MEMORY_BLOCKS.items()):
        path = made / f"lowmem_{case}.csv"
        path.write_bytes(parity._wide_rows(128, 10_000, first))
        files.append((f"low_memory:{case}", path))
    for line_end, tag in (("\n", "lf"), ("\r\n", "crlf")):
        for quotes in (True, False):
            columns = [c for c in parity.LATE_COLUMNS if quotes or c != "quoted_text"]
            lines = [",".join(columns)]
            lines += [",".join(parity._late_cell(c, i) for c in columns)
                      for i in range(parity.LATE_ROWS)]
            path = made / f"late_{tag}_{'quoted' if quotes else 'unquoted'}.csv"
            path.write_bytes((line_end.join(lines) + line_end).encode())
            files.append((f"late:{tag}-{'quoted' if quotes else 'unquoted'}", path))
    for seed in (3, 11, 42, 58, 64, 80):
        path = made / (f"fuzz{seed}.tsv" if seed % 4 == 3 else f"fuzz{seed}.csv")
        parity._fuzz_file(seed, path)
        files.append((f"random:{seed}", path))
    files += [(f"bench:{path.name}", path) for path in bench_files.values()]
    return files


def reference(path: Path):
    import pandas as pd

    try:
        return pd.read_csv(path, sep=sep_for(path))
    except UnicodeDecodeError:
        return pd.read_csv(path, sep=sep_for(path), encoding="latin-1")


def column_differences(ref, got) -> dict[str, str]:
    """Reference column name -> how `got` differs there (absent: same dtype and values)."""
    import pandas as pd

    diffs: dict[str, str] = {}
    if got.shape[0] != ref.shape[0]:
        return {name: f"rows {got.shape[0]} vs {ref.shape[0]}" for name in ref.columns}
    if type(got.index) is not type(ref.index) or not got.index.equals(ref.index):
        diffs["<index>"] = f"index {type(got.index).__name__} vs {type(ref.index).__name__}"
    if got.shape[1] > ref.shape[1]:
        diffs["<extra>"] = f"{got.shape[1] - ref.shape[1]} extra column(s)"
    for i, name in enumerate(ref.columns):
        if i >= got.shape[1]:
            diffs[name] = "column missing"
            continue
        if got.columns[i] != name:
            diffs[name] = f"name {got.columns[i]!r} vs {name!r}"
            continue
        r, g = ref.iloc[:, i], got.iloc[:, i]
        if str(r.dtype) != str(g.dtype):
            diffs[name] = f"dtype {g.dtype} vs {r.dtype}"
            continue
        try:
            pd.testing.assert_series_equal(g, r, check_exact=False, rtol=1e-12,
                                           check_names=False, check_index=False)
        except AssertionError:
            diffs[name] = "values " + first_difference(r, g)
    return diffs


def first_difference(r, g) -> str:
    for k in range(len(r)):
        a, b = g.iloc[k], r.iloc[k]
        same = (a is b) or (repr(a) == repr(b)) or (type(a) is type(b) and a == b)
        if not same:
            return f"(row {k}: {a!r} vs {b!r})"
    return "(differ)"


def fidelity(files: list[tuple[str, Path]], scratch: Path, csv2arrow: Path) -> dict:
    import pandas as pd  # noqa: F401

    bridge = load_module("arrow_bridge", BRIDGE)
    arrow = scratch / "fidelity.arrow"
    results = {a: {"files": 0, "files_differing": 0, "columns": 0, "columns_differing": 0,
                   "dtype": 0, "values": 0, "other": 0, "errors": 0, "examples": []}
               for a in FIDELITY}
    skipped = []
    for label, path in files:
        warnings.simplefilter("ignore")
        try:
            ref = reference(path)
        except Exception as e:  # pandas itself refuses: nothing to compare with
            skipped.append(f"{label}: {type(e).__name__}")
            continue
        for approach in FIDELITY:
            out = results[approach]
            out["files"] += 1
            out["columns"] += ref.shape[1]
            try:
                got = load(approach, path, arrow, csv2arrow, bridge)
            except Exception as e:
                message = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
                out["errors"] += 1
                out["files_differing"] += 1
                out["columns_differing"] += ref.shape[1]
                out["examples"].append(f"{label}: ERROR {type(e).__name__}: {message}")
                continue
            diffs = column_differences(ref, got)
            if not diffs:
                continue
            out["files_differing"] += 1
            for name, reason in diffs.items():
                if not name.startswith("<"):
                    out["columns_differing"] += 1
                kind = reason.split()[0]
                out[kind if kind in ("dtype", "values") else "other"] += 1
                out["examples"].append(f"{label} [{name}]: {reason[:200]}")
    return {"results": results, "skipped": skipped, "files": len(files)}


# --- report ----------------------------------------------------------------------------------


def print_timing(timing: dict, sizes: dict[str, float]) -> None:
    print("\n## Timing (median wall seconds; peak RSS MiB of the Python process / of csv2arrow)")
    labels = list(timing)
    print("| approach | " + " | ".join(f"{k} ({sizes[k]:.0f} MB)" for k in labels) + " |")
    print("|---|" + "---|" * len(labels))
    for approach in TIMED:
        cells = []
        for label in labels:
            r = timing[label].get(approach, {})
            if "error" in r:
                cells.append(f"error: {r['error'][:60]}")
            elif r:
                rss = f"{r['maxrss_mib']:.0f}"
                if r.get("child_maxrss_mib"):
                    rss += f" / {r['child_maxrss_mib']:.0f}"
                extra = f", Arrow {r['arrow_mib']:.0f} MiB" if "arrow_mib" in r else ""
                split = f" [parse {r['csv2arrow_s']:.2f}]" if r.get("csv2arrow_s") else ""
                cells.append(f"{r['seconds']:.2f} s{split} (cpu {r['cpu_s']:.2f}), "
                             f"{rss} MiB{extra}")
            else:
                cells.append("")
        print(f"| {LABELS[approach]} | " + " | ".join(cells) + " |")


def print_fidelity(report: dict) -> None:
    print(f"\n## Fidelity vs pd.read_csv ({report['files']} files; "
          f"{len(report['skipped'])} skipped because pd.read_csv raises)")
    print("| approach | files differing | columns differing / compared | dtype | values "
          "| other (rows, names, index) | errors |")
    print("|---|---|---|---|---|---|---|")
    for approach, r in report["results"].items():
        print(f"| {LABELS[approach]} | {r['files_differing']}/{r['files']} | "
              f"{r['columns_differing']}/{r['columns']} | {r['dtype']} | {r['values']} | "
              f"{r['other']} | {r['errors']} |")
    for approach, r in report["results"].items():
        if r["examples"]:
            print(f"\n### {LABELS[approach]}: differences")
            for line in r["examples"]:
                print(f"- {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--csv2arrow", type=Path, default=default_csv2arrow())
    parser.add_argument("--polars-path", default="", help="directory holding Python polars")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--skip-fidelity", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("APPROACH", "CSV", "ARROW", "CSV2ARROW"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        approach, csv, arrow, csv2arrow = args.child
        child(approach, Path(csv), Path(arrow), Path(csv2arrow))
        return
    if args.polars_path:
        sys.path.insert(0, args.polars_path)
    if not args.csv2arrow.is_file():
        sys.exit(f"no csv2arrow at {args.csv2arrow} (cargo build --release -p csv-ingest)")
    scratch = Path(tempfile.mkdtemp(prefix="csvbench-"))
    shm = Path(tempfile.mkdtemp(prefix="csvbench-", dir="/dev/shm"))
    report: dict = {"load_before": os.getloadavg(), "cpus": os.cpu_count()}
    try:
        say(f"generating files in {scratch}")
        files = make_files(scratch)
        sizes = {label: path.stat().st_size / 1e6 for label, path in files.items()}
        report["sizes_mb"] = sizes
        if not args.skip_timing:
            timing = {}
            for label, path in files.items():
                say(f"timing {label} ({sizes[label]:.0f} MB), load {os.getloadavg()[0]:.1f}")
                timing[label] = time_file(path, shm / f"{label}.arrow", args, TIMED)
            report["timing"] = timing
            print_timing(timing, sizes)
        report["load_after_timing"] = os.getloadavg()
        if not args.skip_fidelity:
            say("fidelity")
            report["fidelity"] = fidelity(corpus(scratch, files), shm, args.csv2arrow)
            print_fidelity(report["fidelity"])
        report["load_after"] = os.getloadavg()
        print(f"\nload average before / after timing / end: {report['load_before']} / "
              f"{report['load_after_timing']} / {report['load_after']} on {report['cpus']} CPUs")
        if args.json:
            args.json.write_text(json.dumps(report, indent=1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    main()
