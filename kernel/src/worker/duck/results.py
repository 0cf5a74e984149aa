"""What comes back from DuckDB: a streamed Arrow result cut at the row and byte caps, turned
into the DataFrame pandas users expect, and DuckDB's errors with what to do instead."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

_OOM_HINT = ("The query needs more memory than the engine has (its memory limit and settings "
             "are fixed). Reduce it: filter and aggregate first (GROUP BY), select fewer "
             "columns, and avoid building huge lists or strings.")
_FILE_TOO_LARGE_HINT = ("The query spilled more intermediate data than one scratch file may "
                        "hold. Reduce it: filter and aggregate first, select fewer columns.")


def _take(reader: pa.RecordBatchReader, max_rows: int, max_bytes: int) -> tuple[list, bool]:
    """At most max_rows rows and about max_bytes of batches; truncated when more existed."""
    batches, rows, size = [], 0, 0
    for batch in reader:
        if batch.num_rows == 0:
            continue
        keep = min(batch.num_rows, max_rows - rows)
        per_row = batch.nbytes / batch.num_rows
        if per_row > 0:
            keep = min(keep, int((max_bytes - size) // per_row))
        keep = max(keep, 0)
        if keep < batch.num_rows:
            if keep:
                batches.append(batch.slice(0, keep))
            return batches, True
        batches.append(batch)
        rows += keep
        size += batch.nbytes
    return batches, False



def _explained(error: BaseException) -> BaseException:
    """DuckDB's error, with what to do instead where its own advice (raise memory_limit,
    fewer threads) is impossible under the locked configuration."""
    if isinstance(error, duckdb.OutOfMemoryException):
        return duckdb.OutOfMemoryException(f"{str(error).splitlines()[0]}\n{_OOM_HINT}")
    if isinstance(error, duckdb.IOException) and "File too large" in str(error):
        return duckdb.IOException(f"{str(error).splitlines()[0]}\n{_FILE_TOO_LARGE_HINT}")
    return error



def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow result -> DataFrame as pandas users expect: whole DECIMALs (HUGEINT, which is
    what sum() of integers gives) as int64 when they fit, other DECIMALs as float64 (pandas
    would hold Decimal objects), DATE as datetime64 (not Python dates); the rest is pyarrow's
    default (text -> str, integers with NULLs -> float64, timestamps keep their unit)."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_decimal(field.type):
            column = _from_decimal(column)
        elif pa.types.is_date(field.type):
            column = column.cast(pa.timestamp("us"))
        columns.append(column)
    # One thread: the result is small, and a thread start can fail under RLIMIT_AS.
    return pa.Table.from_arrays(columns, names=table.column_names).to_pandas(use_threads=False)


def _from_decimal(column):
    if column.type.scale == 0:
        try:
            return column.cast(pa.int64())  # a safe cast: refuses values that do not fit
        except pa.ArrowInvalid:
            pass
    return column.cast(pa.float64())

