"""The thread guard: questions cannot start Python threads, and a thread that appears anyway
is stopped (raising SystemExit in it) after the question."""

from __future__ import annotations

import sys
import threading  # noqa: F401 - kept loaded, so begin_question guards its starters too
import time


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



def thread_guard_active() -> bool:
    module = sys.modules.get("_thread")
    return module is not None and module.__dict__.get("start_new_thread") is _no_threads
