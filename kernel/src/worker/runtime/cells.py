"""Start-up and notebook cells: the user's namespace, `%%python` cells run like IPython runs
them (last expression shown, tracebacks of the user's own lines only), and what the
`%sandbox` report adds about this layer."""

import ast
import builtins
import datetime
import io
import json
import linecache
import re
import sys
import traceback
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import engines, output, state

_PANDAS_DEFAULTS = {"display.max_columns": 50, "display.width": 120}
_CELL_FILE = re.compile(r"<cell-(\d+)>")
_CELL_FILE_LINE = re.compile(r'File "<cell-(\d+)>", line (\d+)')


def init(emit) -> None:
    """Route output through `emit` and start from an empty user namespace."""
    state.set_emit(emit)
    output.writers[:] = [output.StreamWriter("stdout"), output.StreamWriter("stderr")]
    sys.stdout, sys.stderr = output.writers
    sys.stdin = io.StringIO()  # fd 0 carries the kernel's requests: input() must not read them
    _apply_pandas_defaults()
    state.DATASETS.clear()
    state.current_dataset = None
    state.NS.clear()
    state.NS.update(base_namespace(), clear_output=output.clear_output)
    plt.close(plt.figure())  # pyplot's lazy state exists before the first integrity baseline
    state.integrity.STATE.dirty = True


def _apply_pandas_defaults() -> None:
    for option, value in _PANDAS_DEFAULTS.items():
        pd.set_option(option, value)


def base_namespace() -> dict:
    """Names every cell and every question starts with."""
    return {
        "__name__": "__main__",
        "__builtins__": builtins,
        "pd": pd,
        "np": np,
        "plt": plt,
        "datetime": datetime,
        "display": output.display,
        "SCRATCH": state.SCRATCH,
    }


def reset_question_state() -> None:
    """Undo what a question may have changed that later questions would see."""
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 warns when resetting its deprecated options
        pd.reset_option("all")
    _apply_pandas_defaults()


def dataset_names() -> list:
    return list(state.DATASETS)


def namespace_names() -> list:
    return sorted(name for name in state.NS if not name.startswith("_") and name != "SCRATCH")


def sandbox_report() -> dict:
    """The containment layers: the worker's (recorded before Python started) and this module's."""
    try:
        import _llm_channel

        report = json.loads(_llm_channel.SANDBOX)
    except (ImportError, AttributeError, ValueError):
        report = {"layers": [], "limits": [], "scratch": state.SCRATCH}
    report.setdefault("layers", []).extend([
        {"name": "output cap", "active": True,
         "detail": f"{output.MAX_CELL_OUTPUT_BYTES // 1_000_000} MB of text per cell; rich outputs "
                   f"{output.MAX_QUESTION_DISPLAY_BYTES // 1_000_000} MB per question, "
                   f"{output.MAX_CELL_DISPLAY_BYTES // 1_000_000} MB per %%python cell; then one notice"},
        {"name": "integrity", "active": True,
         "detail": "after each question: library state (module and class attributes, pandas options, "
                   "sys hooks, signal handlers, environment) restored, loaded data checked and "
                   "reloaded if changed; questions cannot start threads"},
    ])
    return report


def run_cell(code: str, execution_count: int, prepared: dict | None = None) -> dict:
    """Run a %%python cell in the user namespace like IPython; the last expression's value is
    the result. `prepared`: the cell's Spark results, fetched by the kernel before it ran."""
    engines.PREPARED.clear()
    engines.PREPARED.update(prepared or {})
    filename = f"<cell-{execution_count}>"
    remember_source(filename, code)
    output.reset_output_budget()
    state.integrity.STATE.dirty = True  # the user's own changes become the questions' baseline
    try:
        _execute(code, filename)
        outcome = {"status": "ok"}
    except BaseException as exc:  # even SystemExit or KeyboardInterrupt must not end the worker
        outcome = _report_error(exc)
    output.flush_figures()
    output.flush_streams()
    return outcome


def remember_source(filename: str, code: str) -> None:
    """Let tracebacks and inspect.getsource read the code; mtime None keeps the entry cached."""
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)


def _execute(code: str, filename: str) -> None:
    module = ast.parse(code, filename)
    last = module.body.pop() if module.body and isinstance(module.body[-1], ast.Expr) else None
    exec(compile(module, filename, "exec"), state.NS)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), filename, "eval"), state.NS)
        if not code.rstrip().endswith(";"):  # IPython's way to silence the last value
            _publish_result(value)


def _publish_result(value) -> None:
    if value is None:
        return
    state.NS["_"] = value
    if output.is_plot(value) and output.figure_of(value) in output.open_figures():
        return  # the figure flush after the cell shows it
    data, metadata = output.mime_bundle(value)
    output.send("execute_result", {"data": data, "metadata": metadata})


def _report_error(exc: BaseException) -> dict:
    ename, evalue = type(exc).__name__, output.safe_str(exc)
    output.send("error", {"ename": ename, "evalue": evalue, "traceback": _format_traceback(exc)})
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
