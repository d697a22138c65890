"""Fixtures for the release tests: the image tests' Docker engine, Python base and local
registry, the rollout tests' moto server standing in for Lambda and CloudWatch, and a
bootstrapped copy of the shop to release from (`stage`).

AWS itself can't run here, so Lambda is moto's server mode: the functions are created,
updated, published and aliased there, and an invocation (the schema probe) answers with
the payload the test queued, since moto cannot run an image. The registry is the real
local one (scripts/start-registry.sh), the build is the real `docker buildx bake`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from queuefirst.ops import release
from tests.images.conftest import copy_build_context, docker_engine, local_registry, python_base, scratch_repo
from tests.infra.conftest import aws_env, moto_endpoint
from tests.infra.moto_aws import Aws

__all__ = ["aws_env", "docker_engine", "local_registry", "moto_endpoint", "python_base", "scratch_repo"]

FIGURES: dict[str, Any] = {}
FIGURES_FILE = Path(
    os.environ.get(
        "QUEUEFIRST_RELEASE_FIGURES", Path(tempfile.gettempdir()) / "queuefirst-release-figures.json"
    )
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    FIGURES_FILE.write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")
    terminalreporter.section("release figures")
    for key in sorted(FIGURES):
        terminalreporter.write_line(f"{key}: {FIGURES[key]}")
    terminalreporter.write_line(f"(also in {FIGURES_FILE})")


@pytest.fixture(scope="session")
def figures() -> dict[str, Any]:
    return FIGURES


def rules_file(repo: Path, entity: str) -> Path:
    """The file an entity's rules live in: `entities/<entity>/rules.py`, or its one module."""
    package = repo / "src" / "shop" / "entities" / entity / "rules.py"
    return package if package.is_file() else repo / "src" / "shop" / "entities" / f"{entity}.py"


def edit_one_rule(repo: Path, entity: str, words: str) -> Callable[[], None]:
    """Change one line of the entity's rules (a refusal's reason, or the reason a cancellation
    records), as a one-line fix would; returns the undo."""
    path = rules_file(repo, entity)
    text = path.read_text()
    edited, count = re.subn(r'reject\((f?)"', lambda m: f'reject({m.group(1)}"{words}: ', text, count=1)
    if count == 0:
        # given.reason, or an earlier edit of it: f"<words>: {given.reason}"
        recorded = r'=(given\.reason\b|f"[^"]*\{given\.reason\}")'
        edited, count = re.subn(recorded, f'=f"{words}: {{given.reason}}"', text, count=1)
    assert count == 1, f"no refusal or recorded reason to edit in {path}"
    path.write_text(edited)
    return lambda: path.write_text(text)


@dataclass
class Stage:
    """A bootstrapped copy of the shop: its images pushed and recorded, its functions in moto."""

    repo: Path
    record: Path
    aws: Aws
    registry: str
    run_id: str
    releases: int = 0

    def release(self, *argv: str, sleep: Callable[[float], None] | None = None) -> tuple[int, str]:
        self.releases += 1
        parser = argparse.ArgumentParser(prog="queuefirst")
        release.register(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(
            [
                *("release", "--root", str(self.repo), "--record", str(self.record)),
                *("--tag", f"{self.run_id}-{self.releases}", *argv),
            ]
        )
        out = io.StringIO()
        clients = (self.aws.lambda_, self.aws.cloudwatch)
        code = release.run(args, out=out, clients=clients, sleep=sleep or (lambda _seconds: None))
        return code, out.getvalue()

    def recorded(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.record.read_text())
        return loaded

    def lambda_state(self) -> dict[str, Any]:
        """Per function: what `live` points at, every published version, the code of $LATEST."""
        state = {}
        for function in self.recorded():
            alias = self.aws.alias(function)
            versions = self.aws.lambda_.list_versions_by_function(FunctionName=function)["Versions"]
            state[function] = {
                "live": alias["FunctionVersion"],
                "weights": alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}),
                "versions": sorted(v["Version"] for v in versions),
                "image": self.aws.image_of(function),
            }
        return state


def create_functions(aws: Aws, record: dict[str, Any]) -> None:
    """Each recorded function at version 1 behind `live`, on its recorded image."""
    role = aws.iam.create_role(
        RoleName=f"release-test-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    for function, entry in record.items():
        with contextlib.suppress(aws.lambda_.exceptions.ResourceNotFoundException):
            aws.lambda_.delete_function(FunctionName=function)  # left by an earlier session
        aws.lambda_.create_function(
            FunctionName=function,
            Role=role,
            PackageType="Image",
            Code={"ImageUri": entry["image"]},
            Publish=True,
        )
        aws.lambda_.create_alias(FunctionName=function, Name="live", FunctionVersion="1")


@pytest.fixture(scope="module")
def stage(
    docker_engine: None,
    python_base: str,
    local_registry: str,
    moto_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
    figures: dict[str, Any],
) -> Iterator[Stage]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHON_BASE", python_base)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        work = tmp_path_factory.mktemp("release")
        repo = copy_build_context(work / "repo")
        aws = Aws(moto_endpoint)
        staged = Stage(repo, work / "infra" / "images.json", aws, local_registry, f"t{uuid.uuid4().hex[:8]}")
        started = time.monotonic()
        code, out = staged.release("--no-deploy", "--registry", local_registry)
        assert code == 0, out
        figures["release_bootstrap_seconds (every image, --no-deploy)"] = round(time.monotonic() - started, 1)
        create_functions(aws, staged.recorded())
        yield staged
