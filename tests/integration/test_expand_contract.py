"""Expand, then contract: a revision that would break the images live before it is refused.

The rules are checked on revision scripts (no database needed to read them),
and shown on real PostgreSQL: a worker built for the revision before (the
fixture app's cards worker, which knows nothing of later revisions) keeps
applying commands after an accepted revision, and fails after one the check
refuses. The contract itself, retire then drop, runs through
`queuefirst migrations new` on real PostgreSQL.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from notes import application as notes_app
from queuefirst.model.application import Application, load_application
from queuefirst.model.registry import Registry
from queuefirst.ops import expand_contract
from queuefirst.ops.migrations import check_app, write_revision
from queuefirst.ops.revisions import load_revisions, required_revision, required_revisions
from queuefirst.schema.upgrade import upgrade
from queuefirst.store.database import Database, conninfo
from queuefirst.store.entity_store import EntityStore
from queuefirst.worker.batch import BatchApplier, Done, Failed, Message
from shop import application as shop_app
from tests.helpers import command
from tests.integration.test_races import Unsent

pytestmark = pytest.mark.integration
NOTES_FIRST = notes_app.migrations_dir / "0001_boards_and_cards.py"

BREAKING = {
    "drop a live column": ('op.drop_column("cards", "text")', "drops column cards.text"),
    "rename a live column": (
        'op.alter_column("cards", "text", new_column_name="body")',
        "renames column cards.text to body",
    ),
    "drop a live table": ('op.drop_table("cards__markers")', "drops table cards__markers"),
    "retype a live column": (
        'op.alter_column("cards", "done", type_=sa.Text())',
        "changes the type of column cards.done",
    ),
    "make a live column NOT NULL": (
        'op.alter_column("cards", "text", nullable=False)',
        "makes column cards.text NOT NULL",
    ),
    "add a NOT NULL column without a default": (
        'op.add_column("cards", sa.Column("rank", sa.BigInteger(), nullable=False))',
        "adds NOT NULL column cards.rank without a default",
    ),
    "drop a primary key": (
        'op.drop_constraint("cards_pkey", "cards", type_="primary")',
        "drops primary constraint cards_pkey of cards",
    ),
    "run unreadable SQL": (
        'op.execute("ALTER TABLE cards DROP COLUMN text")',
        "runs SQL the check cannot read",
    ),
}
EXPANDING = {
    "add a nullable column": 'op.add_column("cards", sa.Column("note", sa.Text(), nullable=True))',
    "add a NOT NULL column with a default": (
        'op.add_column("cards", sa.Column("rank", sa.BigInteger(), nullable=False, server_default="0"))'
    ),
    "create a table": 'op.create_table("labels", sa.Column("id", sa.Text(), primary_key=True))',
    "index a live column": 'op.create_index("ix_cards_text", "cards", ["text"])',
}


def revision(versions: Path, number: int, body: str, extra: str = "") -> Path:
    path = versions / f"{number:04d}_change.py"
    path.write_text(
        textwrap.dedent(
            f'''\
            """change"""
            import sqlalchemy as sa
            from alembic import op

            revision = "{number:04d}"
            down_revision = "{number - 1:04d}"
            branch_labels = None
            depends_on = None
            {extra}

            def upgrade() -> None:
                {body}


            def downgrade() -> None:
                pass
            '''
        )
    )
    return path


@pytest.fixture
def versions(tmp_path: Path) -> Path:
    """The fixture app's revisions, in a folder a test may add to."""
    folder = tmp_path / "versions"
    folder.mkdir()
    shutil.copy(NOTES_FIRST, folder)
    return folder


@pytest.fixture
def fresh_database(postgres_server: str) -> Callable[[], str]:
    def make() -> str:
        name = f"test_ec_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(**conninfo(postgres_server), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return make_url(postgres_server).set(database=name).render_as_string(hide_password=False)

    return make


def test_the_apps_revisions_keep_every_live_image_working() -> None:
    for app in (notes_app, shop_app):
        assert expand_contract.check(load_revisions(app.migrations_dir), app.schema_baseline) == []


def test_the_shops_re_founding_revision_is_its_baseline() -> None:
    """Without the baseline, 0002 (which drops 0001's tables) would be refused."""
    problems = expand_contract.check(load_revisions(shop_app.migrations_dir))
    assert any(p.startswith("0002: drops table commands") for p in problems)


@pytest.mark.parametrize("case", sorted(BREAKING))
def test_a_revision_breaking_the_live_images_is_refused(versions: Path, case: str) -> None:
    body, expected = BREAKING[case]
    revision(versions, 2, body)
    (problem,) = expand_contract.check(load_revisions(versions))
    assert problem.startswith(f"0002: {expected}"), problem
    assert "0001" in problem  # names the revision whose images it would break


@pytest.mark.parametrize("case", sorted(EXPANDING))
def test_an_expanding_revision_is_accepted(versions: Path, case: str) -> None:
    revision(versions, 2, EXPANDING[case])
    assert expand_contract.check(load_revisions(versions)) == []


def test_reviewed_sql_is_accepted(versions: Path) -> None:
    revision(
        versions,
        2,
        'op.execute("UPDATE cards SET done = false WHERE done IS NULL")',
        extra='expand_contract_reviewed = "a backfill: no live image reads NULL differently"',
    )
    assert expand_contract.check(load_revisions(versions)) == []


def test_a_column_is_dropped_the_revision_after_it_was_retired(versions: Path) -> None:
    live = "{'cards': ['alive', 'board_id', 'done', 'id', 'stamp']}"
    revision(versions, 2, "pass", extra=f"live_columns = {live}")  # retires cards.text
    revision(versions, 3, 'op.drop_column("cards", "text")', extra=f"live_columns = {live}")
    revisions = load_revisions(versions)
    assert expand_contract.check(revisions) == []
    # Retiring and dropping never raise what the cards worker needs.
    assert required_revision(revisions, frozenset({"cards"})) == "0001"


def test_what_each_image_needs_moves_only_with_what_it_uses(versions: Path) -> None:
    revision(versions, 2, EXPANDING["add a nullable column"])
    needs = required_revisions(versions, ["boards", "cards"])
    assert needs == {"api": "0002", "boards": "0001", "cards": "0002"}


def _old_cards_worker(url: str, notes: Registry) -> Callable[[], list[Done | Failed]]:
    """The cards worker as built for revision 0001, applying one create."""

    def create() -> list[Done | Failed]:
        database = Database(url)
        card = command(notes["cards"], "create", f"c-{uuid.uuid4().hex[:6]}", {"text": "t", "board_id": "b1"})
        try:
            report = BatchApplier(notes["cards"], EntityStore(notes["cards"], database), Unsent()).apply(
                [Message("m", card.to_json(), card.lane)]
            )
        finally:
            database.close()
        return list(report.outcomes.values())

    return create


def test_the_live_worker_survives_what_the_check_accepts_and_not_what_it_refuses(
    versions: Path, fresh_database: Callable[[], str], notes: Registry
) -> None:
    accepted = fresh_database()
    revision(versions, 2, EXPANDING["add a NOT NULL column with a default"])
    assert expand_contract.check(load_revisions(versions)) == []
    upgrade(accepted, notes_app, versions)
    (outcome,) = _old_cards_worker(accepted, notes)()
    assert isinstance(outcome, Done) and outcome.status == "applied"

    refused = fresh_database()
    (versions / "0002_change.py").unlink()
    revision(versions, 2, BREAKING["drop a live column"][0])
    assert expand_contract.check(load_revisions(versions)) != []
    upgrade(refused, notes_app, versions)
    (outcome,) = _old_cards_worker(refused, notes)()
    assert isinstance(outcome, Failed) and "text" in outcome.reason


def test_migrations_new_retires_a_removed_field_and_drops_it_in_the_next_revision(
    tmp_path: Path, postgres_server: str, fresh_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`queuefirst migrations new` on a copy of the fixture app whose cards lost their text."""
    package = f"notes_retire_{uuid.uuid4().hex[:6]}"
    shutil.copytree(notes_app.package_dir, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    cards = tmp_path / package / "entities" / "cards" / "__init__.py"
    cards.write_text(
        cards.read_text().replace("    text: Annotated[str, Field(min_length=1, max_length=500)]\n", "")
    )
    init = tmp_path / package / "__init__.py"
    init.write_text(init.read_text().replace("package=__name__", f"package={package!r}"))
    monkeypatch.syspath_prepend(str(tmp_path))
    app: Application = load_application(package)
    assert app.package == package and "text" not in app.registry()["cards"].fields.model_fields

    retire = write_revision(app, "retire card text", fresh_database())
    assert retire is not None and retire.name.startswith("0002_")
    assert "drop_column" not in retire.read_text()
    assert check_app(app, fresh_database()) == []  # the retired column may stay a while
    drop = write_revision(app, "drop card text", fresh_database())
    assert drop is not None and drop.name.startswith("0003_")
    assert 'op.drop_column("cards", "text")' in drop.read_text()
    assert check_app(app, fresh_database()) == []
    assert write_revision(app, "nothing", fresh_database()) is None
    sys.modules.pop(package, None)
