"""The command envelope: the one message shape every producer sends to a queue.

A command carries everything its effect depends on, so a worker applying it
needs no clock and mints no ids. Its `stamp` orders it against every other
command on the same row: the api-issued version first, the command id to
break ties between api instances.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

# Versions fit PostgreSQL's BIGINT; twenty digits hold any of them.
_VERSION_DIGITS = 20
_VERSION_LIMIT = 2**63


class Op(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    # Cascade: delete every row under the parent `key` that was created
    # before this command's stamp. Sent by a parent worker to its children.
    PURGE = "purge"


class TrailStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: str
    command_id: uuid.UUID


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    command_id: uuid.UUID
    entity: str = Field(min_length=1, max_length=64)
    op: Op
    key: str = Field(min_length=1, max_length=128)
    version: int = Field(ge=0, lt=_VERSION_LIMIT)
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    trail: tuple[TrailStep, ...] = ()

    @property
    def stamp(self) -> str:
        """Total order of commands: fixed-width version, then the command id.

        A cascade (`purge`) is ordered as the delete it comes from: the first
        command of its trail. Otherwise, when a child's create and its
        parent's delete share a version (two api processes in the same
        microsecond), the tie would be broken by the derived id, not by the
        delete's own. Compared as bytes (stamp columns use the "C" collation).
        """
        origin = self.trail[0].command_id if self.op is Op.PURGE and self.trail else self.command_id
        return f"{self.version:0{_VERSION_DIGITS}d}.{origin}"

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, body: str | bytes) -> Command:
        return cls.model_validate_json(body)

    def visited(self, entity: str) -> bool:
        return any(step.entity == entity for step in self.trail)

    def derive(self, *, entity: str, op: Op, key: str, payload: dict[str, Any] | None = None) -> Command:
        """The command this one causes at a child entity.

        Its id is a UUIDv5 of this command's id and the child's entity and key,
        and it keeps this version, so a redelivered parent re-sends
        byte-identical children that the child worker recognises as duplicates.
        """
        return Command(
            command_id=uuid.uuid5(self.command_id, f"{entity}/{key}"),
            entity=entity,
            op=op,
            key=key,
            version=self.version,
            payload=payload or {},
            trail=(*self.trail, TrailStep(entity=self.entity, command_id=self.command_id)),
        )
