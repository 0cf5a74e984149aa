"""Kernel start-up and round-trip benchmark: llm-analytics beside ipykernel, same run.

Prints a markdown table of medians and ratios. Not a test: timings are only compared
within one run on one machine.

    python bench/kernel_bench.py [--runs 7] [--cells 30]
"""
from __future__ import annotations

import argparse
import statistics
import time

from jupyter_client.manager import KernelManager


def spawn_to_kernel_info(kernel_name: str) -> tuple[float, KernelManager, object]:
    """Seconds from starting the process to receiving the first kernel_info_reply."""
    km = KernelManager(kernel_name=kernel_name)
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    msg_id = kc.kernel_info()
    while True:
        reply = kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    return time.perf_counter() - t0, km, kc


def cell_round_trip(kc, code: str) -> float:
    """Seconds from sending execute_request to the idle status that ends it."""
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
        ):
            break
    kc.get_shell_msg(timeout=60)
    return time.perf_counter() - t0


def measure(kernel_name: str, code: str, runs: int, cells: int) -> tuple[float, float]:
    spawns, trips = [], []
    for _ in range(runs):
        spawn, km, kc = spawn_to_kernel_info(kernel_name)
        spawns.append(spawn)
        kc.wait_for_ready(timeout=60)  # iopub subscribed, so no status message is lost
        cell_round_trip(kc, code)  # warm-up: the first cell may wait for imports
        trips.extend(cell_round_trip(kc, code) for _ in range(cells))
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return statistics.median(spawns), statistics.median(trips)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--cells", type=int, default=30)
    args = ap.parse_args()
    ours = measure("llm-analytics", "%%python\n1 + 1", args.runs, args.cells)
    ipy = measure("python3", "1 + 1", args.runs, args.cells)
    print(f"| metric (median, {args.runs} kernels) | llm-analytics | ipykernel | ratio | goal |")
    print("|---|---|---|---|---|")
    print(f"| spawn -> kernel_info_reply | {ours[0]*1000:.1f} ms | {ipy[0]*1000:.1f} ms | {ours[0]/ipy[0]:.2f}x | <= 0.2x |")
    print(f"| trivial cell round trip | {ours[1]*1000:.2f} ms | {ipy[1]*1000:.2f} ms | {ours[1]/ipy[1]:.2f}x | <= 1.0x |")


if __name__ == "__main__":
    main()
