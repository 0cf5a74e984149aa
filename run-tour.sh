#!/usr/bin/env bash
# The product's main job, headless: execute notebooks/tour.ipynb with the llm-analytics kernel
# and write an HTML report. Needs no API key: the notebook's recorded answers
# (notebooks/tour.answers.json) are replayed, while every cell's code really runs on the data.
#   ./run-tour.sh [OUTPUT.html]      (default: build/tour.html)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${LLM_ANALYTICS_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/llm-analytics}/venv"
OUT="$(realpath -m "${1:-$ROOT/build/tour.html}")"
[ -x "$VENV/bin/jupyter" ] || { echo "run ./install.sh first" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
# A private history store, so this run replays exactly the recorded answers.
DATA_DIR="$(mktemp -d)"
trap 'rm -rf "$DATA_DIR"' EXIT
cd "$ROOT/notebooks"
JPY_SESSION_NAME="$ROOT/notebooks/tour.ipynb" LLM_ANALYTICS_DATA_DIR="$DATA_DIR" \
    "$VENV/bin/jupyter" nbconvert --to html --execute \
    --ExecutePreprocessor.kernel_name=llm-analytics --ExecutePreprocessor.timeout=300 \
    --output-dir "$(dirname "$OUT")" --output "$(basename "$OUT" .html)" tour.ipynb
echo "Report written to $OUT"
