"""The house rules that keep the layout readable, checked from the source.

Imports point one way (content ← render ← web), no module imports itself back
through others, no module grows past ~400 lines, and every module imports on its own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "feedsvc"
MAX_LINES = 400
# Which stage may import which: each only from those before it in the flow.
STAGES = {"content": set(), "render": {"content"}, "web": {"content", "render"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_at_import_time(name: str) -> set[str]:
    """The feedsvc modules ``name`` imports at module level (not inside functions)."""
    path = MODULES[name]
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # "from . import x" imports the module x when there is one.
            found |= {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES}
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports_at_import_time(name) for name in MODULES}


def test_no_import_cycles():
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for imported in sorted(GRAPH[name]):
            visit(imported, [*path, name])
        done.add(name)

    for name in MODULES:
        visit(name, [])


def stage(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


@pytest.mark.parametrize("name", [n for n in MODULES if stage(n)])
def test_imports_point_one_way(name):
    allowed = STAGES[stage(name)] | {stage(name)}
    wrong = {other for other in GRAPH[name] if stage(other) and stage(other) not in allowed}
    assert not wrong, f"{name} imports a later stage: {sorted(wrong)}"


def test_views_and_pages_do_not_import_each_other():
    assert "feedsvc.web.views" not in GRAPH["feedsvc.web.pages"]


@pytest.mark.parametrize("name", MODULES)
def test_no_module_is_too_long(name):
    lines = MODULES[name].read_text().count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it by job"


@pytest.mark.slow
def test_every_module_imports_on_its_own():
    # A fresh interpreter per module would take seconds; one that imports each in
    # turn from scratch (sys.modules cleared of feedsvc) finds the same order bugs.
    script = (
        "import importlib, sys\n"
        f"for name in {sorted(MODULES)!r}:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('feedsvc')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
