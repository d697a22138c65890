"""The command envelope: the one message shape every producer sends to a queue.

A command carries everything its effect depends on, so a worker applying it
needs no clock and mints no ids. Its `op` is `create`, `update`, `delete` or
the name of one of the entity's actions; its `scope` says whether it is for
one row (`key`) or for every row under the parent `key` (a parent's ask of
its children, such as the cascade of a delete).

Commands travel on FIFO queues, in message groups called lanes: a child
entity's rows share their parent's lane, a root entity's row has its own. A
worker applies a lane's commands one at a time in the order the queue took
them, so a row's commands, and the asks its parent sends its children, take
effect in one defined order whatever SQS redelivers.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

# Versions fit PostgreSQL's BIGINT; twenty digits hold any of them.
_VERSION_DIGITS = 20
_VERSION_LIMIT = 2**63
CREATE, UPDATE, DELETE = "create", "update", "delete"
# A child's write on its way through its parent's admission; an ask taken back by its asker.
ADMIT, WITHDRAW = "admit", "withdraw"
BUILT_IN_OPS = (CREATE, UPDATE, DELETE, ADMIT, WITHDRAW)
OP_PATTERN = r"^[a-z][a-z0-9_]{0,40}$"


class Status(StrEnum):
    """What became of a command (its status in the log, and at GET /commands/<id>)."""

    PENDING = "pending"  # not applied yet, or failing and retried (see its dead letters)
    APPLIED = "applied"  # its effect and its asks happened, once
    REJECTED = "rejected"  # it could not apply, for the recorded reason; never retried
    DUPLICATE = "duplicate"  # a redelivery of an applied command: nothing changes, its asks are re-sent
    WITHDRAWN = "withdrawn"  # its asker took it back before it applied: it never will
    # An applied command whose ask was refused (the row says why): at GET /commands/<id> only.
    REFUSED = "refused"


class Scope(StrEnum):
    ROW = "row"
    # Every row under the parent `key` (that matches `where`), in key order.
    CHILDREN = "children"


class Producer(BaseModel):
    """Who sent a command, for its history; no worker decision depends on it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(min_length=1, max_length=32)  # api, admin, worker, operator
    principal: str | None = Field(default=None, max_length=256)


class TrailStep(BaseModel):
    """One command of the chain that led here: at which row, and whether it went up (an answer).

    The row (`key`, `parent`: its lane) is where an answer to this step goes back to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: str
    command_id: uuid.UUID
    key: str | None = None
    parent: str | None = None
    answered: bool = False  # this step's command answered the one that asked it


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    command_id: uuid.UUID
    entity: str = Field(min_length=1, max_length=64)
    op: str = Field(pattern=OP_PATTERN)
    key: str = Field(min_length=1, max_length=128)
    scope: Scope = Scope.ROW
    # The row's parent key: required for a row of a child entity (it names the lane).
    parent: str | None = Field(default=None, min_length=1, max_length=128)
    version: int = Field(ge=0, lt=_VERSION_LIMIT)
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    # Scope `children` only: the rows whose fields equal these.
    where: dict[str, JsonValue] = Field(default_factory=dict)
    trail: tuple[TrailStep, ...] = ()
    producer: Producer | None = None
    # An admitted create: values its parent's admission granted for fields set by actions only.
    granted: dict[str, JsonValue] = Field(default_factory=dict)

    @property
    def lane(self) -> str:
        """The FIFO message group: the parent's key for a child's row, else the key."""
        if self.scope is Scope.CHILDREN or self.parent is None:
            return self.key
        return self.parent

    @property
    def stamp(self) -> str:
        """Order of a command against the cascades that reach its row: the api-issued
        version, then the id of the command that started the chain. Compared as bytes."""
        origin = self.trail[0].command_id if self.trail else self.command_id
        return f"{self.version:0{_VERSION_DIGITS}d}.{origin}"

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def from_json(cls, body: str | bytes) -> Command:
        return cls.model_validate_json(body)

    def visited(self, entity: str) -> bool:
        return any(step.entity == entity for step in self.trail)

    def derive(
        self,
        *,
        entity: str,
        op: str,
        key: str,
        label: str,
        scope: Scope = Scope.ROW,
        parent: str | None = None,
        payload: dict[str, Any] | None = None,
        where: dict[str, Any] | None = None,
    ) -> Command:
        """A command this one causes at another entity (an ask).

        Its id is a UUIDv5 of this command's id and `label` (which names the
        ask among this command's asks), and it keeps this version, so a
        redelivered command re-sends byte-identical asks that the receiving
        worker recognises as duplicates.
        """
        return Command(
            command_id=uuid.uuid5(self.command_id, label),
            entity=entity,
            op=op,
            key=key,
            scope=scope,
            parent=parent,
            version=self.version,
            payload=payload or {},
            where=where or {},
            trail=(*self.trail, self.step()),
            producer=Producer(kind="worker", principal=self.entity),
        )

    def step(self, *, answered: bool = False) -> TrailStep:
        """This command as a step of the trail of the commands it causes."""
        return TrailStep(
            entity=self.entity,
            command_id=self.command_id,
            key=self.key,
            parent=self.parent,
            answered=answered,
        )

    def answer(self, to: TrailStep, op: str, payload: dict[str, Any]) -> Command:
        """The answer to this command, for the row that asked it (`to`), in that row's lane.

        Its id is derived from this command's, one answer per command: a redelivered
        command re-sends a byte-identical answer, which the asker finds in its log."""
        assert to.key is not None, "an answer goes back to a row"
        return Command(
            command_id=uuid.uuid5(self.command_id, "answer"),
            entity=to.entity,
            op=op,
            key=to.key,
            parent=to.parent,
            version=self.version,
            payload=payload,
            trail=(*self.trail, self.step(answered=True)),
            producer=Producer(kind="worker", principal=self.entity),
        )

    def admitted(
        self, child: str, op: str, key: str, payload: dict[str, Any], granted: dict[str, Any]
    ) -> Command:
        """The child's write this admission carries on: the client's own command, so it keeps
        its id (the api's receipt names it) and its version, in the child's lane."""
        return Command(
            command_id=self.command_id,
            entity=child,
            op=op,
            key=key,
            parent=self.key,
            version=self.version,
            payload=payload,
            granted=granted,
            trail=(*self.trail, self.step()),
            producer=self.producer,
        )

    def for_row(self, key: str, born: uuid.UUID | None = None, after: uuid.UUID | None = None) -> Command:
        """This children-scoped command as it applies to one row under its parent.

        Applied in the same transaction, never sent; its id is derived, so its
        own asks are the same every time. `born` names the create of a row this
        command reaches late (born under it), `after` the command after which a
        row this cascade kept is judged again, so each such catch-up has its own id.
        """
        label = f"row/{key}"
        if born is not None:
            label += f"/born/{born}"
        if after is not None:
            label += f"/after/{after}"
        return self.model_copy(
            update={
                "command_id": uuid.uuid5(self.command_id, label),
                "key": key,
                "scope": Scope.ROW,
                "parent": self.key,
                "where": {},
            }
        )
