"""A lane keeps its order through a failure: a command its worker cannot decide fails, and
every later command of its lane in the batch is held back behind it (SQS then returns
them in order); other lanes go on. Real PostgreSQL, an entity made here whose action
is broken on purpose (it returns no Decision).
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pydantic import BaseModel

from queuefirst.model.actions import Empty, Row
from queuefirst.model.command import Command
from queuefirst.model.entity import Entity
from queuefirst.runtime.sender import CommandSender
from queuefirst.schema.engine import make_engine
from queuefirst.schema.tables import build_schema
from queuefirst.store.database import Database, conninfo
from queuefirst.store.entity_store import EntityStore
from queuefirst.worker.batch import BatchApplier, Done, Failed, Message

pytestmark = pytest.mark.integration


class Fields(BaseModel):
    title: str


lanes = Entity(name="lanes", fields=Fields)
lanes.action("broken")


@lanes.rule
def broken(row: Row[Fields], given: Empty) -> Any:
    return None  # not a Decision: a bug in the entity's rules, as the worker sees one


class NoSends(CommandSender):
    def __init__(self) -> None:
        pass

    def send(self, commands: Any) -> None:
        assert not commands


@pytest.fixture
def database(postgres_server: str) -> Database:
    name = f"lanes_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**conninfo(postgres_server), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = postgres_server.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url, pool_size=1)
    build_schema([lanes]).metadata.create_all(engine)
    engine.dispose()
    return Database(url)


def command(op: str, key: str, version: int, payload: dict[str, Any] | None = None) -> Command:
    return Command(
        command_id=uuid.uuid4(), entity="lanes", op=op, key=key, version=version, payload=payload or {}
    )


def test_a_command_that_cannot_be_decided_holds_back_the_rest_of_its_lane_only(database: Database) -> None:
    batch = [
        command("create", "a", 1, {"title": "first"}),
        command("broken", "a", 2),
        command("update", "a", 3, {"title": "must wait"}),
        command("create", "b", 4, {"title": "another lane"}),
    ]
    report = BatchApplier(lanes, EntityStore(lanes, database), NoSends()).apply(
        [Message(str(i), c.to_json(), c.lane) for i, c in enumerate(batch)]
    )
    outcome = report.outcomes
    assert isinstance(outcome["0"], Done) and isinstance(outcome["3"], Done)
    assert isinstance(outcome["1"], Failed) and "not a Decision" in outcome["1"].reason
    assert isinstance(outcome["2"], Failed) and outcome["2"].reason.startswith("held back")
    titles = dict(database.connection().execute("SELECT id, title FROM lanes").fetchall())
    assert titles == {"a": "first", "b": "another lane"}  # the update did not overtake
