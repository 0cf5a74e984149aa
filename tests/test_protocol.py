"""Jupyter messaging-protocol tests of the llm-analytics kernel.

Cells: ``%%python\\n<code>`` runs Python in the kernel's worker; any other cell
is a plain-English question for the LLM (answered here by tests/fake_llm.py).

Two parts:
* ``TestKernelConformance`` / ``TestIopubWelcome``: jupyter_kernel_test's
  generic suites, configured so that everything but the pager test runs.
* pytest functions for interrupts, big outputs, queueing, worker crashes,
  message authentication, garbage frames, restart/shutdown, status ordering,
  unknown requests, stop_on_error and persistent history.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from typing import Any

import jupyter_kernel_test as jkt
import pytest
import zmq
from jupyter_client.manager import KernelManager, start_new_kernel
from jupyter_client.session import Session

from fake_llm import FakeLLM
from kernel_helpers import (
    KERNEL_NAME,
    STARTUP_TIMEOUT,
    all_text,
    collect_iopub,
    drain,
    execute,
    find_kernel_spec,
    get_reply,
    kernel_pid,
    make_kernel_env,
    results,
    stop_kernel,
    stream_text,
    wait_for_kernel_info,
)

pytestmark = [pytest.mark.kernel]


# ---------------------------------------------------------------------------
# jupyter_kernel_test suites
# ---------------------------------------------------------------------------

class _IsolatedKernelMixin:
    """Starts the class's kernel against a FakeLLM and a temporary data dir
    instead of the user's environment (the upstream setUpClass uses os.environ)."""

    _llm: FakeLLM
    _tmp: str

    @classmethod
    def _isolated_env(cls) -> dict[str, str]:
        find_kernel_spec()  # raises KernelMissing ("run ./install.sh first"): an error, not a skip
        cls._llm = FakeLLM().start()
        cls._tmp = tempfile.mkdtemp(prefix="llm-analytics-kt-")
        return make_kernel_env(cls._llm.base_url, cls._tmp)

    @classmethod
    def _cleanup_isolation(cls) -> None:
        llm = getattr(cls, "_llm", None)
        if llm is not None:
            llm.stop()
        tmp = getattr(cls, "_tmp", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.timeout(120)
class TestKernelConformance(_IsolatedKernelMixin, jkt.KernelTests):
    kernel_name = KERNEL_NAME
    # KernelTests compares kernel_info_reply.language_info.name with this
    language_name = "llm-analytics"
    file_extension = ".py"

    code_hello_world = '%%python\nprint("hello, world")'
    code_stderr = '%%python\nimport sys; print("oops", file=sys.stderr)'
    # exactly one output message, of type error
    code_generate_error = "%%python\nraise ValueError('boom')"

    # complete_request with cursor_pos = len(text): completion works on the
    # code after the magic line; the set of matches must be exactly this
    completion_samples = [{"text": "%%python\nzi", "matches": {"zip"}}]

    complete_code_samples = ["%%python\nx = 1", "what is the mean price?"]
    incomplete_code_samples = ["%%python\nfor i in range(3):"]
    invalid_code_samples = ["%%python\n1 +* 2"]

    code_execute_result = [{"code": "%%python\n6*7", "result": "42"}]
    code_display_data = [
        {"code": "%%python\ndisplay(5)", "mime": "text/plain"},
        {"code": "%%python\ndisplay({'text/html': '<b>x</b>'}, raw=True)", "mime": "text/html"},
    ]

    # test_history: "search" uses glob semantics over whole cells (like
    # IPython's sqlite GLOB). With unique=True it must return exactly ONE
    # entry, so the pattern must match only code_execute_result's cell, not
    # every %%python cell the suite ran: '?' matches the newline, '*' anything.
    code_history_pattern = "%%python?6*7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "%%python\nzip"
    code_clear_output = "%%python\nclear_output()"
    # code_page_something stays unset: no pager payloads.

    @classmethod
    def setUpClass(cls) -> None:
        env = cls._isolated_env()
        try:
            cls.km, cls.kc = start_new_kernel(
                kernel_name=cls.kernel_name, env=env, cwd=cls._tmp,
                startup_timeout=STARTUP_TIMEOUT,
            )
        except BaseException:
            cls._cleanup_isolation()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            stop_kernel(cls.km, cls.kc)
        finally:
            cls._cleanup_isolation()


@pytest.mark.timeout(60)
class TestIopubWelcome(_IsolatedKernelMixin, jkt.IopubWelcomeTests):
    """JEP 65 / protocol 5.4: the kernel's IOPub is an XPUB socket that sends an
    ``iopub_welcome`` message to each new subscriber."""

    kernel_name = KERNEL_NAME
    support_iopub_welcome = True

    @classmethod
    def setUpClass(cls) -> None:
        env = cls._isolated_env()
        try:
            cls.km = KernelManager(kernel_name=cls.kernel_name)
            cls.km.start_kernel(env=env, cwd=cls._tmp)
            cls.kc = cls.km.client()
        except BaseException:
            cls._cleanup_isolation()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            stop_kernel(cls.km, cls.kc)
        finally:
            cls._cleanup_isolation()

    def test_recv_iopub_welcome_msg(self) -> None:
        # Same assertions as upstream, but bounded (upstream blocks forever).
        self.kc.start_channels()
        msg = self.kc.get_iopub_msg(timeout=20)
        self.assertEqual(msg["header"]["msg_type"], "iopub_welcome")
        self.assertEqual(msg["msg_type"], "iopub_welcome")
        self.assertEqual(msg["content"]["subscription"], "")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def wait_for_iopub(kc, msg_id: str, msg_type: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
        except Exception:
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            seen.append(msg["msg_type"])
            if msg["msg_type"] == msg_type:
                return msg
    raise TimeoutError(f"no iopub {msg_type} for {msg_id} within {timeout}s (saw {seen})")


def assert_one_plus_one(kc, timeout: float = 60) -> dict[str, Any]:
    reply, outputs = execute(kc, "%%python\n1+1", timeout=timeout)
    assert reply["status"] == "ok", f"'1+1' failed: {reply} {outputs}"
    assert results(outputs) == ["2"], f"expected execute_result '2', got {outputs}"
    return reply


def start_interruptible(kc, code: str, settle: float = 1.0) -> str:
    """Send code; return its msg_id once the kernel has started running it."""
    msg_id = kc.execute(code)
    wait_for_iopub(kc, msg_id, "execute_input", timeout=30)
    time.sleep(settle)
    return msg_id


def assert_keyboard_interrupt(kc, msg_id: str, t0: float, limit: float = 5.0) -> None:
    reply = get_reply(kc, msg_id, timeout=limit + 5)
    elapsed = time.monotonic() - t0
    iopub = collect_iopub(kc, msg_id, timeout=10)
    content = reply["content"]
    assert content["status"] == "error", f"interrupted cell: expected status error, got {content}"
    assert content.get("ename") == "KeyboardInterrupt", f"expected KeyboardInterrupt, got {content}"
    assert elapsed < limit, f"interrupt took {elapsed:.1f}s (limit {limit}s)"
    errors = [m for m in iopub if m["msg_type"] == "error"]
    assert errors and errors[0]["content"]["ename"] == "KeyboardInterrupt", (
        f"expected an iopub error KeyboardInterrupt, got {[m['msg_type'] for m in iopub]}"
    )


def sign(key: bytes, frames: list[bytes]) -> bytes:
    h = hmac.new(key, digestmod=hashlib.sha256)
    for f in frames:
        h.update(f)
    return h.hexdigest().encode()


def raw_socket(km: KernelManager, channel: str) -> zmq.Socket:
    info = km.get_connection_info()
    port = info[f"{channel}_port"]
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode())
    sock.connect(f"{info['transport']}://{info['ip']}:{port}")
    return sock


# ---------------------------------------------------------------------------
# a. interrupts
# ---------------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_interrupt_signal_during_sleep(kernel_and_manager):
    km, kc = kernel_and_manager
    msg_id = start_interruptible(kc, "%%python\nimport time; time.sleep(60)")
    t0 = time.monotonic()
    km.interrupt_kernel()  # signal or message, per the kernelspec's interrupt_mode
    assert_keyboard_interrupt(kc, msg_id, t0)
    assert_one_plus_one(kc)


@pytest.mark.timeout(120)
def test_interrupt_while_python_is_still_starting(kernel_factory):
    """The first cell of a new kernel waits for the worker to import pandas; an interrupt
    then must stop the cell, not be lost while it runs to its end."""
    km, kc = kernel_factory()
    msg_id = kc.execute("%%python\nimport time; time.sleep(30)")
    wait_for_iopub(kc, msg_id, "execute_input", timeout=30)
    t0 = time.monotonic()
    km.interrupt_kernel()
    assert_keyboard_interrupt(kc, msg_id, t0)
    assert_one_plus_one(kc)


@pytest.mark.timeout(120)
def test_interrupt_request_on_control_channel(kernel_and_manager):
    km, kc = kernel_and_manager
    msg_id = start_interruptible(kc, "%%python\nimport time; time.sleep(60)")
    t0 = time.monotonic()
    msg = kc.session.msg("interrupt_request", {})
    kc.control_channel.send(msg)
    ireply = get_reply(kc, msg["header"]["msg_id"], timeout=5, channel="control")
    assert ireply["msg_type"] == "interrupt_reply"
    assert ireply["content"].get("status") == "ok", ireply["content"]
    assert_keyboard_interrupt(kc, msg_id, t0)
    assert_one_plus_one(kc)


@pytest.mark.timeout(120)
def test_interrupt_tight_loop(kernel_and_manager):
    km, kc = kernel_and_manager
    msg_id = start_interruptible(kc, "%%python\nwhile True: pass")
    t0 = time.monotonic()
    km.interrupt_kernel()
    assert_keyboard_interrupt(kc, msg_id, t0)
    assert_one_plus_one(kc)


@pytest.mark.timeout(60)
def test_interrupt_while_idle_is_harmless(kernel_and_manager):
    """An interrupt with no cell running must not kill anything nor leak into the next cell."""
    km, kc = kernel_and_manager
    assert execute(kc, "%%python\nidle_marker = 5")[0]["status"] == "ok"
    km.interrupt_kernel()
    time.sleep(1.0)
    assert km.is_alive()
    reply, outputs = execute(kc, "%%python\nimport time; time.sleep(0.5); print(idle_marker)")
    assert reply["status"] == "ok", f"cell after an idle interrupt failed: {reply} {all_text(outputs)}"
    assert stream_text(outputs) == "5\n", "worker state lost by an idle interrupt"


@pytest.mark.timeout(60)
def test_stdout_streams_while_cell_runs(kernel):
    """stdout is forwarded while the cell is still running, not only at its end."""
    msg_id = kernel.execute(
        "%%python\nimport time\nprint('early', flush=True)\ntime.sleep(4)\nprint('late')"
    )
    t_start = time.monotonic()
    first = wait_for_iopub(kernel, msg_id, "stream", timeout=30)
    t_first = time.monotonic() - t_start
    reply = get_reply(kernel, msg_id, timeout=30)
    t_done = time.monotonic() - t_start
    assert "early" in first["content"]["text"]
    assert reply["content"]["status"] == "ok"
    assert t_first < t_done - 2, (
        f"first stdout arrived after {t_first:.1f}s, cell finished after {t_done:.1f}s: "
        "stdout is not streamed while the cell runs"
    )


# ---------------------------------------------------------------------------
# b. a > 5 MB PNG arrives intact
# ---------------------------------------------------------------------------

BIG_PNG_CELL = r'''%%python
import base64, hashlib, os, struct, zlib
w, h = 1500, 1500
raw = b"".join(b"\x00" + os.urandom(w * 3) for _ in range(h))
def chunk(kind, data):
    c = kind + data
    return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xffffffff)
png = (b"\x89PNG\r\n\x1a\n"
       + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(raw, 1))
       + chunk(b"IEND", b""))
display({"image/png": base64.b64encode(png).decode("ascii")}, raw=True)
print("sha256=" + hashlib.sha256(png).hexdigest(), "len=" + str(len(png)))
'''


@pytest.mark.timeout(180)
def test_big_png_arrives_intact(kernel):
    reply, outputs = execute(kernel, BIG_PNG_CELL, timeout=120)
    assert reply["status"] == "ok", f"{reply} {all_text(outputs)[:2000]}"
    out = stream_text(outputs)
    m = re.search(r"sha256=([0-9a-f]{64}) len=(\d+)", out)
    assert m, f"cell did not print the sha256: {out!r}"
    pngs = [o for o in outputs
            if o["msg_type"] == "display_data" and "image/png" in o["content"]["data"]]
    assert len(pngs) == 1, f"expected one display_data image/png, got {[o['msg_type'] for o in outputs]}"
    data = base64.b64decode(pngs[0]["content"]["data"]["image/png"])
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert len(data) > 5_000_000, f"PNG only {len(data)} bytes"
    assert len(data) == int(m.group(2)), f"length {len(data)} != {m.group(2)}"
    assert hashlib.sha256(data).hexdigest() == m.group(1), "PNG bytes corrupted in transit"


# ---------------------------------------------------------------------------
# c. 200 queued cells
# ---------------------------------------------------------------------------

@pytest.mark.timeout(240)
def test_200_queued_cells_in_order(kernel):
    n = 200
    ids = [kernel.execute(f"%%python\nprint({i})") for i in range(n)]
    replies = []
    deadline = time.monotonic() + 150
    while len(replies) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"only {len(replies)}/{n} replies within 150s")
        try:
            msg = kernel.get_shell_msg(timeout=left)
        except Exception:
            continue
        if msg["msg_type"] == "execute_reply":
            replies.append(msg)
    parents = [r["parent_header"]["msg_id"] for r in replies]
    assert parents == ids, "execute_replies out of order"
    statuses = [r["content"]["status"] for r in replies]
    assert statuses == ["ok"] * n, f"non-ok replies: {[(i, s) for i, s in enumerate(statuses) if s != 'ok'][:5]}"
    counts = [r["content"]["execution_count"] for r in replies]
    assert counts == list(range(counts[0], counts[0] + n)), f"execution counts not consecutive: {counts[:10]}..."

    # iopub: every cell's stdout is its own number; collect until the last idle
    by_parent: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    idle = set()
    deadline = time.monotonic() + 60
    while len(idle) < n and time.monotonic() < deadline:
        try:
            msg = kernel.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
        except Exception:
            continue
        pid = msg["parent_header"].get("msg_id")
        if pid not in by_parent:
            continue
        by_parent[pid].append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            idle.add(pid)
    assert len(idle) == n, f"only {len(idle)}/{n} cells reached idle on iopub"
    bad = []
    for i, mid in enumerate(ids):
        text = "".join(m["content"]["text"] for m in by_parent[mid]
                       if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")
        if text != f"{i}\n":
            bad.append((i, text))
        inputs = [m for m in by_parent[mid] if m["msg_type"] == "execute_input"]
        if not inputs or inputs[0]["content"]["execution_count"] != counts[i]:
            bad.append((i, "execute_input count mismatch"))
    assert not bad, f"wrong per-cell output: {bad[:5]}"


# ---------------------------------------------------------------------------
# d. worker killed
# ---------------------------------------------------------------------------

DIED_RE = re.compile(r"di(ed|e)\b|dead|killed|crash|terminat|exit|signal|SIGKILL", re.I)
LOST_RE = re.compile(r"state|variables|lost|reset|restart", re.I)


@pytest.mark.timeout(180)
def test_worker_killed_by_cell_recovers(kernel_and_manager):
    km, kc = kernel_and_manager
    reply, _ = execute(kc, "%%python\nkilled_marker = 1")
    assert reply["status"] == "ok"
    reply, outputs = execute(kc, "%%python\nimport os; os.kill(os.getpid(), 9)", timeout=60)
    text = all_text(outputs)
    assert reply["status"] == "error", f"expected status error after the worker died, got {reply}"
    assert any(o["msg_type"] in ("error", "stream") for o in outputs), "no error output"
    assert DIED_RE.search(text) and LOST_RE.search(text), (
        f"error output should say the Python worker died and state was lost; got {text!r}"
    )
    assert km.is_alive(), "kernel process died with the worker"
    assert_one_plus_one(kc, timeout=90)
    reply, outputs = execute(kc, "%%python\nprint('killed_marker' in globals())")
    assert stream_text(outputs).strip() == "False", "state survived a worker crash?"
    assert kc.is_alive()
    wait_for_kernel_info(kc, timeout=10)


@pytest.mark.timeout(180)
def test_worker_killed_while_idle_recovers(kernel_and_manager):
    km, kc = kernel_and_manager
    reply, outputs = execute(kc, "%%python\nimport os; print(os.getpid())")
    assert reply["status"] == "ok"
    worker_pid = int(stream_text(outputs).strip())
    assert worker_pid != kernel_pid(km), "%%python ran in the kernel process, not a worker"
    os.kill(worker_pid, 9)
    time.sleep(0.5)
    # the next cell must get a reply (error allowed), the one after must work
    reply, outputs = execute(kc, "%%python\n1+1", timeout=90)
    if reply["status"] != "ok":
        assert DIED_RE.search(all_text(outputs)), f"unexplained error: {all_text(outputs)!r}"
        assert_one_plus_one(kc, timeout=90)
    else:
        assert results(outputs) == ["2"]
    assert km.is_alive()


# ---------------------------------------------------------------------------
# e. forged signatures
# ---------------------------------------------------------------------------

FORGED_CODE = "%%python\nprint('FORGED-RAN')"


def _forge(kc, how: str) -> str:
    """Send an execute_request with a bad signature on the shell socket; returns its msg_id."""
    sock = kc.shell_channel.socket
    content = {"code": FORGED_CODE, "silent": False, "store_history": True,
               "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}
    if how in ("wrong_key", "empty_signature"):
        key = b"definitely-not-the-key" if how == "wrong_key" else b""
        bad = Session(key=key, signature_scheme=kc.session.signature_scheme,
                      username=kc.session.username, session=kc.session.session)
        msg = bad.msg("execute_request", content)
        bad.send(sock, msg)
        return msg["header"]["msg_id"]
    if how == "tampered_content":
        msg = kc.session.msg("execute_request", {**content, "code": "%%python\npass"})
        frames = kc.session.serialize(msg)  # [DELIM, sig, header, parent, metadata, content]
        frames[-1] = json.dumps(content).encode()
        sock.send_multipart(frames)
        return msg["header"]["msg_id"]
    raise ValueError(how)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["wrong_key", "empty_signature", "tampered_content"])
def test_forged_signature_ignored(kernel, how):
    assert kernel.session.key, "the test needs a kernel started with an HMAC key"
    forged_id = _forge(kernel, how)
    deadline = time.monotonic() + 2.0
    got = []
    while time.monotonic() < deadline:
        for chan in (kernel.shell_channel, kernel.iopub_channel):
            try:
                m = chan.get_msg(timeout=0.05)
            except Exception:
                continue
            if m["parent_header"].get("msg_id") == forged_id or "FORGED-RAN" in json.dumps(
                m["content"], default=str
            ):
                got.append((m["msg_type"], m["content"]))
    assert not got, f"kernel reacted to a {how} message: {got}"
    info = wait_for_kernel_info(kernel, timeout=10)
    assert info["content"]["status"] == "ok"
    reply, outputs = execute(kernel, "%%python\nprint('genuine')")
    assert reply["status"] == "ok"
    assert stream_text(outputs) == "genuine\n"
    assert reply["execution_count"] == 1, "the forged cell was counted"


# ---------------------------------------------------------------------------
# f. garbage frames
# ---------------------------------------------------------------------------

def _garbage(key: bytes) -> list[list[bytes]]:
    def signed(header: bytes, parent=b"{}", meta=b"{}", content=b"{}") -> list[bytes]:
        parts = [header, parent, meta, content]
        return [b"<IDS|MSG>", sign(key, parts), *parts]

    hdr = lambda t: json.dumps({  # noqa: E731
        "msg_id": uuid.uuid4().hex, "msg_type": t, "username": "x", "session": "s",
        "date": "2024-01-01T00:00:00Z", "version": "5.3"}).encode()
    return [
        [b"garbage"],
        [b""],
        [os.urandom(64) for _ in range(8)],
        [b"<IDS|MSG>"],
        [b"<IDS|MSG>", b"sig"],
        [b"<IDS|MSG>", b"nothex", b"{", b"}", b"{}", b"{}"],
        [b"<IDS|MSG>", b"", b"{}", b"{}", b"{}", b"{}"],
        [b"\xff\xfe", b"<IDS|MSG>", b"0" * 64, b"\x00\x01", b"\x02", b"\x03", b"\x04"],
        [b"<IDS|MSG>", b"a" * 100_000, b"{}", b"{}", b"{}", b"{}"],
        # correctly signed, but broken inside
        signed(b"not json"),
        signed(b"{}"),
        signed(b"[]"),
        signed(hdr("execute_request"), content=b"{}"),  # no code
        signed(hdr("execute_request"), content=b"[1, 2]"),
        signed(hdr("execute_request"), content=b'{"code": 5}'),
        signed(hdr("complete_request"), content=b'{"code": "x", "cursor_pos": -7}'),
        signed(hdr("complete_request"), content=b'{"code": "x", "cursor_pos": 99999}'),
        signed(hdr("inspect_request"), content=b'{"code": "\xc3\xa9x", "cursor_pos": 1}'),
        signed(hdr("history_request"), content=b'{"hist_access_type": "bogus"}'),
        signed(hdr("kernel_info_request"), parent=b"not json"),
    ]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("channel", ["shell", "control"])
def test_garbage_frames_survived(kernel_and_manager, channel):
    km, kc = kernel_and_manager
    sock = raw_socket(km, channel)
    try:
        for frames in _garbage(kc.session.key):
            sock.send_multipart(frames)
        time.sleep(1.0)
    finally:
        sock.close(linger=0)
    assert km.is_alive(), f"kernel died after garbage on {channel}"
    info = wait_for_kernel_info(kc, timeout=15)
    assert info["content"]["status"] == "ok"
    reply, outputs = execute(kc, "%%python\nprint('still here')")
    assert reply["status"] == "ok", reply
    assert stream_text(outputs) == "still here\n"
    msg = kc.session.msg("kernel_info_request", {})
    kc.control_channel.send(msg)
    r = get_reply(kc, msg["header"]["msg_id"], timeout=10, channel="control")
    assert r["msg_type"] == "kernel_info_reply"


# ---------------------------------------------------------------------------
# g. restart and shutdown
# ---------------------------------------------------------------------------

@pytest.mark.timeout(180)
def test_restart_kernel(kernel_and_manager):
    km, kc = kernel_and_manager
    for code in ("%%python\nrestart_marker = 1", "%%python\n2+2"):
        reply, _ = execute(kc, code)
        assert reply["status"] == "ok"
    assert reply["execution_count"] == 2
    old_pid = kernel_pid(km)
    km.restart_kernel(now=False)
    assert km.is_alive()
    assert kernel_pid(km) != old_pid
    info = wait_for_kernel_info(kc, timeout=60)
    assert info["content"]["status"] == "ok"
    assert info["content"]["language_info"]["name"] == "llm-analytics"
    drain(kc, "iopub", timeout=0.2)
    reply, outputs = execute(kc, "%%python\n6*7", timeout=60)
    assert reply["status"] == "ok", reply
    assert results(outputs) == ["42"]
    assert reply["execution_count"] == 1, "execution count did not restart at 1"
    reply, outputs = execute(kc, "%%python\nprint('restart_marker' in globals())")
    assert stream_text(outputs).strip() == "False", "namespace survived a restart"


@pytest.mark.timeout(60)
def test_shutdown_request_with_restart_flag_is_echoed(kernel_and_manager):
    km, kc = kernel_and_manager
    msg_id = kc.shutdown(restart=True)
    reply = get_reply(kc, msg_id, timeout=5, channel="control")
    assert reply["msg_type"] == "shutdown_reply"
    assert reply["content"].get("status") == "ok", reply["content"]
    assert reply["content"].get("restart") is True, reply["content"]


@pytest.mark.timeout(60)
def test_shutdown_exits_quickly(kernel_and_manager):
    km, kc = kernel_and_manager
    proc = km.provisioner.process  # LocalProvisioner's Popen
    assert proc is not None and proc.poll() is None
    t0 = time.monotonic()
    msg_id = kc.shutdown()
    reply = get_reply(kc, msg_id, timeout=5, channel="control")
    assert reply["msg_type"] == "shutdown_reply"
    assert reply["content"].get("status") == "ok"
    assert reply["content"].get("restart") is False
    try:
        proc.wait(timeout=max(0.1, 5 - (time.monotonic() - t0)))
    except Exception:
        pytest.fail(f"kernel still running {time.monotonic() - t0:.1f}s after shutdown_request")
    assert proc.returncode is not None


@pytest.mark.timeout(60)
def test_shutdown_reaps_worker(kernel_and_manager):
    """After shutdown no orphan worker process is left behind."""
    km, kc = kernel_and_manager
    reply, outputs = execute(kc, "%%python\nimport os; print(os.getpid())")
    worker = int(stream_text(outputs).strip())
    proc = km.provisioner.process
    msg_id = kc.shutdown()
    get_reply(kc, msg_id, timeout=5, channel="control")
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        # a zombie whose parent is gone is reaped by init quickly; check state
        try:
            with open(f"/proc/{worker}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.1)
    pytest.fail(f"worker process {worker} still alive 5s after the kernel exited")


# ---------------------------------------------------------------------------
# h. busy / idle and message order
# ---------------------------------------------------------------------------

REQUESTS = {
    "kernel_info": lambda kc: kc.kernel_info(),
    "complete": lambda kc: kc.complete("%%python\nzi"),
    "inspect": lambda kc: kc.inspect("%%python\nzip"),
    "is_complete": lambda kc: kc.is_complete("%%python\nx = 1"),
    "history": lambda kc: kc.history(hist_access_type="tail", n=1, raw=True, output=False),
    "comm_info": lambda kc: kc.comm_info(),
    "execute": lambda kc: kc.execute("%%python\nx = 1"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", list(REQUESTS))
def test_busy_idle_around_shell_request(kernel, kind):
    drain(kernel, "iopub", timeout=0.2)
    msg_id = REQUESTS[kind](kernel)
    reply = get_reply(kernel, msg_id, timeout=15)
    assert reply["msg_type"] == f"{kind}_reply"
    if kind == "is_complete":  # its status is complete/incomplete/invalid/unknown
        assert reply["content"].get("status") == "complete", reply["content"]
    else:
        assert reply["content"].get("status") == "ok", reply["content"]
    iopub = collect_iopub(kernel, msg_id, timeout=10)
    statuses = [m["content"]["execution_state"] for m in iopub if m["msg_type"] == "status"]
    assert iopub[0]["msg_type"] == "status" and statuses[0] == "busy", (
        f"first iopub message for {kind} is not status busy: {[m['msg_type'] for m in iopub]}"
    )
    assert statuses == ["busy", "idle"], f"{kind}: statuses {statuses}"


@pytest.mark.timeout(60)
def test_execute_message_order(kernel):
    code = ("%%python\nimport sys\nprint('out1')\nprint('err1', file=sys.stderr)\n"
            "display(5)\nprint('out2')\n6*7")
    drain(kernel, "iopub", timeout=0.2)
    msg_id = kernel.execute(code)
    reply = get_reply(kernel, msg_id, timeout=30)
    # Once the reply is here, the cell's outputs must already have been sent:
    # read what is available right away (stop at the first 0.1 s of silence).
    early = []
    while True:
        try:
            m = kernel.get_iopub_msg(timeout=0.1)
        except Exception:
            break
        if m["parent_header"].get("msg_id") == msg_id:
            early.append(m)
    msgs = list(early)
    if not (msgs and msgs[-1]["msg_type"] == "status"
            and msgs[-1]["content"]["execution_state"] == "idle"):
        msgs += collect_iopub(kernel, msg_id, timeout=10)
    types = [m["msg_type"] for m in msgs]
    assert types[0] == "status" and msgs[0]["content"]["execution_state"] == "busy", types
    assert types[1] == "execute_input", types
    assert msgs[1]["content"]["code"] == code
    assert types[-1] == "status" and msgs[-1]["content"]["execution_state"] == "idle", types
    outs = msgs[2:-1]
    assert "status" not in [m["msg_type"] for m in outs], types
    simple = [{"msg_type": m["msg_type"], "content": m["content"]} for m in outs]
    assert stream_text(simple) == "out1\nout2\n", stream_text(simple)
    assert stream_text(simple, "stderr") == "err1\n", stream_text(simple, "stderr")
    assert any(m["msg_type"] == "display_data" for m in outs), types
    assert results(simple) == ["42"], types
    # the display comes between out1 and out2
    seq = [(m["msg_type"], m["content"].get("text", "")) for m in outs
           if m["msg_type"] == "display_data"
           or (m["msg_type"] == "stream" and m["content"]["name"] == "stdout")]
    idx_disp = [i for i, s in enumerate(seq) if s[0] == "display_data"][0]
    before = "".join(t for _, t in seq[:idx_disp])
    assert "out1" in before and "out2" not in before, f"stdout/display interleaving lost: {seq}"
    # the execute_result is the last output
    assert outs[-1]["msg_type"] == "execute_result", types
    # all outputs were available right after the reply arrived
    late = [m["msg_type"] for m in outs if not any(m is e for e in early)]
    assert not late, f"outputs published after the execute_reply: {late}"
    # kernel-side timestamps: outputs <= reply <= idle
    rdate = reply["header"]["date"]
    for m in outs:
        assert m["header"]["date"] <= rdate, f"{m['msg_type']} stamped after the execute_reply"
    assert msgs[-1]["header"]["date"] >= rdate, "status idle stamped before the execute_reply"


@pytest.mark.timeout(60)
def test_silent_execution(kernel):
    """silent=True: no execute_input, no execute_result, count not incremented."""
    assert execute(kernel, "%%python\n1")[0]["execution_count"] == 1
    msg_id = kernel.execute("%%python\n6*7", silent=True)
    reply = get_reply(kernel, msg_id, timeout=15)
    iopub = collect_iopub(kernel, msg_id, timeout=10)
    types = [m["msg_type"] for m in iopub]
    assert reply["content"]["status"] == "ok"
    assert "execute_input" not in types, types
    assert "execute_result" not in types, types
    reply, _ = execute(kernel, "%%python\n2")
    assert reply["execution_count"] == 2, "a silent cell incremented the execution count"


@pytest.mark.timeout(60)
def test_store_history_false(kernel):
    execute(kernel, "%%python\n1")
    reply, _ = execute(kernel, "%%python\nnot_in_history = 1", store_history=False)
    assert reply["status"] == "ok"
    reply, _ = execute(kernel, "%%python\n3")
    assert reply["execution_count"] == 2, "store_history=False incremented the execution count"
    msg_id = kernel.history(hist_access_type="tail", n=10, raw=True, output=False)
    codes = [h[2] for h in get_reply(kernel, msg_id, timeout=10)["content"]["history"]]
    assert "%%python\nnot_in_history = 1" not in codes, codes


@pytest.mark.timeout(60)
def test_input_without_stdin_fails_fast(kernel):
    """input() in a cell sent with allow_stdin=False errors out instead of hanging."""
    t0 = time.monotonic()
    reply, outputs = execute(kernel, "%%python\nx = input('q?')", timeout=20, allow_stdin=False)
    assert reply["status"] == "error", reply
    assert time.monotonic() - t0 < 10
    assert_one_plus_one(kernel)


# ---------------------------------------------------------------------------
# i. unknown request type
# ---------------------------------------------------------------------------

@pytest.mark.timeout(30)
def test_unknown_request_gets_error_reply(kernel):
    msg = kernel.session.send(kernel.shell_channel.socket, "frobnicate_request", {"x": 1})
    reply = get_reply(kernel, msg["header"]["msg_id"], timeout=5)
    assert reply["msg_type"] == "frobnicate_reply", reply["msg_type"]
    assert reply["content"].get("status") == "error", reply["content"]
    assert wait_for_kernel_info(kernel, timeout=10)["content"]["status"] == "ok"


# ---------------------------------------------------------------------------
# j. stop_on_error
# ---------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_stop_on_error_aborts_queued_cells(kernel):
    ids = [
        kernel.execute("%%python\nimport time; time.sleep(0.5)\nraise ValueError('first')"),
        kernel.execute("%%python\nprint('second')"),
        kernel.execute("%%python\nprint('third')"),
    ]
    replies = [get_reply(kernel, i, timeout=20) for i in ids]
    c = [r["content"] for r in replies]
    assert c[0]["status"] == "error" and c[0]["ename"] == "ValueError", c[0]
    assert c[1]["status"] == "aborted", f"2nd cell: {c[1]}"
    assert c[2]["status"] == "aborted", f"3rd cell: {c[2]}"
    texts = []
    for i in ids:
        try:
            texts.append(all_text(collect_iopub(kernel, i, timeout=5)))
        except TimeoutError:
            pass
    assert not any("second" in t or "third" in t for t in texts), "an aborted cell ran"
    # the abort does not stick: a cell sent afterwards runs
    reply, outputs = execute(kernel, "%%python\nprint('fourth')")
    assert reply["status"] == "ok"
    assert stream_text(outputs) == "fourth\n"


@pytest.mark.timeout(120)
def test_cell_sent_after_error_reply_is_not_aborted(kernel):
    """stop_on_error aborts only what was queued *before* the failing cell's reply.

    A client (e.g. "run all" in a notebook UI, or a test) that sends the next
    cell as soon as the error reply arrives must not see it aborted. The race
    window is small, so try many times.
    """
    aborted = []
    rounds = 300
    for i in range(rounds):
        bad = kernel.execute("%%python\nraise ValueError('x')")
        r = get_reply(kernel, bad, timeout=10)
        if r["content"]["status"] != "error":  # itself aborted by a previous round's race
            aborted.append((i, "raising cell: " + r["content"]["status"]))
        nxt = kernel.execute(f"%%python\nprint({i})")
        r2 = get_reply(kernel, nxt, timeout=10)
        if r2["content"]["status"] != "ok":
            aborted.append((i, r2["content"]["status"]))
    assert not aborted, (
        f"{len(aborted)} of {rounds} rounds had a wrongly aborted cell (a cell sent right "
        f"after an error reply): {aborted[:5]}"
    )


@pytest.mark.timeout(60)
def test_stop_on_error_false_keeps_going(kernel):
    a = kernel.execute("%%python\nimport time; time.sleep(0.5)\nraise ValueError('x')",
                       stop_on_error=False)
    b = kernel.execute("%%python\nprint('ran')")
    ra, rb = get_reply(kernel, a, timeout=20), get_reply(kernel, b, timeout=20)
    assert ra["content"]["status"] == "error"
    assert rb["content"]["status"] == "ok", rb["content"]
    assert "ran" in all_text(collect_iopub(kernel, b, timeout=10))


# ---------------------------------------------------------------------------
# k. history persists across restarts
# ---------------------------------------------------------------------------

def _history_codes(kc, n: int = 20) -> list[str]:
    msg_id = kc.history(hist_access_type="tail", n=n, raw=True, output=False)
    reply = get_reply(kc, msg_id, timeout=15)
    assert reply["content"]["status"] == "ok", reply["content"]
    return [h[2] for h in reply["content"]["history"]]


HIST_CELLS = ["%%python\nhist_alpha = 1", "%%python\nhist_beta = 2"]


@pytest.mark.timeout(180)
def test_history_survives_restart(kernel_and_manager):
    km, kc = kernel_and_manager
    for code in HIST_CELLS:
        assert execute(kc, code)[0]["status"] == "ok"
    assert _history_codes(kc)[-2:] == HIST_CELLS
    km.restart_kernel(now=False)
    wait_for_kernel_info(kc, timeout=60)
    codes = _history_codes(kc)
    assert codes[-2:] == HIST_CELLS, f"history after restart: {codes}"


@pytest.mark.timeout(180)
def test_history_survives_new_process(kernel_factory, kernel_env):
    km, kc = kernel_factory()
    for code in HIST_CELLS:
        assert execute(kc, code)[0]["status"] == "ok"
    stop_kernel(km, kc)
    km2, kc2 = kernel_factory(env=kernel_env)
    codes = _history_codes(kc2)
    assert codes[-2:] == HIST_CELLS, f"history in a new kernel process: {codes}"
    assert os.path.isdir(kernel_env["LLM_ANALYTICS_DATA_DIR"]), "history not under LLM_ANALYTICS_DATA_DIR"
