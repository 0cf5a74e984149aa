"""Cell values as plain JSON (the kernel's wire format), shared by profiles and results."""

import datetime
import math

import numpy as np
import pandas as pd


def column_names(frame: pd.DataFrame) -> list:
    return [str(column) for column in frame.columns]


def records(frame: pd.DataFrame, max_chars: int | None = None) -> list:
    names = column_names(frame)
    rows = frame.itertuples(index=False, name=None)
    out = [{name: json_safe(value) for name, value in zip(names, row)} for row in rows]
    if max_chars is not None:
        for record in out:
            for name, value in record.items():
                if isinstance(value, str) and len(value) > max_chars:
                    record[name] = value[:max_chars] + "…"
    return out


def json_safe(value):
    """value as plain JSON: missing -> None, numpy -> Python, dates -> ISO text, else str."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if is_missing(value):
        return None
    if isinstance(value, (np.number, np.bool_)):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):  # includes pd.Timestamp
        return value.isoformat()
    return str(value)


def is_missing(value) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # objects pandas cannot judge are values
        return False
