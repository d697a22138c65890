"""What a command does to its entity's rows: the kit's semantics, as pure code.

The worker applies a lane's commands one at a time, in lane order, to the
rows in memory (`Working`); everything here is a function of those rows and
the command: no clock, no ids, no I/O. Per command:

- `create` makes the row (or re-makes a deleted one under the same parent);
  a row that exists is a rejection. The entity's `on_create` hook runs on the
  new row. A child created before a cascade that reached its parent, but
  delivered after it, is born deleted: it gets what the cascade would have
  done to it.
- `update` sets the given fields of a live row; `delete` runs `on_delete`,
  asks every child entity to delete the rows under this one, and leaves a
  tombstone (the id keeps its parent).
- an action runs its decide function on the live row.
- a children-scoped command applies its op to each live row under the parent
  (matching `where`), in key order, each as its own derived command; a
  cascade also leaves a marker on the parent for late-born rows.

A missing row, a business rule saying no, or a create naming another parent
than the id's first: each is a rejection, recorded with its reason. A decide
function that breaks its contract raises `DecideError`: a bug, so the
message fails, is retried, and is dead-lettered for an operator.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from queuefirst.model.actions import Ask, Decision, Meta, Row, accept, ask_label
from queuefirst.model.command import CREATE, DELETE, UPDATE, Command, Scope, Status
from queuefirst.model.entity import ON_CREATE, ON_DELETE, Entity
from queuefirst.model.log import LogEntry
from queuefirst.model.working import StoredRow, Working


class DecideError(RuntimeError):
    """A decide function or hook broke its contract; the message fails with this reason."""


@dataclass
class Applied:
    """What one command did: its own log entry first, then one per row it reached."""

    entries: list[LogEntry] = field(default_factory=list)
    asks: list[Command] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return self.entries[0].status

    @property
    def reason(self) -> str | None:
        return self.entries[0].reason

    def log(self) -> list[LogEntry]:
        """The entries to write: the command's own carries every ask it sent (its outbox)."""
        first, *rest = self.entries
        return [replace(first, outbox=tuple(self.asks)), *rest]


class Decider:
    def __init__(self, entity: Entity) -> None:
        self.entity = entity
        self.defaults = {
            name: info.get_default(call_default_factory=True)
            for name, info in entity.fields.model_fields.items()
            if name in entity.managed
        }

    def apply(self, working: Working, command: Command) -> Applied:
        """Apply one command; on `DecideError` the working set is as it was before."""
        working.begin()
        applied = Applied()
        try:
            if command.scope is Scope.CHILDREN:
                self._children(working, command, applied)
            else:
                self._row(working, command, applied, cause=None)
        except DecideError:
            working.undo()
            raise
        return applied

    # -- one row ----------------------------------------------------------------------

    def _row(self, w: Working, command: Command, out: Applied, cause: uuid.UUID | None) -> None:
        row = w.rows.get(command.key)
        if command.op == CREATE:
            self._create(w, command, row, out, cause)
            return
        if row is None or not row.alive:
            self._reject(out, command, f"no {self.entity.name} with id {command.key}", cause)
            return
        if self.entity.parent and row.parent != command.parent:
            self._reject(out, command, self._other_parent(row, command.parent), cause)
            return
        if command.op == UPDATE:
            w.put(self._changed(row, command.payload, command))
            out.entries.append(LogEntry(command, Status.APPLIED, cause=cause))
        elif command.op == DELETE:
            self._delete(w, command, row, out, cause)
        else:
            self._action(w, command, row, out, cause)

    def _create(
        self, w: Working, command: Command, row: StoredRow | None, out: Applied, cause: uuid.UUID | None
    ) -> None:
        if row is not None and row.alive:
            self._reject(out, command, f"{self.entity.name} {command.key} already exists", cause)
            return
        if row is not None and row.parent != command.parent:
            self._reject(out, command, self._other_parent(row, command.parent), cause)
            return
        values = {**self.defaults, **self._fields_of(command.payload)}
        created = StoredRow(
            command.key,
            command.parent,
            True,
            self._validated(values),
            command.stamp,
            row.stored if row else False,
        )
        decision = self._hook(ON_CREATE, created, command)
        if decision.rejected:
            self._reject(out, command, decision.rejection or "", cause)
            return
        w.put(self._changed(created, decision.changes, command))
        out.entries.append(LogEntry(command, Status.APPLIED, cause=cause))
        out.asks += self._asks(command, created, decision)
        marker = w.markers.get(command.parent) if command.parent is not None else None
        if marker is not None and marker.stamp > command.stamp:
            # Born under a parent the cascade already reached: do what it would have done.
            self._row(w, marker.for_row(command.key, born=command.command_id), out, cause=marker.command_id)

    def _delete(
        self, w: Working, command: Command, row: StoredRow, out: Applied, cause: uuid.UUID | None
    ) -> None:
        decision = self._hook(ON_DELETE, row, command)
        if decision.rejected or decision.changes:
            raise DecideError(f"{self.entity.name}.on_delete may only ask; it returned {decision}")
        cascade = [Ask(child, DELETE, None, Scope.CHILDREN) for child in self.entity.children]
        w.put(replace(row, alive=False, stamp=command.stamp))
        out.entries.append(LogEntry(command, Status.APPLIED, cause=cause))
        out.asks += self._asks(command, row, replace(decision, asks=(*decision.asks, *cascade)))

    def _action(
        self, w: Working, command: Command, row: StoredRow, out: Applied, cause: uuid.UUID | None
    ) -> None:
        action = self.entity.actions.get(command.op)
        if action is None:
            raise DecideError(f"{self.entity.name} has no action {command.op!r}")
        try:
            given = action.input.model_validate(command.payload)
        except ValidationError as error:
            raise DecideError(f"{self.entity.name}.{command.op}: input no longer valid: {error}") from error
        decision = _checked(action.decide(self._view(row), given, self._meta(command)), f"{action.name}")
        if decision.rejected:
            self._reject(out, command, decision.rejection or "", cause)
            return
        w.put(self._changed(row, decision.changes, command))
        out.entries.append(LogEntry(command, Status.APPLIED, cause=cause))
        out.asks += self._asks(command, row, decision)

    # -- every row under a parent -----------------------------------------------------

    def _children(self, w: Working, command: Command, out: Applied) -> None:
        out.entries.append(LogEntry(command, Status.APPLIED))
        for row in w.under(command.key):
            if row.alive and _matches(row.values, command.where):
                self._row(w, command.for_row(row.key), out, cause=command.command_id)
        if command.op == DELETE:
            w.mark(command.key, command)

    # -- helpers ----------------------------------------------------------------------

    def _reject(self, out: Applied, command: Command, reason: str, cause: uuid.UUID | None) -> None:
        out.entries.append(LogEntry(command, Status.REJECTED, reason, cause))

    def _other_parent(self, row: StoredRow, wanted: str | None) -> str:
        field_name = self.entity.parent_field
        return (
            f"{self.entity.name} {row.key} belongs to {field_name}={row.parent}; "
            f"a command naming {field_name}={wanted} cannot apply"
        )

    def _fields_of(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in payload.items() if k != self.entity.parent_field}

    def _validated(self, values: dict[str, Any]) -> dict[str, Any]:
        try:
            model = self.entity.fields.model_validate(values)
        except ValidationError as error:
            raise DecideError(f"{self.entity.name}: the row would be invalid: {error}") from error
        return {name: getattr(model, name) for name in self.entity.field_names}

    def _changed(self, row: StoredRow, changes: Any, command: Command) -> StoredRow:
        unknown = set(changes) - set(self.entity.field_names)
        if unknown:
            raise DecideError(f"{self.entity.name}: a decision changed unknown fields {sorted(unknown)}")
        values = self._validated({**row.values, **changes}) if changes else row.values
        return replace(row, values=values, stamp=command.stamp)

    def _view(self, row: StoredRow) -> Row[Any]:
        return Row(row.key, row.parent, row.alive, self.entity.fields.model_construct(**row.values))

    def _meta(self, command: Command) -> Meta:
        return Meta(command.command_id, command.version, command.trail, command.op)

    def _hook(self, name: str, row: StoredRow, command: Command) -> Decision:
        hook = self.entity.hooks.get(name)
        if hook is None:
            return accept()
        return _checked(hook(self._view(row), self._meta(command)), name)

    def _asks(self, command: Command, row: StoredRow, decision: Decision) -> list[Command]:
        asks = []
        for index, ask in enumerate(decision.asks):
            if ask.entity not in self.entity.sends_to:
                raise DecideError(
                    f"{self.entity.name} may not ask {ask.entity}: declare it in children or asks "
                    f"(it sends to {', '.join(self.entity.sends_to) or 'nobody'})"
                )
            if ask.scope is Scope.CHILDREN and ask.entity not in self.entity.children:
                raise DecideError(
                    f"{self.entity.name} asks {ask.entity} for its children, but has none there"
                )
            key = ask.key if ask.key is not None else row.key
            payload = to_jsonable_python(dict(ask.payload))
            asks.append(
                command.derive(
                    entity=ask.entity,
                    op=ask.op,
                    key=key,
                    label=ask_label(index, ask, key),
                    scope=ask.scope,
                    parent=ask.parent,
                    payload=payload,
                    where=to_jsonable_python(dict(ask.where)),
                )
            )
        return asks


def _checked(decision: object, name: str) -> Decision:
    if not isinstance(decision, Decision):
        raise DecideError(f"{name} returned {type(decision).__name__}, not a Decision")
    return decision


def _matches(values: dict[str, Any], where: dict[str, Any]) -> bool:
    return all(to_jsonable_python(values.get(name)) == wanted for name, wanted in where.items())
