"""What an entity's contract declares about each thing its worker decides.

Every rule of an entity's rules module answers one declaration of its contract,
named like it: an action, an answer handler, an admission of a child's writes,
or a hook on its rows' create and delete. A declaration says everything the
rest of the system needs without the rule itself: its input, who may take it
(`audience`), what it requires of the row (`when`), what it may ask of which
entities (`asks`) and hold until it withdraws or settles (`holds`), which
answers it may send back up (`answers`), and for an asked action whether and
how an ask of it can be withdrawn (`undo`). The api, the console, the registry's
graph checks and the infra read declarations; only the worker runs rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel

from queuefirst.model.actions import REFUSED, Admitted, Empty
from queuefirst.model.command import BUILT_IN_OPS, OP_PATTERN
from queuefirst.model.preconditions import Requirement

_OP = re.compile(OP_PATTERN)
_TARGET = re.compile(r"^([a-z][a-z0-9_]{0,40})\.([a-z][a-z0-9_]{0,40})$")
ON_CREATE, ON_DELETE = "on_create", "on_delete"


class Audience(StrEnum):
    """Who takes an action: read everywhere (its route, the api's check, the console's forms)
    through `queuefirst.model.http_routes.actors`."""

    END_USERS = "end users"  # whoever writes the row: the end users who own it, and operators
    OPERATORS = "operators"  # operators alone, even on rows end users own (suspending a customer)
    INTERNAL = "internal"  # no route: only other entities ask for it (a product's reserve)


class Kind(StrEnum):
    ACTION = "action"
    ANSWER = "answer"  # a handler reached by an answer from below: it never sends anything down
    ADMISSION = "admission"  # decides a child's write in the parent's lane, then asks the child
    HOOK = "hook"  # on_create, on_delete


@dataclass(frozen=True)
class Declaration:
    name: str  # the rule's name, and the op of the command that reaches it
    kind: Kind
    input: type[BaseModel] = Empty
    when: tuple[Requirement, ...] = ()
    asks: tuple[str, ...] = ()  # "entity.op"
    holds: tuple[str, ...] = ()  # "entity.op" among `asks` whose effect the row holds
    answers: tuple[str, ...] = ()
    summary: str = ""
    audience: Audience = Audience.INTERNAL  # actions
    undo: str | None = None  # actions: the action that undoes an applied ask of this one
    child: str | None = None  # admissions: whose writes
    ops: tuple[str, ...] = ()  # admissions: which of them
    rule_required: bool = True

    @property
    def refusable(self) -> bool:
        """A rejection of it answers `refused` to whoever asked."""
        return REFUSED in self.answers

    def targets(self) -> list[tuple[str, str]]:
        return [_split(target) for target in self.asks]


def checked(entity: str, declaration: Declaration) -> Declaration:
    """The declaration, or a ValueError naming what is wrong with it."""
    where = f"{entity}.{declaration.name}"
    if declaration.kind is not Kind.HOOK and (
        not _OP.match(declaration.name) or declaration.name in BUILT_IN_OPS
    ):
        raise ValueError(
            f"{where}: {declaration.name!r} cannot be declared ({', '.join(BUILT_IN_OPS)} are the kit's)"
        )
    for target in (*declaration.asks, *declaration.holds):
        _split(target, where)
    unheld = set(declaration.holds) - set(declaration.asks)
    if unheld:
        raise ValueError(f"{where} holds {sorted(unheld)} but does not ask them: list them in asks too")
    for name in declaration.answers:
        if not _OP.match(name):
            raise ValueError(f"{where} answers {name!r}, which cannot name an answer")
    if declaration.undo is not None and declaration.kind is not Kind.ACTION:
        raise ValueError(f"{where}: only an action can be undone")
    if not issubclass(declaration.input, BaseModel):
        raise ValueError(f"{where}: its input must be a pydantic model")
    given = set(declaration.input.model_fields)
    for requirement in declaration.when:
        missing = requirement.given_fields - given
        if missing and declaration.kind is not Kind.ADMISSION:
            raise ValueError(
                f"{where}: {requirement!r} reads {sorted(missing)}, not in {declaration.input.__name__}"
            )
    return declaration


def admission_input() -> type[BaseModel]:
    return Admitted


def admission_name(child: str) -> str:
    return f"admit_{child}"


def _split(target: str, where: str = "") -> tuple[str, str]:
    match = _TARGET.match(target)
    if match is None:
        raise ValueError(f"{where}: {target!r} names no entity's op: write it 'entity.op'")
    return match.group(1), match.group(2)


@dataclass(frozen=True)
class Reference:
    """A field pointing at a row of another entity (order_items.product_id -> products).

    The api checks the row exists; `checked_by` names an action of that entity
    whose preconditions the api also checks, as a courtesy, on the row it reads,
    with `given` mapping that action's input fields to this entity's fields (an
    item's create is checked by its product's `reserve`, given its quantity).
    """

    entity: str
    checked_by: str | None = None
    given: dict[str, str] = field(default_factory=dict)
