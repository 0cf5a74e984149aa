"""What a frontend asks about code without running it: completion (names, attributes,
df['column'] keys), inspection (signature, docstring, a column's profile), whether a
console line is complete, and execute_request's user_expressions."""

import builtins
import codeop
import inspect as pyinspect  # `inspect` is one of this module's entry points
import keyword
import re
import warnings

import pandas as pd

from . import output, state, values

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
    return partial, [name for name in values.column_names(frame) if name.startswith(partial)]


def _name_matches(before: str) -> tuple:
    path, partial = _DOTTED_BEFORE.search(before).groups()
    if path:
        candidates = _attribute_names(_resolve(path[:-1]))
    else:
        candidates = set(state.NS) | set(dir(builtins)) | set(keyword.kwlist)
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
    """The object a dotted name refers to in state.NS or builtins; calls and indexing never run."""
    head, *attributes = path.split(".")
    if head in state.NS:
        obj = state.NS[head]
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
    return {"found": True, "data": {"text/plain": output.cap_text(text)}}


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
    return _column_info(state.NS.get("df"), name)  # a bare column name of the current frame


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
        lines.append(f"String form: {output.cap_text(output.safe_str(obj), 500)}")
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
    state.integrity.STATE.dirty = True
    for name, expr in (expressions or {}).items():
        try:
            data, metadata = output.mime_bundle(eval(expr, state.NS))  # noqa: S307 - the user's own expression
            out[name] = {"status": "ok", "data": data, "metadata": metadata}
        except Exception as exc:  # noqa: BLE001 - reported to the frontend, never raised
            out[name] = {"status": "error", "ename": type(exc).__name__, "evalue": str(exc), "traceback": []}
    return out
