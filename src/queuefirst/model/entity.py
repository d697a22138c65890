"""Declaring an entity: its fields, its place in the graph, its actions and how it scales.

One module per entity holds one `Entity` and the decide functions of its
actions, registered with the entity's decorators (`@entity.action`,
`@entity.on_create`, `@entity.on_delete`). Nothing else needs changing to
add an action: the registry, the worker, the api routes and the OpenAPI
document all read the declaration.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from queuefirst.model.access import Access
from queuefirst.model.actions import Action, Audience, Decide, Hook
from queuefirst.model.command import BUILT_IN_OPS, OP_PATTERN

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_OP = re.compile(OP_PATTERN)
ON_CREATE, ON_DELETE = "on_create", "on_delete"


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


@dataclass(frozen=True, eq=False)  # identity hash: entities key caches
class Entity:
    """One business entity: one table, one queue, one worker function.

    `fields` is the pydantic model of a row's data (everything but the id and
    the parent reference). `managed` names the fields only actions and hooks
    change: a create takes their defaults, an update cannot touch them.
    `fixed` names the fields set at creation and never updated.
    `parent_field` names the column holding the parent's id, fixed at
    creation. `asks` names the entities besides its children this one sends
    commands to; the graph of both edges must be acyclic. `access` says who
    owns a row (see `queuefirst.model.access`); declaring nothing leaves the
    entity to operators alone.
    """

    name: str
    fields: type[BaseModel]
    parent: str | None = None
    parent_field: str | None = None
    children: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()
    managed: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    scaling: Scaling = field(default_factory=Scaling)
    # Other entities this one points at without owning them (order_items ->
    # products): field name -> entity name. Checked by the api on create.
    references: dict[str, str] = field(default_factory=dict)
    access: Access = field(default_factory=Access)
    actions: dict[str, Action] = field(default_factory=dict, init=False, repr=False)
    hooks: dict[str, Hook] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"entity name {self.name!r} must match {_NAME.pattern}")
        if (self.parent is None) != (self.parent_field is None):
            raise ValueError(f"entity {self.name!r}: parent and parent_field go together")
        reserved = {"id", self.parent_field or "id"}
        clash = reserved & set(self.fields.model_fields)
        if clash:
            raise ValueError(f"entity {self.name!r}: fields may not be named {sorted(clash)}")
        for name in self.fixed:
            if name not in self.fields.model_fields or name in self.managed:
                raise ValueError(f"entity {self.name!r}: fixed field {name!r} is not a writable field")
        for name in self.managed:
            info = self.fields.model_fields.get(name)
            if info is None:
                raise ValueError(f"entity {self.name!r}: managed field {name!r} is not a field")
            if info.is_required():
                raise ValueError(f"entity {self.name!r}: managed field {name!r} needs a default")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self.fields.model_fields)

    @property
    def writable_fields(self) -> tuple[str, ...]:
        """The fields a create sets."""
        return tuple(name for name in self.field_names if name not in self.managed)

    @property
    def updatable_fields(self) -> tuple[str, ...]:
        """The fields an update may change."""
        return tuple(name for name in self.writable_fields if name not in self.fixed)

    @property
    def sends_to(self) -> tuple[str, ...]:
        """Every entity this one's worker may send commands to."""
        return (*self.children, *self.asks)

    def action(self, decide: Decide) -> Decide:
        """Register `decide` as the action named like it: a route of the api too.

        Its second parameter's annotation is the action's input model, its
        docstring's first line the summary."""
        return self._action(decide, Audience.END_USERS)

    def operator_action(self, decide: Decide) -> Decide:
        """Register an action only operators may take, even on rows end users own
        (its route requires the operators' authorizer)."""
        return self._action(decide, Audience.OPERATORS)

    def internal_action(self, decide: Decide) -> Decide:
        """Register an action only other entities ask for (no route of the api)."""
        return self._action(decide, Audience.INTERNAL)

    def _action(self, decide: Decide, audience: Audience) -> Decide:
        name = decide.__name__
        if not _OP.match(name) or name in BUILT_IN_OPS:
            raise ValueError(
                f"{self.name}: {name!r} cannot name an action ({', '.join(BUILT_IN_OPS)} are taken)"
            )
        if name in self.actions:
            raise ValueError(f"{self.name}: action {name!r} is declared twice")
        self.actions[name] = Action(name, _input_model(self.name, decide), decide, _summary(decide), audience)
        return decide

    def on_create(self, hook: Hook) -> Hook:
        """Run `hook` on the new row after a create applies (it may reject it, or ask)."""
        return self._hook(ON_CREATE, hook)

    def on_delete(self, hook: Hook) -> Hook:
        """Run `hook` on the row before a delete (direct or by cascade); it may only ask."""
        return self._hook(ON_DELETE, hook)

    def _hook(self, name: str, hook: Hook) -> Hook:
        if name in self.hooks:
            raise ValueError(f"{self.name}: {name} is declared twice")
        self.hooks[name] = hook
        return hook


def _input_model(entity: str, decide: Callable[..., object]) -> type[BaseModel]:
    parameters = list(inspect.signature(decide).parameters.values())
    if len(parameters) != 3:
        raise ValueError(f"{entity}.{decide.__name__} must take (row, given, meta)")
    given = parameters[1]
    model = given.annotation
    if isinstance(model, str):  # postponed annotations: resolve this one only
        try:
            model = eval(model, decide.__globals__)  # noqa: S307 - the module's own annotation
        except NameError as error:
            raise ValueError(
                f"{entity}.{decide.__name__}: {error}; define the input model at module level"
            ) from error
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ValueError(f"{entity}.{decide.__name__}: annotate {given.name!r} with a pydantic model")
    return model


def _summary(decide: Callable[..., object]) -> str:
    doc = inspect.getdoc(decide) or decide.__name__.replace("_", " ")
    return doc.strip().splitlines()[0]
