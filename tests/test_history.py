"""Kernel-level tests of the conversation history: sessions, context after a restart,
replay of recorded answers, ``%history``, and the MongoDB store with its local spool.

Every test drives real kernels through jupyter_client and a scripted model
(tests/fake_llm.py).  The model is scripted with rules keyed on the question
("Current question: <q>" for code, "The user asked:" for interpretations), so
a question gets the same code whichever kernel asks it, and the fake server's
request log says exactly when the model was (or was not) called.

MongoDB tests run a SecantusDB server (``secantusd-py``, a MongoDB-protocol
server in the venv) on a free port with its storage in ``tmp_path``; every
server a test started is killed by PID at teardown, even on failure.  When
pymongo is importable the documents are also counted directly.

Expected numbers are computed here with pandas from the CSV the kernel loads.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import pytest

from fake_llm import FakeLLM, last_user_message
from kernel_helpers import drain, errors, execute, kernel_pid, make_kernel_env, role, show, stream_text

try:  # only used when present in the venv
    import pymongo  # type: ignore
except ImportError:  # pragma: no cover - depends on the venv
    pymongo = None

try:
    from bs4 import BeautifulSoup
except ImportError:  # pragma: no cover
    BeautifulSoup = None

pytestmark = [pytest.mark.kernel]

CELL_TIMEOUT = 60
INTERPRETATION = "HISTORY-TEST interpretation: the numbers look plausible."
REPLAY_NOTE = "Replayed a recorded answer"
# Extra time a cell may take because of the database (the brief: "~3 s").
DB_SLACK = 3.0

# ---------------------------------------------------------------------------
# questions and the code the scripted model answers with
# ---------------------------------------------------------------------------

Q_TOTAL = "What is the total revenue?"
Q_ORDERS = "How many orders are in the data?"
Q_AVG_QTY = "What is the average quantity per order?"
Q_MAX_PRICE = "What is the highest unit price?"
Q_BROKEN = "What is the total discount given?"  # the model's code raises KeyError
# uses a variable the user defines with %%python (questions see copies of user variables)
Q_THRESHOLD = "How many orders have revenue above the threshold?"

CODE = {
    Q_TOTAL: "result = round(float(df['revenue'].sum()), 2)",
    Q_ORDERS: "result = int(len(df))",
    Q_AVG_QTY: "result = round(float(df['quantity'].mean()), 4)",
    Q_MAX_PRICE: "result = round(float(df['price'].max()), 2)",
    Q_BROKEN: "result = float(df['discount'].sum())",
    Q_THRESHOLD: "result = int((df['revenue'] > threshold).sum())",
}

EXPECTED: dict[str, Callable[[pd.DataFrame], float]] = {
    Q_TOTAL: lambda d: round(float(d["revenue"].sum()), 2),
    Q_ORDERS: lambda d: int(len(d)),
    Q_AVG_QTY: lambda d: round(float(d["quantity"].mean()), 4),
    Q_MAX_PRICE: lambda d: round(float(d["price"].max()), 2),
}


def script_model(llm: FakeLLM, delay: float = 0.0) -> None:
    """Every known question gets its code; every interpretation request INTERPRETATION."""
    extra = {"delay": delay} if delay else {}
    rules = [
        {"match": f"Current question: {q}\n", "reply": {"content": code, **extra}}
        for q, code in CODE.items()
    ]
    rules.append({"match_regex": r"\A\s*The user asked:",
                  "reply": {"content": INTERPRETATION, **extra}})
    llm.script(rules=rules, reset=True)


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------

def make_sales(n: int = 60, seed: int = 1234) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cats = {"Electronics": ["Laptop", "Phone"], "Furniture": ["Desk", "Chair"],
            "Clothing": ["Jacket", "Shoes"]}
    regions = ["North", "South", "East", "West"]
    rows = []
    for i, day in enumerate(pd.date_range("2024-03-01", periods=n, freq="D")):
        cat = list(cats)[i % 3]
        price = round(float(rng.uniform(5, 900)), 2)
        qty = int(rng.integers(1, 10))
        rows.append({
            "order_id": 1000 + i,
            "date": day.strftime("%Y-%m-%d"),
            "region": regions[int(rng.integers(0, 4))],
            "category": cat,
            "product": cats[cat][int(rng.integers(0, 2))],
            "price": price,
            "quantity": qty,
            "revenue": round(price * qty, 2),
        })
    return pd.DataFrame(rows)


def write_csv(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Write frame; return it as pandas reads it back (what the kernel computes on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return pd.read_csv(path)


@pytest.fixture
def sales_csv(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    path = tmp_path / "sales.csv"
    return path, write_csv(make_sales(), path)


# ---------------------------------------------------------------------------
# output helpers
# ---------------------------------------------------------------------------

def _system(body: dict[str, Any]) -> str:
    return next((m.get("content") or "" for m in (body or {}).get("messages", [])
                 if m.get("role") == "system"), "")


def code_requests(llm: FakeLLM) -> list[dict[str, Any]]:
    """Bodies of the code-generation requests (both kinds stream; the interpretation's
    system prompt tells them apart)."""
    return [r["json"] for r in llm.chat_requests if "explaining results" not in _system(r["json"])]


def code_prompt_for(llm: FakeLLM, question: str) -> str:
    """The last code prompt the model received for question."""
    prompts = [last_user_message(b) for b in code_requests(llm)]
    mine = [p for p in prompts if f"Current question: {question}\n" in p]
    assert mine, (f"the model never got a code request for {question!r}; "
                  f"requests: {[p[-300:] for p in prompts]}")
    return mine[-1]


def context_block(prompt: str) -> str:
    """The 'Previous conversation context' part of a code prompt ('' when absent)."""
    start = prompt.find("Previous conversation context:")
    if start < 0:
        return ""
    end = prompt.find("Current question:", start)
    return prompt[start:end]


def context_questions(prompt: str) -> list[str]:
    return re.findall(r"^\d+\. Question: (.*)$", context_block(prompt), re.M)


def load(kc, path: Path | str, timeout: float = CELL_TIMEOUT):
    reply, outputs = execute(kc, f"%load {path}", timeout=timeout)
    assert reply["status"] == "ok", f"%load {path} failed: {reply}\n{show(outputs)}"
    assert any(role(o) == "profile" for o in outputs), show(outputs)
    return outputs


def ask(kc, question: str, timeout: float = CELL_TIMEOUT):
    """Run a question cell; returns (reply, outputs, seconds)."""
    t = time.monotonic()
    reply, outputs = execute(kc, question, timeout=timeout)
    return reply, outputs, time.monotonic() - t


def ask_ok(kc, question: str, timeout: float = CELL_TIMEOUT):
    reply, outputs, secs = ask(kc, question, timeout)
    assert reply["status"] == "ok", f"{question!r} failed: {reply}\n{show(outputs)}"
    assert not errors(outputs), show(outputs)
    return outputs, secs


def result_value(outputs) -> float:
    res = [o for o in outputs if o["msg_type"] == "execute_result" and role(o) == "result"]
    assert len(res) == 1, f"expected one result:\n{show(outputs)}"
    text = res[0]["content"]["data"]["text/plain"]
    try:
        return float(text)
    except ValueError:
        pytest.fail(f"result is not a number: {text!r}\n{show(outputs)}")


def code_markdown(outputs) -> str:
    """The code display as the notebook keeps it (it is redrawn while the model writes)."""
    code = [o for o in outputs if o["msg_type"] == "display_data" and role(o) == "code"]
    assert len(code) == 1, f"expected one code display:\n{show(outputs)}"
    updates = [o for o in outputs if o["msg_type"] == "update_display_data" and role(o) == "code"]
    return (updates or code)[-1]["content"]["data"]["text/markdown"]


def final_interpretation(outputs) -> str:
    msgs = [o for o in outputs if role(o) == "interpretation"]
    assert msgs, f"no interpretation:\n{show(outputs)}"
    return msgs[-1]["content"]["data"]["text/plain"]


def py(kc, code: str) -> str:
    reply, outputs = execute(kc, "%%python\n" + code, timeout=CELL_TIMEOUT)
    assert reply["status"] == "ok", f"{code!r}: {reply}\n{show(outputs)}"
    return stream_text(outputs)


def history(kc, args: str = "", timeout: float = 30) -> tuple[dict[str, str], list[dict], str]:
    """(data, outputs, stderr) of `%history ARGS`; exactly one history display."""
    reply, outputs = execute(kc, f"%history {args}".strip(), timeout=timeout)
    assert reply["status"] == "ok", f"%history {args}: {reply}\n{show(outputs)}"
    shown = [o for o in outputs if o["msg_type"] == "display_data" and role(o) == "history"]
    assert len(shown) == 1, f"expected one history display:\n{show(outputs)}"
    return shown[0]["content"]["data"], outputs, stream_text(outputs, "stderr")


def history_rows(data: dict[str, str]) -> list[dict[str, str]]:
    """The table rows of a %history display as {header: cell text}."""
    assert "text/html" in data and "text/plain" in data, f"history display lacks a mime type: {data}"
    assert BeautifulSoup is not None, "bs4 is needed to read the %history table"
    soup = BeautifulSoup(data["text/html"], "html.parser")
    table = soup.find("table")
    assert table is not None, data["text/html"][:500]
    headers = [th.get_text(strip=True) for th in table.find("thead").find_all("th")]
    rows = []
    for tr in table.find("tbody").find_all("tr"):
        cells = [td.get_text() for td in tr.find_all("td")]
        assert len(cells) == len(headers), f"ragged history row {cells} vs {headers}"
        rows.append(dict(zip(headers, cells)))
    return rows


def history_questions(kc, args: str = "") -> list[str]:
    data, _, _ = history(kc, args)
    if "text/html" not in data:
        return []
    return [r["question"] for r in history_rows(data)]


# ---------------------------------------------------------------------------
# environment helpers
# ---------------------------------------------------------------------------

def env_for(llm_url: str, tmp_path: Path, *, data_dir: Path | None = None,
            notebook: str | None = None, **extra: str | None) -> dict[str, str]:
    """A kernel environment; extra values of None remove the variable."""
    env = make_kernel_env(llm_url, tmp_path)
    env["LLM_ANALYTICS_DATA_DIR"] = str(data_dir or tmp_path / "data")
    env["JPY_SESSION_NAME"] = str(tmp_path / (notebook or "analysis.ipynb"))
    for k in ("DATABASE_NAME", "LLM_ANALYTICS_REPLAY"):
        env.pop(k, None)
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def descendants(pid: int) -> list[int]:
    """Every live descendant of pid (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


# ---------------------------------------------------------------------------
# MongoDB (SecantusDB) servers
# ---------------------------------------------------------------------------

def secantusd_path() -> Path:
    for cand in (Path(sys.executable).parent / "secantusd-py",
                 Path.home() / ".local/share/llm-analytics/venv/bin/secantusd-py"):
        if cand.exists():
            return cand
    pytest.fail("secantusd-py (SecantusDB) is not installed in the venv; run ./install.sh",
                pytrace=False)


@dataclass
class MongoServer:
    port: int
    storage: Path
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "MongoServer":
        self.storage.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [str(secantusd_path()), "--host", "127.0.0.1", "--port", str(self.port),
                 "--storage-path", str(self.storage), "--standalone"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=str(self.storage.parent), start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"secantusd exited with {self.proc.returncode}:\n{self.log()}")
            if port_open(self.port):
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"secantusd did not listen on {self.port} within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Kill the server (its process group, which it leads) by PID; waits for it."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # make sure the port is released before a test reuses it
        deadline = time.monotonic() + 5
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)


@pytest.fixture
def mongo_servers(tmp_path: Path) -> Iterator[Callable[..., MongoServer]]:
    """start(port=None, name='mongo') -> a running MongoServer; all killed at teardown."""
    started: list[MongoServer] = []

    def start(port: int | None = None, name: str = "mongo") -> MongoServer:
        srv = MongoServer(port or free_port(), tmp_path / name / "db", tmp_path / f"{name}.log")
        started.append(srv)
        return srv.start()

    try:
        yield start
    finally:
        for srv in started:
            srv.stop()


class SilentServer:
    """Accepts TCP connections and never answers: a hung database."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                continue

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2)
        for c in self.conns:
            c.close()
        self.sock.close()


class DelayProxy:
    """TCP proxy to 127.0.0.1:target that delays every chunk by `delay` seconds (a slow
    network link to the database)."""

    def __init__(self, target: int, delay: float) -> None:
        self.target, self.delay = target, delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            self.socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not self.stopping.is_set():
                data = src.recv(65536)
                if not data:
                    break
                time.sleep(self.delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.stopping.set()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        self.sock.close()


def mongo_client(url: str):
    return pymongo.MongoClient(url, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000,
                               socketTimeoutMS=5000)


def wait_for_documents(url: str, db: str, coll: str, n: int, timeout: float = 20,
                       query: dict | None = None) -> int:
    """Poll until coll holds >= n documents matching query; returns the last count."""
    client = mongo_client(url)
    try:
        deadline = time.monotonic() + timeout
        count = -1
        while True:
            count = client[db][coll].count_documents(query or {})
            if count >= n or time.monotonic() > deadline:
                return count
            time.sleep(0.2)
    finally:
        client.close()


def unique_db() -> str:
    return "hist_" + uuid.uuid4().hex[:12]


def backend_settings(backend: str, mongo_servers) -> dict[str, str]:
    """Kernel settings for the history store under test: SQLite needs none, MongoDB a
    running server and a database of its own."""
    if backend == "mongo":
        return {"MONGODB_URL": mongo_servers().url, "DATABASE_NAME": unique_db()}
    return {}


def kill_kernel_hard(km) -> list[int]:
    """SIGKILL the kernel process; returns the pids of its descendants (e.g. the worker)."""
    pid = kernel_pid(km)
    assert pid, "no kernel pid"
    kids = descendants(pid)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if km.provisioner is not None and km.provisioner.process.poll() is not None:
                break
        except Exception:
            break
        time.sleep(0.05)
    return kids


@pytest.fixture
def orphan_reaper() -> Iterator[list[int]]:
    """Pids (children of kernels this test killed) to kill at teardown if still alive."""
    pids: list[int] = []
    try:
        yield pids
    finally:
        for p in pids:
            if pid_alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass


# ===========================================================================
# sessions and context after a restart (SQLite store)
# ===========================================================================

def test_first_question_has_no_context_and_follow_up_has_it(
        kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, frame = sales_csv
    script_model(fake_llm)
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path))
    load(kc, csv)
    out, _ = ask_ok(kc, Q_TOTAL)
    assert result_value(out) == pytest.approx(EXPECTED[Q_TOTAL](frame))
    assert "Previous conversation context:" not in code_prompt_for(fake_llm, Q_TOTAL)
    ask_ok(kc, Q_ORDERS)
    prompt = code_prompt_for(fake_llm, Q_ORDERS)
    assert context_questions(prompt) == [Q_TOTAL], context_block(prompt)
    assert CODE[Q_TOTAL] in context_block(prompt)
    assert f"Numeric value: {EXPECTED[Q_TOTAL](frame)}" in context_block(prompt), (
        context_block(prompt))


@pytest.mark.parametrize("how", ["new-process", "jupyter-restart"])
def test_restart_and_reload_resumes_the_conversation(
        kernel_factory, fake_llm, tmp_path, sales_csv, how):
    csv, frame = sales_csv
    script_model(fake_llm)
    env = env_for(fake_llm.base_url, tmp_path)
    km, kc = kernel_factory(env=env)
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)
    ask_ok(kc, Q_ORDERS)
    if how == "jupyter-restart":
        old_pid = kernel_pid(km)
        km.restart_kernel(now=False)
        assert kernel_pid(km) != old_pid
        kc2 = kc
        kc2.wait_for_ready(timeout=60)
        drain(kc2, "iopub", timeout=0.5)
    else:
        km.shutdown_kernel(now=False)
        kc.stop_channels()
        _, kc2 = kernel_factory(env=env)
    # before any data is loaded there is no session, so nothing to show
    data, _, _ = history(kc2)
    assert "text/html" not in data and "No questions" in data["text/plain"], data
    load(kc2, csv)
    assert history_questions(kc2) == [Q_TOTAL, Q_ORDERS]
    out, _ = ask_ok(kc2, Q_AVG_QTY)
    assert result_value(out) == pytest.approx(EXPECTED[Q_AVG_QTY](frame))
    prompt = code_prompt_for(fake_llm, Q_AVG_QTY)
    assert "Previous conversation context:" in prompt, prompt[-1500:]
    assert f"1. Question: {Q_TOTAL}" in prompt
    assert context_questions(prompt) == [Q_TOTAL, Q_ORDERS], context_block(prompt)


def test_same_content_at_another_path_is_the_same_session(
        kernel_factory, fake_llm, tmp_path, sales_csv):
    """Identity is the data's content, not its path: a copy resumes the conversation."""
    csv, _ = sales_csv
    script_model(fake_llm)
    env = env_for(fake_llm.base_url, tmp_path)
    _, kc = kernel_factory(env=env)
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)

    copy = tmp_path / "elsewhere" / "sales.csv"
    copy.parent.mkdir()
    shutil.copyfile(csv, copy)
    _, kc2 = kernel_factory(env=env)
    load(kc2, copy)
    ask_ok(kc2, Q_ORDERS)
    assert context_questions(code_prompt_for(fake_llm, Q_ORDERS)) == [Q_TOTAL]


def test_other_notebook_or_other_data_starts_a_new_conversation(
        kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, frame = sales_csv
    script_model(fake_llm)
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path))
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)

    # same data dir and data, another notebook: no context
    _, kc2 = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="other.ipynb"))
    load(kc2, csv)
    assert history_questions(kc2) == []
    ask_ok(kc2, Q_ORDERS)
    assert "Previous conversation context:" not in code_prompt_for(fake_llm, Q_ORDERS)

    # same notebook, changed data: no context either
    changed = write_csv(make_sales(n=61), csv)
    _, kc3 = kernel_factory(env=env_for(fake_llm.base_url, tmp_path))
    load(kc3, csv)
    assert history_questions(kc3) == []
    out, _ = ask_ok(kc3, Q_AVG_QTY)
    assert result_value(out) == pytest.approx(EXPECTED[Q_AVG_QTY](changed))
    assert "Previous conversation context:" not in code_prompt_for(fake_llm, Q_AVG_QTY)


# ===========================================================================
# replay of recorded answers
# ===========================================================================

def seed_answers(kernel_factory, llm: FakeLLM, tmp_path: Path, csv: Path,
                 questions=(Q_TOTAL, Q_ORDERS), notebook: str = "first.ipynb") -> None:
    """Ask questions once in a kernel for `notebook` (records them), then stop it."""
    km, kc = kernel_factory(env=env_for(llm.base_url, tmp_path, notebook=notebook))
    load(kc, csv)
    for q in questions:
        ask_ok(kc, q)
    km.shutdown_kernel(now=False)
    kc.stop_channels()


def test_replay_reruns_recorded_code_without_the_model(
        kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, frame = sales_csv
    script_model(fake_llm)
    seed_answers(kernel_factory, fake_llm, tmp_path, csv)
    assert len(fake_llm.chat_requests) == 4  # code + interpretation, twice

    # the same notebook restarted, on a byte-identical copy: Restart & Run All replays
    copy = tmp_path / "copy" / "sales.csv"
    copy.parent.mkdir()
    shutil.copyfile(csv, copy)
    before = len(fake_llm.requests)
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="first.ipynb"))
    load(kc, copy)
    out, secs = ask_ok(kc, Q_TOTAL)
    assert len(fake_llm.requests) == before, (
        f"replay called the model: {[r['path'] for r in fake_llm.requests[before:]]}")
    md = code_markdown(out)
    assert REPLAY_NOTE in md, md
    assert CODE[Q_TOTAL] in md
    assert result_value(out) == pytest.approx(EXPECTED[Q_TOTAL](frame))
    assert final_interpretation(out) == INTERPRETATION

    # the follow-up's context (question + code) matches the recording too: replayed
    out2, _ = ask_ok(kc, Q_ORDERS)
    assert len(fake_llm.requests) == before
    assert REPLAY_NOTE in code_markdown(out2)
    assert result_value(out2) == EXPECTED[Q_ORDERS](frame)

    rows = history_rows(history(kc)[0])
    assert [r["question"] for r in rows] == [f"{Q_TOTAL} (replayed)", f"{Q_ORDERS} (replayed)"]
    assert rows[0]["result"] == f"Numeric value: {EXPECTED[Q_TOTAL](frame)}", rows


def test_replay_executes_the_code_again(kernel_factory, fake_llm, tmp_path, sales_csv):
    """A replay re-runs the code in this kernel, it does not re-show a stored result: the
    recorded code reads a user variable, which differs between the two kernels."""
    csv, frame = sales_csv
    script_model(fake_llm)
    km, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="first.ipynb"))
    load(kc, csv)
    py(kc, "threshold = 100")
    out, _ = ask_ok(kc, Q_THRESHOLD)
    assert result_value(out) == int((frame["revenue"] > 100).sum())
    km.shutdown_kernel(now=False)
    kc.stop_channels()

    before = len(fake_llm.requests)
    _, kc2 = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="first.ipynb"))
    load(kc2, csv)
    py(kc2, "threshold = 2000")
    out, _ = ask_ok(kc2, Q_THRESHOLD)
    assert REPLAY_NOTE in code_markdown(out)
    assert len(fake_llm.requests) == before
    assert int((frame["revenue"] > 2000).sum()) != int((frame["revenue"] > 100).sum())
    assert result_value(out) == int((frame["revenue"] > 2000).sum())


@pytest.mark.parametrize("backend", ["sqlite", "mongo"])
def test_fresh_answer_becomes_the_recording_that_replays(
        kernel_factory, fake_llm, tmp_path, sales_csv, mongo_servers, backend):
    """After %%fresh produced new code, later replays use the newest recording."""
    csv, frame = sales_csv
    script_model(fake_llm)
    extra = backend_settings(backend, mongo_servers)
    env = lambda nb: env_for(fake_llm.base_url, tmp_path, notebook=nb, **extra)  # noqa: E731
    seed_env = env("first.ipynb")
    km, kc = kernel_factory(env=seed_env)
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)
    km.shutdown_kernel(now=False)
    kc.stop_channels()

    v2 = "result = round(float(df['revenue'].sum()) / 1000, 3)"
    fake_llm.script(reset=True, rules=[
        {"match": f"Current question: {Q_TOTAL}\n", "reply": {"content": v2}},
        {"match_regex": r"\A\s*The user asked:", "reply": {"content": INTERPRETATION}},
    ])
    km, kc = kernel_factory(env=env("first.ipynb"))
    load(kc, csv)
    out, _ = ask_ok(kc, f"%%fresh\n{Q_TOTAL}")
    assert v2 in code_markdown(out) and REPLAY_NOTE not in code_markdown(out)
    km.shutdown_kernel(now=False)
    kc.stop_channels()

    before = len(fake_llm.requests)
    _, kc = kernel_factory(env=env("first.ipynb"))
    load(kc, csv)
    out, _ = ask_ok(kc, Q_TOTAL)
    md = code_markdown(out)
    assert REPLAY_NOTE in md and v2 in md, md
    assert len(fake_llm.requests) == before
    assert result_value(out) == pytest.approx(round(float(frame["revenue"].sum()) / 1000, 3))


def test_failed_replay_is_shown_and_recorded(kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, frame = sales_csv
    script_model(fake_llm)
    km, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="first.ipynb"))
    load(kc, csv)
    py(kc, "threshold = 100")
    ask_ok(kc, Q_THRESHOLD)
    km.shutdown_kernel(now=False)
    kc.stop_channels()

    before = len(fake_llm.requests)
    _, kc2 = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="first.ipynb"))
    load(kc2, csv)
    # no `threshold` in this kernel: the recorded code raises NameError
    reply, out, _ = ask(kc2, Q_THRESHOLD)
    assert reply["status"] == "error", show(out)
    assert REPLAY_NOTE in code_markdown(out)
    assert "threshold" in errors(out)[0]["content"]["evalue"], show(out)
    assert len(fake_llm.requests) == before
    # what was shown is stored, as for a failed fresh answer
    rows = history_rows(history(kc2)[0])
    assert [r["question"].replace(" (replayed)", "") for r in rows] == [Q_THRESHOLD], rows
    assert rows[0]["result"].startswith("error:"), rows


def test_replay_belongs_to_its_notebook(kernel_factory, fake_llm, tmp_path, sales_csv):
    """The same question on the same data in another notebook asks the model: a recorded
    answer (good or bad) never surfaces in a notebook that did not ask it."""
    csv, _ = sales_csv
    script_model(fake_llm)
    seed_answers(kernel_factory, fake_llm, tmp_path, csv)
    before = len(code_requests(fake_llm))
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="second.ipynb"))
    load(kc, csv)
    out, _ = ask_ok(kc, Q_TOTAL)
    assert REPLAY_NOTE not in code_markdown(out)
    assert len(code_requests(fake_llm)) == before + 1


def test_rerun_replays_whatever_was_replayed_before(kernel_factory, fake_llm, tmp_path, sales_csv):
    """Q_ORDERS was recorded after Q_TOTAL; re-run alone after a restart (the cells above not
    re-run), it still replays: the key is the notebook, the question and the data, not the
    conversation before it. Replays do not add duplicates to the conversation."""
    csv, frame = sales_csv
    script_model(fake_llm)
    seed_answers(kernel_factory, fake_llm, tmp_path, csv)
    before = len(fake_llm.requests)
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="first.ipynb"))
    load(kc, csv)
    for _ in range(2):
        out, _ = ask_ok(kc, Q_ORDERS)
        assert REPLAY_NOTE in code_markdown(out)
        assert result_value(out) == EXPECTED[Q_ORDERS](frame)
    assert len(fake_llm.requests) == before
    rows = history_rows(history(kc)[0])
    assert [r["question"].replace(" (replayed)", "") for r in rows] == [Q_TOTAL, Q_ORDERS], rows
    # a new follow-up still gets the conversation, each question once
    ask_ok(kc, Q_AVG_QTY)
    assert context_questions(code_prompt_for(fake_llm, Q_AVG_QTY)) == [Q_TOTAL, Q_ORDERS]


def test_changed_data_asks_the_model_and_computes_on_the_new_data(
        kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, frame = sales_csv
    script_model(fake_llm)
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path))
    load(kc, csv)
    out, _ = ask_ok(kc, Q_TOTAL)
    old = result_value(out)
    assert old == pytest.approx(EXPECTED[Q_TOTAL](frame))

    edited = frame.copy()
    edited.loc[0, "revenue"] = float(edited.loc[0, "revenue"]) + 1000.0
    edited = write_csv(edited, csv)
    load(kc, csv)  # new data -> new session with an empty context, like the recording's
    n = len(code_requests(fake_llm))
    out, _ = ask_ok(kc, Q_TOTAL)
    assert REPLAY_NOTE not in code_markdown(out), show(out)
    assert len(code_requests(fake_llm)) == n + 1
    assert result_value(out) == pytest.approx(EXPECTED[Q_TOTAL](edited))
    assert result_value(out) == pytest.approx(old + 1000.0)


def test_fresh_magic_forces_a_model_call(kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, frame = sales_csv
    script_model(fake_llm)
    seed_answers(kernel_factory, fake_llm, tmp_path, csv)
    n = len(code_requests(fake_llm))
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="first.ipynb"))
    load(kc, csv)
    out, _ = ask_ok(kc, f"%%fresh\n{Q_TOTAL}")
    assert REPLAY_NOTE not in code_markdown(out)
    assert len(code_requests(fake_llm)) == n + 1
    # the magic line is not part of the question the model sees
    prompt = code_prompt_for(fake_llm, Q_TOTAL)
    assert "%%fresh" not in prompt
    assert result_value(out) == pytest.approx(EXPECTED[Q_TOTAL](frame))
    rows = history_rows(history(kc)[0])
    assert rows[-1]["question"] == Q_TOTAL, rows


def test_replay_can_be_turned_off(kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, _ = sales_csv
    script_model(fake_llm)
    seed_answers(kernel_factory, fake_llm, tmp_path, csv)
    n = len(code_requests(fake_llm))
    env = env_for(fake_llm.base_url, tmp_path, notebook="first.ipynb", LLM_ANALYTICS_REPLAY="0")
    _, kc = kernel_factory(env=env)
    load(kc, csv)
    out, _ = ask_ok(kc, Q_TOTAL)
    assert REPLAY_NOTE not in code_markdown(out)
    assert len(code_requests(fake_llm)) == n + 1


@pytest.mark.parametrize("base_url, expected", [
    ("http://127.0.0.1:9/v1", {"LLMError", "MissingApiKey"}),
    ("https://llm.invalid/v1", {"MissingApiKey"}),
], ids=["closed-local-port", "remote-no-key"])
def test_replay_works_offline_without_an_api_key(
        kernel_factory, fake_llm, tmp_path, sales_csv, base_url, expected):
    csv, frame = sales_csv
    script_model(fake_llm)
    seed_answers(kernel_factory, fake_llm, tmp_path, csv)
    before = len(fake_llm.requests)
    env = env_for(base_url, tmp_path, notebook="first.ipynb", OPENAI_API_KEY=None)
    # a .env in the working directory would provide a key: run where there is none
    cwd = tmp_path / "offline-cwd"
    cwd.mkdir()
    _, kc = kernel_factory(env=env, cwd=cwd)
    load(kc, csv)
    out, secs = ask_ok(kc, Q_TOTAL)
    assert REPLAY_NOTE in code_markdown(out)
    assert result_value(out) == pytest.approx(EXPECTED[Q_TOTAL](frame))
    assert secs < 10, f"offline replay took {secs:.1f}s"

    # a question with no recording fails quickly and clearly
    reply, outputs, secs = ask(kc, Q_MAX_PRICE, timeout=90)
    assert reply["status"] == "error", show(outputs)
    errs = errors(outputs)
    assert len(errs) == 1, show(outputs)
    assert errs[0]["content"]["ename"] in expected, show(outputs)
    assert secs < 45, f"the failing question took {secs:.1f}s"
    assert len(fake_llm.requests) == before, "the fake server is not this kernel's endpoint"


def test_failed_exchanges_are_not_replayed(kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, _ = sales_csv
    script_model(fake_llm)
    km, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="first.ipynb"))
    load(kc, csv)
    reply, out, _ = ask(kc, Q_BROKEN)
    assert reply["status"] == "error", show(out)
    n = len(code_requests(fake_llm))
    _, kc2 = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="first.ipynb"))
    load(kc2, csv)
    reply, out, _ = ask(kc2, Q_BROKEN)
    assert reply["status"] == "error", show(out)
    assert len(code_requests(fake_llm)) > n, "a failed exchange was replayed"
    assert REPLAY_NOTE not in "\n".join(
        o["content"].get("data", {}).get("text/markdown", "") for o in out)


# ===========================================================================
# %history
# ===========================================================================

def test_history_table_lists_questions_code_and_results(
        kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, frame = sales_csv
    script_model(fake_llm)
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path))
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)
    ask_ok(kc, Q_ORDERS)
    reply, out, _ = ask(kc, Q_BROKEN)
    assert reply["status"] == "error"

    data, outputs, stderr = history(kc)
    assert not stderr, stderr
    rows = history_rows(data)
    assert [r["question"] for r in rows] == [Q_TOTAL, Q_ORDERS, Q_BROKEN]
    assert [r["#"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["code"] == CODE[Q_TOTAL]
    assert rows[1]["code"] == CODE[Q_ORDERS]
    assert rows[0]["result"] == f"Numeric value: {EXPECTED[Q_TOTAL](frame)}"
    assert rows[1]["result"] == f"Numeric value: {EXPECTED[Q_ORDERS](frame)}"
    assert rows[2]["result"].startswith("error:") and "discount" in rows[2]["result"], rows[2]
    for r in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", r["when"]), r
    text = data["text/plain"]
    for q in (Q_TOTAL, Q_ORDERS, Q_BROKEN):
        assert q in text
    assert text.index(Q_TOTAL) < text.index(Q_ORDERS) < text.index(Q_BROKEN)


def test_history_escapes_html_in_questions(kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, frame = sales_csv
    q = "What is <b>total</b> revenue & more?"
    fake_llm.script(rules=[
        {"match": f"Current question: {q}\n", "reply": {"content": CODE[Q_TOTAL]}},
        {"match_regex": r"\A\s*The user asked:", "reply": {"content": INTERPRETATION}},
    ])
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path))
    load(kc, csv)
    ask_ok(kc, q)
    data, _, _ = history(kc)
    assert "<b>total</b>" not in data["text/html"], data["text/html"]
    assert "&lt;b&gt;total&lt;/b&gt; revenue &amp; more?" in data["text/html"]
    assert history_rows(data)[0]["question"] == q


@pytest.mark.parametrize("backend", ["sqlite", "mongo"])
def test_history_all_covers_every_session_of_the_notebook(
        kernel_factory, fake_llm, tmp_path, sales_csv, mongo_servers, backend):
    csv, frame = sales_csv
    other = tmp_path / "returns.csv"
    write_csv(make_sales(n=25, seed=99), other)
    script_model(fake_llm)
    extra = backend_settings(backend, mongo_servers)
    env = env_for(fake_llm.base_url, tmp_path, **extra)
    km, kc = kernel_factory(env=env)
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)
    load(kc, other)  # a second dataset: notebook + both fingerprints = another session
    ask_ok(kc, Q_ORDERS)

    assert history_questions(kc) == [Q_ORDERS]
    data, _, _ = history(kc, "--all")
    rows = history_rows(data)
    assert [r["question"] for r in rows] == [Q_TOTAL, Q_ORDERS], rows
    assert rows[0]["data"] == "sales.csv", rows
    assert set(rows[1]["data"].split(", ")) == {"sales.csv", "returns.csv"}, rows

    # another notebook in the same store does not show up in this one's --all
    _, kc_other = kernel_factory(env=dict(env, JPY_SESSION_NAME=str(tmp_path / "x.ipynb")))
    load(kc_other, csv)
    ask_ok(kc_other, Q_AVG_QTY)
    assert Q_AVG_QTY not in [r["question"] for r in history_rows(history(kc, "--all")[0])]
    if backend == "mongo" and pymongo is not None:
        assert wait_for_documents(env["MONGODB_URL"], env["DATABASE_NAME"], "exchanges", 3) == 3

    # after a restart --all needs no data loaded (with MongoDB: not even the local spool)
    km.shutdown_kernel(now=False)
    kc.stop_channels()
    if backend == "mongo":
        env = dict(env, LLM_ANALYTICS_DATA_DIR=str(tmp_path / "fresh"))
    _, kc2 = kernel_factory(env=env)
    rows = history_rows(history(kc2, "--all")[0])
    assert [r["question"] for r in rows] == [Q_TOTAL, Q_ORDERS]
    assert rows[0]["data"] == "sales.csv", rows
    assert set(rows[1]["data"].split(", ")) == {"sales.csv", "returns.csv"}, rows


def test_switching_data_switches_the_conversation(kernel_factory, fake_llm, tmp_path,
                                                  sales_csv):
    """Replacing the data (same dataset name, other content) starts another session; loading
    the first file again brings its conversation back. --all shows both."""
    csv, frame = sales_csv
    other = tmp_path / "q2" / "sales.csv"
    other_frame = write_csv(make_sales(n=30, seed=5), other)
    script_model(fake_llm)
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path))
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)
    load(kc, other)  # replaces `sales`
    out, _ = ask_ok(kc, Q_ORDERS)
    assert result_value(out) == EXPECTED[Q_ORDERS](other_frame)
    assert "Previous conversation context:" not in code_prompt_for(fake_llm, Q_ORDERS)
    assert history_questions(kc) == [Q_ORDERS]
    rows = history_rows(history(kc, "--all")[0])
    assert [(r["data"], r["question"]) for r in rows] == [
        ("sales.csv", Q_TOTAL), ("sales.csv", Q_ORDERS)], rows

    load(kc, csv)  # back to the first data
    assert history_questions(kc) == [Q_TOTAL]
    out, _ = ask_ok(kc, Q_AVG_QTY)
    assert result_value(out) == pytest.approx(EXPECTED[Q_AVG_QTY](frame))
    assert context_questions(code_prompt_for(fake_llm, Q_AVG_QTY)) == [Q_TOTAL]


@pytest.mark.parametrize("backend", ["sqlite", "mongo"])
def test_history_all_keeps_exchanges_beyond_the_conversation_cap(
        kernel_factory, fake_llm, tmp_path, sales_csv, mongo_servers, backend):
    """MAX_CONVERSATION_HISTORY caps the session's conversation, not the audit trail."""
    csv, _ = sales_csv
    script_model(fake_llm)
    extra = backend_settings(backend, mongo_servers)
    env = env_for(fake_llm.base_url, tmp_path, MAX_CONVERSATION_HISTORY="2", **extra)
    km, kc = kernel_factory(env=env)
    load(kc, csv)
    for q in (Q_TOTAL, Q_ORDERS, Q_AVG_QTY):
        ask_ok(kc, q)
    assert context_questions(code_prompt_for(fake_llm, Q_AVG_QTY)) == [Q_TOTAL, Q_ORDERS]
    assert history_questions(kc)[-2:] == [Q_ORDERS, Q_AVG_QTY]
    assert history_questions(kc, "--all") == [Q_TOTAL, Q_ORDERS, Q_AVG_QTY]
    km.shutdown_kernel(now=False)
    kc.stop_channels()
    _, kc2 = kernel_factory(env=env)
    load(kc2, csv)
    assert history_questions(kc2, "--all") == [Q_TOTAL, Q_ORDERS, Q_AVG_QTY]
    ask_ok(kc2, Q_MAX_PRICE)
    # the restored conversation is the capped one
    assert context_questions(code_prompt_for(fake_llm, Q_MAX_PRICE)) == [Q_ORDERS, Q_AVG_QTY]


def test_exported_answers_replay_with_a_fresh_store_and_no_model(
        kernel_factory, fake_llm, tmp_path, sales_csv):
    """`%history --export` writes <notebook>.answers.json; a kernel with an empty store and
    no model replays from it."""
    csv, frame = sales_csv
    script_model(fake_llm)
    env = env_for(fake_llm.base_url, tmp_path, notebook="report.ipynb")
    km, kc = kernel_factory(env=env)
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)
    ask_ok(kc, Q_ORDERS)
    reply, out = execute(kc, "%history --export", timeout=30)
    assert reply["status"] == "ok", show(out)
    answers = tmp_path / "report.answers.json"
    assert answers.exists(), show(out)
    assert str(answers) in stream_text(out), show(out)
    assert "Wrote 2 recorded answers" in stream_text(out), show(out)
    km.shutdown_kernel(now=False)
    kc.stop_channels()

    before = len(fake_llm.requests)
    offline = env_for("http://127.0.0.1:9/v1", tmp_path, notebook="report.ipynb",
                      data_dir=tmp_path / "another-machine", OPENAI_API_KEY=None)
    cwd = tmp_path / "cwd2"
    cwd.mkdir()
    _, kc2 = kernel_factory(env=offline, cwd=cwd)
    load(kc2, csv)
    for q in (Q_TOTAL, Q_ORDERS):
        out, _ = ask_ok(kc2, q)
        assert REPLAY_NOTE in code_markdown(out)
        assert result_value(out) == pytest.approx(EXPECTED[q](frame))
    assert len(fake_llm.requests) == before


def test_invalid_mongodb_url_keeps_history_locally(
        kernel_factory, fake_llm, tmp_path, sales_csv):
    csv, _ = sales_csv
    script_model(fake_llm)
    env = env_for(fake_llm.base_url, tmp_path, MONGODB_URL="mongodb://user:s3cret@:bad:url",
                  DATABASE_NAME=unique_db(), LLM_ANALYTICS_REPLAY="0")
    km, kc = kernel_factory(env=env)
    times, stderr, _ = timed_session(kc, csv, [Q_TOTAL, Q_ORDERS])
    assert_one_short_mongo_warning(stderr)
    assert "s3cret" not in stderr, f"the password is shown: {stderr!r}"
    km.shutdown_kernel(now=False)
    kc.stop_channels()
    _, kc2 = kernel_factory(env=env)
    load(kc2, csv)
    assert history_questions(kc2) == [Q_TOTAL, Q_ORDERS]
    ask_ok(kc2, Q_AVG_QTY)
    assert context_questions(code_prompt_for(fake_llm, Q_AVG_QTY)) == [Q_TOTAL, Q_ORDERS]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["sqlite", "mongo-comes-back"])
def test_two_kernels_share_one_data_dir(kernel_factory, fake_llm, tmp_path, sales_csv,
                                        mongo_servers, backend):
    """Kernels of two notebooks open at once share the default data dir (store / spool);
    concurrent questions must neither fail nor lose, duplicate or mix up exchanges."""
    csv, frame = sales_csv
    script_model(fake_llm)
    questions = [Q_TOTAL, Q_ORDERS, Q_AVG_QTY, Q_MAX_PRICE]
    extra: dict[str, str] = {"LLM_ANALYTICS_REPLAY": "0"}
    db = unique_db()
    port = free_port()
    if backend != "sqlite":
        extra.update(MONGODB_URL=f"mongodb://127.0.0.1:{port}", DATABASE_NAME=db)
    envs = [env_for(fake_llm.base_url, tmp_path, notebook=f"nb{i}.ipynb", **extra)
            for i in range(2)]
    kernels = [kernel_factory(env=e) for e in envs]
    for _, kc in kernels:
        load(kc, csv)

    failures: list[str] = []

    def run(kc, tag):
        try:
            for q in questions:
                reply, out, _ = ask(kc, q)
                if reply["status"] != "ok":
                    failures.append(f"{tag} {q!r}: {show(out)}")
                elif result_value(out) != pytest.approx(EXPECTED[q](frame)):
                    failures.append(f"{tag} {q!r}: wrong result {show(out)}")
        except BaseException as e:  # reported below
            failures.append(f"{tag}: {e!r}")

    threads = [threading.Thread(target=run, args=(kc, f"kernel{i}"), daemon=True)
               for i, (_, kc) in enumerate(kernels)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "questions did not finish"
    assert not failures, "\n".join(failures)

    if backend != "sqlite":
        srv = mongo_servers(port=port)
        if pymongo is not None:
            assert wait_for_documents(srv.url, db, "exchanges", 8, timeout=25) >= 8
            time.sleep(2)  # let both flushers finish whatever they were sending
            client = mongo_client(srv.url)
            try:
                docs = list(client[db]["exchanges"].find({}))
                assert len(docs) == 8, sorted(d["question"] for d in docs)
                sessions = list(client[db]["sessions"].find({}))
                assert len(sessions) == 2, sessions
                for sdoc in sessions:
                    assert [h["question"] for h in sdoc["conversation_history"]] == questions
            finally:
                client.close()
        else:
            time.sleep(10)

    for _, kc in kernels:
        assert history_questions(kc) == questions
    for km, kc in kernels:
        km.shutdown_kernel(now=False)
        kc.stop_channels()
    for i, env in enumerate(envs):
        _, kc = kernel_factory(env=dict(env, LLM_ANALYTICS_DATA_DIR=str(tmp_path / f"fresh{i}"))
                               if backend != "sqlite" else env)
        load(kc, csv)
        assert history_questions(kc) == questions, f"notebook {i}"
        assert history_questions(kc, "--all") == questions, f"notebook {i}"


@pytest.mark.parametrize("backend", ["sqlite", "mongo"])
def test_unusable_data_dir_warns_once_and_keeps_working(
        kernel_factory, fake_llm, tmp_path, sales_csv, mongo_servers, backend):
    csv, frame = sales_csv
    script_model(fake_llm)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be\n")
    extra = backend_settings(backend, mongo_servers)
    env = env_for(fake_llm.base_url, tmp_path, data_dir=blocker / "data", **extra)
    _, kc = kernel_factory(env=env)
    times, stderr, _ = timed_session(kc, csv, [Q_TOTAL, Q_ORDERS])
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one warning line:\n{stderr}"
    assert "Traceback" not in stderr and len(lines[0]) <= 400, stderr
    assert context_questions(code_prompt_for(fake_llm, Q_ORDERS)) == [Q_TOTAL]
    assert history_questions(kc) == [Q_TOTAL, Q_ORDERS]


# ===========================================================================
# killed kernels: what was shown is stored
# ===========================================================================

@pytest.mark.parametrize("backend", ["sqlite", "mongo", "mongo-down"])
def test_sigkill_right_after_a_reply_keeps_the_exchange(
        kernel_factory, fake_llm, tmp_path, sales_csv, mongo_servers, orphan_reaper, backend):
    csv, _ = sales_csv
    script_model(fake_llm)
    extra: dict[str, str] = {}
    db = unique_db()
    srv = None
    if backend == "mongo":
        srv = mongo_servers()
        extra = {"MONGODB_URL": srv.url, "DATABASE_NAME": db}
    elif backend == "mongo-down":
        extra = {"MONGODB_URL": f"mongodb://127.0.0.1:{free_port()}", "DATABASE_NAME": db}
    env = env_for(fake_llm.base_url, tmp_path, **extra)
    km, kc = kernel_factory(env=env)
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)
    ask_ok(kc, Q_ORDERS)
    kids = kill_kernel_hard(km)
    orphan_reaper.extend(kids)
    kc.stop_channels()

    _, kc2 = kernel_factory(env=env)
    load(kc2, csv)
    assert history_questions(kc2) == [Q_TOTAL, Q_ORDERS]
    ask_ok(kc2, Q_AVG_QTY)
    assert context_questions(code_prompt_for(fake_llm, Q_AVG_QTY)) == [Q_TOTAL, Q_ORDERS]
    if srv is not None and pymongo is not None:
        assert wait_for_documents(srv.url, db, "exchanges", 3) == 3


def test_killed_kernel_leaves_no_worker_behind(kernel_factory, fake_llm, tmp_path, sales_csv,
                                               orphan_reaper):
    csv, _ = sales_csv
    script_model(fake_llm)
    km, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path))
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)
    kids = kill_kernel_hard(km)
    orphan_reaper.extend(kids)
    kc.stop_channels()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(pid_alive(p) for p in kids):
        time.sleep(0.1)
    alive = [p for p in kids if pid_alive(p)]
    cmdlines = {}
    for p in alive:
        try:
            cmdlines[p] = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            pass
    assert not alive, f"processes of the SIGKILLed kernel still run after 10 s: {cmdlines}"


# ===========================================================================
# MongoDB
# ===========================================================================

def test_mongo_context_after_restart(kernel_factory, fake_llm, tmp_path, sales_csv,
                                     mongo_servers):
    csv, frame = sales_csv
    script_model(fake_llm)
    srv = mongo_servers()
    db = unique_db()
    env = env_for(fake_llm.base_url, tmp_path, data_dir=tmp_path / "data-a",
                  MONGODB_URL=srv.url, DATABASE_NAME=db)
    km, kc = kernel_factory(env=env)
    out = load(kc, csv)
    assert not stream_text(out, "stderr"), stream_text(out, "stderr")
    ask_ok(kc, Q_TOTAL)
    ask_ok(kc, Q_ORDERS)
    if pymongo is not None:
        assert wait_for_documents(srv.url, db, "exchanges", 2) == 2
        client = mongo_client(srv.url)
        try:
            sessions = list(client[db]["sessions"].find({}))
            assert len(sessions) == 1, sessions
            assert sessions[0]["notebook"] == env["JPY_SESSION_NAME"]
            assert [h["question"] for h in sessions[0]["conversation_history"]] == [
                Q_TOTAL, Q_ORDERS]
            ex = {d["question"]: d for d in client[db]["exchanges"].find({})}
            assert ex[Q_TOTAL]["code"] == CODE[Q_TOTAL]
        finally:
            client.close()
    km.shutdown_kernel(now=False)
    kc.stop_channels()

    # a kernel with an empty local data dir: the context can only come from MongoDB
    env_b = dict(env, LLM_ANALYTICS_DATA_DIR=str(tmp_path / "data-b"))
    _, kc2 = kernel_factory(env=env_b)
    load(kc2, csv)
    assert history_questions(kc2) == [Q_TOTAL, Q_ORDERS]
    out, _ = ask_ok(kc2, Q_AVG_QTY)
    assert result_value(out) == pytest.approx(EXPECTED[Q_AVG_QTY](frame))
    prompt = code_prompt_for(fake_llm, Q_AVG_QTY)
    assert "Previous conversation context:" in prompt
    assert f"1. Question: {Q_TOTAL}" in prompt
    assert context_questions(prompt) == [Q_TOTAL, Q_ORDERS]

    # replay across kernels via MongoDB too (the same notebook, empty local dir)
    before = len(fake_llm.requests)
    env_c = dict(env, LLM_ANALYTICS_DATA_DIR=str(tmp_path / "data-c"))
    _, kc3 = kernel_factory(env=env_c)
    load(kc3, csv)
    out, _ = ask_ok(kc3, Q_TOTAL)
    assert REPLAY_NOTE in code_markdown(out)
    assert len(fake_llm.requests) == before
    assert result_value(out) == pytest.approx(EXPECTED[Q_TOTAL](frame))


def test_mongo_stores_awkward_column_names_and_text(kernel_factory, fake_llm, tmp_path,
                                                   mongo_servers):
    """Column names MongoDB treats specially ('.', '$') end up as document keys (dtypes,
    samples, results); non-ASCII questions and results must round-trip too."""
    frame = pd.DataFrame({
        "région": ["Nord", "Süd", "Nord", "Ost"],
        "unit.price": [1.5, 2.25, 3.0, 4.75],
        "$total": [10, 20, 30, 40],
    })
    csv = tmp_path / "odd.csv"
    frame = write_csv(frame, csv)
    q = "Quel est le total par région ? (€, \"$\", a.b) 📊"
    code = "result = df.groupby('région')[['$total', 'unit.price']].sum()"
    fake_llm.script(rules=[
        {"match": f"Current question: {q}\n", "reply": {"content": code}},
        {"match": f"Current question: {Q_ORDERS}\n", "reply": {"content": CODE[Q_ORDERS]}},
        {"match_regex": r"\A\s*The user asked:", "reply": {"content": "Nord führt. ✓"}},
    ])
    srv = mongo_servers()
    db = unique_db()
    env = env_for(fake_llm.base_url, tmp_path, data_dir=tmp_path / "d1",
                  MONGODB_URL=srv.url, DATABASE_NAME=db)
    km, kc = kernel_factory(env=env)
    out = load(kc, csv)
    out2, _ = ask_ok(kc, q)
    err = stream_text(out, "stderr") + stream_text(out2, "stderr")
    assert not err.strip(), err
    if pymongo is not None:
        assert wait_for_documents(srv.url, db, "exchanges", 1) == 1
        assert wait_for_documents(srv.url, db, "sessions", 1) == 1
    # nothing was set aside or left behind in the spool
    reply, out3 = execute(kc, "%history", timeout=30)
    assert not stream_text(out3, "stderr").strip(), show(out3)
    km.shutdown_kernel(now=False)
    kc.stop_channels()

    _, kc2 = kernel_factory(env=dict(env, LLM_ANALYTICS_DATA_DIR=str(tmp_path / "d2")))
    load(kc2, csv)
    rows = history_rows(history(kc2)[0])
    assert [r["question"] for r in rows] == [q]
    assert rows[0]["code"] == code
    ask_ok(kc2, Q_ORDERS)
    assert context_questions(code_prompt_for(fake_llm, Q_ORDERS)) == [q]
    # and the recorded answer replays from MongoDB in a third kernel of the notebook
    _, kc3 = kernel_factory(env=dict(env, LLM_ANALYTICS_DATA_DIR=str(tmp_path / "d3")))
    load(kc3, csv)
    before = len(fake_llm.requests)
    out, _ = ask_ok(kc3, q)
    assert REPLAY_NOTE in code_markdown(out)
    assert len(fake_llm.requests) == before
    assert final_interpretation(out) == "Nord führt. ✓"


def test_graceful_shutdown_sends_pending_history_to_mongodb(
        kernel_factory, fake_llm, tmp_path, sales_csv, mongo_servers):
    csv, _ = sales_csv
    script_model(fake_llm)
    srv = mongo_servers()
    proxy = DelayProxy(srv.port, delay=0.05)  # 50 ms each way: a remote server
    try:
        db = unique_db()
        env = env_for(fake_llm.base_url, tmp_path, data_dir=tmp_path / "laptop",
                      MONGODB_URL=proxy.url, DATABASE_NAME=db)
        km, kc = kernel_factory(env=env)
        out = load(kc, csv)
        assert not stream_text(out, "stderr").strip(), show(out)
        ask_ok(kc, Q_TOTAL)
        km.shutdown_kernel(now=False)  # the user closes the notebook right away
        kc.stop_channels()
    finally:
        proxy.close()
    # another machine (empty data dir), same database: the audit trail (%history --all,
    # replay lookups) must have the exchange the user saw
    _, kc2 = kernel_factory(env=dict(env, LLM_ANALYTICS_DATA_DIR=str(tmp_path / "desktop"),
                                     MONGODB_URL=srv.url))
    assert history_questions(kc2, "--all") == [Q_TOTAL]
    if pymongo is not None:
        assert wait_for_documents(srv.url, db, "exchanges", 1, timeout=3) == 1


def timed_session(kc, csv: Path, questions) -> tuple[list[float], str, list]:
    """Load csv and ask questions; (cell seconds, all stderr text, all outputs)."""
    times, stderr, outs = [], [], []
    t = time.monotonic()
    out = load(kc, csv)
    times.append(time.monotonic() - t)
    stderr.append(stream_text(out, "stderr"))
    outs.extend(out)
    for q in questions:
        out, secs = ask_ok(kc, q)
        times.append(secs)
        stderr.append(stream_text(out, "stderr"))
        outs.extend(out)
    return times, "".join(stderr), outs


def assert_one_short_mongo_warning(stderr: str) -> None:
    lines = [l for l in stderr.splitlines() if l.strip()]
    mongo_lines = [l for l in lines if "mongodb" in l.lower()]
    assert len(mongo_lines) == 1, f"expected one MongoDB warning line, stderr was:\n{stderr}"
    assert len(mongo_lines[0]) <= 300, f"the warning is not short: {mongo_lines[0]!r}"
    assert "Traceback" not in stderr and "panicked" not in stderr, stderr
    assert len(lines) <= 2, f"more than a short warning on stderr:\n{stderr}"


@pytest.mark.timeout(240)
@pytest.mark.parametrize("outage", ["closed-port", "silent-server"])
def test_mongo_down_at_start_then_flushed_by_a_new_kernel(
        kernel_factory, fake_llm, tmp_path, sales_csv, mongo_servers, outage):
    csv, frame = sales_csv
    script_model(fake_llm)
    questions = [Q_TOTAL, Q_ORDERS]

    # baseline: the same cells with the local SQLite store
    _, kc0 = kernel_factory(env=env_for(fake_llm.base_url, tmp_path,
                                        data_dir=tmp_path / "baseline", notebook="base.ipynb"))
    base_times, base_err, _ = timed_session(kc0, csv, questions)
    assert not base_err.strip(), base_err

    silent = SilentServer() if outage == "silent-server" else None
    try:
        port = silent.port if silent else free_port()
        db = unique_db()
        env = env_for(fake_llm.base_url, tmp_path, data_dir=tmp_path / "spooldir",
                      MONGODB_URL=f"mongodb://127.0.0.1:{port}", DATABASE_NAME=db)
        km, kc = kernel_factory(env=env)
        times, stderr, _ = timed_session(kc, csv, questions)
        for cell, (t, b) in enumerate(zip(times, base_times)):
            assert t <= b + DB_SLACK, (
                f"cell {cell} took {t:.2f}s with MongoDB down vs {b:.2f}s without: {times} vs "
                f"{base_times}")
        assert_one_short_mongo_warning(stderr)
        assert context_questions(code_prompt_for(fake_llm, Q_ORDERS))[-1:] == [Q_TOTAL]
        t = time.monotonic()
        assert history_questions(kc) == questions
        assert time.monotonic() - t <= 1.0 + DB_SLACK
        km.shutdown_kernel(now=False)
        kc.stop_channels()

        # restart while still down: the context comes from the local spool
        km, kc = kernel_factory(env=env)
        t = time.monotonic()
        out = load(kc, csv)
        assert time.monotonic() - t <= base_times[0] + DB_SLACK
        assert "MongoDB" in stream_text(out, "stderr")
        out, secs = ask_ok(kc, Q_AVG_QTY)
        assert secs <= max(base_times[1:]) + DB_SLACK, secs
        assert result_value(out) == pytest.approx(EXPECTED[Q_AVG_QTY](frame))
        prompt = code_prompt_for(fake_llm, Q_AVG_QTY)
        assert context_questions(prompt) == questions, context_block(prompt)
        km.shutdown_kernel(now=False)
        kc.stop_channels()
    finally:
        if silent:
            silent.close()

    # the server comes up on that port; a new kernel with the same spool sends it all
    srv = mongo_servers(port=port)
    all_q = questions + [Q_AVG_QTY]
    _, kc = kernel_factory(env=env)
    load(kc, csv)
    assert history_questions(kc) == all_q
    if pymongo is not None:
        assert wait_for_documents(srv.url, db, "exchanges", 3) == 3
        client = mongo_client(srv.url)
        try:
            assert sorted(d["question"] for d in client[db]["exchanges"].find({})) == sorted(all_q)
            sessions = list(client[db]["sessions"].find({}))
            assert len(sessions) == 1
            assert [h["question"] for h in sessions[0]["conversation_history"]] == all_q
        finally:
            client.close()
    else:
        time.sleep(5)

    # a kernel that has never seen the spool reads it all from MongoDB
    env_fresh = dict(env, LLM_ANALYTICS_DATA_DIR=str(tmp_path / "fresh"))
    _, kc2 = kernel_factory(env=env_fresh)
    out = load(kc2, csv)
    assert not stream_text(out, "stderr").strip(), stream_text(out, "stderr")
    assert history_questions(kc2) == all_q
    ask_ok(kc2, Q_MAX_PRICE)
    assert context_questions(code_prompt_for(fake_llm, Q_MAX_PRICE)) == all_q


@pytest.mark.timeout(240)
def test_mongo_comes_back_while_the_kernel_runs(kernel_factory, fake_llm, tmp_path, sales_csv,
                                                mongo_servers):
    csv, _ = sales_csv
    script_model(fake_llm)
    port = free_port()
    db = unique_db()
    env = env_for(fake_llm.base_url, tmp_path, MONGODB_URL=f"mongodb://127.0.0.1:{port}",
                  DATABASE_NAME=db)
    _, kc = kernel_factory(env=env)
    load(kc, csv)
    ask_ok(kc, Q_TOTAL)
    ask_ok(kc, Q_ORDERS)
    srv = mongo_servers(port=port)
    if pymongo is not None:
        # the flusher's backoff is at most 4 s
        assert wait_for_documents(srv.url, db, "exchanges", 2, timeout=20) == 2
        time.sleep(0.5)  # the notice is queued right after the last acknowledged write
    else:
        time.sleep(8)
    out, _ = ask_ok(kc, Q_AVG_QTY)
    err = stream_text(out, "stderr")
    assert "reachable again" in err, f"no notice that MongoDB is back: {err!r}"
    # a kernel with an empty data dir sees everything in MongoDB
    _, kc2 = kernel_factory(env=dict(env, LLM_ANALYTICS_DATA_DIR=str(tmp_path / "fresh")))
    load(kc2, csv)
    assert history_questions(kc2) == [Q_TOTAL, Q_ORDERS, Q_AVG_QTY]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("replay", ["1", "0"], ids=["replay-on", "replay-off"])
def test_mongo_dies_mid_session(kernel_factory, fake_llm, tmp_path, sales_csv, mongo_servers,
                                replay):
    """With replay on, the next question's replay lookup meets the dead server; with it off
    only the background flusher does."""
    csv, frame = sales_csv
    script_model(fake_llm)
    srv = mongo_servers()
    db = unique_db()
    env = env_for(fake_llm.base_url, tmp_path, MONGODB_URL=srv.url, DATABASE_NAME=db,
                  LLM_ANALYTICS_REPLAY=replay)
    km, kc = kernel_factory(env=env)
    times, stderr, _ = timed_session(kc, csv, [Q_TOTAL])
    assert not stderr.strip(), stderr
    if pymongo is not None:
        assert wait_for_documents(srv.url, db, "exchanges", 1) == 1
    srv.stop()

    err = []
    for q in (Q_ORDERS, Q_AVG_QTY):
        out, secs = ask_ok(kc, q)
        assert secs <= times[1] + DB_SLACK, f"{q!r} took {secs:.2f}s (before the outage: {times[1]:.2f}s)"
        err.append(stream_text(out, "stderr"))
    assert context_questions(code_prompt_for(fake_llm, Q_AVG_QTY)) == [Q_TOTAL, Q_ORDERS]
    t = time.monotonic()
    data, _, herr = history(kc)
    assert time.monotonic() - t <= 1.0 + DB_SLACK
    err.append(herr)
    assert [r["question"] for r in history_rows(data)] == [Q_TOTAL, Q_ORDERS, Q_AVG_QTY]
    # nothing read MongoDB since it died; the background flusher notices within its
    # 1 s operation timeout, and the next cell shows the warning
    deadline = time.monotonic() + 10
    while "mongodb" not in "".join(err).lower() and time.monotonic() < deadline:
        time.sleep(0.5)
        err.append(history(kc)[2])
    assert_one_short_mongo_warning("".join(err))
    km.shutdown_kernel(now=False)
    kc.stop_channels()

    # the server comes back (same storage): a new kernel flushes the spool, and the
    # whole conversation is there again, once
    mongo_servers(port=srv.port)
    _, kc2 = kernel_factory(env=env)
    load(kc2, csv)
    assert history_questions(kc2) == [Q_TOTAL, Q_ORDERS, Q_AVG_QTY]
    if pymongo is not None:
        assert wait_for_documents(srv.url, db, "exchanges", 3) == 3
