"""The kernel's module graph stays one-way: no import cycle among kernel/src modules.

A module's dependencies are the `super::x` / `crate::x::y` paths its non-test code names.
ARCHITECTURE.md draws the same graph; this keeps the drawing true as code moves.
"""
from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "kernel" / "src"


def module_graph(src: Path = SRC) -> dict[str, set[str]]:
    mods: dict[str, str] = {}
    for f in src.rglob("*.rs"):
        parts = list(f.relative_to(src).with_suffix("").parts)
        if parts[-1] == "mod":
            parts = parts[:-1]
        if parts in (["main"], ["lib"]):
            parts = []
        code = f.read_text().split("#[cfg(test)]")[0]
        mods["::".join(parts)] = code
    graph: dict[str, set[str]] = {}
    for name, code in mods.items():
        parent = "::".join(name.split("::")[:-1])
        deps = {(f"{parent}::{m}" if parent else m) for m in re.findall(r"\bsuper::([a-z_]+)", code)}
        for path in re.findall(r"\bcrate::([a-z_]+(?:::[a-z_]+)?)", code):
            deps.add(path if path in mods else path.split("::")[0])
        graph[name] = {d for d in deps if d in mods and d != name and not name.startswith(d + "::")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_in_the_kernel():
    graph = module_graph()
    assert "analysis::engine" in graph and "analysis::question" in graph
    assert cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_question_flow_does_not_call_back_into_the_dispatcher():
    graph = module_graph()
    callers = sorted(m for m, deps in graph.items() if "analysis::engine" in deps)
    assert callers == [], f"only main may use the engine; these do: {callers}"


def test_the_protocol_layer_knows_nothing_of_the_analysis():
    graph = module_graph()
    leaks = {m: sorted(d for d in deps if d.startswith("analysis")) for m, deps in graph.items()
             if m.startswith("protocol")}
    assert {m: d for m, d in leaks.items() if d} == {}
