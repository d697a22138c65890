"""`queuefirst plan` and the files the images are built from (no Docker needed)."""

from __future__ import annotations

import io
import json
import re
import tomllib
from pathlib import Path

from queuefirst.ops.cli import main
from queuefirst.ops.plan import compute_plan, entities_in_tree, run, schema_revisions

from .conftest import ROOT, SHOP


def plan(*argv: str) -> str:
    import argparse

    from queuefirst.ops.plan import register

    parser = argparse.ArgumentParser(prog="queuefirst")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["plan", *argv])
    out = io.StringIO()
    assert run(args, out) == 0
    return out.getvalue()


def test_plan_against_its_own_previous_plan_lists_nothing(scratch_repo: Path, tmp_path: Path) -> None:
    written = tmp_path / "plan.json"
    plan("--root", str(scratch_repo), "--write", str(written))
    saved = json.loads(written.read_text())
    assert set(saved["functions"]) == {
        "base",
        "api",
        "admin",
        *(f"worker-{e}" for e in entities_in_tree(scratch_repo, SHOP)),
    }
    assert plan("--root", str(scratch_repo), "--against", str(written), "--changed-only") == ""
    table = plan("--root", str(scratch_repo), "--against", str(written))
    assert all(line.startswith("same") for line in table.splitlines())


def test_plan_lists_only_the_functions_whose_files_changed(scratch_repo: Path, tmp_path: Path) -> None:
    written = tmp_path / "plan.json"
    plan("--root", str(scratch_repo), "--write", str(written))
    module = scratch_repo / "src" / "shop" / "entities" / "orders.py"
    module.write_text(module.read_text() + "\n# changed\n")
    changed = plan("--root", str(scratch_repo), "--against", str(written), "--changed-only")
    # The api and the console carry every entity module; the workers only their own.
    assert changed.split() == ["api", "admin", "worker-orders"]
    rows = json.loads(plan("--root", str(scratch_repo), "--against", str(written), "--json"))
    assert {r["name"]: r["status"] for r in rows}["worker-customers"] == "same"


def test_plan_without_a_previous_state_calls_everything_new(scratch_repo: Path) -> None:
    assert len(plan("--root", str(scratch_repo), "--changed-only").split()) == 2 + len(
        entities_in_tree(scratch_repo, SHOP)
    )


def test_fingerprints_json_is_what_bake_reads(scratch_repo: Path) -> None:
    printed = json.loads(plan("--root", str(scratch_repo), "--fingerprints"))
    assert set(printed) >= {"base", "api", "worker-customers"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in printed.values())


def test_standalone_entrypoint_runs(capsys: object) -> None:
    assert main(["plan", "--root", str(ROOT), "--fingerprints"]) == 0


def test_the_lock_pins_every_runtime_dependency_at_pyprojects_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "requirements" / "runtime.lock").read_text()
    pinned = {
        m.group(1).lower().replace("_", "-"): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^ ;\\\n]+)", lock, re.M)
    }
    for requirement in project["dependencies"]:
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", requirement).groups()  # type: ignore[union-attr]
        assert pinned.get(name.lower().replace("_", "-")) == version, (
            f"{requirement} is not locked: run scripts/lock.sh"
        )
    assert "--hash=sha256:" in lock


def test_each_image_needs_the_newest_revision_that_added_what_it_uses(scratch_repo: Path) -> None:
    """A revision adding a column to orders moves the orders worker's and the api's revision
    (and so their fingerprints), and no other worker's."""
    before = compute_plan(scratch_repo, SHOP)
    assert json.loads(plan("--root", str(scratch_repo), "--schema-revisions")) == schema_revisions(before)
    (scratch_repo / "src/shop/migrations/versions/0003_gift_message.py").write_text(
        '"""gift message"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        'revision = "0003"\ndown_revision = "0002"\nbranch_labels = None\ndepends_on = None\n\n\n'
        "def upgrade() -> None:\n"
        '    op.add_column("orders", sa.Column("gift_message", sa.Text(), nullable=True))\n'
    )
    after = compute_plan(scratch_repo, SHOP)
    assert schema_revisions(after) == schema_revisions(before) | {
        "api": "0003",
        "admin": "0003",
        "worker-orders": "0003",
    }
    moved = {
        n
        for n in after["functions"]
        if after["functions"][n]["fingerprint"] != before["functions"][n]["fingerprint"]
    }
    assert moved == {"api", "admin", "worker-orders"}
