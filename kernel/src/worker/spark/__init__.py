"""The Spark engine process (`worker --spark`): holds the kernel's one Spark Connect session.

It runs no generated Python. The kernel sends it three things only (bootstrap.py's
SPARK_OPS): the cluster's address (with its token, over this pipe, never the environment),
the sources `%load spark:...` names, and SQL that the validator passed as one read-only Spark
query over registered tables. Each result is written as an Arrow file into the kernel's
directory, where the question worker, which has no network, reads it."""

import logging
import os
import re
import time

from . import profile

_session = [None]  # the SparkSession
_url = [""]  # the address, for masking it in messages


def init(emit) -> None:  # noqa: ARG001 - same shape as the runtime's init
    pass


# pyspark logs every failed query with the JVM's stack trace; the kernel reports the message.
logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)


def _mask(text: str) -> str:
    """Messages never carry the token (pyspark puts the address in some of its errors)."""
    text = re.sub(r"(token=)[^;/\s'\"]+", r"\1***", str(text))
    token = re.search(r"token=([^;/\s]+)", _url[0])
    return text.replace(token.group(1), "***") if token else text


def _spark():
    if _session[0] is None:
        raise RuntimeError("No Spark cluster is attached: run %connect spark sc://HOST:PORT first.")
    return _session[0]


def spark_connect(url: str) -> dict:
    """Open the session and ask the cluster its version (the first round trip)."""
    from pyspark.sql import SparkSession

    _url[0] = url
    try:
        spark = SparkSession.builder.remote(url).create()
        # The client's default retries an unreachable server for over ten minutes; a few
        # seconds tell the user sooner that the address is wrong.
        from pyspark.sql.connect.client.retries import DefaultPolicy

        spark.client.set_retry_policies([DefaultPolicy(max_retries=5, max_backoff=5000)])
        version = spark.version
        # "col" is a column, as in DuckDB and the prompt's examples, not a string literal.
        spark.conf.set("spark.sql.ansi.doubleQuotedIdentifiers", "true")
    except Exception as e:  # noqa: BLE001 - the user is told why, token masked
        return {"error": _mask(f"{type(e).__name__}: {e}".splitlines()[0])}
    _session[0] = spark
    return {"version": version}


def spark_register(name: str, source: str) -> dict:
    """Register `source` (a table in the cluster's catalog, or a path the cluster reads) as
    temporary view `name` and profile it on the cluster; {"load_error": why} if it fails."""
    spark = _spark()
    try:
        frame = _read(spark, source)
        frame.createOrReplaceTempView(name)
        return profile.profile(spark, name, source)
    except Exception as e:  # noqa: BLE001 - a source Spark cannot read: the user is told why
        first = _mask(str(e)).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return {"load_error": f"Spark could not read {source}: {first}"}


_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".json": "json",
            ".ndjson": "json", ".jsonl": "json", ".orc": "orc"}


def _read(spark, source: str):
    """A path (it has a '/' or a known extension) is read by format; else a catalog table."""
    ext = os.path.splitext(source.rstrip("/"))[1].lower()
    if "/" not in source and ext not in _FORMATS:
        return spark.table(source)
    fmt = _FORMATS.get(ext, "parquet")  # a folder of part files is most often Parquet
    reader = spark.read.format(fmt)
    if fmt == "csv":
        reader = reader.option("header", "true").option("inferSchema", "true")
    return reader.load(source)


def spark_run(sql: str, max_rows: int, max_bytes: int, out: str) -> dict:
    """Run one checked query and write its result to `out` (Arrow IPC). At most max_rows + 1
    rows come back from the cluster; a result over either bound is not written but reported
    (`refused`), so the worker refuses it as it does for DuckDB rather than cut it."""
    import pyarrow as pa

    started = time.perf_counter()
    table = _spark().sql(sql).limit(max_rows + 1).toArrow()
    seconds = time.perf_counter() - started
    info = {"sql": sql, "rows_returned": table.num_rows, "seconds": round(seconds, 3),
            "bytes": table.nbytes}
    if table.num_rows > max_rows or table.nbytes > max_bytes:
        info["refused"] = True
        info["rows_returned"] = min(table.num_rows, max_rows)
        return info
    partial = out + ".part"
    with pa.OSFile(partial, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(partial, out)
    return info
