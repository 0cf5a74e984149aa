"""DuckDB engine of the worker (imported as `llm_duck`): SQL over registered Parquet and CSV
files, so datasets larger than memory can be queried.

Two layers hold the model's SQL in, each on its own:
* `check_query` parses the SQL with DuckDB's own parser (json_serialize_sql) and allows one
  SELECT over the registered tables and a few harmless table functions;
* the engine's connection itself runs with external access off (only the registered files
  are readable), extensions off and its configuration locked, so even SQL that skipped the
  check cannot read other files, write files, attach databases or change settings.
  One exception is DuckDB's own: it may always write into its temp_directory (the spill
  folder inside the worker's scratch), which the worker may write anyway.

Nothing here imports the rest of the runtime; the profile mirrors runtime's dataset profile.

The package's modules, each importing only those after it:
* `engine`: the locked connection (`Engine`), its queries and its memory limit;
* `sqlcheck`: `check_query`, the first layer;
* `profile`: the dataset profile computed by DuckDB;
* `results`: Arrow results as pandas frames, and DuckDB's errors explained;
* `readers`: the views over the files (read_parquet / read_csv) and SQL quoting.
"""

from .engine import Engine, suggested_memory_limit_mb
from .profile import (
    CATEGORY_MAX_CHARS,
    CATEGORY_MAX_COLUMNS,
    CATEGORY_MAX_VALUES,
    CATEGORY_PROBE_ROWS,
    CATEGORY_SCAN_ROWS,
    PROFILE_CELL_CHARS,
    PROFILE_LINE_WIDTH,
    PROFILE_MAX_COLUMNS,
    SAMPLE_RECORD_CHARS,
    SAMPLE_ROWS,
)
from .readers import PANDAS_NA_STRINGS
from .sqlcheck import SqlRefused, check_query

__all__ = [
    "CATEGORY_MAX_CHARS", "CATEGORY_MAX_COLUMNS", "CATEGORY_MAX_VALUES", "CATEGORY_PROBE_ROWS",
    "CATEGORY_SCAN_ROWS", "Engine", "PANDAS_NA_STRINGS", "PROFILE_CELL_CHARS",
    "PROFILE_LINE_WIDTH", "PROFILE_MAX_COLUMNS", "SAMPLE_RECORD_CHARS", "SAMPLE_ROWS",
    "SqlRefused", "check_query", "suggested_memory_limit_mb",
]
