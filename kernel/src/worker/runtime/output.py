"""Everything a cell shows: stream text, rich display, figures, and the per-cell output budget.
Every output leaves through `_send` (or the stream writers), which count it against the budget."""

import base64
import io
import sys
import threading
import uuid

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: the worker has no display

import matplotlib.axes  # noqa: E402
import matplotlib.figure  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from . import state  # noqa: E402

FIGURE_DPI = 100
MAX_CELL_OUTPUT_BYTES = 5_000_000  # stream text one cell or question may send, then one notice
MAX_CELL_DISPLAY_BYTES = 64_000_000  # rich outputs (tables, images) one %%python cell may send
MAX_QUESTION_DISPLAY_BYTES = 5_000_000  # rich outputs one question (model code) may send

writers: list = []
# This cell's output budget: stream text and rich outputs are counted apart.
_output = {"text": 0, "rich": 0, "rich_limit": MAX_CELL_DISPLAY_BYTES, "capped": False}


# ---------------------------------------------------------------------------
# Output budget


def reset_output_budget(rich_limit: int = MAX_CELL_DISPLAY_BYTES) -> None:
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
        state.emit("stream", {"name": "stderr",
                         "text": "\n[output truncated: this cell produced more output than allowed (see %sandbox)]\n"})



# ---------------------------------------------------------------------------
# Events and streams


class StreamWriter(io.TextIOBase):
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
            state.emit("stream", {"name": self.stream_name, "text": text})


def flush_streams() -> None:
    for writer in writers:
        writer.flush()


def send(kind: str, payload: dict) -> None:
    """Emit an event after any pending stream text, so outputs keep their order."""
    flush_streams()
    data = payload.get("data")
    if isinstance(data, dict):
        size = sum(len(v) if isinstance(v, str) else 64 for v in data.values())
        if _take_output(size, "rich") < size:
            _output_capped()
            return
    state.emit(kind, payload)


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
    data["text/plain"] = cap_text(repr(obj))
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


def cap_text(text: str, limit: int = None) -> str:
    limit = state.MAX_OUTPUT_SIZE if limit is None else limit
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [truncated: {len(text)} characters total]"


def safe_str(obj) -> str:
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
        send(kind, payload)
    return DisplayHandle(str(display_id)) if display_id else None


def clear_output(wait=False) -> None:
    send("clear_output", {"wait": bool(wait)})


# ---------------------------------------------------------------------------
# Figures


def open_figures() -> list:
    return [plt.figure(number) for number in plt.get_fignums()]


def is_plot(value) -> bool:
    return isinstance(value, (matplotlib.figure.Figure, matplotlib.axes.Axes))


def figure_of(plot) -> matplotlib.figure.Figure:
    return plot.get_figure(root=True)


def _figure_png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=FIGURE_DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def show_figure(fig, metadata: dict) -> bool:
    """Emit fig as a PNG display; a figure that fails to render is reported on stderr."""
    try:
        data = {"image/png": _figure_png(fig), "text/plain": repr(fig)}
    except Exception as exc:  # one broken plot must not lose the other outputs
        sys.stderr.write(f"Could not render figure: {type(exc).__name__}: {exc}\n")
        return False
    send("display_data", {"data": data, "metadata": metadata})
    return True


def flush_figures() -> None:
    for fig in open_figures():
        show_figure(fig, {})
    plt.close("all")



def safe_repr(obj) -> str:
    try:
        return repr(obj)
    except Exception as exc:  # a broken __repr__ must not hide the output
        return f"<{type(obj).__name__} object: repr() failed with {type(exc).__name__}>"
