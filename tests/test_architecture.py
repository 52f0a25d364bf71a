"""The layout of shared/ is its design: imports point one way, nothing imports in a circle, modules stay small.

The layers, lowest first (README.md, "How it is built"): the foundation modules at the top of
``shared/`` (errors, settings, i18n, formatting, progress, object_names), then ``backends`` ←
``delivery`` ← ``ingest`` ← ``model`` ← ``monitor`` ← ``reporting`` ← ``lifecycle`` ← ``steps`` ←
``handlers`` ← ``local``. A module may import its own layer and the layers below it, never above.
Every import counts: module level, inside functions, and under ``TYPE_CHECKING``, because a lazy
import that goes the wrong way is still a dependency the wrong way.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1] / "shared"

FOUNDATION = {"errors", "settings", "i18n", "formatting", "progress", "object_names", "logs"}
LAYERS = [
    "backends",
    "delivery",
    "ingest",
    "model",
    "monitor",
    "reporting",
    "lifecycle",
    "steps",
    "handlers",
    "local",
]
MAX_MODULE_LINES = 600



def module_name(path: Path) -> str:
    parts = path.relative_to(SHARED.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(SHARED.rglob("*.py"))}


def layer_of(module: str) -> int:
    """0 for the foundation, 1.. for the layers in order; the package itself is the foundation."""
    parts = module.split(".")
    if len(parts) == 1:
        return 0
    top = parts[1]
    if top in FOUNDATION:
        return 0
    if top not in LAYERS:
        raise AssertionError(f"{module}: shared/{top} is in no layer; add it to README.md and to LAYERS here")
    return LAYERS.index(top) + 1


def imported_modules(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every shared module this one imports, wherever in the file the import sits."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for candidate in candidates:
            # "from shared.x import name" names module shared.x; "from shared import x" names shared.x
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != module and candidate != "shared":
                found.add(candidate)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {module: imported_modules(module, path, modules) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = lowlink[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = lowlink[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    lowlink[node] = min(lowlink[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_sits_in_a_layer() -> None:
    for module in all_modules():
        layer_of(module)


def upward_edges(graph: dict[str, set[str]]) -> set[str]:
    return {f"{module} -> {target}" for module, targets in graph.items() for target in targets if layer_of(target) > layer_of(module)}


def test_imports_only_point_down_the_layers() -> None:
    assert sorted(upward_edges(import_graph())) == [], "an import points up the layers"


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The checks above pass on an empty result; make sure the finder would see one.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("module", sorted(all_modules()))
def test_no_module_is_over_the_size_limit(module: str) -> None:
    lines = len(all_modules()[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines; split it by job (limit {MAX_MODULE_LINES})"



def test_function_zips_leave_local_tooling_out() -> None:
    from shared.local.packaging import REPOSITORY_ROOT
    from shared.model.code_archive import shared_package_files

    shipped = [name for name, _ in shared_package_files(REPOSITORY_ROOT)]
    assert "shared/steps/score.py" in shipped
    assert not [name for name in shipped if name.startswith("shared/local/")]


def test_nothing_deployed_imports_local_tooling() -> None:
    graph = import_graph()
    deployed = [module for module in graph if layer_of(module) < LAYERS.index("local") + 1]
    offenders = defaultdict(list)
    for module in deployed:
        for target in graph[module]:
            if target.startswith("shared.local"):
                offenders[module].append(target)
    assert dict(offenders) == {}
