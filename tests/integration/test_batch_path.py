"""The batch path's lane logic on PostgreSQL: the suite the memory store passes too
(tests/batch_path.py). A real server, a database of its own per test; the faults
(a deadlock, an outage) are raised as the real transaction ends, rolling it back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql

from queuefirst.model.errors import QueuefirstError
from queuefirst.schema.engine import make_engine
from queuefirst.schema.tables import build_schema
from queuefirst.store.connect import conninfo
from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore
from tests.batch_path import BatchPathSuite, tasks

pytestmark = pytest.mark.integration


class FaultyStore(EntityStore):
    """The real store; an injected fault ends a unit inside its transaction (so it rolls back)."""

    def __init__(self, database: Database) -> None:
        super().__init__(tasks, database)
        self.faults: list[QueuefirstError] = []

    @contextmanager
    def unit(self, *, pipelined: bool = False) -> Iterator[Any]:
        with super().unit(pipelined=pipelined) as unit:
            yield unit
            if self.faults:
                raise self.faults.pop(0)


class PostgresAdapter:
    def __init__(self, url: str) -> None:
        self.database = Database(url)
        self.store = FaultyStore(self.database)

    def refuse(self, title: str) -> None:
        with self.database.transaction() as conn:
            conn.execute(sql.SQL("ALTER TABLE tasks ADD CHECK (title <> {})").format(sql.Literal(title)))

    def fail_next(self, *errors: QueuefirstError) -> None:
        self.store.faults += errors

    def titles(self) -> dict[str, str]:
        with self.database.reading() as conn:
            return dict(conn.execute("SELECT id, title FROM tasks WHERE alive").fetchall())

    def failure_reasons(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        with self.database.reading() as conn:
            for message_id, reason in conn.execute(
                "SELECT message_id, reason FROM tasks__failures ORDER BY id"
            ):
                found.setdefault(message_id, []).append(reason)
        return found


@pytest.fixture
def adapter(postgres_server: str) -> Iterator[PostgresAdapter]:
    name = f"lanes_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**conninfo(postgres_server), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = postgres_server.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url, pool_size=1)
    build_schema([tasks]).metadata.create_all(engine)
    engine.dispose()
    adapter = PostgresAdapter(url)
    yield adapter
    adapter.database.close()


class TestOnPostgreSQL(BatchPathSuite):
    pass
