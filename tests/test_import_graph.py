"""The package's import graph: no cycles, and the arrows of DESIGN.md's layout point one way.

The graph is read from the source with ``ast``: every ``import`` and ``from ... import`` of a
module, at module level and inside functions (an import hidden in a function is still a
dependency), relative ones resolved; only imports under ``if TYPE_CHECKING:`` are left out (they
never run). ``from package import name`` depends on ``package.name`` when that is a module, else
on the package. Imports by name at run time (``importlib.import_module``, the reader dispatch)
are not seen.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

import xstac_access

PACKAGE = Path(xstac_access.__file__).parent
MAX_LINES = 400

#: Edges: importer -> {imported module: line of the first import statement}.
Graph = dict[str, dict[str, int]]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree``, at any depth, except under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                todo.extend(child.orelse)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            else:
                todo.append(child)
    return found


def import_graph(root: Path) -> Graph:
    """The import graph of the package at ``root``, restricted to its own modules."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    top = root.name
    graph: Graph = defaultdict(dict)
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parent = here[: len(here) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                if target != top and not target.startswith(top + "."):
                    continue
                while target not in modules:  # `import pkg.mod.attr` style: the module
                    target = target.rpartition(".")[0]
                if target != name:
                    graph[name].setdefault(target, node.lineno)
    return dict(graph)


def cycles(graph: Graph) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected component with more than one
    module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph: Graph, component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself."""
    first = min(component)
    paths = {first: [first]}
    frontier = [first]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child == first:
                    return [*paths[node], first]
                if child in component and child not in paths:
                    paths[child] = [*paths[node], child]
                    nxt.append(child)
        frontier = nxt
    raise AssertionError(f"no cycle through {first}")  # a component always has one


def describe(graph: Graph, cycle: list[str]) -> str:
    steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in pairwise(cycle)]
    return "import cycle: " + "; ".join(steps)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def offending(graph: Graph, importer: str, *forbidden: str) -> list[str]:
    """The imports made by ``importer`` (a module, or a package and everything in it) of any
    of ``forbidden`` (modules, or packages and everything in them), as ``module:line -> it``."""
    return sorted(
        f"{name}:{line} -> {target}"
        for name, targets in graph.items()
        if _within(name, importer)
        for target, line in targets.items()
        if any(_within(target, f) for f in forbidden)
    )


#: The parts of the library from the bottom up (docs/architecture.md draws the same list): a
#: module may import its own part and the parts below it, never a part beside or above it.
LAYERS: list[set[str]] = [
    {"helpers"},  # see HELPERS
    {"http"},
    {"credentials"},
    {"_resolve"},
    {"readers"},
    {"eo", "_itemtree", "_load", "_search", "_download"},
    {"_engine"},
    {"_plugin", "xstac_access"},  # the xarray entry point; the package's public namespace
    {"testing"},
    {"demo"},
    {"cli"},
]
HELPERS = {
    "_clock", "_extras", "_geo", "_hrefs", "_html", "_item_attr", "_item_collections",
    "_keywords", "_log", "_s3", "errors",
}  # fmt: skip


def part_of(module: str) -> str:
    """The part of the library ``module`` belongs to (see :data:`LAYERS`)."""
    parts = module.split(".")
    if len(parts) == 1:
        return module
    return "helpers" if parts[1] in HELPERS else parts[1]


def level_of(module: str) -> int:
    part = part_of(module)
    return next(i for i, layer in enumerate(LAYERS) if part in layer)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph(PACKAGE)


def test_the_package_has_no_import_cycle(graph):
    found = [describe(graph, cycle) for cycle in cycles(graph)]
    assert not found, "\n".join(found)


def test_every_part_of_the_library_has_a_layer(graph):
    parts = {part_of(module_name(p, PACKAGE)) for p in PACKAGE.rglob("*.py")}
    assert parts == set().union(*LAYERS)


def test_every_import_points_down_the_layers(graph):
    upward = sorted(
        f"{name}:{line} -> {target}"
        for name, targets in graph.items()
        for target, line in targets.items()
        if part_of(name) != part_of(target) and level_of(target) >= level_of(name)
    )
    assert not upward


def test_nothing_in_the_library_imports_the_local_world(graph):
    """``testing/`` serves the tests, the benchmarks and the demo (which runs on the local
    world: ``demo/`` and the ``xstac demo`` command); the library never needs it."""
    consumers = ("xstac_access.testing", "xstac_access.demo", "xstac_access.cli._demo")
    found = sorted(
        f"{name}:{line} -> {target}"
        for name, targets in graph.items()
        if not any(_within(name, c) for c in consumers)
        for target, line in targets.items()
        if _within(target, "xstac_access.testing")
    )
    assert not found


def test_http_knows_no_credentials_and_no_formats(graph):
    assert not offending(graph, "xstac_access.http", "xstac_access.credentials")
    assert not offending(graph, "xstac_access.http", "xstac_access.readers")


def test_the_http_layer_and_the_helpers_import_only_what_is_below_them(graph):
    """The HTTP layer and the top-level helpers import nothing but the helpers (and, for the
    HTTP layer, itself): every other part of the library may use them."""
    helpers = {f"xstac_access.{name}" for name in HELPERS}
    for name, targets in graph.items():
        if name in helpers:
            assert set(targets) <= helpers, (name, sorted(set(targets) - helpers))
        if name.startswith("xstac_access.http"):
            outside = {t for t in targets if not t.startswith("xstac_access.http")}
            assert outside <= helpers, (name, sorted(outside - helpers))


def test_credentials_know_hosts_not_formats_nor_features(graph):
    assert not offending(
        graph, "xstac_access.credentials",
        "xstac_access.readers", "xstac_access.eo", "xstac_access._search",
        "xstac_access._download", "xstac_access._load", "xstac_access._engine",
    )  # fmt: skip


def test_eo_works_on_what_readers_return(graph):
    """``.eo`` may use a reader's public constants (``readers.kml``), not the readers'
    internals, and never the network."""
    internals = [name for name in graph if name.startswith("xstac_access.readers._")]
    assert "xstac_access.readers._gdal" in internals
    assert not offending(graph, "xstac_access.eo", *internals, "xstac_access.http")


def test_every_module_fits_in_400_lines():
    too_long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, too_long


def test_the_checker_sees_hidden_imports_and_skips_type_checking(tmp_path):
    """A cycle made by a function-level import is found and named; a TYPE_CHECKING import, a
    relative import two levels up and ``from package import module`` are read right."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import g\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import d\n"
        "def g():\n    import pkg.a\n"
    )
    (pkg / "d.py").write_text("from .c import g\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub.b": 1}
    assert graph["pkg.sub.b"] == {"pkg.c": 2}
    assert graph["pkg.c"] == {"pkg.a": 5}  # not pkg.d: only under TYPE_CHECKING
    (cycle,) = cycles(graph)
    assert cycle == ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
    assert describe(graph, cycle).startswith("import cycle: pkg.a (line 1) -> pkg.sub.b;")
