"""The kernel's Arrow files live in tmpfs, which is memory: they must not outlive the
dataset (loading a name again) or the kernel (graceful shutdown, or SIGKILL followed by
any later kernel start)."""

from __future__ import annotations

import glob
import time
from pathlib import Path

import pytest

from kernel_helpers import execute, kernel_pid, make_kernel_env, start_kernel, stop_kernel

pytestmark = pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs /dev/shm")


def scratch_dirs(pid: int) -> list[str]:
    return glob.glob(f"/dev/shm/llm-analytics-{pid}-*")


def arrow_files(pid: int) -> list[str]:
    return glob.glob(f"/dev/shm/llm-analytics-{pid}-*/*.arrow")


def wait_until(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    (tmp_path / "sales.csv").write_text("region,amount\nNorth,10\nSouth,20.5\n")
    (tmp_path / "other.csv").write_text("a,b\n1,x\n2,y\n")
    return tmp_path


def load_ok(kc, spec: str) -> None:
    reply, outputs = execute(kc, f"%load {spec}")
    assert reply["status"] == "ok", outputs


def test_reload_replaces_the_arrow_file_and_shutdown_removes_the_directory(csv_dir: Path) -> None:
    km, kc = start_kernel(env=make_kernel_env("http://127.0.0.1:9/v1", csv_dir), cwd=csv_dir)
    pid = kernel_pid(km)
    try:
        assert len(scratch_dirs(pid)) == 1
        load_ok(kc, "sales.csv as sales")
        first = arrow_files(pid)
        assert len(first) == 1
        load_ok(kc, "sales.csv as sales")
        second = arrow_files(pid)
        assert len(second) == 1 and second != first, "the old file of a reloaded name stays"
        load_ok(kc, "other.csv as other")
        assert len(arrow_files(pid)) == 2
        reply, outputs = execute(kc, "%%python\nprint(len(sales), len(other))")
        assert "2 2" in str(outputs)
    finally:
        stop_kernel(km, kc)
    assert wait_until(lambda: not scratch_dirs(pid)), "scratch directory left after shutdown"


def test_a_killed_kernels_directory_is_removed_by_the_next_kernel(csv_dir: Path) -> None:
    env = make_kernel_env("http://127.0.0.1:9/v1", csv_dir)
    km, kc = start_kernel(env=env, cwd=csv_dir)
    pid = kernel_pid(km)
    load_ok(kc, "sales.csv")
    assert arrow_files(pid)
    # Jupyter's "shut down now" / restart of a hung kernel: SIGKILL, no cleanup code runs.
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    assert wait_until(lambda: not Path(f"/proc/{pid}").exists())
    assert scratch_dirs(pid), "SIGKILL cannot clean up; the next start must"
    km2, kc2 = start_kernel(env=env, cwd=csv_dir)
    try:
        assert wait_until(lambda: not scratch_dirs(pid)), "stale scratch directory not swept"
        assert len(scratch_dirs(kernel_pid(km2))) == 1, "the new kernel's own directory is kept"
    finally:
        stop_kernel(km2, kc2)
