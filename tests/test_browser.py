"""JupyterLab in a real browser.

Starts JupyterLab (from the kernel's venv) on a temporary copy of notebooks/, with the kernel
talking to the scripted fake model server, and runs tests/browser/jupyterlab-tour.js: Debian's
headless chromium, driven by playwright-core, opens the tour notebook, runs all cells from the
Run menu, and checks the DOM (generated code block, HTML table, chart image, interpretation, the
error cell, the cell that %code creates, no JavaScript errors). Screenshots go to tests/artifacts/.

Needs tests/setup-browser.sh (chromium, playwright-core, jupyterlab); fails, never skips, when
something is missing.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parent.parent
BROWSER_DIR = ROOT / "tests" / "browser"
SCRIPT = BROWSER_DIR / "jupyterlab-tour.js"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
SETUP_HINT = "run tests/setup-browser.sh (tests/run.sh does)"

ERROR_QUESTION = "Which files are in the working directory?"
MATH_MARKER = "real math still renders"
REFUSED_REPLY = "```python\nimport os\nresult = os.listdir()\n```"

SERVER_START_TIMEOUT = 90
NODE_TIMEOUT = 300

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(480)]


def require_tools() -> str:
    """The node binary; fails with a clear message when anything the test needs is missing."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (Debian package chromium)")
    node = shutil.which("node")
    if node is None:
        missing.append("node (Node.js)")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        missing.append("tests/browser/node_modules/playwright-core (npm ci)")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        missing.append(f"jupyterlab in {sys.prefix} (pip)")
    if missing:
        pytest.fail("browser test prerequisites missing: " + ", ".join(missing) + f"; {SETUP_HINT}",
                    pytrace=False)
    assert node is not None
    return node


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_notebooks(dest: Path) -> Path:
    """Copy notebooks/ to dest; in the copy of the tour, clear the outputs (so everything the
    browser shows comes from this run) and append a math control cell, the error question and a %code cell."""
    shutil.copytree(ROOT / "notebooks", dest)
    path = dest / "tour.ipynb"
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb["cells"] += [
        # A control for the "no LaTeX in the outputs" check: a formula MathJax must typeset.
        {"cell_type": "markdown", "id": "browser-test-math", "metadata": {},
         "source": f"Added by the browser test: {MATH_MARKER} ($e^{{i\\pi}} + 1 = 0$), "
                   "while dollar amounts in the answers must not turn into formulas."},
        # raises-exception: JupyterLab sends stop_on_error=false, so Run All goes on to %code.
        {"cell_type": "code", "execution_count": None, "id": "browser-test-refused",
         "metadata": {"tags": ["raises-exception"]}, "outputs": [], "source": ERROR_QUESTION},
        {"cell_type": "code", "execution_count": None, "id": "browser-test-code",
         "metadata": {}, "outputs": [], "source": "%code"},
    ]
    path.write_text(json.dumps(nb, indent=1))
    return path


def write_lab_settings(settings_dir: Path) -> None:
    """User settings for this JupyterLab only: render every cell (no windowing, so the whole
    notebook is in the DOM), and no news or update checks (no network here)."""
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, value in files.items():
        p = settings_dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(value))


def wait_for_server(proc: subprocess.Popen, url: str, token: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{tail(log)}", pytrace=False)
        try:
            req = urllib.request.Request(f"{url}/api/status",
                                         headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(req, timeout=5) as r:
                if r.status == 200:
                    json.load(r)
                    return
        except (urllib.error.URLError, OSError, ValueError) as e:
            last = e
        time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer /api/status within {SERVER_START_TIMEOUT}s "
                f"({last}):\n{tail(log)}", pytrace=False)


def tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return f"(no {path})"


def stop_group(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM the process group, then SIGKILL what is left after grace seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def stop_jupyter(proc: subprocess.Popen, url: str, token: str) -> None:
    """Ask the server to shut down (it stops its kernels), then make sure it is gone."""
    if proc.poll() is None:
        try:
            req = urllib.request.Request(f"{url}/api/shutdown", method="POST", data=b"",
                                         headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(req, timeout=5).close()
            proc.wait(timeout=20)
        except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
            pass
    stop_group(proc, grace=15)


def test_jupyterlab_runs_the_tour_in_a_real_browser(kernel_spec, tmp_path):
    node = require_tools()
    root_dir = tmp_path / "notebooks"
    prepare_notebooks(root_dir)
    settings = tmp_path / "lab-settings"
    write_lab_settings(settings)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    llm = FakeLLM()
    llm.start()
    # Every model call (only the added question makes any) gets code the validator refuses.
    llm.script(rules=[{"match": ERROR_QUESTION, "reply": {"content": REFUSED_REPLY}}])

    port = free_port()
    token = secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MONGODB_URL", "JPY_SESSION_NAME", "OPENAI_MODEL")}
    env.update({
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "test",
        "LLM_ANALYTICS_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    lab_log = tmp_path / "jupyterlab.log"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.disable_check_xsrf=True", "--ServerApp.allow_root=True",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        "--LabApp.extension_manager=readonly",
    ]
    started = time.monotonic()
    with open(lab_log, "wb") as log_file:
        lab = subprocess.Popen(cmd, cwd=root_dir, env=env, stdin=subprocess.DEVNULL,
                               stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    node_proc = None
    try:
        wait_for_server(lab, url, token, lab_log)
        print(f"jupyter lab ready in {time.monotonic() - started:.1f}s")
        node_env = dict(os.environ)
        node_env.update({
            "JLAB_URL": url,
            "JLAB_TOKEN": token,
            "NOTEBOOK": "tour.ipynb",
            "ERROR_QUESTION": ERROR_QUESTION,
            "MATH_MARKER": MATH_MARKER,
            "ARTIFACTS_DIR": str(ARTIFACTS),
            "CHROMIUM": CHROMIUM,
            "TOTAL_TIMEOUT_MS": str((NODE_TIMEOUT - 20) * 1000),
        })
        node_proc = subprocess.Popen([node, str(SCRIPT)], cwd=BROWSER_DIR, env=node_env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = node_proc.communicate(timeout=NODE_TIMEOUT)
        except subprocess.TimeoutExpired:
            stop_group(node_proc, grace=5)
            out, _ = node_proc.communicate()
            out += f"\n(node killed after {NODE_TIMEOUT}s)".encode()
        output = out.decode(errors="replace")
        print(output)
        print(f"browser test took {time.monotonic() - started:.1f}s in all")
        assert node_proc.returncode == 0, (
            f"browser test failed (exit {node_proc.returncode}); screenshots in {ARTIFACTS}\n"
            f"--- node output ---\n{output}\n--- jupyter lab log (tail) ---\n{tail(lab_log)}"
        )
        # The tour's questions were replayed from the recorded answers; only the added question
        # reached the model: once for code, then once per feedback round after each refusal
        # (MAX_REPAIR_ROUNDS, default 3).
        asked = llm.chat_requests
        assert len(asked) == 1 + 3, [json.dumps(r["json"])[:300] for r in asked]
        assert all(ERROR_QUESTION in json.dumps(r["json"]) for r in asked)
    finally:
        if node_proc is not None:
            stop_group(node_proc, grace=5)
        stop_jupyter(lab, url, token)
        llm.stop()
