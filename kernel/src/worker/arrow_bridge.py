"""Turn the Arrow IPC file written by the Rust `csv_ingest` crate into the
pandas DataFrame ``pd.read_csv(path)`` would have produced.

The Rust side has already parsed the CSV and decided each column's pandas
dtype (stored in the schema metadata), so nothing is parsed again here.

The file is memory-mapped copy-on-write (``ACCESS_COPY``): text columns
wrap the Arrow buffers as they are, and a numeric column stored in one
record batch becomes a numpy view that is still writable (pandas code such
as ``df.loc[mask, col] = 0`` needs writable arrays; a page is only copied
when written). csv_ingest writes a single record batch; files with several
batches still load, their numeric columns concatenated once.
"""

from __future__ import annotations

import mmap
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa

PANDAS_DTYPES_KEY = b"csv_ingest.pandas_dtypes"
INDEX_COLUMNS_KEY = b"csv_ingest.index_columns"
MIXED_COLUMNS_KEY = b"csv_ingest.mixed_columns"

# pandas 3's default string dtype, the one read_csv gives text columns.
_STR_DTYPE = pd.StringDtype(storage="pyarrow", na_value=np.nan)
_NUMPY_DTYPES = {"int64": np.int64, "uint64": np.uint64, "float64": np.float64}


def read_ipc_to_pandas(path: str) -> pd.DataFrame:
    """Memory-map the Arrow IPC file and build the pandas frame with read_csv's dtypes."""
    mapped = _map_copy_on_write(path)
    base = pa.py_buffer(mapped)
    table = pa.ipc.open_file(base).read_all()
    metadata = table.schema.metadata or {}
    if PANDAS_DTYPES_KEY not in metadata:
        # Not written by csv_ingest (e.g. a plain pyarrow file): pyarrow's own mapping.
        return table.to_pandas()
    dtypes = metadata[PANDAS_DTYPES_KEY].decode().split(",")
    index_columns = int(metadata.get(INDEX_COLUMNS_KEY, b"0"))
    mixed = _parse_mixed(metadata.get(MIXED_COLUMNS_KEY, b"").decode())

    columns = [
        _object_mixed(table.column(i), *mixed[i])
        if i in mixed
        else _to_pandas(table.column(i), dtype, mapped, base.address)
        for i, dtype in enumerate(dtypes)
    ]
    if mixed:
        _warn_mixed_types(mixed, table.column_names)
    index = _build_index(columns[:index_columns], table.num_rows)
    names = table.column_names[index_columns:]
    data = dict(zip(names, columns[index_columns:]))
    # copy=False keeps the zero-copy numeric arrays and, like read_csv,
    # leaves one block per column.
    return pd.DataFrame(data, index=index, copy=False)


def _map_copy_on_write(path: str) -> mmap.mmap:
    with open(path, "rb") as f:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)


def _to_pandas(column: pa.ChunkedArray, dtype: str, mapped: mmap.mmap, base: int):
    if dtype in _NUMPY_DTYPES:
        return _numeric(column, _NUMPY_DTYPES[dtype], mapped, base)
    if dtype == "bool":
        return column.to_numpy()
    if dtype == "str":
        return pd.array(column, dtype=_STR_DTYPE)
    if dtype == "object":
        return _object(column)
    raise ValueError(f"unknown pandas dtype {dtype!r} in Arrow metadata")


def _numeric(column: pa.ChunkedArray, dtype, mapped: mmap.mmap, base: int) -> np.ndarray:
    """A writable numpy view of the mapped Arrow buffer when the column is a
    single null-free batch; otherwise one concatenating copy (csv_ingest
    writes one batch, but other writers may not)."""
    if column.num_chunks == 1 and column.null_count == 0:
        chunk = column.chunk(0)
        data = chunk.buffers()[1]
        itemsize = np.dtype(dtype).itemsize
        offset = data.address - base + chunk.offset * itemsize
        return np.frombuffer(mapped, dtype=dtype, count=len(chunk), offset=offset)
    if column.null_count == 0:
        parts = [chunk.to_numpy(zero_copy_only=False) for chunk in column.chunks]
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)
    return np.array(column.to_numpy(), dtype=dtype)


def _object(column: pa.ChunkedArray) -> np.ndarray:
    """read_csv's object columns: booleans with NaN for missing values, or
    integers too big for int64/uint64 as Python ints."""
    if pa.types.is_boolean(column.type):
        values = column.to_pylist()
    else:
        values = [None if v is None else int(v) for v in column.to_pylist()]
    out = np.empty(len(values), dtype=object)
    out[:] = [np.nan if v is None else v for v in values]
    return out


def _parse_mixed(entry: str) -> dict[int, tuple[int, list[str]]]:
    """``column:rows_per_chunk:kind|kind;...`` -> {column: (rows, kinds)}."""
    mixed = {}
    for item in filter(None, entry.split(";")):
        column, rows, kinds = item.split(":")
        mixed[int(column)] = (int(rows), kinds.split("|"))
    return mixed


_TRUE = frozenset(("True", "TRUE", "true"))
_CONVERTERS = {
    "int": int,
    "float": float,
    "bool": lambda v: v in _TRUE,
    "str": str,
}


def _object_mixed(column: pa.ChunkedArray, rows_per_chunk: int, kinds: list[str]) -> np.ndarray:
    """read_csv's object column for a big file whose low_memory blocks were
    typed differently: each block's text converted as that block was typed
    (Python's int()/float() accept the same spellings pandas parsed)."""
    values = column.to_pylist()
    out = np.empty(len(values), dtype=object)
    for block, kind in enumerate(kinds):
        start = block * rows_per_chunk
        convert = _CONVERTERS[kind]
        out[start : start + rows_per_chunk] = [
            np.nan if v is None else convert(v) for v in values[start : start + rows_per_chunk]
        ]
    return out


def _warn_mixed_types(mixed: dict, names: list[str]) -> None:
    """The DtypeWarning read_csv gives for the same columns."""
    columns = ", ".join(f"{i}: {names[i]}" for i in sorted(mixed))
    warnings.warn(
        f"Columns ({columns}) have mixed types. Specify dtype option on import "
        "or set low_memory=False.",
        pd.errors.DtypeWarning,
        stacklevel=3,
    )


def _build_index(arrays: list, rows: int) -> pd.Index:
    """read_csv's implicit index: unnamed, one level per extra leading field."""
    if not arrays:
        return pd.RangeIndex(rows)
    if len(arrays) == 1:
        as_range = _range_if_evenly_spaced(arrays[0])
        return as_range if as_range is not None else pd.Index(arrays[0], name=None)
    return pd.MultiIndex.from_arrays(arrays, names=[None] * len(arrays))


def _range_if_evenly_spaced(values) -> pd.RangeIndex | None:
    """read_csv turns an int64 index with a constant non-zero step into a
    RangeIndex (e.g. 1, 3, 5)."""
    if not isinstance(values, np.ndarray) or values.dtype != np.int64 or len(values) < 2:
        return None
    step = int(values[1] - values[0])
    if step == 0 or not np.array_equal(np.diff(values), np.full(len(values) - 1, step)):
        return None
    return pd.RangeIndex(int(values[0]), int(values[-1]) + step, step)
