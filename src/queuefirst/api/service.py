"""What the api does, without HTTP: checks, reads, and commands to enqueue.

Writes never touch business tables: they become commands on the entity's
queue. The checks here (404 for a missing row, 409 for an existing id or a
business rule that already says no) are a courtesy to clients: the api runs
the entity's own decide function on the row as it stands, but the worker,
running the same code when the command's turn comes, is the authority.

Every call names its principal (`queuefirst.model.principal`): what is out
of its reach answers as absent (`queuefirst.api.reach`), before anything is
read for it or enqueued, and every command records who sent it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from queuefirst.api.errors import Conflict, Invalid, NotFound
from queuefirst.api.reach import Reach, absent
from queuefirst.api.versioning import VersionClock, new_id
from queuefirst.model.access import Owner
from queuefirst.model.command import CREATE, DELETE, UPDATE, Command, Producer, Status
from queuefirst.model.decider import Decider
from queuefirst.model.entity import Entity
from queuefirst.model.http_routes import STATUS_PATHS, actors
from queuefirst.model.payloads import PayloadError, validate_key, validate_payload
from queuefirst.model.principal import OPERATORS, USERS, Principal, UnusableClaim
from queuefirst.model.registry import Registry
from queuefirst.model.working import StoredRow, Working
from queuefirst.runtime.sender import CommandSender
from queuefirst.store.database import Connection, Database
from queuefirst.store.reader import FoundRow, Page, Reader


@dataclass(frozen=True)
class Accepted:
    id: str
    command_id: uuid.UUID
    status_path: str = STATUS_PATHS[USERS]  # the sender's population's status route

    def body(self) -> dict[str, str]:
        return {
            "id": self.id,
            "command_id": str(self.command_id),
            "status_url": f"{self.status_path}/{self.command_id}",
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
        self.reach = Reach(self.reader)
        self.sender = sender
        self.clock = clock
        self.producer = producer or Producer(kind="api")
        self.mint_id = mint_id
        self.deciders = {name: Decider(entity) for name, entity in registry.items()}

    # -- writes ---------------------------------------------------------------------------

    def create(
        self,
        entity: Entity,
        body: dict[str, Any],
        producer: Producer | None = None,
        *,
        principal: Principal,
    ) -> Accepted:
        body = dict(body)
        # An end user's own row (a customer's) is named by their subject unless the body names it.
        own_row = not principal.is_operator and entity.access.owner is Owner.SELF
        default_key = _own_id(principal) if own_row else None
        key = _checked_key(body.pop("id", None) or default_key or str(self.mint_id()))
        self.reach.check_new_row(principal, entity, key)
        payload = _validated(entity, CREATE, body)
        parent = payload.get(entity.parent_field) if entity.parent_field else None
        with self.database.reading() as conn:
            if entity.parent and entity.parent_field:
                parent_entity = self.registry[entity.parent]
                self._check_linked(conn, principal, parent_entity, str(parent), entity.parent_field)
            taken, floor = self.reader.key_state(conn, entity, key)
            if taken:
                # Someone else's row answers as it does everywhere else: absent.
                if not self.reach.may_write(conn, principal, entity, key):
                    raise absent(entity, key)
                raise Conflict(f"{entity.name} {key} already exists", field="id")
            self._check_references(conn, principal, entity, payload)
        command = self._command(entity, CREATE, key, payload, parent, floor, producer, principal)
        self._courtesy(entity, None, command)
        return self._enqueue(command, principal)

    def update(
        self,
        entity: Entity,
        key: str,
        body: dict[str, Any],
        producer: Producer | None = None,
        *,
        principal: Principal,
    ) -> Accepted:
        payload = _validated(entity, UPDATE, body)
        with self.database.reading() as conn:
            row = self._require(conn, principal, entity, key)
            self._check_references(conn, principal, entity, payload)
        command = self._command(entity, UPDATE, key, payload, row.parent, row.version, producer, principal)
        return self._enqueue(command, principal)

    def delete(
        self, entity: Entity, key: str, producer: Producer | None = None, *, principal: Principal
    ) -> Accepted:
        with self.database.reading() as conn:
            row = self._require(conn, principal, entity, key)
        command = self._command(entity, DELETE, key, {}, row.parent, row.version, producer, principal)
        return self._enqueue(command, principal)

    def act(
        self,
        entity: Entity,
        key: str,
        action: str,
        body: dict[str, Any],
        producer: Producer | None = None,
        *,
        principal: Principal,
    ) -> Accepted:
        takers = actors(entity, entity.actions[action]) if action in entity.actions else None
        if takers is None:
            raise NotFound(f"{entity.name} has no action {action!r}", field="action")
        if takers == OPERATORS and not principal.is_operator:
            raise NotFound(f"{entity.name}.{action} is the operators' action", field="action")
        payload = _validated(entity, action, body)
        with self.database.reading() as conn:
            row = self._require(conn, principal, entity, key)
        command = self._command(entity, action, key, payload, row.parent, row.version, producer, principal)
        self._courtesy(entity, row, command)
        return self._enqueue(command, principal)

    # -- reads ----------------------------------------------------------------------------

    def get(self, entity: Entity, key: str, *, principal: Principal) -> dict[str, Any]:
        with self.database.reading() as conn:
            found = self.reader.find(conn, entity, key)
            if found is None or not self.reach.may_read(conn, principal, entity, key):
                raise absent(entity, key)
        return self.reader.visible(entity, found)

    def list(
        self,
        entity: Entity,
        *,
        limit: int,
        after: str | None,
        parent_id: str | None,
        principal: Principal,
    ) -> Page:
        owner = self.reach.list_owner(principal, entity)
        with self.database.reading() as conn:
            if owner is not None:
                # A filter or a cursor naming a row out of reach answers as absent.
                if parent_id is not None and entity.parent and entity.parent_field:
                    parent = self.registry[entity.parent]
                    self.reach.check_read(conn, principal, parent, parent_id, entity.parent_field)
                if after is not None:
                    self.reach.check_read(conn, principal, entity, after, "after")
            return self.reader.list(conn, entity, limit=limit, after=after, parent_id=parent_id, owner=owner)

    def command_status(self, command_id: uuid.UUID, *, principal: Principal) -> dict[str, Any]:
        with self.database.reading() as conn:
            row = self.reader.command_status(conn, command_id)
        if row is None:
            # Not applied yet, or failing and retried: a queued command is
            # invisible until its worker logs it.
            return {"command_id": str(command_id), "status": "pending"}
        if not self.reach.command_visible(principal, row.get("producer")):
            raise NotFound(f"no command {command_id} of yours", field="command_id")
        return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in row.items() if v is not None}

    # -- helpers --------------------------------------------------------------------------

    def _require(self, conn: Connection, principal: Principal, entity: Entity, key: str) -> FoundRow:
        row = self.reader.find(conn, entity, key)
        if row is None or not self.reach.may_write(conn, principal, entity, key):
            raise absent(entity, key)
        return row

    def _check_linked(
        self, conn: Connection, principal: Principal, target: Entity, key: str, field: str
    ) -> None:
        """A parent or a referenced row: out of an end user's reach it is absent (404); absent for
        an operator, or absent yet though the end user will own it, it is a state of other rows
        (409), retried once that row is applied."""
        if not principal.is_operator and not target.access.readable_by_all:
            if target.access.owner is Owner.SELF and key == principal.subject:
                pass  # their own root row: theirs whether applied yet or not
            elif not self.reach.owns(conn, principal, target, key):
                raise absent(target, key, field)
        if not self.reader.exists(conn, target, key):
            raise Conflict(f"no {target.name} with id {key}", field=field)

    def _check_references(
        self, conn: Connection, principal: Principal, entity: Entity, payload: dict[str, Any]
    ) -> None:
        for field, target in entity.references.items():
            value = payload.get(field)
            if value is not None:
                self._check_linked(conn, principal, self.registry[target], str(value), field)

    def _courtesy(self, entity: Entity, row: FoundRow | None, command: Command) -> None:
        """Run the worker's own decision on the row as it stands; 409 if it already says no."""
        working = Working()
        if row is not None:
            working.rows[row.key] = StoredRow(row.key, row.parent, True, dict(row.values), row.stamp, True)
        applied = self.deciders[entity.name].apply(working, command)
        if applied.status == Status.REJECTED:
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
        principal: Principal,
    ) -> Command:
        return Command(
            command_id=self.mint_id(),
            entity=entity.name,
            op=op,
            key=key,
            parent=parent,
            version=self.clock.next(at_least=floor + 1),
            payload=payload,
            producer=producer or self.producer.model_copy(update={"principal": principal.label}),
        )

    def _enqueue(self, command: Command, principal: Principal) -> Accepted:
        self.sender.send([command])
        return Accepted(command.key, command.command_id, STATUS_PATHS[principal.kind])


# The worker runs the same validation (`queuefirst.model.payloads`): what is accepted here applies.
def _validated(entity: Entity, op: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return validate_payload(entity, op, body)
    except PayloadError as error:
        raise Invalid(error.message, field=error.field) from error


def _checked_key(key: str) -> str:
    try:
        return validate_key(key)
    except PayloadError as error:
        raise Invalid(error.message, field=error.field) from error


def _own_id(principal: Principal) -> str:
    try:
        return principal.own_id()
    except UnusableClaim as error:
        # The request's own token is at fault; `token.` keeps the claim apart from a body field.
        raise Invalid(error.message, field=f"token.{error.claim}") from error
