"""The hub's import graph has no cycle (imports inside functions included), and ``import
integrations`` imports no framework."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _graph() -> dict[str, set[str]]:
    modules = {f"integrations.{p.stem}" if p.stem != "__init__" else "integrations": p
               for p in (ROOT / "integrations").glob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def test_no_import_cycle_in_the_hub():
    graph = _graph()
    # "integrations" (the package) is imported by every submodule implicitly; its own imports
    # are what matter, and an edge into it says nothing.
    for edges in graph.values():
        edges.discard("integrations")
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_cycle_named_in_issue_16_is_gone():
    graph = _graph()
    assert "integrations.main" not in graph["integrations.errors"]
    assert "integrations.main" not in graph["integrations._base"]
    assert "integrations.errors" not in graph["integrations.registry"]


def test_import_integrations_and_the_registry_import_no_framework():
    code = ("import sys, integrations, integrations.main, integrations.errors, integrations.registry as r; "
            "r.names(); [r.find_framework(r.get_spec(n)) for n in ('keras', 'transformers')]; "
            "heavy = [m for m in ('torch', 'lightning', 'keras', 'transformers', 'numpy') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
