"""Python side of the kernel's worker: runs notebook cells and model-written questions.

The Rust worker embeds CPython, imports this package (bootstrap.py) and calls the functions
below from the main thread; bootstrap's `OPS` table names the only ones the kernel can reach.
Every output leaves through the `emit(kind, payload)` callback handed to `init`; payloads
hold only JSON values (str, int, float, bool, None, list, dict).

Modules, each one job, imported only downwards:
  state          limits, the user namespace, loaded datasets, the event channel
  output         stream text, rich display, figures, the per-cell output budget
  values         cell values as plain JSON
  datasets       register a loaded file as a frame; its profile
  engines        tables too large for pandas, queried in DuckDB with sql()
  results        a question's result as shown, kept and interpreted
  cells          start-up, %%python cells, the sandbox report
  questions      model-written code on copies of the data
  introspection  completion, inspection, completeness, user_expressions
"""

from . import cells, datasets, engines, introspection, output, questions, results, state, values
from .cells import dataset_names, init, namespace_names, reset_question_state, run_cell, sandbox_report
from .datasets import load_dataset, restore_dataset
from .engines import load_engine_table, restore_engine_table, restore_spark_table
from .introspection import complete, inspect, is_complete, user_expressions
from .output import display, mime_bundle
from .questions import export_variables, run_question
from .results import format_result, format_result_for_interpretation, shape_summary, summarize_result
from .state import DATASETS, NS, configure

__all__ = [
    "cells", "datasets", "engines", "introspection", "output", "questions", "results", "state", "values",
    "dataset_names", "init", "namespace_names", "reset_question_state", "run_cell", "sandbox_report",
    "load_dataset", "restore_dataset", "load_engine_table", "restore_engine_table", "restore_spark_table", "complete", "inspect", "is_complete", "user_expressions",
    "display", "mime_bundle", "export_variables", "run_question", "format_result",
    "format_result_for_interpretation", "shape_summary", "summarize_result", "DATASETS", "NS",
    "configure", "integrity",
]

# The state module's integrity sibling, for bootstrap (it ends a tainted process).
integrity = state.integrity
