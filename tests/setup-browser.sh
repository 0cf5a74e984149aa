#!/usr/bin/env bash
# Install what tests/test_browser.py needs: Debian's chromium, JupyterLab in the kernel's venv,
# and playwright-core (from tests/browser/package-lock.json). Idempotent and quick when done:
# apt only if /usr/bin/chromium is missing, `npm ci` only if node_modules is missing or the lock
# changed, pip only if jupyterlab is not importable. No browser is downloaded (Playwright's own
# builds cannot be fetched here); the test drives /usr/bin/chromium.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOME_DIR="${LLM_ANALYTICS_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/llm-analytics}"
VENV="$HOME_DIR/venv"
BROWSER_DIR="$ROOT/tests/browser"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup-browser.sh: %s\n' "$*" >&2; exit 1; }

apt_updated=0
apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        die "need $* (Debian: sudo apt-get install -y $*)"
    fi
    if [ "$apt_updated" = 0 ]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ ! -x /usr/bin/chromium ]; then
    say "Installing Debian's chromium (apt)"
    # fonts-liberation: readable text in screenshots on a minimal system.
    apt_install chromium fonts-liberation
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "Installing Node.js and npm (apt)"
    apt_install nodejs npm
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "playwright-core needs Node.js >= 20; $(command -v node) is $(node --version)"

[ -x "$VENV/bin/python" ] || die "no venv at $VENV: run ./install.sh first"
if ! "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("jupyterlab") is None)' 2>/dev/null; then
    say "Installing JupyterLab into $VENV (pip)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "jupyterlab>=4.4,<5"
fi

# npm ci only when node_modules is missing or was installed from another lock file.
stamp="$BROWSER_DIR/node_modules/.package-lock.sha256"
want="$(sha256sum "$BROWSER_DIR/package-lock.json" | cut -d' ' -f1)"
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "Installing playwright-core (npm ci in tests/browser)"
    # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing, but be explicit.
    (cd "$BROWSER_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
fi
