"""The reference: each distinct command applied once, in the documented order, in memory.

The documented order: each lane (an entity's message group: a child row's
parent, a root row's own key) takes its commands one at a time, in the order
its queue accepted them; an ask takes its place in its lane when its sender
sent it. The model is written plainly, apart from the kit's worker: rows in
dictionaries, each command's effect spelled out, the shop's own decide
functions (its rules) called as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_jsonable_python

from queuefirst.model.actions import Decision, Meta, Row, accept, ask_label
from queuefirst.model.command import Command, Scope, Status
from queuefirst.model.registry import Registry


@dataclass
class ModelRow:
    parent: str | None
    alive: bool
    fields: dict[str, Any]


@dataclass
class Model:
    registry: Registry
    rows: dict[str, dict[str, ModelRow]] = field(default_factory=dict)
    markers: dict[str, dict[str, Command]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    asks: list[Command] = field(default_factory=list)

    def apply(self, command: Command) -> list[Command]:
        """Apply one command; the asks it sends."""
        sent: list[Command] = []
        if command.scope is Scope.CHILDREN:
            self.status[str(command.command_id)] = Status.APPLIED
            table = self.rows.setdefault(command.entity, {})
            for key in sorted(table):
                row = table[key]
                if row.parent == command.key and row.alive and _matches(row.fields, command.where):
                    sent += self._row(command.for_row(key))
            if command.op == "delete":
                marks = self.markers.setdefault(command.entity, {})
                if command.key not in marks or command.stamp > marks[command.key].stamp:
                    marks[command.key] = command
        else:
            sent += self._row(command)
        self.asks += sent
        return sent

    def _row(self, command: Command) -> list[Command]:
        entity = self.registry[command.entity]
        table = self.rows.setdefault(command.entity, {})
        row = table.get(command.key)
        done = str(command.command_id)
        if command.op == "create":
            if row is not None and (row.alive or row.parent != command.parent):
                self.status[done] = Status.REJECTED
                return []
            defaults = {
                n: i.get_default(call_default_factory=True) for n, i in entity.fields.model_fields.items()
            }
            given = {k: v for k, v in command.payload.items() if k != entity.parent_field}
            new = ModelRow(command.parent, True, _valid(entity, {**defaults, **given}))
            decision = _hook(entity, "on_create", command, new)
            if decision.rejected:
                self.status[done] = Status.REJECTED
                return []
            new.fields = _valid(entity, {**new.fields, **decision.changes})
            table[command.key] = new
            self.status[done] = Status.APPLIED
            sent = self._derive(command, decision, command.key)
            marker = self.markers.get(command.entity, {}).get(command.parent or "")
            if marker is not None and marker.stamp > command.stamp:
                sent += self._row(marker.for_row(command.key, born=command.command_id))
            return sent
        if row is None or not row.alive or row.parent != command.parent:
            self.status[done] = Status.REJECTED
            return []
        if command.op == "update":
            row.fields = _valid(entity, {**row.fields, **command.payload})
            self.status[done] = Status.APPLIED
            return []
        if command.op == "delete":
            decision = _hook(entity, "on_delete", command, row)
            for child in entity.children:
                decision = decision.ask_children(child, "delete")
            row.alive = False
            self.status[done] = Status.APPLIED
            return self._derive(command, decision, command.key)
        action = entity.actions[command.op]
        given = action.input.model_validate(command.payload)
        decision = action.decide(_view(entity, command.key, row), given, _meta(command))
        if decision.rejected:
            self.status[done] = Status.REJECTED
            return []
        row.fields = _valid(entity, {**row.fields, **decision.changes})
        self.status[done] = Status.APPLIED
        return self._derive(command, decision, command.key)

    def _derive(self, command: Command, decision: Decision, own_key: str) -> list[Command]:
        out = []
        for index, ask in enumerate(decision.asks):
            key = ask.key if ask.key is not None else own_key
            out.append(
                command.derive(
                    entity=ask.entity,
                    op=ask.op,
                    key=key,
                    label=ask_label(index, ask, key),
                    scope=ask.scope,
                    parent=ask.parent,
                    payload=to_jsonable_python(dict(ask.payload)),
                    where=to_jsonable_python(dict(ask.where)),
                )
            )
        return out


def _valid(entity: Any, values: dict[str, Any]) -> dict[str, Any]:
    model = entity.fields.model_validate(values)
    return {name: getattr(model, name) for name in entity.field_names}


def _view(entity: Any, key: str, row: ModelRow) -> Row[Any]:
    return Row(key, row.parent, row.alive, entity.fields.model_construct(**row.fields))


def _meta(command: Command) -> Meta:
    return Meta(command.command_id, command.version, command.trail, command.op)


def _hook(entity: Any, name: str, command: Command, row: ModelRow) -> Decision:
    hook = entity.hooks.get(name)
    return accept() if hook is None else hook(_view(entity, command.key, row), _meta(command))


def _matches(fields: dict[str, Any], where: dict[str, Any]) -> bool:
    return all(to_jsonable_python(fields.get(k)) == v for k, v in where.items())
