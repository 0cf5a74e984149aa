#!/usr/bin/env bash
# Build the kernel (release), prepare the Python environment the worker embeds, and install
# the kernelspec for the current user. Idempotent: re-running only redoes what changed.
#
# Environment knobs:
#   LLM_ANALYTICS_HOME    where the venv and the installed binary live
#                         (default: ${XDG_DATA_HOME:-~/.local/share}/llm-analytics)
#   LLM_ANALYTICS_PYTHON  base interpreter with a shared libpython (default: /usr/bin/python3)
#   CARGO_TARGET_DIR      build cache (default: ~/.cache/llm-analytics-kernel/target)
#   KERNELSPEC_ARGS       extra args for `llm-analytics-kernel install` (e.g. --sys-prefix)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOME_DIR="${LLM_ANALYTICS_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/llm-analytics}"
VENV="$HOME_DIR/venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llm-analytics-kernel/target}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

pick_python() {
    # pyo3 must link the interpreter whose packages the worker imports, and that
    # interpreter must ship libpython as a shared library.
    for cand in "${LLM_ANALYTICS_PYTHON:-}" /usr/bin/python3 /usr/bin/python3.11 python3; do
        [ -n "$cand" ] || continue
        command -v "$cand" >/dev/null 2>&1 || continue
        if "$cand" -c 'import sysconfig,sys; sys.exit(0 if sysconfig.get_config_var("Py_ENABLE_SHARED") and sys.version_info >= (3,11) else 1)' 2>/dev/null; then
            command -v "$cand"; return 0
        fi
    done
    return 1
}

ensure_system_packages() {
    local py="$1"
    if "$py" -c 'import venv, ensurepip' 2>/dev/null && [ -n "$("$py" -c 'import sysconfig;print(sysconfig.get_config_var("LDLIBRARY") or "")')" ]; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "Installing python3-venv and python3-dev (apt)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-dev >/dev/null
    else
        die "the Python at $py lacks venv/ensurepip or libpython. Install them (Debian: sudo apt-get install python3-venv python3-dev) and re-run."
    fi
}

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) and re-run."
PY="$(pick_python)" || {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-dev >/dev/null
        PY="$(pick_python)" || die "no Python >= 3.11 with a shared libpython found"
    else
        die "no Python >= 3.11 with a shared libpython found; set LLM_ANALYTICS_PYTHON"
    fi
}
ensure_system_packages "$PY"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    say "Creating the worker's Python environment in $VENV (from $PY)"
    mkdir -p "$HOME_DIR"
    "$PY" -m venv "$VENV"
fi
say "Installing Python packages (pandas, numpy, matplotlib, pyarrow, scipy, scikit-learn, statsmodels, seaborn, Jupyter tools)"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements/worker.txt"

say "Building the kernel (release; cache in $CARGO_TARGET_DIR)"
export PYO3_PYTHON="$VENV/bin/python"
(cd "$ROOT" && cargo build --release --workspace --bins)

# Install a copy so rebuilding the tree never swaps the binary under a running kernel.
mkdir -p "$HOME_DIR/bin"
for bin in llm-analytics-kernel csv2arrow; do
    if [ -f "$CARGO_TARGET_DIR/release/$bin" ]; then
        cp "$CARGO_TARGET_DIR/release/$bin" "$HOME_DIR/bin/.$bin.new"
        mv -f "$HOME_DIR/bin/.$bin.new" "$HOME_DIR/bin/$bin"
    fi
done
say "Installing the kernelspec"
"$HOME_DIR/bin/llm-analytics-kernel" install ${KERNELSPEC_ARGS:-}
say "Done. Jupyter tools are in $VENV/bin (e.g. $VENV/bin/jupyter kernelspec list)."
