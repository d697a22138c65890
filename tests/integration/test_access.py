"""Least privilege on real PostgreSQL: the api reads, each worker writes only its own
entity's tables, as the migrations function grants them (on the fixture app)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import make_url

from notes import application as notes_app
from queuefirst.model.errors import StoreRefused
from queuefirst.model.registry import Registry
from queuefirst.schema.grants import DatabaseUsers
from queuefirst.schema.upgrade import prepare
from queuefirst.store.connect import conninfo, iam_token
from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore
from queuefirst.worker.batch import BatchApplier, Done, Message
from tests.helpers import command
from tests.integration.test_races import Unsent

pytestmark = pytest.mark.integration

USERS = DatabaseUsers(api="notes_api", workers={"boards": "notes_boards", "cards": "notes_cards"})


@pytest.fixture(scope="module")
def as_user(notes_url: str) -> Iterator[Callable[[str], Database]]:
    prepare(notes_url, notes_app, USERS)
    prepare(notes_url, notes_app, USERS)  # idempotent: every deploy runs it
    opened: list[Database] = []

    def connect(user: str) -> Database:
        database = Database(make_url(notes_url).set(username=user).render_as_string(hide_password=False))
        opened.append(database)
        return database

    yield connect
    for database in opened:
        database.close()


def test_a_worker_user_applies_commands_to_its_own_entity(
    as_user, notes: Registry, notes_db: Database
) -> None:  # type: ignore[no-untyped-def]
    cards = notes["cards"]
    purge = command(cards, "delete", "b-gone", scope="children")
    create = command(cards, "create", "c1", {"text": "t", "board_id": "b1"})
    applier = BatchApplier(cards, EntityStore(cards, as_user("notes_cards")), Unsent())
    report = applier.apply([Message(str(i), c.to_json(), c.lane) for i, c in enumerate([purge, create])])
    assert [o.status for o in report.outcomes.values() if isinstance(o, Done)] == ["applied", "applied"]


OTHERS = {
    # user -> every table of the other entity (boards has no markers: it has no parent)
    "notes_cards": ["boards", "boards__commands", "boards__failures"],
    "notes_boards": ["cards", "cards__commands", "cards__failures", "cards__markers"],
}
WRITES = {
    "insert": "INSERT INTO {t} SELECT * FROM {t} WHERE false",
    "update": "UPDATE {t} SET {c} = {c} WHERE false",
    "delete": "DELETE FROM {t} WHERE false",
}


@pytest.mark.parametrize(("user", "table"), [(u, t) for u, tables in OTHERS.items() for t in tables])
@pytest.mark.parametrize("verb", ["select", *WRITES])
def test_a_worker_user_cannot_touch_another_entitys_tables(as_user, user: str, table: str, verb: str) -> None:  # type: ignore[no-untyped-def]
    """Each worker reads and writes its own entity's rows, command log, failures and
    markers only: not even a read of another entity's."""
    column = {"cards__markers": "stamp", "boards": "stamp", "cards": "stamp"}.get(table, "key")
    if table.endswith("__failures"):
        column = "reason"
    statement = f"SELECT * FROM {table}" if verb == "select" else WRITES[verb].format(t=table, c=column)
    with pytest.raises(StoreRefused, match="permission denied"), as_user(user).transaction() as conn:
        conn.execute(statement)  # type: ignore[arg-type]


@pytest.mark.parametrize("user", ["notes_cards", "notes_boards", "notes_api"])
def test_every_function_user_reads_the_schema_revision_and_nothing_else_of_it(as_user, user: str) -> None:  # type: ignore[no-untyped-def]
    database = as_user(user)
    with database.transaction() as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    for statement in ("UPDATE alembic_version SET version_num = '9999'", "CREATE TABLE sneaky (x int)"):
        with pytest.raises(StoreRefused, match="permission denied"), database.transaction() as conn:
            conn.execute(statement)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("user", "table"), [("notes_cards", "cards__commands"), ("notes_boards", "boards__failures")]
)
def test_a_worker_cannot_rewrite_its_own_logs(as_user, user: str, table: str) -> None:  # type: ignore[no-untyped-def]
    """The command log and the failure reasons are append-only for the worker."""
    for verb in ("update", "delete"):
        column = "reason"
        with pytest.raises(StoreRefused, match="permission denied"), as_user(user).transaction() as conn:
            conn.execute(WRITES[verb].format(t=table, c=column))  # type: ignore[arg-type]


def test_the_api_user_reads_rows_and_logs_but_cannot_write(as_user) -> None:  # type: ignore[no-untyped-def]
    api = as_user("notes_api")
    with api.transaction() as conn:
        conn.execute("SELECT count(*) FROM boards").fetchone()
        conn.execute("SELECT count(*) FROM cards__commands").fetchone()
    for statement in (
        "INSERT INTO boards (id, alive, stamp) VALUES ('x', true, 's')",
        "DELETE FROM cards",
        "SELECT * FROM cards__failures",
    ):
        with pytest.raises(StoreRefused, match="permission denied"), api.transaction() as conn:
            conn.execute(statement)  # type: ignore[arg-type]


def test_iam_auth_logs_in_with_a_fresh_rds_token(notes_url: str) -> None:
    """RDS Proxy takes IAM tokens as passwords. The token is signed locally by
    boto3 (AWS itself is not reachable here); the trusting test server ignores it."""
    token = iam_token(conninfo(notes_url) | {"user": "notes_api"}, "eu-west-1")
    assert "X-Amz-Signature=" in token and "Action=connect" in token and "DBUser=notes_api" in token
    database = Database(notes_url, iam_auth=True, region="eu-west-1")
    assert database.connection().execute("SELECT 1").fetchone() == (1,)
    database.close()
