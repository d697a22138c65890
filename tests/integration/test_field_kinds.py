"""Every kind of field an entity may declare is stored as it was sent, and read back so.

The worker writes a batch's rows as one JSON array of records that PostgreSQL
reads into the table's row type; this holds the conversion to each column type
(and back out through the api's reader) on a real server, for an entity made
here with one field of each kind.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

import psycopg
import pytest
from psycopg import sql
from pydantic import BaseModel

from queuefirst.model.command import Command
from queuefirst.model.entity import Entity
from queuefirst.model.registry import Registry
from queuefirst.runtime.sender import CommandSender
from queuefirst.schema.engine import make_engine
from queuefirst.schema.tables import build_schema
from queuefirst.store.database import Database, conninfo
from queuefirst.store.entity_store import EntityStore
from queuefirst.store.reader import Reader
from queuefirst.worker.batch import BatchApplier, Message

pytestmark = pytest.mark.integration


class EveryKind(BaseModel):
    text: str
    count: int
    flag: bool
    ratio: float
    due: date
    at: datetime
    tags: list[str]
    extra: dict[str, Any]
    level: Literal["low", "high"] = "low"
    note: str | None = None


kinds = Entity(name="kinds", fields=EveryKind)

SENT: dict[str, Any] = {
    "text": 'quotes " and \\ and 日本語',
    "count": 2**53 + 1,  # beyond a double's exact integers
    "flag": False,
    "ratio": 0.1,
    "due": "2026-12-24",
    "at": "2026-12-24T08:30:00.250000+09:00",
    "tags": ["a", "b"],
    "extra": {"nested": [1, None, {"x": "y"}]},
    "level": "high",
}


@pytest.fixture
def database(postgres_server: str) -> Database:
    name = f"kinds_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**conninfo(postgres_server), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = postgres_server.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url, pool_size=1)
    build_schema([kinds]).metadata.create_all(engine)
    engine.dispose()
    return Database(url)


class NoSends(CommandSender):
    def __init__(self) -> None:
        pass

    def send(self, commands: Any) -> None:
        assert not commands


def apply(database: Database, *commands: Command) -> None:
    report = BatchApplier(kinds, EntityStore(kinds, database), NoSends()).apply(
        [Message(str(i), c.to_json(), c.lane) for i, c in enumerate(commands)]
    )
    assert not report.failures, report.failures


def command(op: str, version: int, payload: dict[str, Any]) -> Command:
    return Command(command_id=uuid.uuid4(), entity="kinds", op=op, key="k1", version=version, payload=payload)


def test_every_kind_of_field_is_stored_and_read_back_as_sent(database: Database) -> None:
    apply(database, command("create", 1, SENT))
    cursor = database.connection().execute("SELECT * FROM kinds")
    row = dict(zip([c.name for c in cursor.description or []], cursor.fetchone() or (), strict=True))
    assert row["text"] == SENT["text"] and row["count"] == 2**53 + 1 and row["flag"] is False
    assert row["ratio"] == 0.1 and row["due"] == date(2026, 12, 24)
    assert row["at"] == datetime(2026, 12, 24, 8, 30, 0, 250000, tzinfo=timezone(timedelta(hours=9)))
    assert row["tags"] == ["a", "b"] and row["extra"] == {"nested": [1, None, {"x": "y"}]}
    assert row["level"] == "high" and row["note"] is None
    shown = Reader(Registry("kinds", [kinds])).get(database.connection(), kinds, "k1")
    assert shown is not None
    # As the api answers: the same values, the instant in UTC.
    assert shown == {"id": "k1", **SENT, "at": "2026-12-23T23:30:00.250000Z", "note": None}


def test_an_update_changes_only_its_fields_of_every_kind(database: Database) -> None:
    apply(database, command("create", 1, SENT), command("update", 2, {"ratio": 2.5, "tags": [], "note": "n"}))
    row = database.connection().execute("SELECT ratio, tags, note, due, extra FROM kinds").fetchone()
    assert row == (2.5, [], "n", date(2026, 12, 24), {"nested": [1, None, {"x": "y"}]})
