"""Fixtures for the image tests: a Docker engine, a Python base, the images built with
bake, the local registry, and the figures measured along the way.

Skipped only when no Docker engine can be had (none running, and scripts/install-docker.sh
cannot make one). Set QUEUEFIRST_IMAGES_NO_INSTALL=1 to never run the install script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from queuefirst.ops.plan import compute_plan, fingerprints, parts_labels, schema_revisions
from shop import application as shop_application

SHOP = shop_application

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
TAG = os.environ.get("QUEUEFIRST_IMAGES_TAG", "test")

FIGURES: dict[str, Any] = {}
FIGURES_FILE = Path(
    os.environ.get("QUEUEFIRST_FIGURES", Path(tempfile.gettempdir()) / "queuefirst-image-figures.json")
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "images: builds and runs the function images (real Docker)")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    FIGURES_FILE.write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")
    terminalreporter.section("image figures")
    for key in sorted(FIGURES):
        terminalreporter.write_line(f"{key}: {FIGURES[key]}")
    terminalreporter.write_line(f"(also in {FIGURES_FILE})")


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 900,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False, cwd=cwd
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
            f"\n--- stderr\n{result.stderr[-8000:]}"
        )
    return result


def _engine_ready() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return run(["docker", "info"], check=False, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if _engine_ready() and run(["docker", "buildx", "version"], check=False).returncode == 0:
        return
    if os.environ.get("QUEUEFIRST_IMAGES_NO_INSTALL") == "1":
        pytest.skip("no Docker engine with buildx, and QUEUEFIRST_IMAGES_NO_INSTALL=1")
    result = run(["bash", str(SCRIPTS / "install-docker.sh")], check=False)
    if result.returncode != 0 or not _engine_ready():
        pytest.skip(f"no Docker engine can be had here: install-docker.sh said {result.stderr[-600:]!r}")


@pytest.fixture(scope="session")
def python_base(docker_engine: None) -> str:
    result = run(["bash", str(SCRIPTS / "make-python-base.sh")])
    return result.stdout.strip().splitlines()[-1]


@dataclass
class Built:
    root: Path
    tag: str
    plan: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    def image(self, function: str) -> str:
        return f"{self.plan['functions'][function]['image']}:{self.tag}"

    @property
    def workers(self) -> list[str]:
        return [name for name in self.plan["functions"] if name.startswith("worker-")]

    @property
    def entities(self) -> list[str]:
        return [self.plan["functions"][worker]["entity"] for worker in self.workers]


def bake_env(root: Path, python_base: str, tag: str) -> dict[str, str]:
    plan = compute_plan(root, SHOP)
    return {
        **os.environ,
        "PYTHON_BASE": python_base,
        "TAG": tag,
        "REGISTRY": "",
        "FINGERPRINTS": json.dumps(fingerprints(plan)),
        "FINGERPRINT_PARTS": json.dumps(parts_labels(plan)),
        "SCHEMA_REVISIONS": json.dumps(schema_revisions(plan)),
        "BUILDX_NO_DEFAULT_ATTESTATIONS": "1",
    }


def bake(root: Path, env: dict[str, str], *targets: str) -> float:
    started = time.monotonic()
    # As a user runs it: in the project root, where bake reads docker-bake.hcl and the
    # docker-bake.json that `queuefirst bakefile` writes.
    run(["docker", "buildx", "bake", "--progress=plain", *targets], env=env, cwd=root)
    return round(time.monotonic() - started, 2)


@pytest.fixture(scope="session")
def built(python_base: str) -> Built:
    """Every image built with bake from the working tree (then once more, all cached)."""
    env = bake_env(ROOT, python_base, TAG)
    FIGURES["bake_seconds_first_this_session"] = bake(ROOT, env)
    FIGURES["bake_seconds_cached"] = bake(ROOT, env)
    return Built(ROOT, TAG, compute_plan(ROOT, SHOP), env)


@pytest.fixture(scope="session")
def local_registry(docker_engine: None) -> str:
    run(["bash", str(SCRIPTS / "start-registry.sh")])
    return "localhost:5000"


@pytest.fixture(scope="session")
def figures() -> dict[str, Any]:
    return FIGURES


def copy_build_context(copy: Path) -> Path:
    """Copy what the images are built from to `copy` (the release tests' repository too)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("src", "images", "requirements", "scripts"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    for name in (".dockerignore", "docker-bake.hcl", "docker-bake.json", "pyproject.toml"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Iterator[Path]:
    """A copy of what the images are built from, to change without touching the tree."""
    yield copy_build_context(tmp_path / "repo")
