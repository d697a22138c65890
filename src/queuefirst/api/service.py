"""What the api does, without HTTP: checks, reads, and commands to enqueue.

Writes never touch business tables: they become commands on the entity's
queue. Existence checks (409/404) are a courtesy to clients; the workers'
convergence never depends on them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from queuefirst.api.errors import Conflict, Invalid, NotFound
from queuefirst.api.versioning import VersionClock, new_id
from queuefirst.model.command import Command, Op
from queuefirst.model.entity import Entity
from queuefirst.model.payloads import PayloadError, validate_create, validate_update
from queuefirst.model.registry import Registry
from queuefirst.runtime.sender import CommandSender
from queuefirst.store.reader import Page, Reader


@dataclass(frozen=True)
class Accepted:
    id: str
    command_id: uuid.UUID

    def body(self) -> dict[str, str]:
        return {
            "id": self.id,
            "command_id": str(self.command_id),
            "status_url": f"/commands/{self.command_id}",
        }


class ApiService:
    def __init__(
        self,
        registry: Registry,
        engine: Engine,
        reader: Reader,
        sender: CommandSender,
        clock: VersionClock,
        mint_id: Callable[[], uuid.UUID] = new_id,
    ) -> None:
        self.registry = registry
        self.engine = engine
        self.reader = reader
        self.sender = sender
        self.clock = clock
        self.mint_id = mint_id

    def create(self, entity: Entity, body: dict[str, Any]) -> Accepted:
        body = dict(body)
        key = body.pop("id", None) or str(self.mint_id())
        payload = _validated(lambda: validate_create(entity, body))
        with self.engine.connect() as conn:
            if self.reader.exists(conn, entity, key):
                raise Conflict(f"{entity.name} {key} already exists", field="id")
            if entity.parent and entity.parent_field:
                parent_id = payload[entity.parent_field]
                if not self.reader.exists(conn, self.registry[entity.parent], parent_id):
                    raise Invalid(f"no {entity.parent} with id {parent_id}", field=entity.parent_field)
            self._check_references(conn, entity, payload)
            floor = self.reader.latest_version(conn, entity, key)
        return self._enqueue(entity, Op.CREATE, key, payload, floor)

    def update(self, entity: Entity, key: str, body: dict[str, Any]) -> Accepted:
        payload = _validated(lambda: validate_update(entity, body))
        floor = self._require(entity, key)
        with self.engine.connect() as conn:
            self._check_references(conn, entity, payload)
        return self._enqueue(entity, Op.UPDATE, key, payload, floor)

    def delete(self, entity: Entity, key: str) -> Accepted:
        return self._enqueue(entity, Op.DELETE, key, {}, self._require(entity, key))

    def get(self, entity: Entity, key: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = self.reader.get(conn, entity, key)
        if row is None:
            raise NotFound(f"no {entity.name} with id {key}", field="id")
        return row

    def list(self, entity: Entity, *, limit: int, after: str | None, parent_id: str | None) -> Page:
        with self.engine.connect() as conn:
            return self.reader.list(conn, entity, limit=limit, after=after, parent_id=parent_id)

    def command_status(self, command_id: uuid.UUID) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = self.reader.command_status(conn, command_id)
        if row is None:
            # Not applied yet, or not (yet) known: a queued command is invisible
            # until its worker logs it.
            return {"command_id": str(command_id), "status": "pending"}
        return {**row, "command_id": str(row["command_id"])}

    def _check_references(self, conn: Connection, entity: Entity, payload: dict[str, Any]) -> None:
        for field, target in entity.references.items():
            value = payload.get(field)
            if value is not None and not self.reader.exists(conn, self.registry[target], value):
                raise Invalid(f"no {target} with id {value}", field=field)

    def _require(self, entity: Entity, key: str) -> int:
        """404 unless the row is visible; else the newest version written to it."""
        with self.engine.connect() as conn:
            if not self.reader.exists(conn, entity, key):
                raise NotFound(f"no {entity.name} with id {key}", field="id")
            return self.reader.latest_version(conn, entity, key)

    def _enqueue(self, entity: Entity, op: Op, key: str, payload: dict[str, Any], floor: int) -> Accepted:
        command = Command(
            command_id=self.mint_id(),
            entity=entity.name,
            op=op,
            key=key,
            version=self.clock.next(at_least=floor + 1),
            payload=payload,
        )
        self.sender.send([command])
        return Accepted(id=key, command_id=command.command_id)


def _validated(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        payload = check()
    except PayloadError as error:
        raise Invalid(error.message, field=error.field) from error
    for field, value in payload.items():
        # PostgreSQL text cannot hold NUL: refuse it here rather than poison a queue.
        if isinstance(value, str) and "\x00" in value:
            raise Invalid("text may not contain NUL characters", field=field)
    return payload
