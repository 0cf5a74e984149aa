#!/usr/bin/env bash
# The real Spark Connect server that tests/test_spark.py starts in local mode: PyPI's pyspark
# (which carries the Spark jars, the Connect server among them) in a venv of its own, and a
# Java runtime (Debian's openjdk-17-jre-headless when none is installed). Idempotent.
set -euo pipefail
SPARK_VERSION=4.0.1
DIR="${LLM_ANALYTICS_SPARK_SERVER:-$HOME/.cache/llm-analytics-kernel/spark-server}"
if ! command -v java >/dev/null 2>&1; then
    echo "==> installing a Java runtime for the Spark Connect server"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
if ! "$DIR/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$SPARK_VERSION')" 2>/dev/null; then
    echo "==> installing pyspark $SPARK_VERSION (Spark Connect server for tests) into $DIR"
    python3 -m venv "$DIR"
    "$DIR/bin/pip" install -q --disable-pip-version-check "pyspark==$SPARK_VERSION"
fi
