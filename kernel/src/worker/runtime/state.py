"""What every part of the runtime shares: the kernel's limits, the user's namespace, the
loaded datasets and the event channel. Limits are read as `state.NAME` at use, because
`configure` replaces them after start-up."""

import importlib
import os
import sys
import tempfile
import types

# Limits the kernel may change through configure().
MAX_OUTPUT_SIZE = 10_000  # characters of text per output
MAX_SAMPLE_ROWS = 10  # rows of a question's table result
DEFAULT_SAMPLE_ROWS = 5  # rows in a dataset profile's sample
MAX_DATAFRAME_SIZE = 100_000_000  # cells (rows x columns) of a dataset read by pandas here
_SETTING_NAMES = ("MAX_OUTPUT_SIZE", "MAX_SAMPLE_ROWS", "DEFAULT_SAMPLE_ROWS", "MAX_DATAFRAME_SIZE")

# The worker's private read-write directory (the kernel sets it; TMPDIR points there too).
SCRATCH = os.environ.get("LLM_ANALYTICS_SCRATCH") or tempfile.gettempdir()
# pandas 3 stores text as "str"; "object", "string" and "category" cover older and explicit kinds.
TEXT_DTYPES = ["object", "str", "string", "category"]
# The base names every cell and question starts with, plus clear_output: no dataset binding,
# and no user variable copied into a question, may shadow them.
RESERVED_NAMES = frozenset(
    {"__name__", "__builtins__", "pd", "np", "plt", "datetime", "display", "clear_output",
     "SCRATCH", "sql"}
)

NS: dict = {}  # the notebook user's namespace
DATASETS: dict = {}  # dataset name -> frame exactly as loaded
current_dataset = None  # name of the dataset bound to `df`
dataset_files: dict = {}  # dataset name -> (file, sheet), to reload a frame a question damaged
_emit = None


def set_emit(emit) -> None:
    global _emit
    _emit = emit


def emit(kind: str, payload: dict) -> None:
    """Send one event to the kernel (through bootstrap's callback)."""
    _emit(kind, payload)


def configure(settings: dict) -> None:
    """Take the kernel's limits; keys other than the known settings are ignored."""
    for name in _SETTING_NAMES:
        if name in settings:
            globals()[name] = _positive_int(name, settings[name])
    integrity.STATE.dirty = True


def _positive_int(name, value) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"{name} must be at least 1, got {value!r}")
    return number


def role() -> str:
    """"question": this process runs one question's model code and is killed after it."""
    channel = sys.modules.get("_llm_channel")
    return getattr(channel, "ROLE", "user")


def _sibling(name: str, filename: str) -> types.ModuleType:
    """A module the worker embeds beside the runtime (registered at start, or imported on
    first use through bootstrap's finder), or (in tests) loaded from its file, or from the
    package folder of the same name (`duck.py` -> `duck/__init__.py`)."""
    module = sys.modules.get(name)
    if module is None:
        import importlib.util

        if importlib.util.find_spec(name) is not None:
            return importlib.import_module(name)
        worker_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.path.join(worker_dir, filename)
        folder = os.path.splitext(path)[0]
        if os.path.isfile(path):
            spec = importlib.util.spec_from_file_location(name, path)
        else:  # a package: its modules import each other relative to `name`
            spec = importlib.util.spec_from_file_location(
                name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


integrity = _sibling("llm_integrity", "integrity.py")
