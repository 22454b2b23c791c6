"""The package's import graph: no cycle, and imports only follow the flow.

Layers, in the order data flows: the private kernels and the exception/estimate types at the
bottom, then input/output (loading, the ScoreTable and its tree), then the analyses, then the
report (results, markdown, figures), then the CLI. A module may import from its own layer or a
lower one; an import against the flow, or any cycle (function-level imports included; imports
under ``if TYPE_CHECKING:`` excluded, since they never run), fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "alignfactors"

LAYERS = {"kernels": 0, "io": 1, "analyses": 2, "report": 3, "cli": 4}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: The bottom layer: the exception family, the Estimate, the resampling engine every analysis is
#: written against, the correlation kernels, and the private kernels (options, validation,
#: formatting, progress, factor extraction/rotation, the aggregate search, balance kernels).
#: Private helpers of one analysis (``_dimension_rules``, ``_aggregation_audits``) are analyses.
KERNEL_MODULES = {"errors", "estimate", "resampling", "correlation", "_options", "_validation",
                  "_formatting", "_progress", "_factor_kernels", "_search", "_balance_kernels"}


def _layer(module: str) -> str:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top in ("cli", "__main__"):
        return "cli"
    if top == "reporting":
        return "report"
    if top == "io":
        return "io"
    if top in KERNEL_MODULES:
        return "kernels"
    return "analyses"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    anchor = base[: len(base) - (child.level - 1)] if child.level > 1 else base
                    target = ".".join(anchor + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.split(".")[0] == "alignfactors":
                    found.add(target)
                    for alias in child.names:
                        found.add(f"{target}.{alias.name}")
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "alignfactors":
                        found.add(alias.name)
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets = {t for t in _imports(path, name) if t in paths and t != name}
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _internal(graph):
    """Edges between modules, leaving out the package __init__ files (they re-export)."""
    return {m: {t for t in ts if not t.endswith("__init__") and t != "alignfactors"}
            for m, ts in graph.items() if m != "alignfactors"}


def test_no_import_cycle():
    graph = _internal(_graph())
    assert _cycles(graph) == []


def test_imports_follow_the_flow():
    graph = _internal(_graph())
    against = [
        f"{m} ({_layer(m)}) imports {t} ({_layer(t)})"
        for m, ts in sorted(graph.items()) for t in sorted(ts)
        if LAYERS[_layer(t)] > LAYERS[_layer(m)]
    ]
    assert against == []


def test_the_checks_can_fail():
    cyclic = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycles(cyclic) == [["a", "b", "c"]]
    assert _layer("alignfactors.reporting.run") == "report"
    assert _layer("alignfactors._options") == "kernels"
    assert _layer("alignfactors._dimension_rules") == "analyses"
    assert _layer("alignfactors.io.loading") == "io"
    assert _layer("alignfactors.agreement") == "analyses"


def _import_froms():
    """Every ``from X import name`` inside the package, function-level ones included, as
    (module, name, where): resolved to absolute module names."""
    out = []
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                anchor = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(anchor + ([node.module] if node.module else []))
                out += [(target, alias.name, f"{path.name}:{node.lineno}") for alias in node.names]
    return out


def test_every_relative_import_resolves():
    # function-level imports run only when their function does: check them all here, so a moved
    # module cannot leave an import that fails at run time only
    import importlib

    missing = []
    for target, name, where in _import_froms():
        mod = importlib.import_module(target)
        if hasattr(mod, name):
            continue
        try:
            importlib.import_module(f"{target}.{name}")
        except ImportError:
            missing.append(f"{where}: from {target} import {name}")
    assert missing == []
