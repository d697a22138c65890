"""The reference: each distinct command applied once, in the documented order, in memory.

The documented order: each lane (an entity's message group: a child row's
parent, a root row's own key) takes its commands one at a time, in the order
its queue accepted them; whatever a command sends (an ask, an answer, an
admitted write, a withdrawal) takes its place in its lane when its sender
sent it. The model is written plainly, apart from the kit's worker: rows in
dictionaries, each command's effect spelled out, the shop's own declarations
(their preconditions) and rules called as they are. It borrows from the kit
only the envelope: how a sent command is named and addressed (`Command.derive`,
`.answer`, `.admitted`, the trail's asker), so what it sends can be compared
byte for byte with what the workers sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_jsonable_python

from queuefirst.model.actions import REFUSED, Admitted, Decision, Meta, Row, accept, ask_label
from queuefirst.model.command import Command, Scope, Status
from queuefirst.model.declarations import Declaration
from queuefirst.model.entity import Entity
from queuefirst.model.preconditions import first_refusal
from queuefirst.model.registry import Registry
from queuefirst.model.trail import asker

Key = tuple[str, str]  # (entity, command id): an admitted write shares its admission's id


@dataclass
class ModelRow:
    parent: str | None
    alive: bool
    fields: dict[str, Any]
    holds: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Model:
    registry: Registry
    rows: dict[str, dict[str, ModelRow]] = field(default_factory=dict)
    markers: dict[str, dict[str, Command]] = field(default_factory=dict)
    # The rows each parent's cascades left alive (their delete refused), by entity and parent.
    kept: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    status: dict[Key, str] = field(default_factory=dict)
    sent: list[Command] = field(default_factory=list)
    # The price each item was reserved at, by its product at that moment (an invariant reads it).
    reserved_at: dict[str, int] = field(default_factory=dict)
    # What each product was restocked with, and the products ever deleted (whose stock restarts).
    restocked: dict[str, int] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)

    def apply(self, command: Command) -> list[Command]:
        """Apply one command; what it sends (nothing for an ask its asker withdrew before it came)."""
        out: list[Command] = []
        if self.status.get(key_of(command)) == Status.WITHDRAWN:
            return out
        if command.scope is Scope.CHILDREN:
            self.status[(command.entity, str(command.command_id))] = Status.APPLIED
            table = self.rows.setdefault(command.entity, {})
            reached = [
                key
                for key in sorted(table)
                if table[key].parent == command.key
                and table[key].alive
                and _matches(table[key].fields, command.where)
            ]
            for key in reached:
                self._row(command.for_row(key), out)
            if command.op == "delete":
                marks = self.markers.setdefault(command.entity, {})
                if command.key not in marks or command.stamp > marks[command.key].stamp:
                    marks[command.key] = command
                # What it could not delete, it keeps: judged again after each change.
                self._kept(command.entity, command.key).update(k for k in reached if table[k].alive)
        else:
            self._row(command, out)
        self.sent += out
        return out

    # -- one row ------------------------------------------------------------------------------

    def _row(self, command: Command, out: list[Command]) -> None:
        entity = self.registry[command.entity]
        table = self.rows.setdefault(command.entity, {})
        row = table.get(command.key)
        if command.op == "create":
            self._create(entity, command, row, out)
            return
        if command.op == "withdraw":
            self._withdraw(entity, command, row)
            self._judge_kept(entity, command, out)
            return
        if row is None or not row.alive:
            self._reject(entity, command, out, f"no {entity.name} with id {command.key}")
            return
        if row.parent != command.parent:
            self._reject(entity, command, out, _elsewhere(entity, command.key, row.parent, command.parent))
            return
        if command.op == "delete":
            declared = entity.hook("on_delete")
            decision = _deleting(entity, command, row)
            if decision.rejected:
                self._reject(entity, command, out, decision.rejection or "")  # the row stays, cascade or not
                return
            for child in entity.children:
                decision = decision.ask_children(child, "delete")
            row.alive = False
            self._kept(entity.name, row.parent or "").discard(command.key)
            self.deleted.add(f"{entity.name}/{command.key}")
            self._done(command)
            self._effects(entity, command, row, decision, declared, out, cascade=True)
            return
        if command.op == "update":
            row.fields = _valid(entity, {**row.fields, **command.payload})
            self._done(command)
        elif command.op == "admit":
            self._admit(entity, command, row, out)
        else:
            self._decide(entity, command, row, out)
        if self.status.get(key_of(command)) == Status.APPLIED:
            self._judge_kept(entity, command, out)

    def _kept(self, entity: str, parent: str) -> set[str]:
        return self.kept.setdefault(entity, {}).setdefault(parent, set())

    def _judge_kept(self, entity: Entity, command: Command, out: list[Command]) -> None:
        """A row its parent's cascade kept, changed: the cascade deletes it if it now may."""
        row = self.rows[entity.name].get(command.key)
        if row is None or not row.alive or command.key not in self._kept(entity.name, row.parent or ""):
            return
        marker = self.markers[entity.name][row.parent or ""]
        again = marker.for_row(command.key, after=command.command_id)
        if not _deleting(entity, again, row).rejected:
            self._row(again, out)

    def _create(self, entity: Entity, command: Command, row: ModelRow | None, out: list[Command]) -> None:
        if row is not None and row.alive:
            self._reject(entity, command, out, f"{entity.name} {command.key} already exists")
            return
        if row is not None and row.parent != command.parent:
            self._reject(entity, command, out, _elsewhere(entity, command.key, row.parent, command.parent))
            return
        defaults = {
            n: i.get_default(call_default_factory=True) for n, i in entity.fields.model_fields.items()
        }
        given = {k: v for k, v in command.payload.items() if k != entity.parent_field}
        new = ModelRow(command.parent, True, _valid(entity, {**defaults, **given, **command.granted}))
        previous = entity.fields.model_construct(**row.fields) if row is not None else None
        view = Row(command.key, command.parent, entity.fields.model_construct(**new.fields), previous)
        decision = _rule(entity, "on_create", command, view)
        if decision.rejected:
            self._reject(entity, command, out, decision.rejection or "")
            return
        new.fields = _valid(entity, {**new.fields, **decision.changes})
        self.rows[entity.name][command.key] = new
        self._done(command)
        self._effects(entity, command, new, decision, entity.hook("on_create"), out)
        marker = self.markers.get(entity.name, {}).get(command.parent or "")
        if marker is not None and marker.stamp > command.stamp:
            self._row(marker.for_row(command.key, born=command.command_id), out)
            if new.alive:  # born under the cascade, and kept by it
                self._kept(entity.name, command.parent or "").add(command.key)

    def _decide(self, entity: Entity, command: Command, row: ModelRow, out: list[Command]) -> None:
        declared = entity.declarations[command.op]
        given = declared.input.model_validate(command.payload)
        refused = first_refusal(declared.when, row.fields, given.model_dump())
        if refused is not None:
            self._reject(entity, command, out, refused)
            return
        if command.op == REFUSED:
            row.holds = [h for h in row.holds if h["id"] != str(command.trail[-1].command_id)]
        decision = _rule(entity, command.op, command, _view(command.key, row, entity), given)
        if decision.rejected:
            self._reject(entity, command, out, decision.rejection or "")
            return
        row.fields = _valid(entity, {**row.fields, **decision.changes})
        self._done(command)
        self._effects(entity, command, row, decision, declared, out)
        if entity.name == "order_items" and command.op == "reserved" and decision.changes:
            self.reserved_at[command.key] = int(command.payload["unit_price_minor"])
        if entity.name == "products" and command.op == "restock":
            self.restocked[command.key] = self.restocked.get(command.key, 0) + int(
                command.payload["quantity"]
            )

    def _admit(self, entity: Entity, command: Command, row: ModelRow, out: list[Command]) -> None:
        write = Admitted.model_validate(command.payload)
        declared = entity.admissions.get(write.entity)
        if declared is None or write.op not in declared.ops:
            self._reject(entity, command, out, f"{entity.name} admits no {write.entity} {write.op}")
            return
        refused = first_refusal(declared.when, row.fields)
        decision = (
            Decision(rejection=refused)
            if refused
            else _rule(entity, declared.name, command, _view(command.key, row, entity), write)
        )
        if decision.rejected:
            self._reject(entity, command, out, decision.rejection or "")
            return
        row.fields = _valid(entity, {**row.fields, **decision.changes})
        self._done(command)
        granted = to_jsonable_python(dict(decision.granted))
        out.append(command.admitted(write.entity, write.op, write.key, write.payload, granted))

    def _withdraw(self, entity: Entity, command: Command, row: ModelRow | None) -> None:
        ask, op = str(command.payload["ask"]), str(command.payload["op"])
        earlier = self.status.get((entity.name, ask))
        self._done(command)
        if earlier is None:
            self.status[(entity.name, ask)] = Status.WITHDRAWN  # it will never apply
            return
        if earlier != Status.APPLIED or row is None or not row.alive:
            return
        undo = entity.actions[entity.actions[op].undo or ""]
        given = undo.input.model_validate(command.payload["given"])
        decision = _rule(entity, undo.name, command, _view(command.key, row, entity), given)
        row.fields = _valid(entity, {**row.fields, **decision.changes})

    # -- what a decision sends ----------------------------------------------------------------

    def _effects(
        self,
        entity: Entity,
        command: Command,
        row: ModelRow,
        decision: Decision,
        declared: Declaration | None,
        out: list[Command],
        cascade: bool = False,
    ) -> None:
        held = set(declared.holds) if declared else set()
        for index, ask in enumerate(decision.asks):
            key = ask.key if ask.key is not None else command.key
            sent = command.derive(
                entity=ask.entity,
                op=ask.op,
                key=key,
                label=ask_label(index, ask, key),
                scope=ask.scope,
                parent=ask.parent,
                payload=to_jsonable_python(dict(ask.payload)),
                where=to_jsonable_python(dict(ask.where)),
            )
            out.append(sent)
            if ask.target in held:
                row.holds.append(
                    {
                        "id": str(sent.command_id),
                        "entity": sent.entity,
                        "op": sent.op,
                        "key": sent.key,
                        "parent": sent.parent,
                        "payload": sent.payload,
                    }
                )
        for wanted_entity, wanted_op in decision.withdrawals:
            for hold in [h for h in row.holds if _selected(h, wanted_entity, wanted_op)]:
                row.holds.remove(hold)
                out.append(
                    command.derive(
                        entity=hold["entity"],
                        op="withdraw",
                        key=hold["key"],
                        label=f"withdraw/{hold['id']}",
                        parent=hold["parent"],
                        payload={"ask": hold["id"], "op": hold["op"], "given": hold["payload"]},
                    )
                )
        for wanted_entity, wanted_op in decision.settlements:
            row.holds = [h for h in row.holds if not _selected(h, wanted_entity, wanted_op)]
        to = asker(command.trail)
        if decision.answered is not None and to is not None:
            out.append(
                command.answer(
                    to, decision.answered.name, to_jsonable_python(dict(decision.answered.payload))
                )
            )

    def _done(self, command: Command) -> None:
        self.status[(command.entity, str(command.command_id))] = Status.APPLIED

    def _reject(self, entity: Entity, command: Command, out: list[Command], reason: str) -> None:
        self.status[(command.entity, str(command.command_id))] = Status.REJECTED
        name = {"create": "on_create", "delete": "on_delete"}.get(command.op, command.op)
        declared = entity.declarations.get(name)
        to = asker(command.trail)
        if declared is not None and declared.refusable and to is not None:
            out.append(command.answer(to, REFUSED, {"reason": reason, "op": command.op}))


def _deleting(entity: Entity, command: Command, row: ModelRow) -> Decision:
    """What the row's declaration, then its rule, say of deleting it."""
    declared = entity.hook("on_delete")
    refused = first_refusal(declared.when, row.fields) if declared else None
    if refused:
        return Decision(rejection=refused)
    return _rule(entity, "on_delete", command, _view(command.key, row, entity))


def _rule(entity: Entity, name: str, command: Command, *args: Any) -> Decision:
    bound = entity.rules.get(name)
    if bound is None:
        return accept()
    meta = Meta(command.command_id, command.version, command.trail, command.op)
    return bound.function(*args, meta) if bound.wants_meta else bound.function(*args)


def _view(key: str, row: ModelRow, entity: Entity) -> Row[Any]:
    return Row(key, row.parent, entity.fields.model_construct(**row.fields))


def _valid(entity: Any, values: dict[str, Any]) -> dict[str, Any]:
    model = entity.fields.model_validate(values)
    return {name: getattr(model, name) for name in entity.field_names}


def _selected(hold: dict[str, Any], entity: str | None, op: str | None) -> bool:
    return (entity is None or hold["entity"] == entity) and (op is None or hold["op"] == op)


def _matches(fields: dict[str, Any], where: dict[str, Any]) -> bool:
    return all(to_jsonable_python(fields.get(k)) == v for k, v in where.items())


def _elsewhere(entity: Entity, key: str, has: str | None, wanted: str | None) -> str:
    named = entity.parent_field
    return f"{entity.name} {key} belongs to {named}={has}; a command naming {named}={wanted} cannot apply"


def key_of(command: Command) -> Key:
    return (command.entity, str(command.command_id))
