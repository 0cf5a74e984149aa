"""The State of the integrity layer: the baseline later questions must see (library state
and process-wide settings), taken at start-up and after user code, and the restore after
each question of everything it changed."""

from __future__ import annotations

import builtins
import os
import signal
import sys
import types
import warnings

from .threads import _THREAD_STARTERS, _no_threads, _python_thread_ids, _stop_threads
from .watch import _import_snapshots, _install_import_hook, _module_classes, _watched

_MISSING = object()

# Entries that change on their own and mean nothing: never restored, never reported.
_VOLATILE_KEYS = frozenset({"__warningregistry__", "_"})


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
