#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite:
# formatting, clippy, Rust unit tests, then the Python tests against the installed kernel.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOME_DIR="${LLM_ANALYTICS_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/llm-analytics}"
VENV="$HOME_DIR/venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llm-analytics-kernel/target}"
export PYO3_PYTHON="$VENV/bin/python"

"$ROOT/install.sh"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements/test.txt"
"$ROOT/tests/setup-browser.sh"
"$ROOT/tests/setup-spark.sh"

cd "$ROOT"
echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --release --workspace --all-targets -- -D warnings
echo "==> cargo test"
cargo test --release --workspace

echo "==> pytest"
export CSV2ARROW="$HOME_DIR/bin/csv2arrow"
export PATH="$VENV/bin:$PATH"
"$VENV/bin/python" -m pytest "$ROOT/tests" "$@"
