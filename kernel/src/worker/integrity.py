"""Integrity between questions: what one question changes, later questions do not see.

The worker runs every question in the same process, so model code could monkeypatch pandas
(`pd.DataFrame.sum = ...`), change options, swap a module in `sys.modules`, install a trace
function or a signal handler, start a thread that keeps running, or write into the loaded data.
This module undoes all of that after each question, cheaply:

* **Library state.** A baseline of every watched module's `__dict__` and of the classes they
  define (copies of dicts: cheap, compared in C by identity) is taken at start-up and again after
  each `%%python` cell (the user's own changes are theirs to keep). After a question, every
  changed entry is put back and every added one removed. Modules first imported during a question
  are compared with their state right after import (recorded by a hook on the import system);
  one imported while that hook was disabled is dropped from `sys.modules`.
* **Process state.** `sys` hooks and lists, signal handlers and timers, trace/profile functions,
  warnings filters, numpy error/print options, `os.environ`, the working directory, the decimal
  context.
* **Threads.** Questions cannot start Python threads; a thread that appears anyway is stopped, and
  if it will not stop the worker ends itself after replying (the kernel restarts it).
* **Data.** Loaded frames are sealed: numeric arrays become read-only for good (their memory is
  either a copy in an immutable `bytes` object or the Arrow file's mapping made read-only with
  `mprotect`, so a write crashes the worker, which the kernel restarts with the data intact).
  Their identity (blocks, arrays, index, columns) is checked after each question, and a frame
  that changed is reloaded from its Arrow file.

This is best-effort against code that is already running inside the process: native code
(ctypes) can reach anything in memory. The OS-level sandbox (sandbox.rs) is what contains such
code; this layer keeps honest mistakes and ordinary monkeypatching from leaking between questions.
"""

from __future__ import annotations

import builtins
import os
import signal
import sys
import threading
import time
import types
import warnings

_MISSING = object()
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

# Entries that change on their own and mean nothing: never restored, never reported.
_VOLATILE_KEYS = frozenset({"__warningregistry__", "_"})


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


# ---------------------------------------------------------------------------
# Thread guard


def _no_threads(*args, **kwargs):
    raise RuntimeError("threads are not available to generated code")


_THREAD_STARTERS = (("_thread", "start_new_thread"), ("_thread", "start_new"),
                    ("threading", "_start_new_thread"), ("threading", "_start_joinable_thread"))


def _python_thread_ids() -> set:
    return set(sys._current_frames())


def _stop_threads(idents, attempts: int = 5) -> set:
    """Raise SystemExit in each thread until it ends; returns the ones still alive."""
    import ctypes

    set_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    set_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
    alive = set(idents)
    for _ in range(attempts):
        for ident in alive:
            set_exc(ident, SystemExit)
        time.sleep(0.02)
        alive &= _python_thread_ids()
        if not alive:
            break
    for ident in alive:  # do not leave a pending exception behind
        set_exc(ident, None)
    return alive


# ---------------------------------------------------------------------------
# State capture and restore


class State:
    """The baseline later questions must see, and the machinery to return to it."""

    def __init__(self):
        self.modules: dict = {}  # name -> (module, dict copy)
        self.classes: list = []  # (class, dict copy)
        self.class_ids: set = set()
        self.sys_modules: dict = {}
        self.sys_lists: dict = {}
        self.trace = (None, None)
        self.signals: dict = {}
        self.environ: dict = {}
        self.cwd = None
        self.warning_filters: list = []
        self.numpy = None
        self.decimal_context = None
        self.recursion_limit = sys.getrecursionlimit()
        self.switch_interval = sys.getswitchinterval()
        self.timers: dict = {}
        self.dirty = True
        self.threads_before: set = set()
        self.restored: list = []  # what the last restore put back, for tests and logs
        self.tainted = False

    # -- baseline -----------------------------------------------------------

    def capture(self) -> None:
        """Take the library state as the baseline (start-up, and after user code ran)."""
        _install_import_hook()
        self.modules = {}
        classes = {}
        for name, module in list(sys.modules.items()):
            if _watched(module):
                self.modules[name] = (module, module.__dict__.copy())
                for cls in _module_classes(module):
                    classes[id(cls)] = cls
        self.classes = [(cls, cls.__dict__.copy()) for cls in classes.values()]
        self.class_ids = set(classes)
        _import_snapshots.clear()
        self.sys_modules = dict(sys.modules)
        self.sys_lists = {name: list(getattr(sys, name)) for name in ("meta_path", "path_hooks", "path")}
        self.dirty = False

    def capture_process(self) -> None:
        """Process-wide settings as the question starts (cheap: taken before every question)."""
        self.trace = (sys.gettrace(), sys.getprofile())
        self.timers = {which: signal.getitimer(which) != (0.0, 0.0)
                       for which in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)}
        self.signals = {}
        for sig in signal.valid_signals():
            try:
                self.signals[sig] = signal.getsignal(sig)
            except (ValueError, OSError):
                pass
        self.environ = dict(os.environ)
        try:
            self.cwd = os.getcwd()
        except OSError:
            self.cwd = None
        self.warning_filters = list(warnings.filters)
        numpy = sys.modules.get("numpy")
        self.numpy = (numpy.geterr(), numpy.get_printoptions()) if numpy is not None else None
        decimal = sys.modules.get("decimal")
        self.decimal_context = decimal.getcontext().copy() if decimal is not None else None
        self.recursion_limit = sys.getrecursionlimit()
        self.switch_interval = sys.getswitchinterval()

    # -- around a question --------------------------------------------------

    def begin_question(self) -> None:
        if self.dirty:
            self.capture()
        self.capture_process()
        self.threads_before = _python_thread_ids()
        for module_name, attr in _THREAD_STARTERS:
            module = sys.modules.get(module_name)
            if module is not None and attr in module.__dict__:
                module.__dict__[attr] = _no_threads

    def end_question(self) -> list:
        """Undo what the question changed; returns a list of what was restored."""
        restored = []
        self._restore_builtins(restored)
        self._release_thread_guard()
        leftover = _python_thread_ids() - self.threads_before
        # Module dicts first: that also puts the thread starters back.
        self._restore_modules(restored)
        self._restore_classes(restored)
        self._restore_process(restored)
        if leftover:
            restored.append(f"threads:{len(leftover)}")
            if _stop_threads(leftover):
                self.tainted = True
        self.restored = restored
        return restored

    def _release_thread_guard(self) -> None:
        for module_name, attr in _THREAD_STARTERS:
            entry = self.modules.get(module_name)
            if entry is not None and attr in entry[1]:
                entry[0].__dict__[attr] = entry[1][attr]

    # -- restore steps ------------------------------------------------------

    def _restore_builtins(self, restored: list, _dict=builtins.__dict__, _clear=dict.clear,
                          _update=dict.update) -> None:
        # Before anything else: the restore code itself looks names up in builtins.
        entry = self.modules.get("builtins")
        if entry is None:
            return
        snapshot = entry[1]
        try:
            same = _dict == snapshot
        except Exception:  # noqa: BLE001 - a replaced value's __eq__ may raise
            same = False
        if not same:
            # No builtin name may be looked up between these two calls.
            _clear(_dict)
            _update(_dict, snapshot)
            restored.append("builtins")

    def _restore_dict(self, name: str, live: dict, snapshot: dict, restored: list) -> None:
        try:
            if live == snapshot:
                return
        except Exception:  # noqa: BLE001
            pass
        changed = False
        for key, value in snapshot.items():
            if live.get(key, _MISSING) is not value:
                live[key] = value
                if key not in _VOLATILE_KEYS:
                    changed = True
        for key in [k for k in live if k not in snapshot]:
            value = live[key]
            if key in _VOLATILE_KEYS:
                continue
            # A submodule imported since the snapshot binds itself on its parent: keep that.
            if isinstance(value, types.ModuleType) and sys.modules.get(f"{name}.{key}") is value:
                continue
            del live[key]
            changed = True
        if changed:
            restored.append(f"module:{name}")

    def _restore_modules(self, restored: list) -> None:
        for name, (module, snapshot) in self.modules.items():
            if name == "builtins":
                continue
            current = sys.modules.get(name, _MISSING)
            if current is not module:
                sys.modules[name] = module
                restored.append(f"sys.modules:{name}")
            self._restore_dict(name, module.__dict__, snapshot, restored)
        # Modules that appeared during the question.
        for name, module in list(sys.modules.items()):
            if name in self.modules or name in self.sys_modules:
                continue
            if not isinstance(module, types.ModuleType):
                del sys.modules[name]
                restored.append(f"sys.modules:{name}")
                continue
            if not _watched(module):
                continue
            recorded = _import_snapshots.pop(name, None)
            if recorded is None or recorded[0] is not module:
                # Not imported through the import system while we were watching: drop it,
                # so the next import runs the real module again.
                del sys.modules[name]
                restored.append(f"sys.modules:{name}")
                continue
            _, snapshot, classes = recorded
            self._restore_dict(name, module.__dict__, snapshot, restored)
            self.modules[name] = (module, snapshot)
            for cls, cls_snapshot in classes:
                if id(cls) not in self.class_ids:
                    self.class_ids.add(id(cls))
                    self.classes.append((cls, cls_snapshot))
        # Entries of sys.modules replaced or removed (unwatched ones included).
        for name, module in self.sys_modules.items():
            if sys.modules.get(name, _MISSING) is not module:
                sys.modules[name] = module
                restored.append(f"sys.modules:{name}")
        for name, saved in self.sys_lists.items():
            live = getattr(sys, name)
            if live != saved:
                live[:] = saved
                restored.append(f"sys.{name}")

    def _restore_classes(self, restored: list) -> None:
        for cls, snapshot in self.classes:
            live = cls.__dict__
            try:
                if live == snapshot:
                    continue
            except Exception:  # noqa: BLE001
                pass
            changed = False
            for key, value in snapshot.items():
                if live.get(key, _MISSING) is not value:
                    try:
                        type.__setattr__(cls, key, value)
                        changed = True
                    except (TypeError, AttributeError):
                        pass
            for key in [k for k in live if k not in snapshot]:
                try:
                    type.__delattr__(cls, key)
                    changed = True
                except (TypeError, AttributeError):
                    pass
            if changed:
                restored.append(f"class:{cls.__module__}.{cls.__qualname__}")

    def _restore_process(self, restored: list) -> None:
        if (sys.gettrace(), sys.getprofile()) != self.trace:
            sys.settrace(self.trace[0])
            sys.setprofile(self.trace[1])
            restored.append("trace")
        for which, was_running in self.timers.items():
            if not was_running and signal.getitimer(which) != (0.0, 0.0):
                signal.setitimer(which, 0)
                restored.append("timer")
        for sig, handler in self.signals.items():
            try:
                if signal.getsignal(sig) is not handler:
                    signal.signal(sig, handler)
                    restored.append(f"signal:{sig}")
            except (ValueError, OSError, TypeError):
                pass
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
            restored.append("environ")
        if self.cwd is not None:
            try:
                if os.getcwd() != self.cwd:
                    os.chdir(self.cwd)
                    restored.append("cwd")
            except OSError:
                os.chdir(self.cwd)
                restored.append("cwd")
        if warnings.filters != self.warning_filters:
            warnings.filters[:] = self.warning_filters
            warnings._filters_mutated()
            restored.append("warnings")
        numpy = sys.modules.get("numpy")
        if numpy is not None and self.numpy is not None:
            err, printoptions = self.numpy
            if numpy.geterr() != err:
                numpy.seterr(**err)
                restored.append("numpy.seterr")
            if numpy.get_printoptions() != printoptions:
                numpy.set_printoptions(**printoptions)
                restored.append("numpy.printoptions")
        decimal = sys.modules.get("decimal")
        if decimal is not None:
            context = self.decimal_context or decimal.Context()
            live = decimal.getcontext()
            if (live.prec, live.rounding, live.Emin, live.Emax, live.capitals, live.clamp) != (
                context.prec, context.rounding, context.Emin, context.Emax, context.capitals, context.clamp
            ) or live.traps != context.traps:
                decimal.setcontext(context.copy())
                restored.append("decimal")
        if sys.getrecursionlimit() != self.recursion_limit:
            sys.setrecursionlimit(self.recursion_limit)
            restored.append("recursionlimit")
        if sys.getswitchinterval() != self.switch_interval:
            sys.setswitchinterval(self.switch_interval)
            restored.append("switchinterval")


# ---------------------------------------------------------------------------
# Data: sealed frames


def _mmap_base(array):
    """The mmap an array's memory belongs to, if any."""
    import mmap

    base = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None) if not isinstance(base, memoryview) else base.obj
    return base


_protected_maps: dict = {}  # id(mmap) -> mmap (kept alive while protected)


def _protect_mapping(mapped) -> bool:
    """Make an mmap's pages read-only in the kernel (mprotect): a write then crashes."""
    if id(mapped) in _protected_maps:
        return True
    try:
        import ctypes

        length = len(mapped)
        if length == 0:
            return True
        anchor = ctypes.c_char.from_buffer(mapped)
        address = ctypes.addressof(anchor)
        del anchor
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        page = os.sysconf("SC_PAGE_SIZE")
        start = address - address % page
        if libc.mprotect(start, length + (address - start), 0x1) != 0:  # PROT_READ
            return False
        _protected_maps[id(mapped)] = mapped
        return True
    except Exception:  # noqa: BLE001 - sealing falls back to copies
        return False


def _immutable_copy(values):
    import numpy as np

    frozen = np.frombuffer(values.tobytes(), dtype=values.dtype).reshape(values.shape)
    return frozen


def seal_frame(frame):
    """Make a loaded frame's arrays read-only for good; returns the frame."""
    import numpy as np

    for block in frame._mgr.blocks:
        values = block.values
        if not isinstance(values, np.ndarray):
            continue  # Arrow-backed text and extension arrays are immutable buffers
        if values.dtype == object:
            values.flags.writeable = False  # best effort: object arrays cannot live in bytes
            continue
        mapped = _mmap_base(values)
        if mapped is not None and _protect_mapping(mapped):
            values.flags.writeable = False
            continue
        try:
            block.values = _immutable_copy(values)
        except (AttributeError, TypeError, ValueError):
            values.flags.writeable = False
    index_values = getattr(frame.index, "_data", None)
    if isinstance(index_values, np.ndarray):
        index_values.flags.writeable = False
    return frame


def fingerprint(frame) -> tuple:
    """Identity of a frame's parts: changes when a question swaps any of them."""
    blocks = []
    for block in frame._mgr.blocks:
        values = block.values
        inner = getattr(values, "_pa_array", None)
        if inner is None:
            inner = getattr(values, "_ndarray", None)
        data = getattr(values, "__array_interface__", {}).get("data") if hasattr(values, "dtype") else None
        blocks.append((id(block), id(values), id(inner), data, getattr(values, "shape", None),
                       str(getattr(values, "dtype", ""))))
    return (id(frame._mgr), id(frame.index), id(frame.columns), frame.shape, tuple(blocks),
            tuple(map(str, frame.dtypes)))


# The one State of this worker.
STATE = State()


def thread_guard_active() -> bool:
    module = sys.modules.get("_thread")
    return module is not None and module.__dict__.get("start_new_thread") is _no_threads
