"""No module of ``gateway/`` or ``adapters/`` imports itself back through others.

import-linter holds the layers apart (interfaces > bootstrap > messaging > service >
security, storage > domain); this holds each layer's modules in an order too, so a module
can be read knowing only what is below it. Every import counts: at the top, inside a
function (a lazy import is still a dependency) and under ``TYPE_CHECKING`` (an annotation
is one too). ``from package import name`` counts as an import of ``package.name`` when that
is a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "adapters")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for file in (ROOT / package).rglob("*.py"):
            parts = file.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = file
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, file in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    if child in modules:
                        targets.add(child)
                    elif node.module in modules:
                        targets.add(node.module)
        # A package's __init__ is not a step back up: importing a module runs its package.
        graph[name] = {t for t in targets if t != name and not name.startswith(f"{t}.")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (its modules in order, the first again at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_no_module_imports_itself_back() -> None:
    modules = _modules()
    graph = _imports(modules)
    assert graph.get("gateway.service.decision")
    assert _cycle(graph) == [], "an import cycle: " + " -> ".join(_cycle(graph))
