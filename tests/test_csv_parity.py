"""Parity of the Rust CSV loader (+ Arrow bridge) with ``pd.read_csv(path)``.

Every CSV goes through ``csv2arrow`` (the csv-ingest crate's CLI: Rust parse
-> Arrow IPC file) and ``arrow_bridge.read_ipc_to_pandas``; the frame must
match ``pd.read_csv`` with default arguments in shape, column names, dtypes
and values.

Needs the release binary:
    CARGO_TARGET_DIR=~/.cache/llm-analytics-kernel/target cargo build --release -p csv-ingest
Environment overrides: CSV2ARROW (binary path), CARGO_TARGET_DIR,
LLM_ANALYTICS_SHARED_DATA (the shared data dir, or the dabench-tables dir).

Real files: the small real-world CSVs shipped in tests/data/realworld/ (sources
and licenses in its NOTICE.md) always run. The ~50 shared dabench tables run
when ``../shared/data/dabench-tables`` (next to the repository) or
LLM_ANALYTICS_SHARED_DATA is there, and are skipped with a note otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import re
import os
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
BRIDGE_PATH = REPO / "kernel" / "src" / "worker" / "arrow_bridge.py"


REALWORLD_DIR = REPO / "tests" / "data" / "realworld"
ENABLE_SHARED = (
    "set LLM_ANALYTICS_SHARED_DATA to the shared data dir "
    "(or put ../shared next to the repository) to run them"
)


def _tables_dir() -> Path:
    configured = os.environ.get("LLM_ANALYTICS_SHARED_DATA")
    if configured:
        root = Path(configured)
        for nested in (root / "dabench-tables", root / "data" / "dabench-tables"):
            if nested.is_dir():
                return nested
        return root
    return REPO.parent / "shared" / "data" / "dabench-tables"


def _csv2arrow_path() -> Path:
    if "CSV2ARROW" in os.environ:
        return Path(os.environ["CSV2ARROW"])
    target = os.environ.get(
        "CARGO_TARGET_DIR", Path.home() / ".cache" / "llm-analytics-kernel" / "target"
    )
    return Path(target) / "release" / "csv2arrow"


CSV2ARROW = _csv2arrow_path()
TABLES = sorted(_tables_dir().glob("*.csv"))
REALWORLD = sorted(REALWORLD_DIR.glob("*.csv"))

pytestmark = pytest.mark.skipif(
    not CSV2ARROW.is_file(),
    reason=f"csv2arrow not built at {CSV2ARROW} (cargo build --release -p csv-ingest)",
)


def _load_bridge():
    spec = importlib.util.spec_from_file_location("arrow_bridge", BRIDGE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


arrow_bridge = _load_bridge()


def run_csv2arrow(csv_path: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CSV2ARROW), str(csv_path), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def load_via_rust(csv_path: Path, tmp_path: Path) -> tuple[dict, pd.DataFrame]:
    out = tmp_path / (csv_path.stem + ".arrow")
    result = run_csv2arrow(csv_path, out)
    assert result.returncode == 0, f"csv2arrow failed: {result.stderr}"
    return json.loads(result.stdout), arrow_bridge.read_ipc_to_pandas(str(out))


def load_error(csv_path: Path, tmp_path: Path) -> str:
    result = run_csv2arrow(csv_path, tmp_path / "out.arrow")
    assert result.returncode == 2, f"expected a load error, got: {result.stdout}"
    return result.stderr.strip()


def read_csv_reference(csv_path: Path, encoding: str) -> pd.DataFrame:
    # pd.read_csv would raise on latin-1 input; the loader falls back to
    # latin-1, which is what encoding="latin-1" gives.
    if encoding == "latin-1":
        return pd.read_csv(csv_path, encoding="latin-1")
    return pd.read_csv(csv_path)


def assert_parity(frame: pd.DataFrame, expected: pd.DataFrame, summary: dict) -> None:
    assert frame.shape == expected.shape
    assert summary["rows"] == expected.shape[0]
    assert summary["columns"] == expected.shape[1]
    assert list(frame.columns) == list(expected.columns)
    assert [str(t) for t in frame.dtypes] == [str(t) for t in expected.dtypes]
    pd.testing.assert_frame_equal(frame, expected, check_exact=False, rtol=1e-12)


def assert_real_file_parity(csv_path: Path, tmp_path: Path) -> None:
    summary, frame = load_via_rust(csv_path, tmp_path)
    expected = read_csv_reference(csv_path, summary["encoding"])
    assert_parity(frame, expected, summary)
    assert type(frame.index) is type(expected.index)
    if not expected.index.equals(pd.RangeIndex(len(expected))):
        assert summary["index_columns"] == expected.index.nlevels


# --- real-world files shipped with the repository ----------------------------


@pytest.mark.parametrize("csv_path", REALWORLD, ids=[p.name for p in REALWORLD])
def test_realworld_file_matches_read_csv(csv_path: Path, tmp_path: Path) -> None:
    assert_real_file_parity(csv_path, tmp_path)


def test_realworld_files_are_present_small_and_documented() -> None:
    assert len(REALWORLD) >= 5, f"expected the real-world CSVs in {REALWORLD_DIR}"
    total = sum(p.stat().st_size for p in REALWORLD)
    assert total < 300_000, f"tests/data/realworld holds {total} bytes of CSV; keep it small"
    notice = (REALWORLD_DIR / "NOTICE.md").read_text()
    undocumented = [p.name for p in REALWORLD if f"`{p.name}`" not in notice]
    assert not undocumented, f"not described in NOTICE.md (source, license): {undocumented}"


# --- the shared real-world tables (../shared, optional) ----------------------


@pytest.mark.parametrize(
    "csv_path", TABLES or [None], ids=[p.name for p in TABLES] or ["shared-tables-absent"]
)
def test_shared_table_matches_read_csv(csv_path: Path | None, tmp_path: Path) -> None:
    if csv_path is None:
        pytest.skip(f"no shared tables in {_tables_dir()}; {ENABLE_SHARED}")
    assert_real_file_parity(csv_path, tmp_path)


def test_shared_tables_are_present() -> None:
    tables_dir = _tables_dir()
    if not tables_dir.is_dir():
        pytest.skip(f"no shared data at {tables_dir}; {ENABLE_SHARED}")
    # The directory is there: a partial or broken copy must fail, not skip.
    assert len(TABLES) >= 50, f"expected >= 50 dabench tables in {tables_dir}, found {len(TABLES)}"


# --- small files exercising pandas' quirks ----------------------------------

QUIRKS: dict[str, bytes] = {
    "lf": b"a,b\n1,x\n2,y\n",
    "crlf": b"a,b\r\n1,x\r\n2,\"y\"\r\n",
    "cr_only": b"a,b\r1,x\r2,y\r",
    "cr_only_quoted_cr": b'a,b\r"x\ry",1\r2,3\r',
    "crlf_quoted_crlf": b'a,b\r\n"x\r\ny",1\r\n"q",2\r\n',
    "bom": b"\xef\xbb\xbfa,b\n1,2\n",
    "bom_quoted_header": b'\xef\xbb\xbf"a",b\n1,2\n',
    "no_trailing_newline": b"a,b\n1,2\n3,4",
    "quoted_fields": b'a,b\n"he said ""hi""",1\n"x,y",2\n"multi\nline",3\n',
    "text_after_closing_quote": b'a,b\nab"cd,1\n"ab"cd,2\n"x" ,3\n',
    "quote_inside_unquoted_field": b'h,n\n5\'10",1\n6\'1",2\nx,3\n',
    "blank_lines": b"\n\na,b\n\n1,2\n   \n3,4\n\t\n,\n",
    "whitespace_only_first_column": b"a,b\n  ,1\n3,4\n",
    "single_column_blank_lines": b"a\n1\n\n  \n2\n",
    "duplicate_names": b"a,a,a.1,a,b,,\n1,2,3,4,5,6,7\n",
    "unnamed_collision": b",Unnamed: 0,a\n1,2,3\n",
    "header_keeps_spaces_and_na": b" a ,NA,nan\n1,2,3\n",
    "implicit_index": b"a,b\nr1,1,2\nr2,3,4\n",
    "implicit_index_trailing_comma": b"a,b\n1,2,\n3,4,\n",
    "implicit_multiindex": b"a,b\nr1,s1,1,2\nr2,s2,3,4\n",
    "implicit_index_short_row": b"a,b\nr1,1,2\nr2,3\n",
    "implicit_index_unnamed": b",a\nr,1,2\n",
    "short_rows": b"a,b,c\n1,2\n3,4,5\n",
    "na_spellings": (
        b"a,b\n#N/A,1\n#N/A N/A,2\n#NA,3\n-1.#IND,4\n-1.#QNAN,5\n-NaN,6\n-nan,7\n"
        b"1.#IND,8\n1.#QNAN,9\n<NA>,10\nN/A,11\nNA,12\nNULL,13\nNaN,14\nNone,15\n"
        b"n/a,16\nnan,17\nnull,18\n,19\n\"NA\",20\n\"\",21\n"
    ),
    "na_in_text": b"a,b\nx,1\nNA,2\n n/a,3\n",
    "ints": b"a,b,c,d\n1,-2, 3 ,+4\n007,-0,5,6\n",
    "ints_with_na": b"a\n1\nNA\n3\n",
    "floats": b"a,b,c\n1e5,inf,1.5 \n.5,-Infinity,2\n5.,+INF,-0.0\n",
    "float_nan_spelling_is_text": b"a,b\n1.5,NAN\n2,1\n",
    "inf_with_space_is_text": b"a\n inf\n3\n",
    "all_missing": b"a,b\n,1\nNA,2\n",
    "bools": b"a,b,c,d\nTrue,True,True,T\nfalse,,1,F\nTRUE,False,False,T\n",
    "bool_with_na_only": b"a\nTrue\nNA\n",
    "uint64": b"a\n9223372036854775808\n1\n",
    "uint64_with_na_is_raw_text": b"a,b\n9223372036854775808,1\nNA,2\n,3\n",
    "padded_uint64_with_na_is_raw_text": b"a,b\n 9223372036854775808,1\nNA,2\n",
    "huge_int_in_float_column_is_raw_text": b"a,b\n18446744073709551616,1\n1.5,2\nNA,3\n,4\n",
    "uint64_with_text_masks_na": b"a,b\n9223372036854775808,1\nx,2\nNA,3\n",
    "uint64_negative_is_text": b"a\n9223372036854775808\n-1\n",
    "int_beyond_uint64_is_object": b"a,b\n99999999999999999999999,-9223372036854775809\nNA,1\n",
    "padded_big_int_is_float": b"a\n 9223372036854775808 \n1\n",
    "big_int_with_float": b"a,b\n18446744073709551615,18446744073709551616\n1.5,1.5\n",
    # pandas' integer pass stops at the first cell outside int64/uint64:
    # a float there gives float64 for all, a huge integer there raw text.
    "float_before_huge_int_is_float": b"a,b\n1.5,1\nNA,2\n123456789012345678901,3\n",
    "int_float_then_huge_int_is_float": b"a\n-1\n18446744073709551615\n1.5\n123456789012345678901\n",
    "huge_int_before_float_is_raw_text": b"a\n1\n123456789012345678901\nNA\n1.5\n",
    "dates_stay_text": b"d,t\n2020-01-01,2020-01-01 10:00\n2020-01-02,2020-01-02 11:00\n",
    "int_then_text_late": b"a\n" + b"1\n" * 5000 + b"x\n",
    "float_then_int_digits": b"a\n" + b"1\n" * 5000 + b"2.5\n-0\n",
    "unicode": "name,city\nJosé,São Paulo\n李,北京\n".encode(),
}


@pytest.mark.parametrize("case", sorted(QUIRKS))
def test_quirk_matches_read_csv(case: str, tmp_path: Path) -> None:
    csv_path = tmp_path / f"{case}.csv"
    csv_path.write_bytes(QUIRKS[case])
    summary, frame = load_via_rust(csv_path, tmp_path)
    expected = pd.read_csv(csv_path)
    assert_parity(frame, expected, summary)
    assert type(frame.index) is type(expected.index)
    if not expected.index.equals(pd.RangeIndex(len(expected))):
        assert summary["index_columns"] == expected.index.nlevels


def _wide_rows(width: int, rows: int, first_column) -> bytes:
    header = ",".join(f"c{i}" for i in range(width))
    filler = ",".join(["1"] * (width - 1))
    body = "".join(f"{first_column(i)},{filler}\n" for i in range(rows))
    return (header + "\n" + body).encode()


# pandas types a big file in blocks of 2**20 // width rows (rounded down to
# a power of two; 4096 rows for 128 columns) and a column whose blocks get
# different dtypes becomes object (DtypeWarning).
LOW_MEMORY_BLOCKS = {
    "ints_then_text": lambda i: "x" if i == 5000 else str(i),
    "text_then_ints": lambda i: "x" if i == 4095 else str(i),
    "empty_then_text": lambda i: "late" if i >= 4096 else "",
    "floats_then_bools": lambda i: "True" if i >= 8192 else ("NA" if i % 7 else "1.5"),
    "text_everywhere": lambda i: f"t{i}",
    "ints_then_floats": lambda i: "2.5" if i > 9000 else str(i),
}


@pytest.mark.parametrize("case", sorted(LOW_MEMORY_BLOCKS))
def test_low_memory_blocks_match_read_csv(case: str, tmp_path: Path) -> None:
    csv_path = tmp_path / f"{case}.csv"
    csv_path.write_bytes(_wide_rows(128, 10_000, LOW_MEMORY_BLOCKS[case]))
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        summary, frame = load_via_rust(csv_path, tmp_path)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        expected = pd.read_csv(csv_path)
    assert_parity(frame, expected, summary)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert [type(v) for v in frame["c0"]] == [type(v) for v in expected["c0"]]


def test_latin1_falls_back_and_matches_read_csv_latin1(tmp_path: Path) -> None:
    csv_path = tmp_path / "latin1.csv"
    csv_path.write_bytes("name,city\nJosé,Zürich\nRenée,Besançon\n".encode("latin-1"))
    with pytest.raises(UnicodeDecodeError):
        pd.read_csv(csv_path)
    summary, frame = load_via_rust(csv_path, tmp_path)
    assert summary["encoding"] == "latin-1"
    assert_parity(frame, pd.read_csv(csv_path, encoding="latin-1"), summary)


def test_bridge_arrays_are_writable(tmp_path: Path) -> None:
    csv_path = tmp_path / "w.csv"
    csv_path.write_bytes(b"a,b\n1,1.5\n2,2.5\n3,NA\n")
    _, frame = load_via_rust(csv_path, tmp_path)
    frame.loc[frame["a"] > 1, "b"] = 0.0
    frame.iloc[0, 0] = 10
    assert frame["a"].tolist() == [10, 2, 3]
    assert frame["b"].tolist() == [1.5, 0.0, 0.0]


def test_ten_thousand_columns_load_quickly(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(10_000))
    rows = [",".join(str(i * j) for i in range(10_000)) for j in range(20)]
    csv_path = tmp_path / "wide.csv"
    csv_path.write_text(header + "\n" + "\n".join(rows) + "\n")
    started = time.monotonic()
    summary, frame = load_via_rust(csv_path, tmp_path)
    assert time.monotonic() - started < 10
    assert_parity(frame, pd.read_csv(csv_path), summary)


# --- files the loader must refuse, with a clear message ----------------------


def test_empty_file(tmp_path: Path) -> None:
    csv_path = tmp_path / "empty.csv"
    csv_path.write_bytes(b"")
    assert load_error(csv_path, tmp_path) == "File is empty: empty.csv"
    csv_path.write_bytes(b"  \n\n")
    assert load_error(csv_path, tmp_path) == "File is empty: empty.csv"


def test_header_only(tmp_path: Path) -> None:
    csv_path = tmp_path / "h.csv"
    csv_path.write_bytes(b"a,b,c\n\n")
    assert load_error(csv_path, tmp_path) == (
        "CSV file contains no data: h.csv has a header row but no data rows"
    )


def test_bom_only_has_no_columns(tmp_path: Path) -> None:
    csv_path = tmp_path / "bom.csv"
    csv_path.write_bytes(b"\xef\xbb\xbf\n")
    assert load_error(csv_path, tmp_path) == "CSV file contains no columns"


def test_binary(tmp_path: Path) -> None:
    csv_path = tmp_path / "x.csv"
    csv_path.write_bytes(b"PK\x03\x04\x00\x00rest")
    assert load_error(csv_path, tmp_path) == (
        "x.csv looks like a binary file, not text (NUL byte at offset 4)"
    )


# (file bytes, what pandas raises, what the loader says): same line numbers as pandas.
MALFORMED = {
    "ragged_row": (
        b'a,b,c\n1,2,3\n"x\ny",5,6\n\n7,8,9,10,11\n',
        "Expected 3 fields in line 5, saw 5",
        "Error parsing CSV: line 5 has 5 fields, but the header has 3 (bad.csv)",
    ),
    "ragged_row_after_implicit_index": (
        b"a,b\nr1,1,2\nr2,3,4,5\n",
        "Expected 3 fields in line 3, saw 4",
        "Error parsing CSV: line 3 has 4 fields, but the first data row has 3 "
        "(header fields plus 1 index column(s)) (bad.csv)",
    ),
    "stray_quote_does_not_hide_a_wide_row": (
        b'a,b\nab"c,1\n1,2,3\n',
        "Expected 2 fields in line 3, saw 3",
        "Error parsing CSV: line 3 has 3 fields, but the header has 2 (bad.csv)",
    ),
    "trailing_separator_on_last_line_without_newline": (
        b"a,b\n1,2\n3,4,",
        "Expected 2 fields in line 3, saw 3",
        "Error parsing CSV: line 3 has 3 fields, but the header has 2 (bad.csv)",
    ),
    "unclosed_quote": (
        b'a,b\n1,2\n"x,3\n',
        "EOF inside string",
        'Error parsing CSV: a quoted field starting on line 3 is never closed (missing ")',
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_error_matches_pandas(case: str, tmp_path: Path) -> None:
    data, pandas_error, message = MALFORMED[case]
    csv_path = tmp_path / "bad.csv"
    csv_path.write_bytes(data)
    with pytest.raises(pd.errors.ParserError, match=re.escape(pandas_error)):
        pd.read_csv(csv_path)
    assert load_error(csv_path, tmp_path) == message


def test_wrong_extension(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"a,b\n1,2\n")
    assert load_error(path, tmp_path) == (
        "Only CSV files are supported (.csv, .tsv, .txt); 'x.xlsx' is not one. "
        "Export it as CSV first."
    )


def test_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    message = load_error(missing, tmp_path)
    assert message.startswith(f"File not found: {missing} (working directory: ")


# --- the parallel typed reader: anomalies far from the sampled rows ----------
# The loader guesses column kinds from the first 1000 rows and parses pieces
# of a few hundred KB in parallel; each column below turns into something
# else in a late piece, where only the reader's own checks can notice.

LATE_ROWS = 60_000


def _late_cell(column: str, i: int) -> str:
    late = i > LATE_ROWS - 5_000
    cells = {
        "plain_int": str(i * 7 - 3),
        "int_then_missing": "" if late and i % 11 == 0 else str(i),
        "int_then_na_word": "NA" if late and i % 13 == 0 else str(-i),
        "int_then_float": "2.5" if i == LATE_ROWS - 10 else str(i),
        "int_then_text": "n/a?" if i == LATE_ROWS - 3 else str(i),
        "int_then_padded": " 5" if i == LATE_ROWS - 7 else str(i),
        "negative_zero_then_missing": "-0" if i == 3 else ("" if i == LATE_ROWS - 2 else str(i % 5)),
        "float_with_na": "nan" if i % 97 == 0 else f"{(i % 1000) / 7:.6f}",
        "float_then_huge_int": "123456789012345678901" if i == LATE_ROWS - 1 else f"{i}.25",
        "float_then_exponent": "1e-300" if late and i % 17 == 0 else f"-{i % 300}.{i % 10}",
        "bools": "True" if i % 3 else "False",
        "quoted_text": f'"line {i}, ""q""\nnext"' if i % 5 == 0 else f"word{i % 9}",
    }
    return cells[column]


LATE_COLUMNS = [
    "plain_int", "int_then_missing", "int_then_na_word", "int_then_float", "int_then_text",
    "int_then_padded", "negative_zero_then_missing", "float_with_na", "float_then_huge_int",
    "float_then_exponent", "bools", "quoted_text",
]


@pytest.mark.parametrize("line_end", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("quotes", [True, False], ids=["quoted", "unquoted"])
def test_parallel_reader_matches_read_csv_on_late_surprises(
    line_end: str, quotes: bool, tmp_path: Path
) -> None:
    # Without quotes, numeric columns are also written to the Arrow file while
    # later pieces are still parsing (crates/csv-ingest/src/stream.rs): columns
    # that change type late must be rewritten or the file written again.
    columns = LATE_COLUMNS if quotes else [c for c in LATE_COLUMNS if c != "quoted_text"]
    csv_path = tmp_path / "late.csv"
    lines = [",".join(columns)]
    lines += [",".join(_late_cell(c, i) for c in columns) for i in range(LATE_ROWS)]
    csv_path.write_bytes((line_end.join(lines) + line_end).encode())
    assert csv_path.stat().st_size > 3 << 20, "big enough for several parallel pieces"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary, frame = load_via_rust(csv_path, tmp_path)
        expected = pd.read_csv(csv_path)
    assert_parity(frame, expected, summary)
    for column in columns:
        if expected[column].dtype == np.float64:
            # Bit for bit, including NaN positions and the sign of -0.0.
            ours = frame[column].to_numpy().view(np.uint64)
            theirs = expected[column].to_numpy().view(np.uint64)
            assert np.array_equal(ours, theirs), column


def test_numeric_file_written_early_matches_read_csv(tmp_path: Path) -> None:
    """Only numeric columns that stay numeric: the Arrow file keeps the columns written
    during the parse (its head is padded up to them) and reads back bit for bit."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "i": rng.integers(-10**12, 10**12, 300_000),
        "f": rng.normal(0, 1e6, 300_000).round(3),
        "ints_later_floats": np.where(np.arange(300_000) > 290_000, 0.5, 1.0),
        "t": rng.choice(["a", "bb", "ccc"], 300_000),
    })
    frame["ints_later_floats"] = [("0.5" if i > 290_000 else str(i)) for i in range(300_000)]
    frame["ints_with_gap"] = [("" if i == 299_000 else str(-i)) for i in range(300_000)]
    csv_path = tmp_path / "numeric.csv"
    frame.to_csv(csv_path, index=False)
    summary, ours = load_via_rust(csv_path, tmp_path)
    expected = pd.read_csv(csv_path)
    assert_parity(ours, expected, summary)
    for column in ("i", "f", "ints_later_floats", "ints_with_gap"):
        assert np.array_equal(ours[column].to_numpy().view(np.uint64),
                              expected[column].to_numpy().view(np.uint64)), column
    # The early-written layout: the body starts after 64 KB of room for the head, and
    # the unused room is zeros (a normal write puts column data there).
    written = (tmp_path / "numeric.arrow").read_bytes()
    assert summary["arrow_bytes"] == len(written)
    assert written[8192:60000] == bytes(60000 - 8192), "columns were not written early"


def test_blank_line_after_early_writes_falls_back_cleanly(tmp_path: Path) -> None:
    """Numeric pieces are written early; a blank line near the end sends the file to the
    polars path, whose table (one row fewer) must be what lands in the Arrow file."""
    rows = [f"{i},{i / 4}" for i in range(400_000)]
    rows.insert(399_000, "")
    csv_path = tmp_path / "blank.csv"
    csv_path.write_text("a,b\n" + "\n".join(rows) + "\n")
    summary, ours = load_via_rust(csv_path, tmp_path)
    expected = pd.read_csv(csv_path)
    assert len(expected) == 400_000
    assert_parity(ours, expected, summary)


def test_tab_only_line_after_early_writes_keeps_every_value(tmp_path: Path) -> None:
    """A line of only tabs is a row of NaN to pandas but stops the fast reader, so the
    polars path reads the file; its height matches the rows written early, and the
    early writes (some pieces never wrote) must still not be trusted."""
    rows = [f"{i}\t{i / 4}\tt{i % 7}" for i in range(400_000)]
    rows[399_000] = "\t\t"
    csv_path = tmp_path / "tabs.tsv"
    csv_path.write_text("a\tb\tc\n" + "\n".join(rows) + "\n")
    summary, ours = load_via_rust(csv_path, tmp_path)
    expected = pd.read_csv(csv_path, sep="\t")
    assert len(expected) == 400_000
    assert_parity(ours, expected, summary)


# --- randomized files: the parallel reader against pandas ----------------------
# Seeded, so a failure reproduces. Each file is a few MB (several parallel pieces,
# early writes), columns of ints, floats, text or bools with rare surprises sprinkled
# in: NA spellings, padding, exponents, -0, bools, quoted commas and line breaks,
# whole blank or separator-only lines, LF or CRLF, comma or tab separated.

FUZZ_SURPRISES = ["", "NA", "nan", "N/A", "null", " 5", "5 ", "1e5", "-0", "+7", "007", "2.5",
                  "-1.25e-3", "inf", "-Infinity", "True", "false", "x", '"q,1"', '"a\nb"',
                  '"say ""hi"""', '""', "   "]


def _fuzz_file(seed: int, path: Path) -> str:
    import random

    rng = random.Random(seed)
    sep = "\t" if path.suffix == ".tsv" else ","
    width = rng.randint(2, 6)
    kinds = [rng.choice(["int", "int", "float", "float", "text", "bool"]) for _ in range(width)]
    p_surprise = rng.choice([0.0, 1e-5, 1e-4, 1e-3])
    surprises = [s for s in FUZZ_SURPRISES if rng.random() < 0.5]
    make = {
        "int": lambda: str(rng.randint(-10**6, 10**6)),
        "float": lambda: f"{rng.uniform(-1e4, 1e4):.{rng.randint(0, 6)}f}",
        "text": lambda: rng.choice(["alpha", "beta", "gamma delta", "x" * rng.randint(1, 20)]),
        "bool": lambda: rng.choice(["True", "False"]),
    }
    lines = [sep.join(f"c{i}" for i in range(width))]
    for _ in range(rng.randint(60_000, 120_000)):
        cells = [rng.choice(surprises) if surprises and rng.random() < p_surprise else make[k]()
                 for k in kinds]
        line = sep.join(cells)
        if rng.random() < p_surprise / 10:
            line = rng.choice(["", sep * (width - 1), "   "])
        lines.append(line)
    newline = rng.choice(["\n", "\r\n"])
    path.write_bytes((newline.join(lines) + newline).encode())
    return sep


@pytest.mark.parametrize("seed", [3, 11, 42, 58, 64, 80])
def test_random_files_match_read_csv(seed: int, tmp_path: Path) -> None:
    csv_path = tmp_path / (f"fuzz{seed}.tsv" if seed % 4 == 3 else f"fuzz{seed}.csv")
    sep = _fuzz_file(seed, csv_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pd.read_csv(csv_path, sep=sep)
        summary, ours = load_via_rust(csv_path, tmp_path)
    assert_parity(ours, expected, summary)
    pd.testing.assert_frame_equal(ours, expected, check_exact=True)
    for column in expected.columns:
        if expected[column].dtype == np.float64:
            assert np.array_equal(ours[column].to_numpy().view(np.uint64),
                                  expected[column].to_numpy().view(np.uint64)), column
