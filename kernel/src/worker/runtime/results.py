"""A question's result as the notebook shows it (capped table, text or array), as the
history keeps it (bounded JSON), and as the interpretation model reads it."""

import html
import json
import pprint

import numpy as np
import pandas as pd

from . import output, state, values

FULL_RESULT_BYTES = 20_000  # serialized size bound of run_question's full_result
INTERPRETATION_CHARS = 1_500  # size bound of the text the model interprets
INTERPRETATION_STR_CHARS = 1_000  # the design doc's cut for results shown as plain text


def plain_scalar(value):
    return value.item() if isinstance(value, (np.number, np.bool_)) else value


def friendly_error(exc: BaseException) -> str:
    """The design doc's wording for a failed question."""
    ename, evalue = type(exc).__name__, output.safe_str(exc)
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

    Tables are capped at state.MAX_SAMPLE_ROWS and text at state.MAX_OUTPUT_SIZE; the only HTML is
    pandas' escaped to_html, never text taken from the result itself.
    """
    result = plain_scalar(result)
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
        text = result if isinstance(result, str) else output.safe_str(result)
    return {"text/plain": output.cap_text(text)}, {}, len(text) > state.MAX_OUTPUT_SIZE


def _table_result(frame: pd.DataFrame, shape: tuple) -> tuple:
    shown = frame.head(state.MAX_SAMPLE_ROWS)
    max_cols = pd.get_option("display.max_columns") or None
    table_html = shown.to_html(escape=True, max_cols=max_cols)
    text = shown.to_string(max_cols=max_cols)
    truncated = len(frame) > len(shown)
    if truncated:
        caption = f"Showing {len(shown)} of {len(frame)} rows"
        table_html += f"<p>{html.escape(caption)}</p>"
        text += f"\n{caption}"
    data = {"text/html": table_html, "text/plain": output.cap_text(text)}
    return data, {"shape": list(shape)}, truncated


def _array_result(array: np.ndarray) -> tuple:
    body, truncated = _array_text(array)
    data = {"text/plain": f"Array with shape {array.shape}:\n{body}"}
    return data, {"shape": list(array.shape)}, truncated


def _array_text(array: np.ndarray) -> tuple:
    if array.size > state.MAX_OUTPUT_SIZE:  # each element prints as 3+ characters: the list would be cut anyway
        return np.array2string(array, separator=", ", threshold=state.MAX_SAMPLE_ROWS), True
    text = str(array.tolist())
    return output.cap_text(text), len(text) > state.MAX_OUTPUT_SIZE


def _container_text(value) -> str:
    flat = repr(value)
    if len(flat) > state.MAX_OUTPUT_SIZE:  # too long to show whole: skip the costly pretty layout
        return flat
    return pprint.pformat(value, sort_dicts=False)


def summarize_result(result) -> str:
    """The design doc's one-line summary kept in the conversation history."""
    result = plain_scalar(result)
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
    result = plain_scalar(result)
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
    text = _interpretation_text(plain_scalar(result))
    if len(text) > INTERPRETATION_CHARS:
        suffix = "... (truncated)"
        return text[: INTERPRETATION_CHARS - len(suffix)] + suffix
    return text


def _interpretation_text(result) -> str:
    if isinstance(result, pd.DataFrame):
        preview = result.head(5).to_string()
        if len(result) > state.MAX_SAMPLE_ROWS:
            return f"DataFrame with shape {result.shape} (showing first {state.MAX_SAMPLE_ROWS} rows):\n{preview}"
        return f"DataFrame with shape {result.shape}:\n{preview}"
    if isinstance(result, pd.Series):
        if len(result) > 10:
            return f"Series with {len(result)} values (showing first 10):\n{result.head(10).to_dict()}"
        return f"Series:\n{result.to_dict()}"
    if isinstance(result, np.ndarray):
        return f"Array with shape {result.shape}"
    text = output.safe_str(result)
    if len(text) > INTERPRETATION_STR_CHARS:
        return text[:INTERPRETATION_STR_CHARS] + "... (truncated)"
    return text


def full_result(result) -> tuple:
    """(JSON value of at most FULL_RESULT_BYTES serialized, truncated) for the history."""
    value, truncated = _full_value(result)
    if _json_size(value) <= FULL_RESULT_BYTES:
        return value, truncated
    return {"type": type(result).__name__, "data": _fit_text(output.safe_str(result)), "truncated": True}, True


def _full_value(result) -> tuple:
    if isinstance(result, pd.DataFrame):
        shown = result.head(state.MAX_SAMPLE_ROWS)
        truncated = len(result) > len(shown)
        rows = [list(row) for row in shown.itertuples(index=False, name=None)]
        return {
            "type": "dataframe",
            "columns": values.column_names(result),
            "index": values.json_safe(shown.index.tolist()),
            "data": values.json_safe(rows),
            "shape": list(result.shape),
            "total_rows": len(result),
            "truncated": truncated,
        }, truncated
    if isinstance(result, pd.Series):
        shown = result.head(state.MAX_SAMPLE_ROWS)
        truncated = len(result) > len(shown)
        return {
            "type": "series",
            "name": values.json_safe(result.name),
            "index": values.json_safe(shown.index.tolist()),
            "data": values.json_safe(shown.tolist()),
            "length": len(result),
            "truncated": truncated,
        }, truncated
    if isinstance(result, np.ndarray):
        body, truncated = _array_text(result)
        data = body if truncated else values.json_safe(result.tolist())
        return {"type": "array", "shape": list(result.shape), "data": data, "truncated": truncated}, truncated
    if result is None or isinstance(result, (bool, int, float, list, tuple, dict, set)):
        return values.json_safe(result), False
    text = result if isinstance(result, str) else output.safe_str(result)
    return output.cap_text(text), len(text) > state.MAX_OUTPUT_SIZE


def _json_size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def _fit_text(text: str) -> str:
    """text cut until it serializes well within FULL_RESULT_BYTES."""
    budget = FULL_RESULT_BYTES // 2  # room for the wrapper and JSON escapes
    while _json_size(text) > budget:
        text = text[: len(text) // 2]
    return text + "..."
