"""Glue between the Rust worker loop and llm_runtime: JSON lines in, JSON lines out."""
import importlib.abc
import importlib.util
import json
import os
import signal
import sys
import traceback

import _llm_channel

_runtime = None
# The requests the kernel may make (kernel: analysis/worker_client/request.rs, kept equal by a
# test). Nothing else in the runtime is callable from the pipe.
OPS = (
    "configure",
    "run_cell",
    "user_expressions",
    "complete",
    "inspect",
    "is_complete",
    "load_dataset",
    "restore_dataset",
    "load_engine_table",
    "restore_engine_table",
    "export_variables",
    "run_question",
    "sandbox_report",
    "restore_spark_table",
)
# The Spark engine process's requests (`worker --spark`, worker/spark/): it has no others,
# and workers have none of these.
SPARK_OPS = (
    "spark_connect",
    "spark_register",
    "spark_run",
)
_ops = {}


def _finite(obj):
    """Replace NaN/inf (not valid JSON) with None, recursively."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _dumps(obj):
    try:
        return json.dumps(obj, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(obj), default=str, allow_nan=False)


def _emit(kind, payload):
    _llm_channel.send(_dumps({"event": kind, **payload}))


class _EmbeddedPackage(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the llm_runtime, llm_integrity and llm_duck packages from the sources the binary embeds
    (`_llm_channel.RUNTIME`: module name -> source), so relative imports work as on disk."""

    def __init__(self, sources: dict):
        self._sources = sources

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self._sources:
            return None
        return importlib.util.spec_from_loader(
            fullname, self, origin=f"<{fullname}>",
            is_package=any(name.startswith(fullname + ".") for name in self._sources))

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        code = compile(self._sources[module.__name__], module.__spec__.origin, "exec")
        exec(code, module.__dict__)  # noqa: S102 - the binary's own embedded source


def start():
    global _runtime, _ops
    sys.meta_path.insert(0, _EmbeddedPackage(dict(_llm_channel.RUNTIME)))
    # pyo3 starts Python with signal handling off; we want SIGINT -> KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if getattr(_llm_channel, "ROLE", "") == "spark":
        import llm_spark

        _ops = {name: getattr(llm_spark, name) for name in SPARK_OPS}
        # No worker sandbox to report (the engine runs no generated code; see worker/mod.rs).
        _emit("ready", {"python": sys.version.split()[0], "sandbox": None})
        return
    import llm_runtime

    llm_runtime.init(_emit)
    _runtime = llm_runtime
    _ops = {name: getattr(llm_runtime, name) for name in OPS}
    _emit("ready", {"python": sys.version.split()[0], "sandbox": llm_runtime.sandbox_report()})


def dispatch(line):
    """Run one request; always return exactly one reply line."""
    reply = _dispatch(line)
    integrity = getattr(_runtime, "integrity", None)
    if integrity is not None and integrity.STATE.tainted:
        # A question left a thread running that would not stop: reply, then end this process so
        # the kernel starts a clean one (with the data restored) for the next cell.
        _llm_channel.send(reply)
        os._exit(70)
    return reply


def _dispatch(line):
    req_id = None
    try:
        req = json.loads(line)
        req_id = req.get("id")
        fn = _ops.get(req.get("op"))
        if fn is None:
            raise ValueError(f"unknown request {req.get('op')!r}")
        value = fn(**(req.get("args") or {}))
        return _dumps({"event": "reply", "id": req_id, "ok": True, "value": value})
    except KeyboardInterrupt:
        return json.dumps({"event": "reply", "id": req_id, "ok": False,
                           "error": "KeyboardInterrupt", "interrupted": True})
    except BaseException:  # noqa: BLE001 - a worker bug must become a reply, not a dead worker
        return json.dumps({"event": "reply", "id": req_id, "ok": False,
                           "error": traceback.format_exc()})
