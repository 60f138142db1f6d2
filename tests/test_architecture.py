"""Imports flow one way (README, "Architecture on a page"): core at the bottom, then
organisation and plans, deadlines and incidents, notifications and the engine, response
and monitoring, config at the top. No app imports an app above it or beside it, and no
module imports, even inside a function, a module that imports it back. Imports under
``if TYPE_CHECKING:`` are for annotations only and do not count."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each app's layer; an app may import only apps of lower layers.
LAYERS = {
    "core": 0,
    "organisation": 1,
    "plans": 2,
    "deadlines": 3,
    "incidents": 4,
    "notifications": 5,
    "engine": 6,
    "response": 7,
    "monitoring": 7,
    "config": 8,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    found = {}
    for app in LAYERS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _project_modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(name: str, path: Path, tree: ast.AST) -> set[str]:
    """The project modules ``name`` imports, at any depth of its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {t for t in targets if t in MODULES and t != name}


GRAPH = {
    name: _imported(name, path, ast.parse(path.read_text(encoding="utf-8")))
    for name, path in MODULES.items()
}


def _app(module: str) -> str:
    return module.split(".")[0]


def test_every_app_of_the_project_has_a_layer():
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert apps <= set(LAYERS), f"apps without a layer: {sorted(apps - set(LAYERS))}"


def test_no_app_imports_an_app_above_or_beside_it():
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _app(target) != _app(module) and LAYERS[_app(target)] >= LAYERS[_app(module)]
    )
    assert wrong == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` importing its own modules is how a package publishes
    them, not a dependency back: edges into a package stand for its modules."""
    return {
        module: {t for t in targets if not module.startswith(t + ".")}
        for module, targets in graph.items()
    }


def test_no_module_imports_a_module_that_imports_it_back():
    assert _cycles(_without_packages(GRAPH)) == []


def test_the_checker_sees_a_cycle_and_an_upward_import():
    graph = {"incidents.a": {"incidents.b"}, "incidents.b": {"incidents.a"}, "plans.x": set()}
    assert _cycles(graph) == [["incidents.a", "incidents.b"]]
    source = "def f():\n    from incidents.models import Incident\n"
    assert _imported("plans.models", ROOT / "plans/models.py", ast.parse(source)) == {
        "incidents.models"
    }
    typed = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from incidents import models\n"
    )
    assert (
        _imported("deadlines.services", ROOT / "deadlines/services.py", ast.parse(typed)) == set()
    )


@pytest.mark.parametrize("app", sorted(LAYERS))
def test_each_app_has_modules_the_walk_reads(app):
    assert any(_app(m) == app for m in MODULES)


def test_mypy_checks_every_services_and_selectors_module():
    """The type check (bin/test, ``[tool.mypy] files``) covers every module where the
    rules and the reads live, including ones added later."""
    import tomllib

    checked = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]

    def covered(path: Path) -> bool:
        relative = path.relative_to(ROOT).as_posix()
        return any(relative == entry or relative.startswith(entry + "/") for entry in checked)

    modules = [
        path
        for app in LAYERS
        for pattern in ("services.py", "selectors.py")
        for path in (ROOT / app).rglob(pattern)
    ]
    assert modules
    assert [str(p.relative_to(ROOT)) for p in modules if not covered(p)] == []
