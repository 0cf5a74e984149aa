"""The profile of a table on Spark, computed on the cluster (three queries: the row count
with the null counts, a sample, the distinct values of text columns), in the shape of the
pandas runtime's dataset profile (llm_duck.profile builds the dict)."""

from llm_duck.profile import (CATEGORY_MAX_CHARS, CATEGORY_MAX_COLUMNS, CATEGORY_MAX_VALUES,
                              CATEGORY_PROBE_ROWS, SAMPLE_ROWS, _as_dtypes, _pandas_dtype,
                              _profile_dict)


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def profile(spark, view: str, source: str) -> dict:
    frame = spark.table(view)
    columns = list(frame.columns)
    counts = ", ".join(f"count(*) - count({_q(c)})" for c in columns)
    found = spark.sql(f"SELECT count(*), {counts} FROM {_q(view)}").toArrow().to_pylist()[0]
    values = list(found.values())
    rows, nulls = int(values[0]), {c: int(n) for c, n in zip(columns, values[1:])}
    sample_table = spark.sql(f"SELECT * FROM {_q(view)} LIMIT {SAMPLE_ROWS}").toArrow()
    sample = sample_table.to_pandas()
    empty = sample_table.schema.empty_table().to_pandas()
    dtypes = {c: _pandas_dtype(empty[c].dtype, nulls[c]) for c in columns}
    sample = _as_dtypes(sample, dtypes)
    sql_types = {f.name: f.dataType.simpleString().upper() for f in frame.schema.fields}
    text = [c for c in columns if sql_types[c] == "STRING"][:CATEGORY_MAX_COLUMNS]
    out = _profile_dict(view, source, rows, dtypes, nulls, sample,
                        _categories(spark, view, text), sql_types)
    out["engine"] = "spark"
    return out


def _categories(spark, view: str, columns: list) -> dict:
    """Text columns with few distinct values among the first rows, values in first-seen
    order as far as Spark keeps one (for matching names in questions; never in a prompt)."""
    if not columns:
        return {}
    picked = ", ".join(_q(c) for c in columns)
    first = spark.sql(f"SELECT {picked} FROM {_q(view)} LIMIT {CATEGORY_PROBE_ROWS}").toArrow()
    out = {}
    for column in columns:
        values = first.column(column).drop_null().unique().to_pylist()
        values = [v for v in values if isinstance(v, str) and len(v) <= CATEGORY_MAX_CHARS]
        if values and len(values) <= CATEGORY_MAX_VALUES:
            out[column] = values
    return out
