"""``%load`` through the kernel: real tables and hostile files.

* Every real-world CSV shipped in tests/data/realworld/ (always) and every CSV
  of the shared dabench folder (when present) loads: one profile display, with
  the shape pandas reads, and numeric columns holding the same numbers.
* Hostile files (empty, header only, binary, Latin-1, ragged rows, too big,
  wrong extension, missing, 10 000 columns, CR / CRLF line endings, odd paths)
  load correctly or fail with one clear ``LoadError``, and the kernel answers
  the next cell.

The shared tables are found through ``LLM_ANALYTICS_SHARED_DATA`` (the shared
data dir, or the dabench-tables dir itself) or ``../shared/data/dabench-tables``
next to the repository; without them those tests skip and say how to enable them.
"""
from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kernel_helpers import execute, make_kernel_env, results, role, show, start_kernel, stop_kernel

pytestmark = [pytest.mark.kernel]

REPO = Path(__file__).resolve().parent.parent
ENABLE_SHARED = ("set LLM_ANALYTICS_SHARED_DATA to the shared data dir "
                 "(or put ../shared next to the repository) to run them")


def _shared_tables_dir() -> Path:
    configured = os.environ.get("LLM_ANALYTICS_SHARED_DATA")
    if not configured:
        return (REPO / ".." / "shared" / "data" / "dabench-tables").resolve()
    root = Path(configured).resolve()
    for nested in (root / "dabench-tables", root / "data" / "dabench-tables"):
        if nested.is_dir():
            return nested
    return root


SHARED = _shared_tables_dir()
TABLES = sorted(SHARED.glob("*.csv")) if SHARED.is_dir() else []
REALWORLD = sorted((REPO / "tests" / "data" / "realworld").glob("*.csv"))
CELL_TIMEOUT = 120


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def read_like_design_doc(path: Path) -> pd.DataFrame:
    """pandas, UTF-8 first then Latin-1, as the design document reads uploads."""
    try:
        return pd.read_csv(path)
    except UnicodeDecodeError:
        return pd.read_csv(path, encoding="latin-1")


def load(kc, spec: str, timeout: float = CELL_TIMEOUT):
    return execute(kc, f"%load {spec}", timeout=timeout)


def profile_of(reply, outputs, name: str | None = None) -> dict[str, Any]:
    assert reply["status"] == "ok", f"%load failed: {reply}\n{show(outputs)}"
    errs = [o for o in outputs if o["msg_type"] == "error"]
    assert not errs, show(outputs)
    profiles = [o for o in outputs if o["msg_type"] == "display_data" and role(o) == "profile"]
    assert len(profiles) == 1, f"expected one profile display:\n{show(outputs)}"
    data = profiles[0]["content"]["data"]
    assert data.get("text/plain"), "profile without text/plain"
    assert data.get("text/html"), "profile without text/html"
    if name is not None:
        assert profiles[0]["content"]["metadata"]["llm_analytics"].get("dataset") == name
    return data


def profile_row_count(text: str) -> int:
    """The row count the profile states: "N rows", else non-null + nulls of a column."""
    m = re.search(r"(\d[\d,]*)\s+rows\b", text)
    if m:
        return int(m.group(1).replace(",", ""))
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines)
                   if "non-null" in line and "nulls" in line), None)
    assert header is not None, f"profile states no row count:\n{text[:1500]}"
    parts = lines[header + 1].split()
    return int(parts[-2]) + int(parts[-1])


def profile_null_counts(text: str) -> list[int]:
    """The "nulls" column of the profile's overview table, in column order."""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if "non-null" in line and "nulls" in line)
    counts = []
    for line in lines[header + 1:]:
        if not line.strip() or line.startswith("..."):
            break
        counts.append(int(line.split()[-1]))
    return counts


def py(kc, code: str, timeout: float = CELL_TIMEOUT) -> str:
    """Run a %%python cell that prints; return its stdout."""
    reply, outputs = execute(kc, "%%python\n" + code, timeout=timeout)
    assert reply["status"] == "ok", f"%%python failed: {reply}\n{show(outputs)}"
    return "".join(o["content"]["text"] for o in outputs
                   if o["msg_type"] == "stream" and o["content"]["name"] == "stdout")


def shape_in_kernel(kc, name: str = "df") -> tuple[int, int]:
    return tuple(json.loads(py(kc, f"import json; print(json.dumps(list({name}.shape)))")))


def assert_answers(kc) -> None:
    reply, outputs = execute(kc, "%%python\n1+1", timeout=60)
    assert reply["status"] == "ok" and results(outputs) == ["2"], \
        f"kernel did not answer after the failure: {reply}\n{show(outputs)}"


def load_error(kc, spec: str) -> str:
    """%load that must fail with exactly one LoadError; returns its message."""
    reply, outputs = load(kc, spec)
    assert reply["status"] == "error", f"%load {spec} should fail:\n{show(outputs)}"
    errs = [o for o in outputs if o["msg_type"] == "error"]
    assert len(errs) == 1, show(outputs)
    err = errs[0]["content"]
    assert err["ename"] == "LoadError", f"{err['ename']}: {err['evalue']}"
    assert reply.get("ename") == "LoadError"
    assert not [o for o in outputs if role(o) == "profile"], show(outputs)
    assert len(err["evalue"]) > 15, f"unclear message: {err['evalue']!r}"
    assert "stub" not in err["evalue"].lower(), "the CSV loader is not merged yet"
    return err["evalue"]


# ---------------------------------------------------------------------------
# every shared table
# ---------------------------------------------------------------------------

class SharedKernel:
    """One kernel for the many table tests; restarted if it dies."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.km = self.kc = None

    def client(self):
        if self.km is None or not self.km.is_alive():
            self.close()
            env = make_kernel_env("http://127.0.0.1:9/v1", self.tmp)
            self.km, self.kc = start_kernel(env=env, cwd=self.tmp)
        return self.kc

    def close(self) -> None:
        if self.km is not None:
            stop_kernel(self.km, self.kc)
        self.km = self.kc = None


@pytest.fixture(scope="module")
def shared_kernel(tmp_path_factory, kernel_spec):
    sk = SharedKernel(tmp_path_factory.mktemp("load-kernel"))
    try:
        yield sk
    finally:
        sk.close()


def _needs_tables():
    if not TABLES:
        pytest.skip(f"no shared tables at {SHARED}; {ENABLE_SHARED}")


def check_loads_with_pandas_shape(kc, path: Path) -> None:
    expected = read_like_design_doc(path)
    reply, outputs = load(kc, f"{path} as t")
    data = profile_of(reply, outputs, "t")
    assert profile_row_count(data["text/plain"]) == len(expected), data["text/plain"][:1500]
    assert shape_in_kernel(kc, "df") == expected.shape
    assert shape_in_kernel(kc, "t") == expected.shape


def check_numbers_match_pandas(kc, path: Path) -> None:
    """Columns pandas reads as numbers are numbers in the kernel, with the same sums."""
    expected = read_like_design_doc(path)
    reply, outputs = load(kc, str(path))
    stated = profile_null_counts(profile_of(reply, outputs)["text/plain"])
    # The loader counts missing values while parsing; the profile must say what pandas says.
    assert stated == [int(n) for n in expected.isna().sum()][:len(stated)], path.name
    out = py(kc, (
        "import json\n"
        "print(json.dumps([[str(df[c].dtype), bool(pd.api.types.is_numeric_dtype(df[c])),"
        " int(df[c].isna().sum()),"
        " float(df[c].sum()) if pd.api.types.is_numeric_dtype(df[c]) and"
        " not pd.api.types.is_bool_dtype(df[c]) else None]"
        " for c in df.columns]))"
    ))
    got = json.loads(out)
    assert len(got) == expected.shape[1]
    problems = []
    for i, col in enumerate(expected.columns):
        s = expected.iloc[:, i]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        dtype, numeric, nulls, total = got[i]
        if not numeric:
            problems.append(f"{col!r}: pandas {s.dtype}, kernel {dtype}")
            continue
        if nulls != int(s.isna().sum()):
            problems.append(f"{col!r}: {nulls} nulls, pandas {int(s.isna().sum())}")
        want = float(s.sum())
        if total is None or abs(total - want) > 1e-6 * max(1.0, abs(want)):
            problems.append(f"{col!r}: sum {total}, pandas {want}")
    assert not problems, f"{path.name}: " + "; ".join(problems)


# The real-world CSVs shipped with the repository: these run on a fresh clone.

@pytest.mark.timeout(180)
@pytest.mark.parametrize("path", REALWORLD, ids=lambda p: p.name)
def test_realworld_table_loads_with_pandas_shape(shared_kernel, path):
    check_loads_with_pandas_shape(shared_kernel.client(), path)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("path", REALWORLD, ids=lambda p: p.name)
def test_realworld_table_numbers_match_pandas(shared_kernel, path):
    check_numbers_match_pandas(shared_kernel.client(), path)


def test_realworld_tables_are_present():
    assert len(REALWORLD) >= 5, f"expected the real-world CSVs in {REPO / 'tests/data/realworld'}"


# The shared dabench tables (../shared, optional).

@pytest.mark.timeout(180)
@pytest.mark.parametrize("path", TABLES or [None], ids=lambda p: p.name if p else "none")
def test_shared_table_loads_with_pandas_shape(shared_kernel, path):
    _needs_tables()
    check_loads_with_pandas_shape(shared_kernel.client(), path)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("path", TABLES or [None], ids=lambda p: p.name if p else "none")
def test_shared_table_numbers_match_pandas(shared_kernel, path):
    """Columns pandas reads as numbers are numbers in the kernel, with the same sums."""
    _needs_tables()
    check_numbers_match_pandas(shared_kernel.client(), path)


# ---------------------------------------------------------------------------
# hostile files
# ---------------------------------------------------------------------------

@pytest.fixture
def cwd_kernel(kernel):
    """The conftest kernel runs with cwd = tmp_path, so relative paths work."""
    return kernel


def test_empty_file(cwd_kernel, tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    msg = load_error(cwd_kernel, "empty.csv")
    assert "empty" in msg.lower(), msg
    assert_answers(cwd_kernel)


def test_header_only(cwd_kernel, tmp_path):
    (tmp_path / "header.csv").write_text("date,category,revenue\n")
    msg = load_error(cwd_kernel, "header.csv")
    assert re.search(r"no (data|rows)|only (a )?header|header only|empty", msg, re.I), msg
    assert_answers(cwd_kernel)


def test_binary_file(cwd_kernel, tmp_path):
    (tmp_path / "blob.csv").write_bytes(b"a,b\n1,2\n" + bytes(range(256)) * 40)
    msg = load_error(cwd_kernel, "blob.csv")
    assert re.search(r"binary|NUL|null byte|not (a )?(text|CSV)", msg, re.I), msg
    assert_answers(cwd_kernel)


def test_latin1_file_loads_and_decodes(cwd_kernel, tmp_path):
    rows = [("José", "café", 3), ("Zoë", "Málaga", 5), ("Ana", "crème brûlée", 7)]
    text = "name,item,qty\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    (tmp_path / "latin.csv").write_bytes(text.encode("latin-1"))
    with pytest.raises(UnicodeDecodeError):
        (tmp_path / "latin.csv").read_bytes().decode("utf-8")
    reply, outputs = load(cwd_kernel, "latin.csv")
    data = profile_of(reply, outputs)
    assert "Latin-1" in data["text/plain"], data["text/plain"]
    out = py(cwd_kernel, "import json; print(json.dumps([df['name'].tolist(), df['item'].tolist(),"
                         " [int(x) for x in df['qty']]]))")
    assert json.loads(out) == [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]]
    assert "café" in data["text/plain"] or "café" in data["text/html"]


def test_ragged_rows_name_the_line(cwd_kernel, tmp_path):
    (tmp_path / "ragged.csv").write_text("a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n11,12,13\n")
    msg = load_error(cwd_kernel, "ragged.csv")
    assert re.search(r"\bline\s*4\b", msg, re.I), msg
    assert_answers(cwd_kernel)


def test_file_over_size_limit(kernel_factory, kernel_env, tmp_path):
    _, kc = kernel_factory(env={**kernel_env, "MAX_UPLOAD_SIZE": "1000"})
    big = pd.DataFrame({"n": range(500), "label": [f"row-{i}" for i in range(500)]})
    big.to_csv(tmp_path / "big.csv", index=False)
    assert 4_000 < (tmp_path / "big.csv").stat().st_size < 10_000
    size = (tmp_path / "big.csv").stat().st_size
    msg = load_error(kc, "big.csv")
    assert re.search(r"too large|exceeds|limit|maximum", msg, re.I), msg
    # The message states both sizes so that the user can see the difference
    # (not "0.0 MB; the maximum is 0.0 MB").
    stated = [_to_bytes(n, u) for n, u in re.findall(
        r"(\d[\d,]*(?:\.\d+)?)\s*(bytes|B|KB|kB|KiB|MB|MiB|GB|GiB)\b", msg)]
    assert len(stated) >= 2, f"sizes not stated: {msg}"
    file_size, limit = stated[0], stated[1]
    assert file_size > limit > 0, f"stated sizes do not show the problem: {msg}"
    assert abs(file_size - size) <= 0.1 * size and abs(limit - 1000) <= 100, msg
    assert_answers(kc)
    # The limit is a limit, not a refusal of everything.
    (tmp_path / "small.csv").write_text("n,label\n1,a\n2,b\n")
    reply, outputs = load(kc, "small.csv")
    profile_of(reply, outputs)
    assert shape_in_kernel(kc) == (2, 2)


def _to_bytes(number: str, unit: str) -> float:
    scale = {"bytes": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2,
             "gb": 1000**3, "gib": 1024**3}[unit.lower()]
    value = float(number.replace(",", ""))
    return value * scale


def test_wrong_extension(cwd_kernel, tmp_path):
    # A zip archive that is no workbook: named .docx it is not a format %load reads...
    for name in ("report.docx", "report.xlsx"):
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("xl/workbook.xml", "<workbook/>")
    msg = load_error(cwd_kernel, "report.docx")
    assert "csv" in msg.lower(), msg
    assert_answers(cwd_kernel)
    # ...named .xlsx it is read as Excel (issue 15), and the error says why it is not one.
    msg = load_error(cwd_kernel, "report.xlsx")
    assert "Could not read the file as Excel" in msg, msg
    assert_answers(cwd_kernel)


def test_file_not_found_keeps_current_data(cwd_kernel, tmp_path):
    (tmp_path / "good.csv").write_text("x,y\n1,2\n3,4\n5,6\n")
    profile_of(*load(cwd_kernel, "good.csv"))
    msg = load_error(cwd_kernel, "no_such_file.csv")
    assert "no_such_file.csv" in msg, msg
    assert re.search(r"not found|no such file|does not exist", msg, re.I), msg
    assert_answers(cwd_kernel)
    assert shape_in_kernel(cwd_kernel) == (3, 2)


@pytest.mark.timeout(240)
def test_ten_thousand_columns(cwd_kernel, tmp_path):
    ncols = 10_000
    header = ",".join(f"c{i}" for i in range(ncols))
    body = "".join(",".join(str((r * 7 + i) % 100) for i in range(ncols)) + "\n" for r in range(3))
    (tmp_path / "wide.csv").write_text(header + "\n" + body)
    reply, outputs = load(cwd_kernel, "wide.csv", timeout=180)
    if reply["status"] == "ok":
        profile_of(reply, outputs)
        assert shape_in_kernel(cwd_kernel) == (3, ncols)
        assert py(cwd_kernel, "print(int(df['c9999'].sum()))").strip() == \
            str(sum((r * 7 + 9999) % 100 for r in range(3)))
    else:
        errs = [o for o in outputs if o["msg_type"] == "error"]
        assert len(errs) == 1 and errs[0]["content"]["ename"] == "LoadError", show(outputs)
        assert "column" in errs[0]["content"]["evalue"].lower(), show(outputs)
    assert_answers(cwd_kernel)


@pytest.mark.timeout(240)
def test_wide_table_profile_is_bounded(cwd_kernel, tmp_path):
    """A 10 000-column profile must not flood the notebook (MAX_OUTPUT_SIZE is 10 000
    characters per output; allow twice that, and 200 KB of HTML)."""
    ncols = 10_000
    header = ",".join(f"c{i}" for i in range(ncols))
    body = "".join(",".join(str((r + i) % 10) for i in range(ncols)) + "\n" for r in range(3))
    (tmp_path / "wide.csv").write_text(header + "\n" + body)
    reply, outputs = load(cwd_kernel, "wide.csv", timeout=180)
    if reply["status"] != "ok":
        pytest.skip("10 000 columns are refused; nothing to display")
    data = profile_of(reply, outputs)
    assert len(data["text/plain"]) <= 20_000, f"profile text/plain: {len(data['text/plain'])} chars"
    assert len(data["text/html"]) <= 200_000, f"profile text/html: {len(data['text/html'])} chars"


@pytest.mark.parametrize("newline", ["\r", "\r\n"], ids=["cr", "crlf"])
def test_line_endings(cwd_kernel, tmp_path, newline):
    lines = ["city,temp,rain", "Oslo,3,1.5", "Rome,18,0", "Lima,22,0.25", "Pune,30,12"]
    (tmp_path / "le.csv").write_bytes((newline.join(lines) + newline).encode())
    profile_of(*load(cwd_kernel, "le.csv"))
    assert shape_in_kernel(cwd_kernel) == (4, 3)
    out = py(cwd_kernel, "import json; print(json.dumps([list(df.columns), df['city'].tolist(),"
                         " [float(x) for x in df['rain']]]))")
    assert json.loads(out) == [["city", "temp", "rain"], ["Oslo", "Rome", "Lima", "Pune"],
                               [1.5, 0.0, 0.25, 12.0]]


def test_odd_path_with_as_name(cwd_kernel, tmp_path):
    folder = tmp_path / "my data"
    folder.mkdir()
    path = folder / "DES=+2006 v2.csv"
    pd.DataFrame({"a": [1, 2, 3, 4], "b": ["w", "x", "y", "z"]}).to_csv(path, index=False)
    profile_of(*load(cwd_kernel, f"{path} as sales_q1"), "sales_q1")
    reply, outputs = execute(cwd_kernel, "%%python\nsales_q1.shape", timeout=CELL_TIMEOUT)
    assert reply["status"] == "ok", show(outputs)
    assert results(outputs) == ["(4, 2)"]
    assert shape_in_kernel(cwd_kernel, "df") == (4, 2)
    # Relative, without a name: still loads, as df.
    profile_of(*load(cwd_kernel, "my data/DES=+2006 v2.csv"))
    assert shape_in_kernel(cwd_kernel) == (4, 2)
