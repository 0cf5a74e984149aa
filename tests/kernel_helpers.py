"""Helpers to start the ``llm-analytics`` kernel and talk to it in tests.

Everything here is bounded in time: every wait takes a timeout and raises
``TimeoutError`` with what was seen so far.
"""
from __future__ import annotations

import os
import queue
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterable

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager, start_new_kernel

KERNEL_NAME = "llm-analytics"
STARTUP_TIMEOUT = 60

OUTPUT_TYPES = {"stream", "display_data", "update_display_data", "execute_result", "error",
                "clear_output"}


class KernelMissing(RuntimeError):
    pass


def find_kernel_spec() -> KernelSpec:
    """The installed ``llm-analytics`` kernelspec, or KernelMissing with a clear message."""
    ksm = KernelSpecManager()
    try:
        spec = ksm.get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        found = ", ".join(sorted(ksm.find_kernel_specs())) or "none"
        raise KernelMissing(
            f"Jupyter kernelspec {KERNEL_NAME!r} not found (kernels found: {found}; "
            f"JUPYTER_PATH={os.environ.get('JUPYTER_PATH', '')!r}). "
            "Run ./install.sh first."
        ) from None
    exe = spec.argv[0] if spec.argv else ""
    if exe and not (os.path.isabs(exe) and os.path.exists(exe)) and shutil.which(exe) is None:
        raise KernelMissing(
            f"kernelspec {KERNEL_NAME!r} at {spec.resource_dir} points to {exe!r}, "
            "which does not exist. Run ./install.sh first."
        )
    return spec


def make_kernel_env(base_url: str, tmp_path: Path | str, **extra: str) -> dict[str, str]:
    tmp_path = Path(tmp_path)
    env = dict(os.environ)
    env.pop("MONGODB_URL", None)
    env.update(
        {
            "OPENAI_BASE_URL": base_url,
            "OPENAI_API_KEY": "test-key",
            "OPENAI_MODEL": "fake-model",
            "LLM_ANALYTICS_DATA_DIR": str(tmp_path / "data"),
            "JPY_SESSION_NAME": str(tmp_path / "test.ipynb"),
        }
    )
    env.update(extra)
    return env


def start_kernel(
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    startup_timeout: float = STARTUP_TIMEOUT,
) -> tuple[KernelManager, BlockingKernelClient]:
    """Start the kernel and return (KernelManager, BlockingKernelClient) once it is ready."""
    find_kernel_spec()
    kwargs: dict[str, Any] = {}
    if env is not None:
        kwargs["env"] = env
    if cwd is not None:
        kwargs["cwd"] = str(cwd)
    km, kc = start_new_kernel(
        startup_timeout=startup_timeout, kernel_name=KERNEL_NAME, **kwargs
    )
    return km, kc


def stop_kernel(km: KernelManager, kc: BlockingKernelClient | None = None,
                timeout: float = 10) -> None:
    """Shut the kernel down; never hangs more than ~timeout seconds, kills if needed."""
    try:
        if kc is not None:
            kc.stop_channels()
    except Exception:
        pass
    try:
        if km.has_kernel:
            km.shutdown_wait_time = timeout
            km.shutdown_kernel(now=False)
    except Exception:
        try:
            km.shutdown_kernel(now=True)
        except Exception:
            pass
    try:
        km.cleanup_resources()
    except Exception:
        pass


def kernel_pid(km: KernelManager) -> int | None:
    prov = getattr(km, "provisioner", None)
    proc = getattr(prov, "process", None)
    return getattr(proc, "pid", None)


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def get_reply(kc: BlockingKernelClient, msg_id: str, timeout: float = 30,
              channel: str = "shell") -> dict[str, Any]:
    """The reply whose parent is msg_id on the shell/control channel; other replies are dropped."""
    chan = kc.shell_channel if channel == "shell" else kc.control_channel
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = _remaining(deadline)
        if left <= 0:
            raise TimeoutError(
                f"no {channel} reply to {msg_id} within {timeout}s "
                f"(other replies seen: {seen})"
            )
        try:
            msg = chan.get_msg(timeout=left)
        except queue.Empty:
            continue
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return msg
        seen.append(msg["header"]["msg_type"])


def collect_iopub(kc: BlockingKernelClient, msg_id: str, timeout: float = 30) -> list[dict[str, Any]]:
    """All iopub messages whose parent is msg_id, until (and including) status idle."""
    deadline = time.monotonic() + timeout
    msgs: list[dict[str, Any]] = []
    while True:
        left = _remaining(deadline)
        if left <= 0:
            raise TimeoutError(
                f"no status idle for {msg_id} within {timeout}s; got "
                f"{[m['msg_type'] for m in msgs]}"
            )
        try:
            msg = kc.get_iopub_msg(timeout=left)
        except queue.Empty:
            continue
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        msgs.append(msg)
        if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
            return msgs


def simplify(msgs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"msg_type": m["msg_type"], "content": m["content"], "metadata": m.get("metadata", {})}
        for m in msgs
    ]


def execute(
    kc: BlockingKernelClient,
    code: str,
    timeout: float = 30,
    **kwargs: Any,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run a cell; returns (execute_reply content, outputs).

    outputs: the iopub messages of that cell other than status/execute_input,
    each as {msg_type, content, metadata}, in arrival order.
    """
    msg_id = kc.execute(code, **kwargs)
    deadline = time.monotonic() + timeout
    iopub = collect_iopub(kc, msg_id, timeout=timeout)
    reply = get_reply(kc, msg_id, timeout=max(1.0, _remaining(deadline)))
    outputs = [m for m in iopub if m["msg_type"] not in ("status", "execute_input")]
    return reply["content"], simplify(outputs)


def stream_text(outputs: Iterable[dict[str, Any]], name: str = "stdout") -> str:
    return "".join(
        o["content"].get("text", "")
        for o in outputs
        if o["msg_type"] == "stream" and o["content"].get("name") == name
    )


def results(outputs: Iterable[dict[str, Any]], mime: str = "text/plain") -> list[str]:
    return [
        o["content"]["data"].get(mime)
        for o in outputs
        if o["msg_type"] == "execute_result"
    ]


def all_text(outputs: Iterable[dict[str, Any]]) -> str:
    """Every piece of text in outputs (streams, errors, text/plain data) joined."""
    parts: list[str] = []
    for o in outputs:
        c = o["content"]
        if o["msg_type"] == "stream":
            parts.append(c.get("text", ""))
        elif o["msg_type"] == "error":
            parts.append(c.get("ename", ""))
            parts.append(c.get("evalue", ""))
            parts.extend(c.get("traceback", []) or [])
        elif "data" in c:
            for k, v in c["data"].items():
                if k.startswith("text/") and isinstance(v, str):
                    parts.append(v)
    return "\n".join(parts)


def drain(kc: BlockingKernelClient, channel: str = "iopub", timeout: float = 0.2) -> list[dict[str, Any]]:
    """Read everything currently available on a channel (waits up to timeout per message)."""
    chan = {"iopub": kc.iopub_channel, "shell": kc.shell_channel,
            "control": kc.control_channel}[channel]
    out = []
    while True:
        try:
            out.append(chan.get_msg(timeout=timeout))
        except queue.Empty:
            return out


def wait_for_kernel_info(kc: BlockingKernelClient, timeout: float = 30) -> dict[str, Any]:
    """kernel_info_request/reply, retried until the kernel answers (e.g. after a restart)."""
    deadline = time.monotonic() + timeout
    last_err: Exception | None = None
    while _remaining(deadline) > 0:
        msg_id = kc.kernel_info()
        try:
            return get_reply(kc, msg_id, timeout=min(2.0, _remaining(deadline) or 0.1))
        except TimeoutError as e:
            last_err = e
    raise TimeoutError(f"kernel did not answer kernel_info within {timeout}s ({last_err})")


def role(o: dict[str, Any]) -> str | None:
    """An output message's `metadata.llm_analytics.role` (code, result, interpretation, profile)."""
    md = o["content"].get("metadata") or {}
    return (md.get("llm_analytics") or {}).get("role")


def errors(outputs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The error messages among the outputs."""
    return [o for o in outputs if o["msg_type"] == "error"]


def show(outputs: Iterable[dict[str, Any]], width: int = 800) -> str:
    """Compact dump of outputs for assertion messages: text shown (cut), other mimes sized."""
    lines = []
    for o in outputs:
        c = o["content"]
        if o["msg_type"] == "stream":
            lines.append(f"stream[{c.get('name')}]: {c.get('text', '')[:width]!r}")
        elif o["msg_type"] == "error":
            lines.append(f"error: {c.get('ename')}: {c.get('evalue', '')[:width]!r}")
        else:
            data = {k: (v[:width] if k.startswith("text/") and isinstance(v, str) else f"<{len(v)} chars>")
                    for k, v in (c.get("data") or {}).items()}
            tid = (c.get("transient") or {}).get("display_id")
            lines.append(f"{o['msg_type']} role={role(o)} id={tid}: {data!r}"[:width + 200])
    return "\n".join(lines)


def table_numbers(text: str, labels) -> dict:
    """label -> number, read from a one-column table's text/plain rendering."""
    values = {}
    for label in labels:
        m = re.search(rf"^{re.escape(str(label))}\s+(-?[0-9.]+(?:e[+-]?[0-9]+)?)\s*$", text, re.M)
        assert m, f"no row for {label!r} in result text:\n{text}"
        values[label] = float(m.group(1))
    return values
