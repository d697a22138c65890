"""The tools' shape: the local stack entered through one front door, and no import circles.

Read from the source, not run (but for the front door's names): these hold for
every file that exists, including ones added later.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import queuefirst.local

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
LOCAL = SRC / "queuefirst" / "local"
# Unit tests of one module's internals, which no front door should export.
WHITE_BOX = {
    "tests/unit/test_poller.py": {"queuefirst.local.eventsource.poller"},
    "tests/sqs_fake_clock.py": {"queuefirst.local.servers.sqs_speedups"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module the file imports, wherever (type-checking blocks and functions too);
    `from package import module` counts as the module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def callers() -> list[Path]:
    """The tools, the tests and the benchmarks: everything that uses the local stack from outside."""
    kit = [p for p in (SRC / "queuefirst").rglob("*.py") if not p.is_relative_to(LOCAL)]
    return [*kit, *sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "bench").rglob("*.py"))]


def inside_local(name: str) -> bool:
    return name.startswith("queuefirst.local.")


@pytest.mark.parametrize("path", callers(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_local_stack_is_entered_through_its_front_door(path: Path) -> None:
    allowed = WHITE_BOX.get(str(path.relative_to(ROOT)), set())
    modules = {
        m for m in imports(path) if inside_local(m) and m.split(".")[-1] not in queuefirst.local.__all__
    }
    behind = {
        m
        for m in modules
        if not any(m == a or a.startswith(m + ".") or m.startswith(a + ".") for a in allowed)
    }
    assert behind == set(), f"{path.relative_to(ROOT)} imports {sorted(behind)}: import from queuefirst.local"


def test_the_front_door_has_every_name_it_lists_and_the_type_checker_sees_the_same() -> None:
    for name in queuefirst.local.__all__:
        module = importlib.import_module(f"queuefirst.local.{queuefirst.local._HOMES[name]}")
        assert getattr(queuefirst.local, name) is getattr(module, name), name
    tree = ast.parse((LOCAL / "__init__.py").read_text())
    typed = {
        alias.asname or alias.name: node.module.removeprefix("queuefirst.local.")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("queuefirst.local.")
        for alias in node.names
    }
    assert typed == queuefirst.local._HOMES


@pytest.mark.parametrize("path", sorted(LOCAL.rglob("*.py")), ids=lambda p: str(p.relative_to(LOCAL)))
def test_the_stacks_own_modules_never_go_through_the_front_door(path: Path) -> None:
    """The front door imports them (lazily): one that imported it back would be a circle."""
    if path == LOCAL / "__init__.py":
        return
    assert "queuefirst.local" not in imports(path)


def test_the_tools_have_no_import_circles() -> None:
    """The local stack and ops, every import counted (a type-only one too: a circle of
    types means a type lives away from the engine that uses it)."""
    files = {
        module_name(p): p for folder in ("local", "ops") for p in (SRC / "queuefirst" / folder).rglob("*.py")
    }
    graph = {name: {m for m in imports(path) if m in files and m != name} for name, path in files.items()}
    del graph["queuefirst.local"]  # the front door: nothing inside imports it (above)
    circles: list[list[str]] = []

    def walk(name: str, trail: list[str]) -> None:
        if name in trail:
            circles.append([*trail[trail.index(name) :], name])
            return
        if name in done:
            return
        for next_name in sorted(graph.get(name, ())):
            walk(next_name, [*trail, name])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        walk(name, [])
    assert circles == []
