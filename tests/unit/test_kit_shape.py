"""The kit's shape: what ships in a function is a folder, and the kit knows nothing of the shop.

Read from the source, not run: these hold for every file that exists, including
ones added later.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "src" / "queuefirst"
# Copied whole into the images (images/base/Dockerfile); tools stay out of them.
RUNTIME_FOLDERS = ("model", "runtime", "store", "worker", "api", "functions")
# Copied by one function's image alone, on top of the base (images/<function>/Dockerfile).
# (The schema package is the migrations function's, which runs from the api's image.)
FUNCTION_FOLDERS = {"admin": "admin", "schema": "api"}
# The test harness is a tool too: applications test their rules with it, no image carries it.
TOOL_FOLDERS = ("local", "ops", "testing")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            # Relative imports resolved against the file's own package.
            package = path.relative_to(ROOT / "src").parent.parts
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            found.add(".".join([*base, *(node.module or "").split(".")]).strip("."))
    return found


def runtime_files() -> list[Path]:
    files = [KIT / "__init__.py"]
    for folder in (*RUNTIME_FOLDERS, *FUNCTION_FOLDERS):
        files += sorted((KIT / folder).rglob("*.py"))
    return files


@pytest.mark.parametrize("path", runtime_files(), ids=lambda p: str(p.relative_to(KIT)))
def test_runtime_code_never_imports_the_tools(path: Path) -> None:
    tools = {
        m for m in imported_modules(path) if m.split(".")[:2] in (["queuefirst", t] for t in TOOL_FOLDERS)
    }
    assert not tools, f"{path.relative_to(ROOT)} imports {sorted(tools)}, which no image carries"


def test_every_kit_folder_is_either_runtime_or_tool() -> None:
    folders = {p.name for p in KIT.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(RUNTIME_FOLDERS) | set(FUNCTION_FOLDERS) | set(TOOL_FOLDERS)
    loose = {p.name for p in KIT.glob("*.py")}
    assert loose == {"__init__.py"}, "a module at the top level would ship in no image or in all"


def test_the_base_image_copies_exactly_the_runtime_folders() -> None:
    dockerfile = (ROOT / "images" / "base" / "Dockerfile").read_text()
    copied = set(re.findall(r"src/queuefirst/(\w+)/", dockerfile))
    assert copied == set(RUNTIME_FOLDERS)


@pytest.mark.parametrize("folder", sorted(FUNCTION_FOLDERS))
def test_a_functions_own_folder_ships_in_its_image_alone(folder: str) -> None:
    copying = {
        dockerfile.parent.name
        for dockerfile in (ROOT / "images").glob("*/Dockerfile")
        if f"src/queuefirst/{folder}/" in dockerfile.read_text()
    }
    assert copying == {FUNCTION_FOLDERS[folder]}


@pytest.mark.parametrize("path", runtime_files(), ids=lambda p: str(p.relative_to(KIT)))
def test_only_the_functions_entry_point_imports_its_own_folder(path: Path) -> None:
    """The base's code runs in every image; a function's own folder is in one image."""
    for folder, image in FUNCTION_FOLDERS.items():
        if path.is_relative_to(KIT / folder) or path == KIT / "functions" / f"{image}.py":
            continue
        imported = {m for m in imported_modules(path) if m.split(".")[:2] == ["queuefirst", folder]}
        assert not imported, f"{path.relative_to(ROOT)} imports {sorted(imported)}, only in {image}"


KIT_FILES = [
    *sorted(KIT.rglob("*.py")),
    *sorted(KIT.rglob("*.mako")),
    *sorted((ROOT / "infra").glob("*.py")),
    *sorted((ROOT / "infra" / "queuefirst_infra").glob("*.py")),
    ROOT / "infra" / "cdk.json",
    ROOT / "docker-bake.hcl",
    *sorted((ROOT / "images").glob("*/Dockerfile")),
]


EXAMPLE_NAMES = {"shop", "customers", "orders", "order_items", "products"}


@pytest.mark.parametrize("path", KIT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_kit_file_names_the_example_application(path: Path) -> None:
    """The shop is one application of the kit: only pyproject.toml's [tool.queuefirst]
    and the generated docker-bake.json name it. (Its entities may serve as examples
    in comments and help texts, never as a value the kit uses.)"""
    text = path.read_text()
    assert "shop" not in re.findall(r"[a-z_]+", text.lower()), f"{path.relative_to(ROOT)} names the shop"
    if path.suffix == ".py":
        values = {
            node.value
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        assert not values & EXAMPLE_NAMES, f"{path.relative_to(ROOT)} uses {sorted(values & EXAMPLE_NAMES)}"
