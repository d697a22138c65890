"""Business actions: the entity's own logic, as pure decide functions.

An action is declared in the entity's module with one decorated function:

    @orders.action
    def pay(row: Row[OrderFields], given: Payment, meta: Meta) -> Decision:
        if row.fields.status != "pending":
            return reject(f"only a pending order can be paid; this one is {row.fields.status}")
        return accept(status="paid", payment_reference=given.reference)

`given` is the action's input, validated with its pydantic model (the
annotation) by the api and again by the worker. A decide function reads
only its arguments: no clock, no ids, no I/O (a test checks the source). It
returns a `Decision`: a rejection with its reason, or the changes to its own
row plus the commands it asks of other entities (`ask`, `ask_children`).

Hooks run the same way on a row's create and delete (`on_create`,
`on_delete`): an order item's create asks its product to reserve stock, its
delete asks it to release it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from queuefirst.model.command import Scope, TrailStep

F = TypeVar("F", bound=BaseModel)


class Empty(BaseModel):
    """The input of an action that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Row(Generic[F]):
    """A row as a decide function sees it: its key, its parent and its fields."""

    key: str
    parent: str | None
    exists: bool
    fields: F


@dataclass(frozen=True)
class Meta:
    """The command's own metadata: its id, its version and what led to it."""

    command_id: uuid.UUID
    version: int
    trail: tuple[TrailStep, ...]
    op: str

    def derived_id(self, label: str) -> str:
        """A deterministic id for something this command names (never a fresh one)."""
        return str(uuid.uuid5(self.command_id, label))


@dataclass(frozen=True)
class Ask:
    """A command this decision asks of another entity (or of this row's children)."""

    entity: str
    op: str
    key: str | None  # None: this row's own key (children scope)
    scope: Scope = Scope.ROW
    parent: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    where: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    changes: Mapping[str, Any] = field(default_factory=dict)
    asks: tuple[Ask, ...] = ()
    rejection: str | None = None

    @property
    def rejected(self) -> bool:
        return self.rejection is not None

    def ask(self, entity: str, key: str, op: str, *, parent: str | None = None, **payload: Any) -> Decision:
        """Also ask one row of `entity` (a root, or a child naming its `parent`) to do `op`."""
        return replace(self, asks=(*self.asks, Ask(entity, op, key, Scope.ROW, parent, payload)))

    def ask_children(
        self, entity: str, op: str, *, where: Mapping[str, Any] | None = None, **payload: Any
    ) -> Decision:
        """Also ask every row of the child `entity` under this row (matching `where`) to do `op`."""
        ask = Ask(entity, op, None, Scope.CHILDREN, None, payload, dict(where or {}))
        return replace(self, asks=(*self.asks, ask))


def ask_label(index: int, ask: Ask, key: str) -> str:
    """What names an ask among its command's asks (its id is derived from this)."""
    return f"{index}:{ask.entity}/{ask.scope.value}/{key}/{ask.op}"


def accept(**changes: Any) -> Decision:
    """The command applies: these fields of the row change (none is fine)."""
    return Decision(changes=changes)


def reject(reason: str) -> Decision:
    """The command cannot apply, for this reason: recorded, answered, never retried."""
    if not reason:
        raise ValueError("a rejection needs a reason")
    return Decision(rejection=reason)


Decide = Callable[[Row[Any], Any, Meta], Decision]
Hook = Callable[[Row[Any], Meta], Decision]


class Audience(StrEnum):
    """Who takes an action: declared once, by its decorator, and read everywhere (its route, the
    api's check, the console's forms) through `queuefirst.model.http_routes.actors`."""

    END_USERS = "end users"  # whoever writes the row: the end users who own it, and operators
    OPERATORS = "operators"  # operators alone, even on rows end users own (suspending a customer)
    INTERNAL = "internal"  # no route: only other entities ask for it (a product's reserve)


@dataclass(frozen=True)
class Action:
    name: str
    input: type[BaseModel]
    decide: Decide
    summary: str
    audience: Audience = Audience.END_USERS
