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

The package's modules, each importing only those after it:
* `restore`: `State`, the baseline and the restore after each question;
* `watch`: which modules are watched, and the import hook for those a question imports;
* `threads`: the thread guard, and stopping a thread a question left running;
* `frames`: sealed frames and their fingerprints.
"""

from __future__ import annotations

from .frames import fingerprint, seal_frame
from .restore import State
from .threads import thread_guard_active
from .watch import WATCHED_ROOTS

__all__ = ["STATE", "State", "WATCHED_ROOTS", "fingerprint", "seal_frame", "thread_guard_active"]

# The one State of this worker.
STATE = State()
