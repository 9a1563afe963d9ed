"""The package's shape, read from its source with ``ast``: no import cycles, nothing imports the
package root, and modules and functions stay short (docs/DESIGN: "imports only point down the
list"; "modules stay under about 400 lines, and a function fits on one screen")."""

import ast
from pathlib import Path

import pytest

import ganclust

PACKAGE = Path(ganclust.__file__).parent
ROOT = "ganclust"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


SOURCES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(), filename=str(path)) for name, path in SOURCES.items()}


def _package_of(module: str) -> str:
    """The package a module's relative imports start from."""
    return module if SOURCES[module].name == "__init__.py" else module.rpartition(".")[0]


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The package's modules that one import statement names (without their parents)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == ROOT]
    if node.level:
        base = _package_of(module).split(".")
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source.split(".")[0] != ROOT:
        return []
    # `from . import x` imports the module x when there is one, else the name x of the package
    names = [f"{source}.{alias.name}" for alias in node.names]
    submodules = [name for name in names if name in SOURCES]
    return submodules + ([source] if len(submodules) < len(names) else [])


def _imports() -> dict[str, set[str]]:
    """Each module's intra-package imports, by module name, whether or not the module exists."""
    found: dict[str, set[str]] = {name: set() for name in SOURCES}
    for module, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found[module] |= set(_targets(module, node))
    return found


def import_graph() -> dict[str, set[str]]:
    """Each module's intra-package imports, at module level and inside functions.

    Importing ``a.b.c`` also runs ``a.b``'s ``__init__``: that implicit edge is added too, except
    to the importing module's own packages (already being imported) and to the package root
    (which every import passes through). An explicit import of the root, such as
    ``from . import __version__``, is an edge to it.
    """
    graph: dict[str, set[str]] = {name: set() for name in SOURCES}
    for module, targets in _imports().items():
        for target in targets:
            implicit = set(_ancestors(target)) - {ROOT, *_ancestors(module)}
            # a module that does not exist is test_every_import_exists's failure, not a node
            graph[module] |= {e for e in {target} | implicit if e in SOURCES} - {module}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that ends where it starts) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
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
            if len(component) > 1 or node in graph[node]:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_through(graph, component) for component in components]


def _cycle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, within it."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    raise AssertionError(f"no cycle through {component}")


# ---------------------------------------------------------------- the checker itself
def test_the_cycle_finder_finds_cycles_and_only_cycles():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"a"}}) == [["a", "a"]]
    two = find_cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}})
    assert two == [["a", "b", "a"], ["c", "d", "c"]]


def test_the_graph_sees_relative_absolute_and_function_level_imports():
    graph = import_graph()
    assert len(graph) > 20 and ROOT in graph
    # module level, relative: _base.py imports ._fit
    assert "ganclust._fit" in graph["ganclust._base"]
    # inside a function: the CLI imports .runs only when a command runs
    assert "ganclust.runs" in graph["ganclust.cli"]
    # a subpackage's module: methods/clustergan.py imports ..nets and ._spec
    assert {"ganclust.nets", "ganclust.methods._spec"} <= graph["ganclust.methods.clustergan"]
    # the root's re-exports are edges too
    assert "ganclust.estimators" in graph[ROOT]


# ---------------------------------------------------------------- the package
def test_every_import_exists():
    missing = sorted(
        f"{module} imports {target}"
        for module, targets in _imports().items()
        for target in targets
        if target not in SOURCES
    )
    assert not missing, "imports of modules the package does not have:\n" + "\n".join(missing)


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_imports_the_package_root():
    graph = import_graph()
    offenders = sorted(module for module, targets in graph.items() if ROOT in targets)
    assert not offenders, (
        f"{offenders} import the package root `ganclust` (e.g. `from . import __version__`); "
        "import the module that defines the name instead (ganclust._version)"
    )


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_module_length(module):
    lines = len(SOURCES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{SOURCES[module]} has {lines} lines"


def test_function_length():
    long = []
    for module, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name} (line {node.lineno}): {lines} lines")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)
