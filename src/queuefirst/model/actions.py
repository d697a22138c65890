"""What a rule sees and what it returns: the row, the input, and a `Decision`.

A rule is a pure function in the entity's rules module, bound to a declaration
of its contract by name (`queuefirst.model.entity`):

    @orders.rule
    def pay(order: Row[OrderFields], given: Payment) -> Decision:
        return accept(status="paid", payment_reference=given.reference)

It reads only its arguments (a third, `meta: Meta`, where it needs the
command's id or version): no clock, no ids, no I/O (a test checks the source).
It returns a rejection with its reason, or the changes to its own row and what
else the decision does, each in one call, arguments always in the order
entity, op, target, then the payload's fields:

- `.ask(entity, op, key, [parent])`, `.ask_children(entity, op, [where])`: commands down the graph;
- `.answer(name, **payload)`: the answer to the command that asked this row, up the edge it came by;
- `.withdraw([entity, op])`, `.settle([entity, op])`: give back, or keep for good, what this row holds
  (the stock a reservation took);
- `.grant(**fields)` (an admission's rule): values the admitted child's create takes for fields set by
  actions only (an order's currency for its item).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from queuefirst.model.command import Scope, TrailStep

F = TypeVar("F", bound=BaseModel)
REFUSED = "refused"  # the answer a rejected command sends, where its declaration lists it


class Empty(BaseModel):
    """The input of an action that takes none."""

    model_config = ConfigDict(extra="forbid")


class Refusal(BaseModel):
    """What a `refused` answer carries: why, and which op of the asked row said no."""

    reason: str = Field(min_length=1, max_length=2000)
    op: str = Field(min_length=1, max_length=64)


class Admitted(BaseModel):
    """An admission rule's input: the child's write its parent decides on (validated by the child)."""

    entity: str
    op: str
    key: str = Field(min_length=1, max_length=128)
    payload: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Row(Generic[F]):
    """A row as a rule sees it: its key, its parent, its fields; on a re-create, the deleted row's."""

    key: str
    parent: str | None
    fields: F
    previous: F | None = None


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

    @property
    def target(self) -> str:
        return f"{self.entity}.{self.op}"


@dataclass(frozen=True)
class Answer:
    name: str
    payload: Mapping[str, Any] = field(default_factory=dict)


# (entity, op) a withdrawal or a settlement names; None matches any.
Selector = tuple[str | None, str | None]


@dataclass(frozen=True)
class Decision:
    changes: Mapping[str, Any] = field(default_factory=dict)
    asks: tuple[Ask, ...] = ()
    rejection: str | None = None
    answered: Answer | None = None
    withdrawals: tuple[Selector, ...] = ()
    settlements: tuple[Selector, ...] = ()
    granted: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        return self.rejection is not None

    def ask(self, entity: str, op: str, key: str, parent: str | None = None, /, **payload: Any) -> Decision:
        """Also ask one row of `entity` (a root, or a child under `parent`) to do `op`."""
        return replace(self, asks=(*self.asks, Ask(entity, op, key, Scope.ROW, parent, payload)))

    def ask_children(
        self, entity: str, op: str, where: Mapping[str, Any] | None = None, /, **payload: Any
    ) -> Decision:
        """Also ask every row of the child `entity` under this row (whose fields equal `where`) to do `op`."""
        ask = Ask(entity, op, None, Scope.CHILDREN, None, payload, dict(where or {}))
        return replace(self, asks=(*self.asks, ask))

    def answer(self, name: str, /, **payload: Any) -> Decision:
        """Answer the command that asked this row (one answer per decision, a declared name)."""
        if self.answered is not None:
            raise ValueError(f"a decision answers once; it already answers {self.answered.name!r}")
        return replace(self, answered=Answer(name, payload))

    def withdraw(self, entity: str | None = None, op: str | None = None, /) -> Decision:
        """Take back what this row holds from its asks (of `entity`'s `op`, or all): each is undone
        by the asked row exactly if it applied, with what it took (a reservation's stock)."""
        return replace(self, withdrawals=(*self.withdrawals, (entity, op)))

    def settle(self, entity: str | None = None, op: str | None = None, /) -> Decision:
        """Keep for good what this row holds from its asks (goods shipped): nothing goes back."""
        return replace(self, settlements=(*self.settlements, (entity, op)))

    def grant(self, **fields: Any) -> Decision:
        """(An admission.) Values for the admitted create's fields set by actions only."""
        return replace(self, granted={**self.granted, **fields})


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


Rule = Callable[..., Decision]
