"""A real Spark Connect server in local mode for the tests (tests/setup-spark.sh installs
it): PyPI's pyspark carries the Spark jars, the Connect server among them."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

SERVER_ENV = Path(os.environ.get("LLM_ANALYTICS_SPARK_SERVER",
                                  Path.home() / ".cache/llm-analytics-kernel/spark-server"))
STARTED = "Spark Connect server started"


def spark_home() -> Path | None:
    found = sorted(SERVER_ENV.glob("lib/python3*/site-packages/pyspark/bin/spark-submit"))
    return found[0].parent.parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SparkServer:
    def __init__(self, log: Path):
        home = spark_home()
        if home is None:
            raise FileNotFoundError(f"no pyspark in {SERVER_ENV}: run tests/setup-spark.sh")
        self.port = free_port()
        self.url = f"sc://127.0.0.1:{self.port}"
        self.log = log
        env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1")
        self.proc = subprocess.Popen(
            [str(home / "bin/spark-submit"), "--class",
             "org.apache.spark.sql.connect.service.SparkConnectServer", "--master", "local[2]",
             "--driver-memory", "1g",
             "--conf", f"spark.connect.grpc.binding.port={self.port}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", "spark.ui.enabled=false",
             "--conf", "spark.sql.shuffle.partitions=2",
             "spark-internal"],
            # Its cwd holds what Spark writes beside it (spark-warehouse, metastore_db).
            stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
            cwd=log.parent)

    def wait(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if STARTED in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"the Spark Connect server did not start:\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
