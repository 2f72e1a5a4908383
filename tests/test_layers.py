"""The package's folders are its layers: every import runs down, nothing forms a circle, and
typer, rich, httpx and aiohttp stay inside the parts that own them (pyproject.toml's
[tool.importlinter] contracts, checked by import-linter); and no module reaches itself through
a chain of imports, lazy ones inside functions included (grimp's graph)."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).parents[1]


def test_import_contracts_are_kept() -> None:
    """lint-imports finds every contract kept."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    done = subprocess.run(
        [lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:]


# Imports grimp cannot see, made by name at run time: (importer, the constant naming the module).
_BY_NAME = {"fetchcli.run.workers.pool": "CHILD"}


def _graph() -> grimp.ImportGraph:
    """Every import between fetchcli's modules, those inside functions included (the lazy ones
    that keep start-up fast), and those made by name; not the TYPE_CHECKING ones, which never
    run."""
    graph = grimp.build_graph("fetchcli", exclude_type_checking_imports=True, cache_dir=None)
    for importer, constant in _BY_NAME.items():
        module = importlib.import_module(importer)
        graph.add_import(importer=importer, imported=getattr(module, constant))
    return graph


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One cycle through each set of modules that import one another (Tarjan's strongly
    connected components), as the chain of imports that closes it."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            component = set()
            while not component or module not in component:
                component.add(stack.pop())
            if len(component) > 1:
                components.append(component)

    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    cycles = []
    for component in components:
        start = min(component)
        step = min(graph.find_modules_directly_imported_by(start) & component)
        cycles.append([start, *graph.find_shortest_chain(importer=step, imported=start)])
    return cycles


def test_no_module_imports_itself_round_a_circle() -> None:
    """No chain of imports leads from a module back to itself, lazy ones included: such a
    circle works only as long as the imports happen in one order."""
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_import_by_name_is_known() -> None:
    """An importlib.import_module grimp cannot follow is named in _BY_NAME, so the cycle test
    sees it too."""
    root = ROOT / "fetchcli"
    found = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in root.rglob("*.py")
        if "import_module(" in path.read_text()
    }
    assert found == set(_BY_NAME)


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check itself can fail: a circle added to the graph is found and named."""
    graph = _graph()
    graph.add_import(importer="fetchcli.models", imported="fetchcli.run.dispatch")
    [cycle] = _cycles(graph)
    assert cycle[0] == cycle[-1] and {"fetchcli.models", "fetchcli.run.dispatch"} <= set(cycle)
