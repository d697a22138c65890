"""Declaring an entity: its contract (fields, place in the graph, what it decides) and binding its rules.

An entity is a package in the application's `entities` folder:

- `entities/orders/__init__.py`, the contract: the `Entity` with its fields,
  parent and children, access and scaling, and a declaration of everything its
  worker decides (`orders.action(...)`, `orders.answer(...)`, `orders.admits(...)`,
  `orders.on_create(...)`, `orders.on_delete(...)`). The api, the console, the
  registry's checks and the infra read contracts, and their images carry every
  entity's contract and no entity's rules.
- `entities/orders/rules.py`, the logic: one pure function per declaration,
  named like it, bound with `@orders.rule`. Only the entity's own worker image
  carries it, so a fix to a rule moves that one image.

Nothing else needs changing to add an action: the registry, the worker, the api
routes, the console and the OpenAPI document all read the declaration.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel

from queuefirst.model.access import Access
from queuefirst.model.actions import Admitted, Empty, Rule
from queuefirst.model.command import CREATE, DELETE
from queuefirst.model.declarations import (
    ON_CREATE,
    ON_DELETE,
    Audience,
    Declaration,
    Kind,
    Reference,
    admission_name,
    checked,
)
from queuefirst.model.preconditions import Requirement

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
Requirements = Requirement | Iterable[Requirement]
# Columns every row table has besides its fields (`queuefirst.store.tables`).
RESERVED_FIELDS = frozenset({"id", "alive", "stamp", "holds"})


@dataclass(frozen=True)
class Scaling:
    """Per-entity knobs, mirrored by the local stack and by the infrastructure.

    Entity queues are FIFO, so a batch holds at most ten messages and there is
    no batching window (SQS and Lambda allow neither for FIFO). The visibility
    timeout is derived (6x the function timeout), as AWS recommends for SQS
    event sources, so the two can never disagree.
    """

    batch_size: int = 10
    maximum_concurrency: int = 2
    reserved_concurrency: int | None = None
    memory_mb: int = 512
    timeout_seconds: int = 30
    max_receive_count: int = 5
    local_concurrency: int = 1

    @property
    def visibility_timeout_seconds(self) -> int:
        return 6 * self.timeout_seconds


@dataclass(frozen=True)
class BoundRule:
    function: Rule
    wants_meta: bool  # its last parameter takes the command's `Meta`


@dataclass(frozen=True, eq=False)  # identity hash: entities key caches
class Entity:
    """One business entity: one table, one queue, one worker function.

    `fields` is the pydantic model of a row's data (everything but the id and
    the parent reference). `set_by_actions` names the fields only the entity's
    rules change: a create takes their defaults, an update cannot touch them.
    `fixed` names the fields set at creation and never updated. `parent_field`
    names the column holding the parent's id, fixed at creation. `asks` names
    the entities besides its children this one sends commands to; the graph of
    both edges must be acyclic. `references` names the fields pointing at rows
    of other entities (`Reference`). `access` says who owns a row (see
    `queuefirst.model.access`); declaring nothing leaves the entity to operators.
    """

    name: str
    fields: type[BaseModel]
    parent: str | None = None
    parent_field: str | None = None
    children: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()
    set_by_actions: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    scaling: Scaling = field(default_factory=Scaling)
    references: dict[str, str | Reference] = field(default_factory=dict)
    access: Access = field(default_factory=Access)
    declarations: dict[str, Declaration] = field(default_factory=dict, init=False, repr=False)
    rules: dict[str, BoundRule] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"entity name {self.name!r} must match {_NAME.pattern}")
        if (self.parent is None) != (self.parent_field is None):
            raise ValueError(f"entity {self.name!r}: parent and parent_field go together")
        clash = (RESERVED_FIELDS | {self.parent_field or "id"}) & set(self.fields.model_fields)
        if clash:
            raise ValueError(f"entity {self.name!r}: fields may not be named {sorted(clash)}")
        for name in self.fixed:
            if name not in self.fields.model_fields or name in self.set_by_actions:
                raise ValueError(f"entity {self.name!r}: fixed field {name!r} is not a writable field")
        for name in self.set_by_actions:
            info = self.fields.model_fields.get(name)
            if info is None:
                raise ValueError(f"entity {self.name!r}: field {name!r} set by actions is not a field")
            if info.is_required():
                raise ValueError(f"entity {self.name!r}: field {name!r} set by actions needs a default")
        for name in self.references:
            if name not in self.fields.model_fields:
                raise ValueError(f"entity {self.name!r}: reference {name!r} is not a field")

    # -- the contract -------------------------------------------------------------------

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self.fields.model_fields)

    @property
    def writable_fields(self) -> tuple[str, ...]:
        """The fields a create sets."""
        return tuple(name for name in self.field_names if name not in self.set_by_actions)

    @property
    def updatable_fields(self) -> tuple[str, ...]:
        """The fields an update may change."""
        return tuple(name for name in self.writable_fields if name not in self.fixed)

    @property
    def sends_to(self) -> tuple[str, ...]:
        """Every entity this one's worker may ask (its answers go back up the edge they answer)."""
        return (*self.children, *self.asks)

    @property
    def actions(self) -> dict[str, Declaration]:
        return self._of(Kind.ACTION)

    @property
    def answer_handlers(self) -> dict[str, Declaration]:
        return self._of(Kind.ANSWER)

    @property
    def admissions(self) -> dict[str, Declaration]:
        """The parent's admissions, by the child entity whose writes they decide."""
        return {d.child or "": d for d in self._of(Kind.ADMISSION).values()}

    @property
    def holds_asks(self) -> bool:
        """Some declaration holds what it asks: the rows keep a record of their holds."""
        return any(d.holds for d in self.declarations.values())

    def hook(self, name: str) -> Declaration | None:
        declared = self.declarations.get(name)
        return declared if declared is not None and declared.kind is Kind.HOOK else None

    @property
    def referenced(self) -> dict[str, str]:
        """Each referencing field and the entity it points at."""
        return {name: self.reference(name).entity for name in self.references}

    def reference(self, name: str) -> Reference:
        target = self.references[name]
        return target if isinstance(target, Reference) else Reference(target)

    def action(
        self,
        name: str,
        input: type[BaseModel] = Empty,
        /,
        *,
        audience: Audience = Audience.END_USERS,
        when: Requirements = (),
        asks: Iterable[str] = (),
        holds: Iterable[str] = (),
        answers: Iterable[str] = (),
        undo: str | None = None,
        summary: str | None = None,
    ) -> Declaration:
        """Declare an action: a route of the api unless `audience` is internal (then only other
        entities ask for it). `undo`: the action that gives back what an ask of this one took,
        when the asker withdraws it."""
        return self._declare(
            Declaration(
                name,
                Kind.ACTION,
                input,
                _requirements(when),
                tuple(asks),
                tuple(holds),
                tuple(answers),
                summary or _said(name),
                audience,
                undo,
            )
        )

    def answer(
        self,
        name: str,
        input: type[BaseModel],
        /,
        *,
        answers: Iterable[str] = (),
        asks: Iterable[str] = (),
        summary: str | None = None,
    ) -> Declaration:
        """Declare a handler of the answer `name`, which an entity this one asked sends back: it may
        change this row and answer further up (`answers`). It may never ask anything down: the
        registry refuses a handler that declares `asks`, naming the loop it would make."""
        return self._declare(
            Declaration(
                name,
                Kind.ANSWER,
                input,
                asks=tuple(asks),
                answers=tuple(answers),
                summary=summary or _said(name),
            )
        )

    def admits(
        self,
        child: str,
        *ops: str,
        when: Requirements = (),
        answers: Iterable[str] = (),
        summary: str | None = None,
    ) -> Declaration:
        """Declare that writes to the child `child` (`ops`: creates, and deletes where named) are
        decided first by this entity's worker, in this row's lane, while `when` holds of it; the
        rule `admit_<child>`, if any, may change this row and grant the child's create values."""
        if child not in self.children:
            raise ValueError(f"{self.name} admits {child}, which is not among its children")
        chosen = ops or (CREATE,)
        if set(chosen) - {CREATE, DELETE}:
            raise ValueError(f"{self.name} admits {child}'s {chosen}: admissions are of creates and deletes")
        name = admission_name(child)
        return self._declare(
            Declaration(
                name,
                Kind.ADMISSION,
                Admitted,
                _requirements(when),
                tuple(f"{child}.{op}" for op in chosen),
                answers=tuple(answers),
                summary=summary or f"admit {child}",
                child=child,
                ops=tuple(chosen),
                rule_required=False,
            )
        )

    def on_create(
        self,
        *,
        asks: Iterable[str] = (),
        holds: Iterable[str] = (),
        answers: Iterable[str] = (),
    ) -> Declaration:
        """Declare the rule run on each new row (and on a row re-created, which sees the deleted one)."""
        return self._declare(
            Declaration(
                ON_CREATE,
                Kind.HOOK,
                asks=tuple(asks),
                holds=tuple(holds),
                answers=tuple(answers),
                summary="on create",
                rule_required=False,
            )
        )

    def on_delete(
        self,
        *,
        when: Requirements = (),
        asks: Iterable[str] = (),
        answers: Iterable[str] = (),
    ) -> Declaration:
        """Declare what a delete requires (`when`) and the rule run before it: a delete that fails
        them is rejected, and a cascade's leaves the row where it is (a paid order is kept)."""
        return self._declare(
            Declaration(
                ON_DELETE,
                Kind.HOOK,
                Empty,
                _requirements(when),
                tuple(asks),
                answers=tuple(answers),
                summary="on delete",
                rule_required=False,
            )
        )

    def _of(self, kind: Kind) -> dict[str, Declaration]:
        return {name: d for name, d in self.declarations.items() if d.kind is kind}

    def _declare(self, declaration: Declaration) -> Declaration:
        checked(self.name, declaration)
        if declaration.name in self.declarations:
            raise ValueError(f"{self.name}: {declaration.name!r} is declared twice")
        for entity, _ in declaration.targets():
            if entity not in self.sends_to:
                raise ValueError(
                    f"{self.name}.{declaration.name} asks {entity}: declare it in children or asks "
                    f"(it sends to {', '.join(self.sends_to) or 'nobody'})"
                )
        for requirement in declaration.when:
            unknown = requirement.fields - set(self.field_names)
            if unknown:
                raise ValueError(
                    f"{self.name}.{declaration.name}: {requirement!r} reads unknown fields {sorted(unknown)}"
                )
        self.declarations[declaration.name] = declaration
        return declaration

    # -- the logic ----------------------------------------------------------------------

    def rule(self, function: Rule) -> Rule:
        """Bind `function` to the declaration named like it (in the entity's rules module)."""
        name = function.__name__
        declared = self.declarations.get(name)
        if declared is None:
            known = ", ".join(sorted(self.declarations)) or "nothing"
            raise ValueError(f"{self.name}: the rule {name!r} answers no declaration (declared: {known})")
        if name in self.rules:
            raise ValueError(f"{self.name}: the rule {name!r} is written twice")
        takes = len(inspect.signature(function).parameters)
        base = 1 if declared.kind is Kind.HOOK else 2
        if takes not in (base, base + 1):
            shape = "(row[, meta])" if base == 1 else "(row, given[, meta])"
            raise ValueError(f"{self.name}.{name} must take {shape}")
        self.rules[name] = BoundRule(function, takes == base + 1)
        return function

    def missing_rules(self) -> list[str]:
        """Declarations whose rule is required but not written (the worker refuses to start)."""
        return sorted(n for n, d in self.declarations.items() if d.rule_required and n not in self.rules)


def _requirements(when: Requirements) -> tuple[Requirement, ...]:
    return (when,) if isinstance(when, Requirement) else tuple(when)


def _said(name: str) -> str:
    return name.replace("_", " ")
