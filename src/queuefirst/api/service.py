"""What the api does, without HTTP: checks, reads, and commands to enqueue.

Writes never touch business tables: they become commands on the entity's
queue, or, where the entity's parent admits them, on the parent's (an order
item's create goes to the orders queue, in its order's lane). The checks here
(404 for a missing row, 409 for an existing id or a declared precondition that
already says no) are a courtesy to clients: the api checks what the contracts
declare (`queuefirst.model.preconditions`) on the rows as they stand, but the
worker, checking the same declarations when the command's turn comes and
running the rules the api never sees, is the authority.

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
from queuefirst.api.status import awaited, own_entry, settled
from queuefirst.api.versioning import VersionClock, new_id
from queuefirst.model.access import Owner
from queuefirst.model.admission import ParentRow, admission, through_parent
from queuefirst.model.command import ADMIT, CREATE, DELETE, UPDATE, Command, Producer, Status
from queuefirst.model.declarations import ON_DELETE
from queuefirst.model.entity import Entity
from queuefirst.model.http_routes import STATUS_PATHS, actors
from queuefirst.model.payloads import PayloadError, validate_key, validate_payload
from queuefirst.model.preconditions import Requirement, first_refusal
from queuefirst.model.principal import OPERATORS, USERS, Principal, UnusableClaim
from queuefirst.model.registry import Registry
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
        parent_key = payload.get(entity.parent_field) if entity.parent_field else None
        parent: FoundRow | None = None
        with self.database.reading() as conn:
            if entity.parent and entity.parent_field:
                parent_entity = self.registry[entity.parent]
                parent = self._linked(conn, principal, parent_entity, str(parent_key), entity.parent_field)
            taken, floor = self.reader.key_state(conn, entity, key)
            if taken:
                # Someone else's row answers as it does everywhere else: absent.
                if not self.reach.may_write(conn, principal, entity, key):
                    raise absent(entity, key)
                raise Conflict(f"{entity.name} {key} already exists", field="id")
            self._check_references(conn, principal, entity, payload)
        command = self._command(entity, CREATE, key, payload, parent_key, floor, producer, principal)
        return self._enqueue(self._through_parent(entity, parent, command), principal)

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
            parent = self._admitting_parent(conn, entity, row, DELETE)
        declared = entity.hook(ON_DELETE)
        _courtesy(declared.when if declared else (), row.values)
        command = self._command(entity, DELETE, key, {}, row.parent, row.version, producer, principal)
        return self._enqueue(self._through_parent(entity, parent, command), principal)

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
        declared = entity.actions.get(action)
        takers = actors(entity, declared) if declared is not None else None
        if declared is None or takers is None:
            raise NotFound(f"{entity.name} has no action {action!r}", field="action")
        if takers == OPERATORS and not principal.is_operator:
            raise NotFound(f"{entity.name}.{action} is the operators' action", field="action")
        payload = _validated(entity, action, body)
        with self.database.reading() as conn:
            row = self._require(conn, principal, entity, key)
        _courtesy(declared.when, row.values, payload)
        command = self._command(entity, action, key, payload, row.parent, row.version, producer, principal)
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
            entries = self.reader.command_entries(conn, [command_id])
            entry = own_entry(entries)
            if entries and not self.reach.command_visible(principal, entries[0].get("producer")):
                raise NotFound(f"no command {command_id} of yours", field="command_id")
            if entry is None:
                # Not applied yet (or only admitted by its parent so far), or failing and retried:
                # a queued command is invisible until its worker logs it.
                return {"command_id": str(command_id), "status": Status.PENDING}
            waits = awaited(self.registry, entry)
            answers = self.reader.command_entries(conn, list(waits)) if waits else []
        return settled(entry, waits, answers)

    # -- helpers --------------------------------------------------------------------------

    def _require(self, conn: Connection, principal: Principal, entity: Entity, key: str) -> FoundRow:
        row = self.reader.find(conn, entity, key)
        if row is None or not self.reach.may_write(conn, principal, entity, key):
            raise absent(entity, key)
        return row

    def _linked(
        self, conn: Connection, principal: Principal, target: Entity, key: str, field: str
    ) -> FoundRow:
        """A parent or a referenced row: out of an end user's reach it is absent (404); absent for
        an operator, or absent yet though the end user will own it, it is a state of other rows
        (409), retried once that row is applied."""
        if not principal.is_operator and not target.access.readable_by_all:
            if target.access.owner is Owner.SELF and key == principal.subject:
                pass  # their own root row: theirs whether applied yet or not
            elif not self.reach.owns(conn, principal, target, key):
                raise absent(target, key, field)
        found = self.reader.find(conn, target, key)
        if found is None:
            raise Conflict(f"no {target.name} with id {key}", field=field)
        return found

    def _check_references(
        self, conn: Connection, principal: Principal, entity: Entity, payload: dict[str, Any]
    ) -> None:
        for field in entity.references:
            value = payload.get(field)
            if value is None:
                continue
            reference = entity.reference(field)
            target = self.registry[reference.entity]
            found = self._linked(conn, principal, target, str(value), field)
            checking = target.actions.get(reference.checked_by or "")
            if checking is not None:
                given = {
                    name: payload[source] for name, source in reference.given.items() if source in payload
                }
                _courtesy(checking.when, found.values, given)

    def _admitting_parent(self, conn: Connection, entity: Entity, row: FoundRow, op: str) -> FoundRow | None:
        """The parent row that admits `op` on `row`, if its entity admits such writes."""
        if admission(self.registry, entity.name, op) is None or entity.parent is None or row.parent is None:
            return None
        return self.reader.find(conn, self.registry[entity.parent], row.parent)

    def _through_parent(self, entity: Entity, parent: FoundRow | None, command: Command) -> Command:
        """A write the parent admits goes to the parent, in the parent's lane; others as they are.

        The admission's preconditions are checked here first, as a courtesy, on the parent row."""
        declared = admission(self.registry, entity.name, command.op)
        if declared is None:
            return command
        if parent is None:
            raise Conflict(f"no {entity.parent} with id {command.parent}", field=entity.parent_field)
        _courtesy(declared.when, parent.values)
        return through_parent(self.registry, command, ParentRow(parent.key, parent.parent, parent.version))

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
        key = str(command.payload["key"]) if command.op == ADMIT else command.key
        return Accepted(key, command.command_id, STATUS_PATHS[principal.kind])


def _courtesy(
    requirements: tuple[Requirement, ...], row: dict[str, Any], given: dict[str, Any] | None = None
) -> None:
    """What the worker's declaration requires, checked on the row as it stands: the worker's
    own words in a 409. A courtesy: the worker checks again when the command's turn comes."""
    reason = first_refusal(requirements, row, given)
    if reason is not None:
        raise Conflict(reason, field=None)


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
