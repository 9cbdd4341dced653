"""The import graph of ``seetrain`` and the hub has no cycle (imports inside functions included),
and ``import integrations`` imports no framework."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _paths() -> dict[str, Path]:
    return {_module_name(p): p for top in ("seetrain", "integrations") for p in (ROOT / top).rglob("*.py")}


def _graph() -> dict[str, set[str]]:
    modules = _paths()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        # imports only a type checker runs are not edges of the import graph
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(block.test) for n in ast.walk(block)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def test_no_import_cycle_in_seetrain_or_the_hub():
    graph = _graph()
    # A package is imported by every submodule implicitly; its own imports are what matter, and
    # an edge into it says nothing.
    packages = {name for name, path in _paths().items() if path.stem == "__init__"}
    for edges in graph.values():
        edges.difference_update(packages)
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
