"""What the integrity layer watches: the modules whose dicts (and classes) are restored, and
an import hook that records modules first imported during a question as they were right
after import."""

from __future__ import annotations

import sys
import types

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: classes defined in Python (C types are immutable)

# Modules whose dicts (and classes) are restored. Everything the runtime and generated code use.
WATCHED_ROOTS = frozenset(
    """
    pandas numpy matplotlib mpl_toolkits scipy sklearn statsmodels seaborn pyarrow dateutil pytz
    tzdata patsy joblib threadpoolctl PIL kiwisolver cycler pyparsing fontTools contourpy packaging
    builtins sys os posixpath genericpath stat io abc _abc types typing collections _collections_abc
    functools itertools operator copy copyreg weakref enum numbers math cmath statistics decimal
    fractions random datetime time calendar re string textwrap json html base64 pprint traceback
    linecache codeop ast inspect keyword uuid threading _thread signal warnings contextlib
    importlib _frozen_importlib _frozen_importlib_external zipimport locale codecs encodings
    struct heapq bisect array tempfile shutil pathlib fnmatch glob dataclasses hashlib zlib csv
    mmap ctypes gc atexit
    llm_runtime llm_bootstrap llm_integrity arrow_bridge _llm_channel
    """.split()
)


def _root(name: str) -> str:
    return name.partition(".")[0]


def _watched(module) -> bool:
    name = getattr(module, "__name__", None)
    return isinstance(module, types.ModuleType) and isinstance(name, str) and _root(name) in WATCHED_ROOTS


def _module_classes(module) -> list:
    """Heap classes defined in `module` (by __module__), with their heap bases."""
    found = []
    name = module.__name__
    for value in list(module.__dict__.values()):
        if isinstance(value, type) and value.__flags__ & _HEAPTYPE:
            if value.__dict__.get("__module__") == name:
                found.append(value)
    return found


# ---------------------------------------------------------------------------
# Import hook: modules first imported during a question are compared with their state right
# after import, not with whatever the question left.

_import_snapshots: dict = {}


def _install_import_hook() -> None:
    bootstrap = sys.modules.get("_frozen_importlib")
    if bootstrap is None or getattr(bootstrap, "_llm_recording", False):
        return
    original = bootstrap._load_unlocked

    def _load_unlocked(spec, _original=original, _record=_import_snapshots):
        module = _original(spec)
        try:
            if _watched(module):
                _record[spec.name] = (
                    module,
                    module.__dict__.copy(),
                    [(cls, cls.__dict__.copy()) for cls in _module_classes(module)],
                )
        except Exception:  # noqa: BLE001 - recording must never break an import
            pass
        return module

    bootstrap._load_unlocked = _load_unlocked
    bootstrap._llm_recording = True

