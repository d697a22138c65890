"""The kit's fixture application (notes) through the images, as another team's app would go.

A copy of the repository whose application is notes (its package under `src/`,
named in pyproject.toml): `queuefirst bakefile` and `queuefirst plan` write what
bake reads, bake builds one image per function, and the cards worker's image
applies a real command from a real queue under RIE. Nothing in the kit's
Dockerfiles or bake file changes for it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from queuefirst.local import EntityQueues
from queuefirst.model.command import Command
from queuefirst.runtime.sender import batch_entry
from queuefirst.store.database import conninfo
from tests.helpers import receive_event

from .conftest import ROOT, bake, run
from .test_images import function

pytestmark = pytest.mark.images
TAG = "notes-test"


def kit(repo: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    env.pop("QUEUEFIRST_APPLICATION", None)  # read from the copy's pyproject.toml
    return run([sys.executable, "-m", "queuefirst.ops.cli", *args], env=env, cwd=repo).stdout.strip()


@pytest.fixture(scope="module")
def notes_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("notes-repo")
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in tracked:
        if (ROOT / name).is_file() and not name.startswith(("tests/", "bench/", "docs/", "src/shop/")):
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    notes = ROOT / "tests" / "apps" / "notes"
    shutil.copytree(notes, repo / "src" / "notes", ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('application = "shop"', 'application = "notes"'))
    kit(repo, "bakefile")
    return repo


def test_bake_builds_the_fixture_apps_images_and_its_worker_applies_a_command(
    python_base: str,
    notes_repo: Path,
    notes_url: str,
    sqs_endpoint: str,
    sqs_client: Any,
    notes_queues: dict[str, EntityQueues],
) -> None:
    bake_file = json.loads((notes_repo / "docker-bake.json").read_text())
    assert set(bake_file["group"]) >= {"boards", "cards"} and "customers" not in bake_file["group"]
    env = {
        **os.environ,
        "PYTHON_BASE": python_base,
        "TAG": TAG,
        "REGISTRY": "",
        "FINGERPRINTS": kit(notes_repo, "plan", "--fingerprints"),
        "SCHEMA_REVISIONS": kit(notes_repo, "plan", "--schema-revisions"),
        "BUILDX_NO_DEFAULT_ATTESTATIONS": "1",
    }
    bake(notes_repo, env)
    images = {"notes-api", "notes-boards-worker", "notes-cards-worker"}
    for image in images:
        assert run(["docker", "image", "inspect", f"{image}:{TAG}"], check=False).returncode == 0, image

    card = Command(
        command_id=uuid.uuid4(),
        entity="cards",
        op="create",
        key=f"c-{uuid.uuid4().hex[:8]}",
        parent="b1",
        version=1,
        payload={"text": "built from the fixture app", "board_id": "b1"},
    )
    url = notes_queues["cards"].url
    entry = batch_entry(0, card)
    entry.pop("Id")
    sqs_client.send_message(QueueUrl=url, **entry)
    # Received through the helper, which has the queue fixture delete it afterwards: the
    # container has no event source to, and the card would hold board b1's FIFO group.
    event = receive_event(sqs_client, notes_queues["cards"], wait=5)
    worker_env = {
        "DATABASE_URL": notes_url,
        "SQS_ENDPOINT_URL": sqs_endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    with function(f"notes-cards-worker:{TAG}", worker_env) as worker:
        result = worker.start(event)
    assert result == {"batchItemFailures": []}
    with psycopg.connect(**conninfo(notes_url)) as conn:
        row = conn.execute("SELECT board_id, text FROM cards WHERE id = %s", [card.key]).fetchone()
    assert row == ("b1", "built from the fixture app")
