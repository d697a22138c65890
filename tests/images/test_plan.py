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


def changes_after(repo: Path, tmp_path: Path, path: str, edit: object) -> dict[str, str]:
    """Edit one file of a copy of the repository; each function that moved, with why."""
    written = tmp_path / "plan.json"
    plan("--root", str(repo), "--write", str(written))
    target = repo / path
    before = target.read_text()
    target.write_text(edit(before))  # type: ignore[operator]
    try:
        table = plan("--root", str(repo), "--against", str(written))
    finally:
        target.write_text(before)
    moved = {}
    for line in table.splitlines():
        status, name, _image, _fingerprint, *why = line.split(maxsplit=4)
        if status != "same":
            moved[name] = " ".join(why)
    return moved


RULES = "src/shop/entities/orders/rules.py"
CONTRACT = "src/shop/entities/orders/__init__.py"


def test_a_fix_to_a_rule_moves_that_entitys_worker_alone(scratch_repo: Path, tmp_path: Path) -> None:
    """One fix, one function: a rule's text, a hook's, a comment in the rules."""
    # The text of one rejection-free rule changed: `ship` now also clears the cancel reason.
    rule = changes_after(
        scratch_repo,
        tmp_path,
        RULES,
        lambda t: t.replace('accept(status="shipped")', 'accept(status="shipped", cancel_reason=None)'),
    )
    assert rule == {"worker-orders": "its own logic changed"}
    hook = "src/shop/entities/order_items/rules.py"
    assert changes_after(
        scratch_repo,
        tmp_path,
        hook,
        lambda t: t.replace("amount_minor=0, counted=False", "counted=False, amount_minor=0"),
    ) == {"worker-order_items": "its own logic changed"}
    assert changes_after(scratch_repo, tmp_path, RULES, lambda t: t + "\n# a comment\n") == {
        "worker-orders": "its own logic changed"
    }


def test_a_change_to_a_contract_moves_its_worker_the_api_and_the_console(
    scratch_repo: Path, tmp_path: Path
) -> None:
    moved = changes_after(
        scratch_repo,
        tmp_path,
        CONTRACT,
        lambda t: t.replace(
            "    note: Annotated[str, Field(max_length=1000)] | None = None\n",
            "    note: Annotated[str, Field(max_length=1000)] | None = None\n    gift: bool = False\n",
        ),
    )
    assert moved == {
        "api": "a contract it carries changed",
        "admin": "a contract it carries changed",
        "worker-orders": "a contract it carries changed",
    }


def test_a_change_to_the_shared_base_moves_every_function(scratch_repo: Path, tmp_path: Path) -> None:
    moved = changes_after(
        scratch_repo, tmp_path, "src/queuefirst/model/decider.py", lambda t: t + "\n# base\n"
    )
    assert set(moved) == {"api", "admin", *(f"worker-{e}" for e in entities_in_tree(scratch_repo, SHOP))}
    assert set(moved.values()) == {"the shared base changed"}


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
    (scratch_repo / "src/shop/migrations/versions/0006_gift_message.py").write_text(
        '"""gift message"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        'revision = "0006"\ndown_revision = "0005"\nbranch_labels = None\ndepends_on = None\n\n\n'
        "def upgrade() -> None:\n"
        '    op.add_column("orders", sa.Column("gift_message", sa.Text(), nullable=True))\n'
    )
    after = compute_plan(scratch_repo, SHOP)
    assert schema_revisions(after) == schema_revisions(before) | {
        "api": "0006",
        "admin": "0006",
        "worker-orders": "0006",
    }
    moved = {
        n
        for n in after["functions"]
        if after["functions"][n]["fingerprint"] != before["functions"][n]["fingerprint"]
    }
    assert moved == {"api", "admin", "worker-orders"}
