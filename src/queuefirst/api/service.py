"""What the api does, without HTTP: checks, reads, and commands to enqueue.

Writes never touch business tables: they become commands on the entity's
queue. The checks here (404 for a missing row, 409 for an existing id or a
business rule that already says no) are a courtesy to clients: the api runs
the entity's own decide function on the row as it stands, but the worker,
running the same code when the command's turn comes, is the authority.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from queuefirst.api.errors import Conflict, Invalid, NotFound
from queuefirst.api.versioning import VersionClock, new_id
from queuefirst.model.command import CREATE, DELETE, REJECTED, UPDATE, Command, Producer
from queuefirst.model.decider import Decider
from queuefirst.model.entity import Entity
from queuefirst.model.payloads import PayloadError, validate_payload
from queuefirst.model.registry import Registry
from queuefirst.model.working import StoredRow, Working
from queuefirst.runtime.sender import CommandSender
from queuefirst.store.database import Database
from queuefirst.store.reader import FoundRow, Page, Reader


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
        database: Database,
        sender: CommandSender,
        clock: VersionClock,
        *,
        producer: Producer | None = None,
        mint_id: Callable[[], uuid.UUID] = new_id,
    ) -> None:
        self.registry = registry
        self.database = database
        self.reader = Reader(registry)
        self.sender = sender
        self.clock = clock
        self.producer = producer or Producer(kind="api")
        self.mint_id = mint_id
        self.deciders = {name: Decider(entity) for name, entity in registry.items()}

    # -- writes ---------------------------------------------------------------------------

    def create(self, entity: Entity, body: dict[str, Any], producer: Producer | None = None) -> Accepted:
        body = dict(body)
        key = body.pop("id", None) or str(self.mint_id())
        payload = _validated(entity, CREATE, body)
        parent = payload.get(entity.parent_field) if entity.parent_field else None
        references = {
            field: (target, str(payload[field]))
            for field, target in entity.references.items()
            if payload.get(field) is not None
        }
        checks = self.reader.create_checks(
            self.database.connection(), entity, key, None if parent is None else str(parent), references
        )
        if checks.taken:
            raise Conflict(f"{entity.name} {key} already exists", field="id")
        if not checks.parent_found:
            # A state of other rows, not a malformed request: retried once the parent is applied.
            raise Conflict(f"no {entity.parent} with id {parent}", field=entity.parent_field)
        for field in checks.missing:
            raise Conflict(f"no {references[field][0]} with id {references[field][1]}", field=field)
        command = self._command(entity, CREATE, key, payload, parent, checks.floor, producer)
        self._courtesy(entity, None, command)
        return self._enqueue(command)

    def update(
        self, entity: Entity, key: str, body: dict[str, Any], producer: Producer | None = None
    ) -> Accepted:
        payload = _validated(entity, UPDATE, body)
        row = self._require(entity, key)
        self._check_references(entity, payload)
        command = self._command(entity, UPDATE, key, payload, row.parent, row.version, producer)
        return self._enqueue(command)

    def delete(self, entity: Entity, key: str, producer: Producer | None = None) -> Accepted:
        row = self._require(entity, key)
        return self._enqueue(self._command(entity, DELETE, key, {}, row.parent, row.version, producer))

    def act(
        self, entity: Entity, key: str, action: str, body: dict[str, Any], producer: Producer | None = None
    ) -> Accepted:
        if action not in entity.actions or not entity.actions[action].public:
            raise NotFound(f"{entity.name} has no action {action!r}", field="action")
        payload = _validated(entity, action, body)
        row = self._require(entity, key)
        command = self._command(entity, action, key, payload, row.parent, row.version, producer)
        self._courtesy(entity, row, command)
        return self._enqueue(command)

    # -- reads ----------------------------------------------------------------------------

    def get(self, entity: Entity, key: str) -> dict[str, Any]:
        row = self.reader.get(self.database.connection(), entity, key)
        if row is None:
            raise NotFound(f"no {entity.name} with id {key}", field="id")
        return row

    def list(self, entity: Entity, *, limit: int, after: str | None, parent_id: str | None) -> Page:
        return self.reader.list(
            self.database.connection(), entity, limit=limit, after=after, parent_id=parent_id
        )

    def command_status(self, command_id: uuid.UUID) -> dict[str, Any]:
        row = self.reader.command_status(self.database.connection(), command_id)
        if row is None:
            # Not applied yet, or failing and retried: a queued command is
            # invisible until its worker logs it.
            return {"command_id": str(command_id), "status": "pending"}
        return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in row.items() if v is not None}

    # -- helpers --------------------------------------------------------------------------

    def _require(self, entity: Entity, key: str) -> FoundRow:
        row = self.reader.find(self.database.connection(), entity, key)
        if row is None:
            raise NotFound(f"no {entity.name} with id {key}", field="id")
        return row

    def _check_references(self, entity: Entity, payload: dict[str, Any]) -> None:
        conn = self.database.connection()
        for field, target in entity.references.items():
            value = payload.get(field)
            if value is not None and not self.reader.exists(conn, self.registry[target], value):
                raise Conflict(f"no {target} with id {value}", field=field)

    def _courtesy(self, entity: Entity, row: FoundRow | None, command: Command) -> None:
        """Run the worker's own decision on the row as it stands; 409 if it already says no."""
        working = Working()
        if row is not None:
            working.rows[row.key] = StoredRow(row.key, row.parent, True, dict(row.values), row.stamp, True)
        applied = self.deciders[entity.name].apply(working, command)
        if applied.status == REJECTED:
            raise Conflict(applied.reason or "refused", field=None)

    def _command(
        self,
        entity: Entity,
        op: str,
        key: str,
        payload: dict[str, Any],
        parent: str | None,
        floor: int,
        producer: Producer | None,
    ) -> Command:
        return Command(
            command_id=self.mint_id(),
            entity=entity.name,
            op=op,
            key=key,
            parent=parent,
            version=self.clock.next(at_least=floor + 1),
            payload=payload,
            producer=producer or self.producer,
        )

    def _enqueue(self, command: Command) -> Accepted:
        self.sender.send([command])
        return Accepted(id=command.key, command_id=command.command_id)


def _validated(entity: Entity, op: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        payload = validate_payload(entity, op, body)
    except PayloadError as error:
        raise Invalid(error.message, field=error.field) from error
    for field, value in payload.items():
        # PostgreSQL text cannot hold NUL: refuse it here rather than poison a queue.
        if isinstance(value, str) and "\x00" in value:
            raise Invalid("text may not contain NUL characters", field=field)
    return payload
