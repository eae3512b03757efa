"""The package's floors: each imports only its own floor or the ones below, with no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ccprompt"
# Lowest first. The package root (`ccprompt/__init__.py`, the version) is below everything.
FLOORS = ("core", "sources", "surfaces", "ops", "commands", "cli")
TOP = {"entry", "launcher", "__main__"}
STDLIB_ONLY = ("core",)
HEAVY = ("typer", "click", "rich", "jinja2", "pycurl", "aiohttp", "shellingham", "mcp", "pydantic", "httptools", "uvloop")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return -1  # the package root
    if parts[1] in TOP:
        return len(FLOORS)
    return FLOORS.index(parts[1])


def modules() -> dict:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, module: str) -> set:
    """Every ccprompt module this file imports, at any depth (function-level imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    known = modules()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            names = [root] + [f"{root}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "ccprompt" and name in known:
                found.add(name)
    return found - {module}


def external_imports(path: Path) -> set:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_every_module_lives_on_a_floor():
    for module in modules():
        floor_of(module)  # raises for a module outside the floors


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_floor_imports_a_higher_one(module):
    path = modules()[module]
    mine = floor_of(module)
    higher = sorted(name for name in imports_of(path, module) if floor_of(name) > mine)
    assert not higher, f"{module} (floor {mine}) imports {higher}"


def test_the_import_graph_has_no_cycles():
    graph = {module: imports_of(path, module) for module, path in modules().items()}
    # A package's __init__ importing nothing is the rule here, so any cycle is between modules.
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in graph.get(node, ()):
            if target == node.rsplit(".", 1)[0]:
                continue  # importing one's own package (its __init__) is not a cycle
            if state.get(target) == "open":
                cycle = stack[stack.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for module in graph:
        if module not in state:
            visit(module)


@pytest.mark.parametrize("floor", STDLIB_ONLY)
def test_the_ground_floor_uses_the_standard_library_only(floor):
    for path in sorted((PACKAGE / floor).rglob("*.py")):
        heavy = external_imports(path) & set(HEAVY)
        assert not heavy, f"{path.relative_to(PACKAGE)} imports {sorted(heavy)}"


def test_the_event_loop_and_http_parser_stay_inside_the_proxy_and_nothing_needs_aiohttp():
    for path in sorted(PACKAGE.rglob("*.py")):
        imported = external_imports(path)
        assert "aiohttp" not in imported, path
        if imported & {"uvloop", "httptools"}:
            assert "proxy" in path.relative_to(PACKAGE).parts, path


MAX_LINES = 420  # "about 400": a module past that wants splitting


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_about_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines"
