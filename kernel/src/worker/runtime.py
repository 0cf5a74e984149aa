"""Python side of the kernel's worker: runs notebook cells and model-written questions.

The Rust worker embeds CPython, imports this module and calls its functions from the main
thread. Every output leaves through the `emit(kind, payload)` callback handed to `init`;
payloads hold only JSON values (str, int, float, bool, None, list, dict).
"""

import ast
import base64
import builtins
import codeop
import copy
import datetime
import html
import inspect as pyinspect  # `inspect` is one of this module's entry points
import io
import json
import keyword
import linecache
import math
import os
import pprint
import re
import sys
import tempfile
import threading
import traceback
import types
import uuid
import warnings

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: the worker has no display

import matplotlib.axes  # noqa: E402
import matplotlib.figure  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

# Limits the kernel may change through configure().
MAX_OUTPUT_SIZE = 10_000  # characters of text per output
MAX_SAMPLE_ROWS = 10  # rows of a question's table result
DEFAULT_SAMPLE_ROWS = 5  # rows in a dataset profile's sample
MAX_DATAFRAME_SIZE = 100_000_000  # cells (rows x columns) of a dataset read by pandas here
_SETTING_NAMES = ("MAX_OUTPUT_SIZE", "MAX_SAMPLE_ROWS", "DEFAULT_SAMPLE_ROWS", "MAX_DATAFRAME_SIZE")

FULL_RESULT_BYTES = 20_000  # serialized size bound of run_question's full_result
INTERPRETATION_CHARS = 1_500  # size bound of the text the model interprets
INTERPRETATION_STR_CHARS = 1_000  # the design doc's cut for results shown as plain text
PROFILE_CELL_CHARS = 40  # widest sample cell in a dataset profile's text
PROFILE_LINE_WIDTH = 160  # the profile's sample text wraps its columns past this width
FIGURE_DPI = 100
MAX_CELL_OUTPUT_BYTES = 5_000_000  # stream text one cell or question may send, then one notice
MAX_CELL_DISPLAY_BYTES = 64_000_000  # rich outputs (tables, images) one %%python cell may send
MAX_QUESTION_DISPLAY_BYTES = 5_000_000  # rich outputs one question (model code) may send
# The worker's private read-write directory (the kernel sets it; TMPDIR points there too).
SCRATCH = os.environ.get("LLM_ANALYTICS_SCRATCH") or tempfile.gettempdir()

_PANDAS_DEFAULTS = {"display.max_columns": 50, "display.width": 120}
# pandas 3 stores text as "str"; "object", "string" and "category" cover older and explicit kinds.
_TEXT_DTYPES = ["object", "str", "string", "category"]
_CELL_FILE = re.compile(r"<cell-(\d+)>")
_CELL_FILE_LINE = re.compile(r'File "<cell-(\d+)>", line (\d+)')

NS: dict = {}  # the notebook user's namespace
DATASETS: dict = {}  # dataset name -> frame exactly as loaded
_current_dataset = None  # name of the dataset bound to `df`
_emit = None
_writers: list = []
# This cell's output budget: stream text and rich outputs are counted apart.
_output = {"text": 0, "rich": 0, "rich_limit": MAX_CELL_DISPLAY_BYTES, "capped": False}
_dataset_files: dict = {}  # dataset name -> (file, sheet), to reload a frame a question damaged


def _sibling(name: str, filename: str) -> types.ModuleType:
    """A module the worker embeds next to this one, or (in tests) loaded from its file."""
    module = sys.modules.get(name)
    if module is None:
        import importlib.util

        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), filename)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


_integrity = _sibling("llm_integrity", "integrity.py")


def _role() -> str:
    """"question": this process runs one question's model code and is killed after it."""
    channel = sys.modules.get("_llm_channel")
    return getattr(channel, "ROLE", "user")


# The user's variables a question may see, as one pickle (kernel -> question worker).
MAX_EXPORT_BYTES = 8_000_000


# ---------------------------------------------------------------------------
# Start-up and settings


def init(emit) -> None:
    """Route output through `emit` and start from an empty user namespace."""
    global _emit, _current_dataset
    _emit = emit
    _writers[:] = [_StreamWriter("stdout"), _StreamWriter("stderr")]
    sys.stdout, sys.stderr = _writers
    sys.stdin = io.StringIO()  # fd 0 carries the kernel's requests: input() must not read them
    _apply_pandas_defaults()
    DATASETS.clear()
    _current_dataset = None
    NS.clear()
    NS.update(_base_namespace(), clear_output=clear_output)
    plt.close(plt.figure())  # pyplot's lazy state exists before the first integrity baseline
    _integrity.STATE.dirty = True


def configure(settings: dict) -> None:
    """Take the kernel's limits; keys other than the known settings are ignored."""
    for name in _SETTING_NAMES:
        if name in settings:
            globals()[name] = _positive_int(name, settings[name])
    _integrity.STATE.dirty = True


def _positive_int(name, value) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"{name} must be at least 1, got {value!r}")
    return number


def _apply_pandas_defaults() -> None:
    for option, value in _PANDAS_DEFAULTS.items():
        pd.set_option(option, value)


def _base_namespace() -> dict:
    """Names every cell and every question starts with."""
    return {
        "__name__": "__main__",
        "__builtins__": builtins,
        "pd": pd,
        "np": np,
        "plt": plt,
        "datetime": datetime,
        "display": display,
        "SCRATCH": SCRATCH,
    }


# The base names plus clear_output: no dataset binding, and no user variable copied into a
# question, may shadow them.
_RESERVED_NAMES = frozenset(
    {"__name__", "__builtins__", "pd", "np", "plt", "datetime", "display", "clear_output",
     "SCRATCH"}
)


def reset_question_state() -> None:
    """Undo what a question may have changed that later questions would see."""
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 warns when resetting its deprecated options
        pd.reset_option("all")
    _apply_pandas_defaults()


def dataset_names() -> list:
    return list(DATASETS)


def namespace_names() -> list:
    return sorted(name for name in NS if not name.startswith("_") and name != "SCRATCH")


def sandbox_report() -> dict:
    """The containment layers: the worker's (recorded before Python started) and this module's."""
    try:
        import _llm_channel

        report = json.loads(_llm_channel.SANDBOX)
    except (ImportError, AttributeError, ValueError):
        report = {"layers": [], "limits": [], "scratch": SCRATCH}
    report.setdefault("layers", []).extend([
        {"name": "output cap", "active": True,
         "detail": f"{MAX_CELL_OUTPUT_BYTES // 1_000_000} MB of text per cell; rich outputs "
                   f"{MAX_QUESTION_DISPLAY_BYTES // 1_000_000} MB per question, "
                   f"{MAX_CELL_DISPLAY_BYTES // 1_000_000} MB per %%python cell; then one notice"},
        {"name": "integrity", "active": True,
         "detail": "after each question: library state (module and class attributes, pandas options, "
                   "sys hooks, signal handlers, environment) restored, loaded data checked and "
                   "reloaded if changed; questions cannot start threads"},
    ])
    return report


def _reset_output_budget(rich_limit: int = MAX_CELL_DISPLAY_BYTES) -> None:
    _output.update(text=0, rich=0, rich_limit=rich_limit, capped=False)


def _take_output(size: int, kind: str = "text") -> int:
    """How much of `size` may still be sent in this cell (the rest is dropped)."""
    limit = MAX_CELL_OUTPUT_BYTES if kind == "text" else _output["rich_limit"]
    left = limit - _output[kind]
    _output[kind] += size
    return max(0, min(size, left))


def _output_capped() -> None:
    """Say once per cell that output was dropped."""
    if not _output["capped"]:
        _output["capped"] = True
        _emit("stream", {"name": "stderr",
                         "text": "\n[output truncated: this cell produced more output than allowed (see %sandbox)]\n"})


# ---------------------------------------------------------------------------
# Events and streams


class _StreamWriter(io.TextIOBase):
    """sys.stdout / sys.stderr replacement that sends text as "stream" events."""

    encoding = "utf-8"

    def __init__(self, stream_name: str):
        super().__init__()
        self.stream_name = stream_name
        self._pending: list = []
        self._size = 0  # characters pending
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        size = len(text)
        allowed = _take_output(size)
        shown = text if allowed == size else text[:allowed]
        with self._lock:
            if shown:
                self._pending.append(shown)
                self._size += len(shown)
            big = self._size > 65536
        if "\n" in shown or big or allowed < size:
            self.flush()
        if allowed < size:
            _output_capped()
        return size

    def flush(self) -> None:
        with self._lock:  # take the text under the lock, emit outside it
            text = "".join(self._pending)
            self._pending.clear()
            self._size = 0
        if text:
            _emit("stream", {"name": self.stream_name, "text": text})


def _flush_streams() -> None:
    for writer in _writers:
        writer.flush()


def _send(kind: str, payload: dict) -> None:
    """Emit an event after any pending stream text, so outputs keep their order."""
    _flush_streams()
    data = payload.get("data")
    if isinstance(data, dict):
        size = sum(len(v) if isinstance(v, str) else 64 for v in data.values())
        if _take_output(size, "rich") < size:
            _output_capped()
            return
    _emit(kind, payload)


# ---------------------------------------------------------------------------
# Rich display


_REPR_METHODS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("image/svg+xml", "_repr_svg_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("application/json", "_repr_json_"),
    ("text/latex", "_repr_latex_"),
)


def mime_bundle(obj) -> tuple:
    """IPython-like (data, metadata) for obj; text/plain is always present and capped."""
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        data, metadata = {"text/html": _frame_html(_as_frame(obj))}, {}
    elif isinstance(obj, matplotlib.figure.Figure):
        data, metadata = {"image/png": _figure_png(obj)}, {}
    elif isinstance(obj, (str, type)):  # text is never HTML; classes only hold unbound _repr_*_
        data, metadata = {}, {}
    else:
        data, metadata = _rich_reprs(obj)
    data["text/plain"] = _cap_text(repr(obj))
    return data, metadata


def _as_frame(obj) -> pd.DataFrame:
    return obj.to_frame() if isinstance(obj, pd.Series) else obj


def _frame_html(frame: pd.DataFrame) -> str:
    """pandas' notebook table under the current display options, always escaped."""
    max_rows = pd.get_option("display.max_rows")
    if max_rows and len(frame) > max_rows:
        max_rows = pd.get_option("display.min_rows") or max_rows  # pandas' own rule for long frames
    return frame.to_html(
        escape=True,
        notebook=True,
        max_rows=max_rows,
        max_cols=pd.get_option("display.max_columns") or None,
        show_dimensions=pd.get_option("display.show_dimensions"),
    )


def _rich_reprs(obj) -> tuple:
    data, metadata = {}, {}
    for mime, method in _REPR_METHODS:
        _add_repr(data, metadata, mime, _call_repr(obj, method))
    bundle = _call_repr(obj, "_repr_mimebundle_", include=None, exclude=None)
    if isinstance(bundle, tuple) and len(bundle) == 2:
        bundle, bundle_metadata = bundle
        metadata.update(bundle_metadata or {})
    for mime, value in (bundle or {}).items():
        _add_repr(data, metadata, mime, value)
    return data, metadata


def _add_repr(data: dict, metadata: dict, mime: str, value) -> None:
    if isinstance(value, tuple) and len(value) == 2:  # (value, metadata) form
        value, metadata[mime] = value
    if not isinstance(value, (str, bytes, dict, list)):  # None, or junk from a catch-all __getattr__
        return
    data[mime] = base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def _call_repr(obj, method_name: str, **kwargs):
    """A _repr_*_ method's value; None when absent or failing, as IPython does."""
    method = getattr(obj, method_name, None)
    if not callable(method):
        return None
    try:
        return method(**kwargs)
    except Exception:
        return None


def _cap_text(text: str, limit: int = None) -> str:
    limit = MAX_OUTPUT_SIZE if limit is None else limit
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [truncated: {len(text)} characters total]"


def _safe_str(obj) -> str:
    try:
        return str(obj)
    except Exception as exc:  # a broken __str__ must not hide the result's type
        return f"<{type(obj).__name__} object: str() failed with {type(exc).__name__}>"


class DisplayHandle:
    """Returned by display(..., display_id=...) to replace that output later."""

    def __init__(self, display_id: str):
        self.display_id = display_id

    def display(self, obj) -> None:
        display(obj, display_id=self.display_id)

    def update(self, obj) -> None:
        display(obj, display_id=self.display_id, update=True)

    def __repr__(self) -> str:
        return f"<DisplayHandle display_id={self.display_id}>"


def display(*objs, display_id=None, clear=False, raw=False, update=False):
    """IPython's display(): one display_data (or update_display_data) event per object."""
    if clear:
        clear_output(wait=True)
    if display_id is True:
        display_id = uuid.uuid4().hex
    if update and not display_id:
        raise TypeError("display(update=True) needs a display_id")
    kind = "update_display_data" if update else "display_data"
    for obj in objs:
        data, metadata = (obj, {}) if raw else mime_bundle(obj)
        payload = {"data": data, "metadata": metadata}
        if display_id:
            payload["transient"] = {"display_id": str(display_id)}
        _send(kind, payload)
    return DisplayHandle(str(display_id)) if display_id else None


def clear_output(wait=False) -> None:
    _send("clear_output", {"wait": bool(wait)})


# ---------------------------------------------------------------------------
# Figures


def _open_figures() -> list:
    return [plt.figure(number) for number in plt.get_fignums()]


def _is_plot(value) -> bool:
    return isinstance(value, (matplotlib.figure.Figure, matplotlib.axes.Axes))


def _figure_of(plot) -> matplotlib.figure.Figure:
    return plot.get_figure(root=True)


def _figure_png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=FIGURE_DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _show_figure(fig, metadata: dict) -> bool:
    """Emit fig as a PNG display; a figure that fails to render is reported on stderr."""
    try:
        data = {"image/png": _figure_png(fig), "text/plain": repr(fig)}
    except Exception as exc:  # one broken plot must not lose the other outputs
        sys.stderr.write(f"Could not render figure: {type(exc).__name__}: {exc}\n")
        return False
    _send("display_data", {"data": data, "metadata": metadata})
    return True


def _flush_figures() -> None:
    for fig in _open_figures():
        _show_figure(fig, {})
    plt.close("all")


# ---------------------------------------------------------------------------
# Notebook cells


def run_cell(code: str, execution_count: int) -> dict:
    """Run a %%python cell in NS like IPython; the last expression's value is the result."""
    filename = f"<cell-{execution_count}>"
    _remember_source(filename, code)
    _reset_output_budget()
    _integrity.STATE.dirty = True  # the user's own changes become the questions' baseline
    try:
        _execute(code, filename)
        outcome = {"status": "ok"}
    except BaseException as exc:  # even SystemExit or KeyboardInterrupt must not end the worker
        outcome = _report_error(exc)
    _flush_figures()
    _flush_streams()
    return outcome


def _remember_source(filename: str, code: str) -> None:
    """Let tracebacks and inspect.getsource read the code; mtime None keeps the entry cached."""
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)


def _execute(code: str, filename: str) -> None:
    module = ast.parse(code, filename)
    last = module.body.pop() if module.body and isinstance(module.body[-1], ast.Expr) else None
    exec(compile(module, filename, "exec"), NS)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), filename, "eval"), NS)
        if not code.rstrip().endswith(";"):  # IPython's way to silence the last value
            _publish_result(value)


def _publish_result(value) -> None:
    if value is None:
        return
    NS["_"] = value
    if _is_plot(value) and _figure_of(value) in _open_figures():
        return  # the figure flush after the cell shows it
    data, metadata = mime_bundle(value)
    _send("execute_result", {"data": data, "metadata": metadata})


def _report_error(exc: BaseException) -> dict:
    ename, evalue = type(exc).__name__, _safe_str(exc)
    _send("error", {"ename": ename, "evalue": evalue, "traceback": _format_traceback(exc)})
    return {"status": "error", "ename": ename, "evalue": evalue}


def _format_traceback(exc: BaseException) -> list:
    """IPython-style entries for the user's cells only, ending with "Type: message"."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _CELL_FILE.fullmatch(f.filename)]
    entries = ["Traceback (most recent call last):"] if frames else []
    entries += [_format_frame(frame) for frame in frames]
    last = "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
    entries.append(_CELL_FILE_LINE.sub(r"Cell In[\1], line \2", last))
    return entries


def _format_frame(frame: traceback.FrameSummary) -> str:
    cell = _CELL_FILE.fullmatch(frame.filename).group(1)
    where = "" if frame.name == "<module>" else f", in {frame.name}"
    return f"Cell In[{cell}], line {frame.lineno}{where}\n----> {frame.lineno} {frame.line}"


# ---------------------------------------------------------------------------
# Datasets


def load_dataset(name: str, ipc_path: str, make_current: bool, source: str,
                 null_counts: list | None = None, sheet: str | None = None) -> dict:
    """Register a dataset (an Arrow file from csv_ingest, or a staged Parquet/Excel/JSON file
    read here with pandas' own reader) and return its profile, or ``{"load_error": why}``.
    ``null_counts`` (per column, from the loader) saves a pass over the data."""
    try:
        frame = _read_dataset(ipc_path, sheet)
    except _LoadError as e:
        return {"load_error": str(e)}
    if not ipc_path.endswith(".arrow") and frame.size > MAX_DATAFRAME_SIZE:
        return {"load_error": (
            f"{source} has {len(frame):,} rows x {frame.shape[1]:,} columns = {frame.size:,} cells, "
            f"over MAX_DATAFRAME_SIZE={MAX_DATAFRAME_SIZE:,}. Raise MAX_DATAFRAME_SIZE "
            "(environment or .env) and restart the kernel, or load a smaller extract.")}
    _register_frame(name, frame, ipc_path, sheet, make_current)
    return _profile(name, frame, source, null_counts)


def restore_dataset(name: str, ipc_path: str, make_current: bool, sheet: str | None = None) -> dict:
    """Register a dataset again after a worker respawn; returns only its size."""
    frame = _read_dataset(ipc_path, sheet)
    _register_frame(name, frame, ipc_path, sheet, make_current)
    return {"name": name, "rows": len(frame), "columns": frame.shape[1]}


class _LoadError(Exception):
    """A file pandas cannot read as its extension says; the message is for the user."""


_EXCEL = (".xlsx", ".xlsm", ".xls")


def _read_dataset(path: str, sheet: str | None) -> pd.DataFrame:
    """The frame of a staged file: csv_ingest's Arrow file, or pandas' own reader for
    Parquet, Excel and JSON (so the dtypes are exactly pandas')."""
    lower = path.lower()
    if lower.endswith(".arrow"):
        import arrow_bridge  # the worker's sibling module; imported on first use to keep init fast

        return arrow_bridge.read_ipc_to_pandas(path)
    try:
        if lower.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if lower.endswith(_EXCEL):
            return _read_excel(path, sheet)
        if lower.endswith((".jsonl", ".ndjson")):
            return pd.read_json(path, lines=True)
        if lower.endswith(".json"):
            return pd.read_json(path)
    except _LoadError:
        raise
    except ImportError as e:
        raise _LoadError(f"The worker's Python lacks a reader for this file ({e}). Run ./install.sh to repair it.") from e
    except Exception as e:  # noqa: BLE001 - any reader failure is the file's, said plainly
        kind = {".parquet": "Parquet", ".pq": "Parquet", ".json": "JSON", ".jsonl": "JSON lines",
                ".ndjson": "JSON lines"}.get(os.path.splitext(lower)[1], "Excel")
        raise _LoadError(f"Could not read the file as {kind}: {type(e).__name__}: {e}") from e
    raise _LoadError(f"No reader for {os.path.basename(path)}")


def _read_excel(path: str, sheet: str | None) -> pd.DataFrame:
    with pd.ExcelFile(path) as book:
        names = [str(n) for n in book.sheet_names]
        listed = ", ".join(repr(n) for n in names)
        if sheet is None:
            if len(names) > 1:
                raise _LoadError(
                    f"The workbook has {len(names)} sheets: {listed}. Name one: %load PATH --sheet NAME")
            sheet = names[0]
        elif sheet not in names:
            raise _LoadError(f"The workbook has no sheet {sheet!r}; its sheets are {listed}.")
        return book.parse(sheet)


def _register_frame(name: str, frame: pd.DataFrame, path: str, sheet: str | None,
                    make_current: bool) -> None:
    global _current_dataset
    frame = _integrity.seal_frame(frame)
    DATASETS[name] = frame
    _dataset_files[name] = (path, sheet)
    _integrity.STATE.dirty = True
    view = frame.copy(deep=False)  # cells change their own copy; the registry stays as loaded
    if _bindable(name):
        NS[name] = view
    if make_current:
        _current_dataset = name
        NS["df"] = view
    _flush_streams()


def _bindable(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and name not in _RESERVED_NAMES


# Wide tables: the profile shows this many columns (all are still listed in "columns").
PROFILE_MAX_COLUMNS = 40


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _printable(value):
    """Text with control and invisible characters written as escapes: a cell value or a
    column name can never start a new line of a profile or a prompt."""
    if isinstance(value, str) and _CONTROL_CHARS.search(value):
        return _CONTROL_CHARS.sub(lambda m: repr(m.group())[1:-1], value)
    return value


def _printable_sample(sample: pd.DataFrame) -> pd.DataFrame:
    """The sample as text-safe values; numbers keep their dtype and formatting."""
    text_columns = [i for i, dtype in enumerate(sample.dtypes) if str(dtype) in _TEXT_DTYPES]
    if not text_columns and not any(_CONTROL_CHARS.search(str(c)) for c in sample.columns):
        return sample
    out = sample.copy()
    for i in text_columns:
        out.isetitem(i, out.iloc[:, i].map(_printable))
    out.columns = [_printable(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _profile(name: str, frame: pd.DataFrame, source: str, null_counts: list | None = None) -> dict:
    shown = frame.iloc[:, :PROFILE_MAX_COLUMNS]
    sample = shown.head(DEFAULT_SAMPLE_ROWS)
    overview = _column_overview(frame, null_counts)
    sample_text = _printable_sample(sample).to_string(
        max_colwidth=PROFILE_CELL_CHARS, line_width=PROFILE_LINE_WIDTH)
    hidden = frame.shape[1] - shown.shape[1]
    if hidden:
        sample_text += f"\n[sample shows the first {shown.shape[1]} of {frame.shape[1]} columns]"
    shown_overview = overview.head(PROFILE_MAX_COLUMNS)
    more = f"\n... and {hidden} more columns" if hidden else ""
    return {
        "name": name,
        "source": source,
        "rows": len(frame),
        "columns": _column_names(frame),
        "dtypes": {str(column): str(dtype) for column, dtype in frame.dtypes.items()},
        "null_counts": {column: int(n) for column, n in zip(overview["column"], overview["nulls"])},
        "numeric_columns": _column_names(frame.select_dtypes(include=[np.number])),
        "categorical_columns": _column_names(frame.select_dtypes(include=_TEXT_DTYPES)),
        "sample_text": sample_text,
        # Every column: a wide table's column that a question names is described from here.
        "sample_records": _records(frame.head(DEFAULT_SAMPLE_ROWS), SAMPLE_RECORD_CHARS),
        # For the kernel's matching of names in questions only; never put into a prompt.
        "categories": _categories(frame),
        "html": _profile_html(shown_overview, sample, hidden),
        "text": f"{shown_overview.to_string(index=False)}{more}\n\n{sample_text}",
        "memory_bytes": int(frame.memory_usage(deep=False).sum()),
    }


# Category values for matching names in questions (assumptions.rs): text columns with at most
# CATEGORY_MAX_VALUES distinct values among the first CATEGORY_SCAN_ROWS rows, the first
# CATEGORY_MAX_COLUMNS text columns examined, values of at most CATEGORY_MAX_CHARS characters.
CATEGORY_MAX_VALUES = 50
CATEGORY_SCAN_ROWS = 200_000
CATEGORY_MAX_COLUMNS = 40
CATEGORY_MAX_CHARS = 80
# A column whose first rows already hold more distinct values is skipped without a full scan.
CATEGORY_PROBE_ROWS = 2_000
# Text values in sample_records are cut to this many characters.
SAMPLE_RECORD_CHARS = 200


def _categories(frame: pd.DataFrame) -> dict:
    out = {}
    text = [i for i, dtype in enumerate(frame.dtypes) if str(dtype) in _TEXT_DTYPES]
    for i in text[:CATEGORY_MAX_COLUMNS]:
        column = frame.iloc[:CATEGORY_SCAN_ROWS, i]
        try:
            if column.iloc[:CATEGORY_PROBE_ROWS].nunique() > CATEGORY_MAX_VALUES:
                continue
            values = column.dropna().unique()
        except TypeError:  # unhashable cells (a %%python-made frame): no categories
            continue
        if len(values) > CATEGORY_MAX_VALUES:
            continue
        kept = [v for v in values if isinstance(v, str) and len(v) <= CATEGORY_MAX_CHARS]
        if kept:
            out[str(frame.columns[i])] = kept
    return out


def _column_names(frame: pd.DataFrame) -> list:
    return [str(column) for column in frame.columns]


def _column_overview(frame: pd.DataFrame, null_counts: list | None = None) -> pd.DataFrame:
    if null_counts is None or len(null_counts) != frame.shape[1]:
        null_counts = [len(frame) - int(n) for n in frame.count()]
    return pd.DataFrame(
        {
            "column": _column_names(frame),
            "dtype": [str(dtype) for dtype in frame.dtypes],
            "non-null": [len(frame) - int(n) for n in null_counts],
            "nulls": [int(n) for n in null_counts],
        }
    )


def _profile_html(overview: pd.DataFrame, sample: pd.DataFrame, hidden: int = 0) -> str:
    note = f"<p>... and {hidden} more columns (the profile shows the first {len(overview)}).</p>" if hidden else ""
    tables = overview.to_html(index=False, escape=True, border=0) + note + sample.to_html(escape=True, border=0)
    return f'<div class="llm-analytics-profile">{tables}</div>'


def _records(frame: pd.DataFrame, max_chars: int | None = None) -> list:
    names = _column_names(frame)
    rows = frame.itertuples(index=False, name=None)
    records = [{name: _json_safe(value) for name, value in zip(names, row)} for row in rows]
    if max_chars is not None:
        for record in records:
            for name, value in record.items():
                if isinstance(value, str) and len(value) > max_chars:
                    record[name] = value[:max_chars] + "…"
    return records


def _json_safe(value):
    """value as plain JSON: missing -> None, numpy -> Python, dates -> ISO text, else str."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if _is_missing(value):
        return None
    if isinstance(value, (np.number, np.bool_)):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):  # includes pd.Timestamp
        return value.isoformat()
    return str(value)


def _is_missing(value) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # objects pandas cannot judge are values
        return False


# ---------------------------------------------------------------------------
# Questions (model-written code)


def export_variables() -> dict:
    """The user's variables for a question worker: one pickle, bounded; what cannot be
    pickled (modules, open files, lambdas...) or is too large is named, not sent."""
    import pickle

    chosen, skipped, size = {}, [], 0
    for name, value in NS.items():
        if not _is_user_variable(name, value) or name in DATASETS:
            continue
        try:
            blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - anything unpicklable simply stays behind
            skipped.append(name)
            continue
        if size + len(blob) > MAX_EXPORT_BYTES:
            skipped.append(name)
            continue
        chosen[name] = blob
        size += len(blob)
    payload = base64.b64encode(pickle.dumps(chosen)).decode("ascii") if chosen else ""
    return {"variables": payload, "skipped": skipped}


def _import_variables(payload: str) -> None:
    import pickle

    for name, blob in pickle.loads(base64.b64decode(payload)).items():
        try:
            NS[name] = pickle.loads(blob)
        except Exception:  # noqa: BLE001 - a class defined in %%python cannot be rebuilt here
            pass


def run_question(code: str, execution_count: int, variables: str = "") -> dict:
    """Run model code in a fresh namespace; report its `result` variable or its failure.

    In a question worker (the normal case) the process is thrown away afterwards, so nothing
    needs undoing; in-process callers (tests) get the integrity restore instead.
    """
    if variables:
        _import_variables(variables)
    if _role() == "question":
        return _run_question(code, execution_count)
    saved = _begin_question()
    try:
        outcome = _run_question(code, execution_count)
    finally:
        _end_question(saved)
    if _integrity.STATE.tainted:
        outcome["worker_restart"] = True  # the worker ends after this reply; the kernel starts another
    return outcome


def _run_question(code: str, execution_count: int) -> dict:
    filename = f"<question-{execution_count}>"
    _remember_source(filename, code)
    _reset_output_budget(MAX_QUESTION_DISPLAY_BYTES)
    reset_question_state()
    try:
        namespace = _question_namespace()
        with matplotlib.rc_context():  # style changes end with the question
            try:
                exec(compile(code, filename, "exec"), namespace)
                outcome = _publish_question_result(namespace.get("result"))
            except BaseException as exc:  # reported to the kernel, which may retry; never raised
                outcome = _question_failure(exc, filename)
            finally:
                plt.close("all")
                _flush_streams()
    finally:
        reset_question_state()
    return outcome


def _begin_question() -> tuple:
    """What the question may change that we restore by hand: namespaces and datasets."""
    _integrity.STATE.begin_question()
    prints = {name: _integrity.fingerprint(frame) for name, frame in DATASETS.items()}
    return dict(NS), dict(DATASETS), _current_dataset, prints


def _end_question(saved: tuple) -> None:
    """Undo what the question changed (library state, namespaces, data), cheaply."""
    global _current_dataset
    _integrity.STATE.end_question()
    reset_question_state()
    ns, datasets, current, prints = saved
    _current_dataset = current
    for registry, before in ((NS, ns), (DATASETS, datasets)):
        if registry.keys() != before.keys() or any(registry[k] is not v for k, v in before.items()):
            registry.clear()
            registry.update(before)
    for name, frame in list(DATASETS.items()):
        if name in prints and _integrity.fingerprint(frame) != prints[name]:
            # A question reached the loaded frame itself: load it again from its Arrow file.
            path, sheet = _dataset_files[name]
            _register_frame(name, _read_dataset(path, sheet), path, sheet, make_current=name == current)
            _integrity.STATE.restored.append(f"dataset:{name}")


def _question_namespace() -> dict:
    """Base names, the user's variables and datasets as copies a question cannot change."""
    namespace = _base_namespace()
    namespace["display"] = _question_display
    namespace.update(
        (name, _isolated(value)) for name, value in NS.items() if _is_user_variable(name, value)
    )
    namespace.update(
        (name, frame.copy(deep=False)) for name, frame in DATASETS.items() if _bindable(name)
    )
    if _current_dataset is not None:
        namespace["df"] = DATASETS[_current_dataset].copy(deep=False)
    namespace["result"] = None
    return namespace


def _is_user_variable(name: str, value) -> bool:
    return (
        not name.startswith("_")
        and name not in _RESERVED_NAMES
        and not isinstance(value, types.ModuleType)
    )


def _isolated(value):
    """A cheap stand-in for value that in-place changes cannot write through."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy(deep=False)  # Copy-on-Write: writes go to the copy
    if isinstance(value, np.ndarray):
        view = value.view()
        view.flags.writeable = False
        return view
    if isinstance(value, (list, dict, set)):
        return copy.copy(value)
    return value


def _publish_question_result(result) -> dict:
    result = _plain_values(result)
    figures = _result_figures(result)
    truncated = False
    if result is not None and not _is_plot(result):
        data, extra, truncated = format_result(result)
        _send("execute_result", {"data": data, "metadata": _result_metadata(extra)})
    shown = sum(_show_figure(fig, _result_metadata({})) for fig in figures)
    full_result, full_truncated = _full_result(result)
    return {
        "status": "ok",
        "summary": summarize_result(result),
        "for_interpretation": format_result_for_interpretation(result),
        "shape_summary": shape_summary(result),
        "full_result": full_result,
        "truncated": truncated or full_truncated,
        "result_type": type(result).__name__,
        "figures": shown,
    }


def _plain_scalar(value):
    return value.item() if isinstance(value, (np.number, np.bool_)) else value


def _plain_values(value, depth: int = 0):
    """Containers with numpy scalars inside as plain numbers, so a tuple of means reads
    (4349.27, 3599.77), not (np.float64(4349.27), np.float64(3599.77))."""
    if depth > 4 or (isinstance(value, (tuple, list, dict, set, frozenset)) and len(value) > 10_000):
        return value
    if isinstance(value, (np.number, np.bool_)):
        return value.item()
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_plain_values(v, depth + 1) for v in value)
    if isinstance(value, list):
        return [_plain_values(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {_plain_values(k, depth + 1): _plain_values(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return type(value)(_plain_values(v, depth + 1) for v in value)
    return value


def _result_figures(result) -> list:
    """Open figures, plus the result's own figure if the code already closed it."""
    figures = _open_figures()
    if _is_plot(result) and _figure_of(result) not in figures:
        figures.append(_figure_of(result))
    return figures


def _result_metadata(extra: dict) -> dict:
    return {"llm_analytics": {"role": "result", **extra}}


def _question_failure(exc: BaseException, filename: str) -> dict:
    lineno, line = _failure_location(exc, filename)
    return {
        "status": "error",
        "ename": type(exc).__name__,
        "evalue": _safe_str(exc),
        "lineno": lineno,
        "line": line,
        "friendly": friendly_error(exc),
    }


def _failure_location(exc: BaseException, filename: str) -> tuple:
    """(line number, source line) of the innermost frame in the question's code."""
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        return exc.lineno, (exc.text or "").strip() or None
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return (frames[-1].lineno, frames[-1].line) if frames else (None, None)


def _question_display(*objs, **_options) -> None:
    """display() for generated code: tables, figures and plain text; never HTML of its own."""
    for obj in objs:
        if isinstance(obj, (pd.DataFrame, pd.Series, matplotlib.figure.Figure)):
            data, _ = mime_bundle(obj)
        else:
            data = {"text/plain": _cap_text(_safe_repr(obj))}
        _send("display_data", {"data": data, "metadata": _result_metadata({})})


def _safe_repr(obj) -> str:
    try:
        return repr(obj)
    except Exception as exc:  # a broken __repr__ must not hide the output
        return f"<{type(obj).__name__} object: repr() failed with {type(exc).__name__}>"


def friendly_error(exc: BaseException) -> str:
    """The design doc's wording for a failed question."""
    ename, evalue = type(exc).__name__, _safe_str(exc)
    if isinstance(exc, MemoryError):
        return ("Out of memory: the analysis needed more memory than the worker's limit "
                "(see %sandbox); try a smaller selection of the data")
    if isinstance(exc, NameError) and "is not defined" in evalue:
        return f"Variable or function not found: {evalue}"
    if isinstance(exc, KeyError):
        return f"Column not found in DataFrame: {evalue}"
    if isinstance(exc, TypeError):
        return f"Type error in operation: {evalue}"
    if isinstance(exc, ValueError):
        return f"Invalid value or operation: {evalue}"
    return f"{ename}: {evalue}" if evalue else ename


def format_result(result) -> tuple:
    """(mime data, extra metadata, truncated) for a question's result in the notebook.

    Tables are capped at MAX_SAMPLE_ROWS and text at MAX_OUTPUT_SIZE; the only HTML is
    pandas' escaped to_html, never text taken from the result itself.
    """
    result = _plain_scalar(result)
    if isinstance(result, pd.DataFrame):
        return _table_result(result, result.shape)
    if isinstance(result, pd.Series):
        return _table_result(result.to_frame(), result.shape)
    if isinstance(result, np.ndarray):
        return _array_result(result)
    if isinstance(result, (bool, int, float)):
        return {"text/plain": repr(result)}, {}, False
    if isinstance(result, (list, tuple, dict, set)):
        text = _container_text(result)
    else:
        text = result if isinstance(result, str) else _safe_str(result)
    return {"text/plain": _cap_text(text)}, {}, len(text) > MAX_OUTPUT_SIZE


def _table_result(frame: pd.DataFrame, shape: tuple) -> tuple:
    shown = frame.head(MAX_SAMPLE_ROWS)
    max_cols = pd.get_option("display.max_columns") or None
    table_html = shown.to_html(escape=True, max_cols=max_cols)
    text = shown.to_string(max_cols=max_cols)
    truncated = len(frame) > len(shown)
    if truncated:
        caption = f"Showing {len(shown)} of {len(frame)} rows"
        table_html += f"<p>{html.escape(caption)}</p>"
        text += f"\n{caption}"
    data = {"text/html": table_html, "text/plain": _cap_text(text)}
    return data, {"shape": list(shape)}, truncated


def _array_result(array: np.ndarray) -> tuple:
    body, truncated = _array_text(array)
    data = {"text/plain": f"Array with shape {array.shape}:\n{body}"}
    return data, {"shape": list(array.shape)}, truncated


def _array_text(array: np.ndarray) -> tuple:
    if array.size > MAX_OUTPUT_SIZE:  # each element prints as 3+ characters: the list would be cut anyway
        return np.array2string(array, separator=", ", threshold=MAX_SAMPLE_ROWS), True
    text = str(array.tolist())
    return _cap_text(text), len(text) > MAX_OUTPUT_SIZE


def _container_text(value) -> str:
    flat = repr(value)
    if len(flat) > MAX_OUTPUT_SIZE:  # too long to show whole: skip the costly pretty layout
        return flat
    return pprint.pformat(value, sort_dicts=False)


def summarize_result(result) -> str:
    """The design doc's one-line summary kept in the conversation history."""
    result = _plain_scalar(result)
    if result is None:
        return "No result"
    if isinstance(result, pd.DataFrame):
        return f"DataFrame with {result.shape[0]} rows and {result.shape[1]} columns"
    if isinstance(result, pd.Series):
        return f"Series with {len(result)} values"
    if isinstance(result, dict):
        return f"Dictionary with {len(result)} keys"
    if isinstance(result, (list, tuple)):
        return f"List with {len(result)} items"
    if isinstance(result, (int, float)):  # bool included, as in the design doc
        return f"Numeric value: {result}"
    if isinstance(result, str):
        if len(result) > 100:
            return f"String (length: {len(result)}): {result[:100]}..."
        return f"String: {result}"
    return f"Result of type: {type(result).__name__}"


def shape_summary(result) -> str:
    """The result's shape and types, no values (what privacy mode `schema` lets the
    interpretation see). Result column names are left out: a pivot's names are data."""
    result = _plain_scalar(result)
    if result is None:
        return "No result (the answer was printed or drawn)"
    if isinstance(result, pd.DataFrame):
        kinds = ", ".join(sorted({str(t) for t in result.dtypes})) or "none"
        return f"A table of {result.shape[0]} rows and {result.shape[1]} columns (types: {kinds})"
    if isinstance(result, pd.Series):
        return f"A series of {len(result)} values of type {result.dtype}"
    if isinstance(result, (list, tuple, dict, set)):
        return f"A {type(result).__name__} of {len(result)} items"
    if isinstance(result, bool):
        return "A yes/no value"
    if isinstance(result, (int, float)):
        return "A single number"
    if isinstance(result, str):
        return f"A text of {len(result)} characters"
    return f"A value of type {type(result).__name__}"


def format_result_for_interpretation(result) -> str:
    """The design doc's description of a result for the model to interpret, bounded."""
    text = _interpretation_text(_plain_scalar(result))
    if len(text) > INTERPRETATION_CHARS:
        suffix = "... (truncated)"
        return text[: INTERPRETATION_CHARS - len(suffix)] + suffix
    return text


def _interpretation_text(result) -> str:
    if isinstance(result, pd.DataFrame):
        preview = result.head(5).to_string()
        if len(result) > MAX_SAMPLE_ROWS:
            return f"DataFrame with shape {result.shape} (showing first {MAX_SAMPLE_ROWS} rows):\n{preview}"
        return f"DataFrame with shape {result.shape}:\n{preview}"
    if isinstance(result, pd.Series):
        if len(result) > 10:
            return f"Series with {len(result)} values (showing first 10):\n{result.head(10).to_dict()}"
        return f"Series:\n{result.to_dict()}"
    if isinstance(result, np.ndarray):
        return f"Array with shape {result.shape}"
    text = _safe_str(result)
    if len(text) > INTERPRETATION_STR_CHARS:
        return text[:INTERPRETATION_STR_CHARS] + "... (truncated)"
    return text


def _full_result(result) -> tuple:
    """(JSON value of at most FULL_RESULT_BYTES serialized, truncated) for the history."""
    value, truncated = _full_value(result)
    if _json_size(value) <= FULL_RESULT_BYTES:
        return value, truncated
    return {"type": type(result).__name__, "data": _fit_text(_safe_str(result)), "truncated": True}, True


def _full_value(result) -> tuple:
    if isinstance(result, pd.DataFrame):
        shown = result.head(MAX_SAMPLE_ROWS)
        truncated = len(result) > len(shown)
        rows = [list(row) for row in shown.itertuples(index=False, name=None)]
        return {
            "type": "dataframe",
            "columns": _column_names(result),
            "index": _json_safe(shown.index.tolist()),
            "data": _json_safe(rows),
            "shape": list(result.shape),
            "total_rows": len(result),
            "truncated": truncated,
        }, truncated
    if isinstance(result, pd.Series):
        shown = result.head(MAX_SAMPLE_ROWS)
        truncated = len(result) > len(shown)
        return {
            "type": "series",
            "name": _json_safe(result.name),
            "index": _json_safe(shown.index.tolist()),
            "data": _json_safe(shown.tolist()),
            "length": len(result),
            "truncated": truncated,
        }, truncated
    if isinstance(result, np.ndarray):
        body, truncated = _array_text(result)
        data = body if truncated else _json_safe(result.tolist())
        return {"type": "array", "shape": list(result.shape), "data": data, "truncated": truncated}, truncated
    if result is None or isinstance(result, (bool, int, float, list, tuple, dict, set)):
        return _json_safe(result), False
    text = result if isinstance(result, str) else _safe_str(result)
    return _cap_text(text), len(text) > MAX_OUTPUT_SIZE


def _json_size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def _fit_text(text: str) -> str:
    """text cut until it serializes well within FULL_RESULT_BYTES."""
    budget = FULL_RESULT_BYTES // 2  # room for the wrapper and JSON escapes
    while _json_size(text) > budget:
        text = text[: len(text) // 2]
    return text + "..."


# ---------------------------------------------------------------------------
# Completion, inspection, completeness


_MISSING = object()
_COLUMN_KEY_BEFORE = re.compile(r"([^\W\d][\w.]*)\[\s*(['\"])([^'\"\n]*)$")
_COLUMN_KEY = re.compile(r"([^\W\d][\w.]*)\[\s*(['\"])([^'\"\n]*)\2?")
_DOTTED_BEFORE = re.compile(r"((?:[^\W\d]\w*\.)*)(\w*)$")
_CALL_BEFORE = re.compile(r"([\w.]+)\(\s*$")
_DEDENT_WORDS = ("return", "pass", "break", "continue", "raise")


def complete(code: str, cursor_pos: int) -> dict:
    """Names, attributes and df['column'] keys for the text before the cursor."""
    before = code[:cursor_pos]
    partial, matches = _column_matches(before) or _name_matches(before)
    return {"matches": matches, "cursor_start": cursor_pos - len(partial), "cursor_end": cursor_pos}


def _column_matches(before: str):
    match = _COLUMN_KEY_BEFORE.search(before)
    if not match:
        return None
    frame = _resolve(match.group(1))
    if not isinstance(frame, pd.DataFrame):
        return None
    partial = match.group(3)
    return partial, [name for name in _column_names(frame) if name.startswith(partial)]


def _name_matches(before: str) -> tuple:
    path, partial = _DOTTED_BEFORE.search(before).groups()
    if path:
        candidates = _attribute_names(_resolve(path[:-1]))
    else:
        candidates = set(NS) | set(dir(builtins)) | set(keyword.kwlist)
    show_private = partial.startswith("_")
    matches = {
        name
        for name in candidates
        if name.startswith(partial) and (show_private or not name.startswith("_"))
    }
    return partial, sorted(matches)


def _attribute_names(obj) -> list:
    if obj is _MISSING:
        return []
    try:
        return dir(obj)
    except Exception:  # objects may break dir(); completion just offers nothing
        return []


def _resolve(path: str):
    """The object a dotted name refers to in NS or builtins; calls and indexing never run."""
    head, *attributes = path.split(".")
    if head in NS:
        obj = NS[head]
    elif hasattr(builtins, head):
        obj = getattr(builtins, head)
    else:
        return _MISSING
    for attribute in attributes:
        try:
            obj = getattr(obj, attribute)
        except Exception:  # properties may raise anything
            return _MISSING
    return obj


def inspect(code: str, cursor_pos: int, detail_level: int = 0) -> dict:
    """Type, signature and docstring of the name under the cursor, or a column's profile."""
    text = _inspection(code, cursor_pos, detail_level)
    if text is None:
        return {"found": False, "data": {}}
    return {"found": True, "data": {"text/plain": _cap_text(text)}}


def _inspection(code: str, cursor_pos: int, detail_level: int):
    column = _column_at(code, cursor_pos)
    if column is not None:
        return column
    name = _name_at(code, cursor_pos)
    if not name:
        return None
    obj = _resolve(name)
    if obj is not _MISSING:
        return _object_info(name, obj, detail_level)
    return _column_info(NS.get("df"), name)  # a bare column name of the current frame


def _column_at(code: str, cursor_pos: int):
    for match in _COLUMN_KEY.finditer(code):
        if match.start(3) <= cursor_pos <= match.end():
            return _column_info(_resolve(match.group(1)), match.group(3))
    return None


def _name_at(code: str, cursor_pos: int) -> str:
    left = re.search(r"[\w.]*$", code[:cursor_pos]).group()
    right = re.match(r"\w*", code[cursor_pos:]).group()
    name = (left + right).strip(".")
    if not name:  # cursor just inside a call's parenthesis: inspect the callee
        call = _CALL_BEFORE.search(code[:cursor_pos])
        name = call.group(1).strip(".") if call else ""
    return name if all(part.isidentifier() for part in name.split(".")) else ""


def _column_info(frame, label: str):
    if not isinstance(frame, pd.DataFrame):
        return None
    columns = {str(column): column for column in frame.columns}
    if label not in columns:
        return None
    series = frame[columns[label]]
    if isinstance(series, pd.DataFrame):  # duplicated column name
        series = series.iloc[:, 0]
    return (
        f"Column: {label}\n"
        f"Dtype: {series.dtype}\n"
        f"Non-null: {series.count()} of {len(series)}\n\n"
        f"{series.describe().to_string()}"
    )


def _object_info(name: str, obj, detail_level: int) -> str:
    lines = [f"Type: {type(obj).__name__}"]
    if callable(obj):
        signature = _signature(obj)
        if signature:
            lines.append(f"Signature: {name}{signature}")
    else:
        lines.append(f"String form: {_cap_text(_safe_str(obj), 500)}")
    doc = pyinspect.getdoc(obj)
    if doc:
        lines.append(f"Docstring:\n{doc}")
    if detail_level > 0:
        source = _source(obj)
        if source:
            lines.append(f"Source:\n{source}")
    return "\n".join(lines)


def _signature(obj) -> str:
    try:
        return str(pyinspect.signature(obj))
    except (TypeError, ValueError):  # builtins without signature metadata
        return ""


def _source(obj) -> str:
    try:
        return pyinspect.getsource(obj)
    except (OSError, TypeError):  # builtins and instances have no source
        return ""


def is_complete(code: str) -> dict:
    """Whether a console should run `code` now, as IPython decides it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings belong to execution, not to this check
            compiled = codeop.compile_command(code, "<input>", "exec")
    except (SyntaxError, OverflowError, ValueError):
        return {"status": "invalid", "indent": ""}
    last_line = code.splitlines()[-1] if code.strip() else ""
    # An indented last line means an open block: like IPython, wait for a blank line.
    open_block = last_line[:1] in (" ", "\t") and bool(last_line.strip())
    if compiled is None or open_block:
        return {"status": "incomplete", "indent": _next_indent(last_line)}
    return {"status": "complete", "indent": ""}


def _next_indent(line: str) -> str:
    indent = line[: len(line) - len(line.lstrip())]
    stripped = line.strip()
    if stripped.endswith(":"):
        return indent + "    "
    if stripped.split(" ", 1)[0] in _DEDENT_WORDS:
        return indent[:-4]
    return indent


def user_expressions(expressions: dict) -> dict:
    """Evaluate execute_request user_expressions in the user namespace, as ipykernel does."""
    out = {}
    _integrity.STATE.dirty = True
    for name, expr in (expressions or {}).items():
        try:
            data, metadata = mime_bundle(eval(expr, NS))  # noqa: S307 - the user's own expression
            out[name] = {"status": "ok", "data": data, "metadata": metadata}
        except Exception as exc:  # noqa: BLE001 - reported to the frontend, never raised
            out[name] = {"status": "error", "ename": type(exc).__name__, "evalue": str(exc), "traceback": []}
    return out
