"""Declaring an entity: its fields, its place in the hierarchy and how it scales."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


@dataclass(frozen=True)
class Scaling:
    """Per-entity knobs, mirrored by the local stack and by the infrastructure.

    The visibility timeout is derived (6x the function timeout), as AWS
    recommends for SQS event sources, so the two can never disagree.
    """

    batch_size: int = 10
    batching_window_seconds: int = 0
    maximum_concurrency: int = 2
    reserved_concurrency: int | None = None
    memory_mb: int = 512
    timeout_seconds: int = 30
    max_receive_count: int = 5
    local_concurrency: int = 1

    @property
    def visibility_timeout_seconds(self) -> int:
        return 6 * self.timeout_seconds


@dataclass(frozen=True, eq=False)  # identity hash: entities key caches
class Entity:
    """One business entity: one table, one queue, one worker function.

    `fields` is the pydantic model of what a create carries (everything but
    the id and the parent reference). `parent_field` names the column that
    holds the parent's id; it is set at creation and never changes.
    """

    name: str
    fields: type[BaseModel]
    parent: str | None = None
    parent_field: str | None = None
    children: tuple[str, ...] = ()
    scaling: Scaling = field(default_factory=Scaling)
    # Other entities this one points at without owning them (order_items ->
    # products): field name -> entity name. Checked by the api on create.
    references: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"entity name {self.name!r} must match {_NAME.pattern}")
        if (self.parent is None) != (self.parent_field is None):
            raise ValueError(f"entity {self.name!r}: parent and parent_field go together")
        reserved = {"id", self.parent_field or "id"}
        clash = reserved & set(self.fields.model_fields)
        if clash:
            raise ValueError(f"entity {self.name!r}: fields may not be named {sorted(clash)}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self.fields.model_fields)
