"""Shared pytest fixtures for the llm-analytics kernel tests.

Fixtures
--------
* ``kernel_spec`` (session): the installed ``llm-analytics`` kernelspec; *fails*
  (never skips) with "run ./install.sh first" when it is missing.
* ``fake_llm``: a :class:`fake_llm.FakeLLM` started for one test.
* ``kernel_env``: the environment for a kernel talking to ``fake_llm`` with its
  data dir in ``tmp_path``.
* ``kernel_factory``: ``start(env=None, cwd=None) -> (km, kc)``; every kernel it
  started is shut down after the test, even on failure.
* ``kernel_and_manager``: ``(km, kc)`` of a kernel started with ``kernel_env``.
* ``kernel``: the client of that kernel.

Timeouts: each test phase (setup / call / teardown) is bounded by a SIGALRM
timer (default: the ``timeout`` ini option, else 180 s;
``@pytest.mark.timeout(N)`` per test; env LLM_ANALYTICS_TEST_TIMEOUT overrides)
unless the pytest-timeout plugin is installed, which then takes over.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_llm import FakeLLM  # noqa: E402
from kernel_helpers import (  # noqa: E402
    KernelMissing,
    find_kernel_spec,
    make_kernel_env,
    start_kernel,
    stop_kernel,
)

DEFAULT_TIMEOUT = 180


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # Without pytest-timeout, accept its ini option (pytest.ini sets `timeout`)
    # and use it as the default of the SIGALRM fallback below.
    if not pluginmanager.hasplugin("timeout"):
        parser.addini("timeout", "per-phase test time limit in seconds (conftest fallback)",
                      default=str(DEFAULT_TIMEOUT))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kernel: needs the installed llm-analytics kernel")
    if not config.pluginmanager.hasplugin("timeout"):
        config.addinivalue_line(
            "markers", "timeout(seconds): per-phase time limit (conftest SIGALRM fallback)"
        )


class PhaseTimeout(Exception):
    pass


def _timeout_for(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker and marker.args:
        return float(marker.args[0])
    if marker and "timeout" in marker.kwargs:
        return float(marker.kwargs["timeout"])
    if "LLM_ANALYTICS_TEST_TIMEOUT" in os.environ:
        return float(os.environ["LLM_ANALYTICS_TEST_TIMEOUT"])
    try:
        return float(item.config.getini("timeout") or DEFAULT_TIMEOUT)
    except (ValueError, KeyError):
        return float(DEFAULT_TIMEOUT)


def _with_alarm(item: pytest.Item, phase: str):
    use_alarm = (
        hasattr(signal, "SIGALRM")
        and not item.config.pluginmanager.hasplugin("timeout")
    )
    if not use_alarm:
        return None
    seconds = _timeout_for(item)

    def on_alarm(signum: int, frame: Any) -> None:
        raise PhaseTimeout(f"{item.nodeid}: {phase} exceeded {seconds:g}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return old


def _clear_alarm(old: Any) -> None:
    if old is None:
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    old = _with_alarm(item, "setup")
    try:
        yield
    finally:
        _clear_alarm(old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    old = _with_alarm(item, "call")
    try:
        yield
    finally:
        _clear_alarm(old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    old = _with_alarm(item, "teardown")
    try:
        yield
    finally:
        _clear_alarm(old)


@pytest.fixture(scope="session")
def kernel_spec():
    try:
        return find_kernel_spec()
    except KernelMissing as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    llm = FakeLLM().start()
    try:
        yield llm
    finally:
        llm.stop()


@pytest.fixture
def kernel_env(tmp_path: Path, fake_llm: FakeLLM) -> dict[str, str]:
    return make_kernel_env(fake_llm.base_url, tmp_path)


@pytest.fixture
def kernel_factory(kernel_spec, kernel_env, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    started: list[tuple[Any, Any]] = []

    def start(env: dict[str, str] | None = None, cwd: str | os.PathLike[str] | None = None):
        km, kc = start_kernel(env=env if env is not None else kernel_env,
                              cwd=cwd if cwd is not None else tmp_path)
        started.append((km, kc))
        return km, kc

    try:
        yield start
    finally:
        for km, kc in reversed(started):
            stop_kernel(km, kc)


@pytest.fixture
def kernel_and_manager(kernel_factory):
    return kernel_factory()


@pytest.fixture
def kernel(kernel_and_manager):
    return kernel_and_manager[1]
