"""The README's "Adding an entity" tutorial, followed to the letter on a copy of the repository.

Its three steps are read from the README (the module as written there, the
one-line edit of the parent, the command) and nothing else is touched; then
every promise of the section is checked: the registry, the graph, the
generated revision and its expand/contract check, the image targets, the
plan, and a real worker applying a create and the new action on a database
migrated by that revision.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from queuefirst.store.database import conninfo

ROOT = Path(__file__).resolve().parents[2]
STEP = re.compile(r"<!-- tutorial: (write|edit|run) ?(\S*) -->\s*```\w+\n(.*?)```", re.S)


def tutorial_steps() -> list[tuple[str, str, str]]:
    section = (ROOT / "README.md").read_text().split("## Adding an entity", 1)[1].split("\n## ", 1)[0]
    steps = [(kind, path, _dedent(body)) for kind, path, body in STEP.findall(section)]
    assert [kind for kind, _, _ in steps] == ["write", "write", "edit", "run"], (
        "the README's three steps moved"
    )
    return steps


def _dedent(block: str) -> str:
    """The block without the list item's indentation (three spaces in the README)."""
    return "".join(line[3:] if line.startswith("   ") else line for line in block.splitlines(True))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository as a clone has it (its tracked files, as they stand now)."""
    copy = tmp_path_factory.mktemp("tutorial") / "repo"
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in tracked:
        if (ROOT / name).is_file() and not name.startswith(("tests/", "bench/", "docs/")):
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    (copy / ".venv").symlink_to(Path(sys.executable).parents[1])  # the README runs .venv/bin/queuefirst
    return copy


def run(repo: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "src"), str(ROOT)])}
    env.pop("QUEUEFIRST_APPLICATION", None)  # found through pyproject.toml, as a user's is
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def followed(repo: Path) -> Path:
    for kind, path, body in tutorial_steps():
        if kind == "write":
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(body)
        elif kind == "edit":
            # One line, replacing the line of the same keyword argument.
            line = body.strip("\n")
            keyword = line.strip().split("=", 1)[0] + "="
            source = (repo / path).read_text().splitlines(True)
            hits = [i for i, old in enumerate(source) if old.strip().startswith(keyword)]
            assert len(hits) == 1, f"{path} has no single {keyword} line"
            source[hits[0]] = line + "\n"
            (repo / path).write_text("".join(source))
        else:
            result = run(repo, "bash", "-c", body)
            assert result.returncode == 0, result.stderr
    return repo


def test_the_registry_and_the_graph_know_the_new_entity(followed: Path) -> None:
    graph = run(followed, ".venv/bin/queuefirst", "graph", "--check")
    assert graph.returncode == 0, graph.stderr
    assert graph.stdout.startswith("ok: 5 entities")
    tree = run(followed, ".venv/bin/queuefirst", "graph").stdout
    lines = tree.splitlines()
    customers = next(i for i, line in enumerate(lines) if "── customers " in line)
    invoices = next(i for i, line in enumerate(lines) if "── invoices " in line)
    depth = lines[customers].index("customers")
    assert invoices > customers and lines[invoices].index("invoices") == depth + 4, tree  # its child
    assert lines[invoices].endswith("actions pay"), tree


def test_the_generated_revision_creates_its_tables_and_passes_the_check(followed: Path) -> None:
    revisions = sorted((followed / "src/shop/migrations/versions").glob("*.py"))
    assert revisions[-1].name == "0006_invoices.py"
    text = revisions[-1].read_text()
    for table in ("invoices", "invoices__commands", "invoices__failures", "invoices__markers"):
        assert f'"{table}"' in text
    assert "drop_table" not in text.split("def downgrade")[0]  # expand only
    check = run(followed, ".venv/bin/queuefirst", "migrations", "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_image_targets_and_the_plan_follow(followed: Path) -> None:
    bake = json.loads((followed / "docker-bake.json").read_text())
    assert "invoices" in json.dumps(bake["variable"]["ENTITIES"])
    assert bake["group"]["invoices"]["targets"] == ["worker-invoices"]
    assert run(followed, ".venv/bin/queuefirst", "bakefile", "--check").returncode == 0
    plan = run(followed, ".venv/bin/queuefirst", "plan", "--fingerprints")
    assert plan.returncode == 0, plan.stderr
    assert "worker-invoices" in plan.stdout


def test_a_real_worker_applies_the_new_entity_and_its_action(
    followed: Path, postgres_server: str, sqs_endpoint: str
) -> None:
    name = f"tutorial_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**conninfo(postgres_server), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = postgres_server.rsplit("/", 1)[0] + "/" + name
    env_url = ["env", f"DATABASE_URL={url}"]
    up = run(followed, *env_url, ".venv/bin/queuefirst", "migrations", "upgrade")
    assert up.returncode == 0, up.stderr
    # The worker's composition root in a fresh process, as an image runs it.
    script = """
import json, uuid
from queuefirst.local import sqs_event
from queuefirst.model.command import Command
from queuefirst.runtime.sender import batch_entry
import queuefirst.functions.worker as worker
from tests.helpers import Context

def record(command):
    entry = batch_entry(0, command)
    attributes = {"ApproximateReceiveCount": "1", "SentTimestamp": "1",
                  "MessageGroupId": entry["MessageGroupId"]}
    return {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "r", "Body": entry["MessageBody"],
            "Attributes": attributes, "MessageAttributes": {}, "md5OfBody": ""}

invoice = {"customer_id": "ann", "amount_minor": 1200, "currency": "EUR"}
create = Command(command_id=uuid.uuid4(), entity="invoices", op="create", key="inv-1",
                 parent="ann", version=1, payload=invoice)
pay = Command(command_id=uuid.uuid4(), entity="invoices", op="pay", key="inv-1",
              parent="ann", version=2, payload={})
event = sqs_event([record(create), record(pay)], arn="arn:aws:sqs:us-east-1:000000000000:x.fifo",
                  region="us-east-1")
print(json.dumps(worker.handler(event, Context())))
"""
    env = [
        *env_url,
        "QUEUEFIRST_ENTITY=invoices",
        f"SQS_ENDPOINT_URL={sqs_endpoint}",
        "AWS_ACCESS_KEY_ID=local",
        "AWS_SECRET_ACCESS_KEY=local",
        "AWS_REGION=us-east-1",
    ]
    applied = run(followed, *env, sys.executable, "-c", script)
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout.strip().splitlines()[-1]) == {"batchItemFailures": []}, applied.stdout
    with psycopg.connect(**conninfo(url)) as conn:
        row = conn.execute(
            "SELECT customer_id, amount_minor, status FROM invoices WHERE id = 'inv-1'"
        ).fetchone()
    assert row == ("ann", 1200, "paid")
