"""Questions: run model-written code on copies of the user's data and report its `result`
(or its failure) for the kernel's repair loop, the notebook and the history."""

import base64
import copy
import traceback
import types

import matplotlib
import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import cells, datasets, engines, output, results, state

# The user's variables a question may see, as one pickle (kernel -> question worker).
MAX_EXPORT_BYTES = 8_000_000

def export_variables() -> dict:
    """The user's variables for a question worker: one pickle, bounded; what cannot be
    pickled (modules, open files, lambdas...) or is too large is named, not sent."""
    import pickle

    chosen, skipped, size = {}, [], 0
    for name, value in state.NS.items():
        if not _is_user_variable(name, value) or name in state.DATASETS or isinstance(value, engines.TableRef):
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
            state.NS[name] = pickle.loads(blob)
        except Exception:  # noqa: BLE001 - a class defined in %%python cannot be rebuilt here
            pass


def run_question(code: str, execution_count: int, variables: str = "",
                 prepared: dict | None = None) -> dict:
    """Run model code in a fresh namespace; report its `result` variable or its failure.

    In a question worker (the normal case) the process is thrown away afterwards, so nothing
    needs undoing; in-process callers (tests) get the integrity restore instead.
    """
    if variables:
        _import_variables(variables)
    # The Spark results of this code's queries, fetched by the kernel before it started.
    engines.PREPARED.clear()
    engines.PREPARED.update(prepared or {})
    if state.role() == "question":
        return _run_question(code, execution_count)
    saved = _begin_question()
    try:
        outcome = _run_question(code, execution_count)
    finally:
        _end_question(saved)
    if state.integrity.STATE.tainted:
        outcome["worker_restart"] = True  # the worker ends after this reply; the kernel starts another
    return outcome


def _run_question(code: str, execution_count: int) -> dict:
    filename = f"<question-{execution_count}>"
    cells.remember_source(filename, code)
    output.reset_output_budget(output.MAX_QUESTION_DISPLAY_BYTES)
    cells.reset_question_state()
    engines.take_runs()
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
                output.flush_streams()
    finally:
        cells.reset_question_state()
    runs = engines.take_runs()
    if runs:
        outcome["engine_runs"] = runs  # where the work ran: shown in the cell, kept in the history
    return outcome


def _begin_question() -> tuple:
    """What the question may change that we restore by hand: namespaces and datasets."""
    state.integrity.STATE.begin_question()
    prints = {name: state.integrity.fingerprint(frame) for name, frame in state.DATASETS.items()}
    return dict(state.NS), dict(state.DATASETS), state.current_dataset, prints


def _end_question(saved: tuple) -> None:
    """Undo what the question changed (library state, namespaces, data), cheaply."""
    state.integrity.STATE.end_question()
    cells.reset_question_state()
    ns, frames, current, prints = saved
    state.current_dataset = current
    for registry, before in ((state.NS, ns), (state.DATASETS, frames)):
        if registry.keys() != before.keys() or any(registry[k] is not v for k, v in before.items()):
            registry.clear()
            registry.update(before)
    for name, frame in list(state.DATASETS.items()):
        if name in prints and state.integrity.fingerprint(frame) != prints[name]:
            # A question reached the loaded frame itself: load it again from its Arrow file.
            path, sheet = state.dataset_files[name]
            datasets.register_frame(name, datasets.read_dataset(path, sheet), path, sheet, make_current=name == current)
            state.integrity.STATE.restored.append(f"dataset:{name}")


def _question_namespace() -> dict:
    """Base names, the user's variables and datasets as copies a question cannot change."""
    namespace = cells.base_namespace()
    namespace["display"] = _question_display
    namespace.update(
        (name, _isolated(value)) for name, value in state.NS.items() if _is_user_variable(name, value)
    )
    namespace.update(
        (name, frame.copy(deep=False)) for name, frame in state.DATASETS.items() if datasets.bindable(name)
    )
    if state.current_dataset is not None:
        namespace["df"] = state.DATASETS[state.current_dataset].copy(deep=False)
    if engines.TABLES or engines.SPARK_TABLES:
        namespace["sql"] = engines.sql
        namespace.update(engines.refs(engines.CURRENT[0] if state.current_dataset is None else None))
    namespace["result"] = None
    return namespace


def _is_user_variable(name: str, value) -> bool:
    return (
        not isinstance(value, engines.TableRef)
        and not name.startswith("_")
        and name not in state.RESERVED_NAMES
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
    if result is not None and not output.is_plot(result):
        data, extra, truncated = results.format_result(result)
        output.send("execute_result", {"data": data, "metadata": _result_metadata(extra)})
    shown = sum(output.show_figure(fig, _result_metadata({})) for fig in figures)
    full_result, full_truncated = results.full_result(result)
    return {
        "status": "ok",
        "summary": results.summarize_result(result),
        "for_interpretation": results.format_result_for_interpretation(result),
        "shape_summary": results.shape_summary(result),
        "full_result": full_result,
        "truncated": truncated or full_truncated,
        "result_type": type(result).__name__,
        "figures": shown,
    }


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
    figures = output.open_figures()
    if output.is_plot(result) and output.figure_of(result) not in figures:
        figures.append(output.figure_of(result))
    return figures


def _result_metadata(extra: dict) -> dict:
    return {"llm_analytics": {"role": "result", **extra}}


def _question_failure(exc: BaseException, filename: str) -> dict:
    lineno, line = _failure_location(exc, filename)
    return {
        "status": "error",
        "ename": type(exc).__name__,
        "evalue": output.safe_str(exc),
        "lineno": lineno,
        "line": line,
        "friendly": results.friendly_error(exc),
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
            data, _ = output.mime_bundle(obj)
        else:
            data = {"text/plain": output.cap_text(output.safe_repr(obj))}
        output.send("display_data", {"data": data, "metadata": _result_metadata({})})
