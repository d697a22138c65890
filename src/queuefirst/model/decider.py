"""What a command does to its entity's rows: the kit's semantics, as pure code.

The worker applies a lane's commands one at a time, in lane order, to the
rows in memory (`Working`); everything here is a function of those rows, the
command and what the log says of earlier commands: no clock, no ids, no I/O.
Per command, after its declaration's preconditions (`when`), its rule decides:

- `create` makes the row (or re-makes a deleted one under the same parent,
  its rule seeing the deleted row); an admitted create also takes what its
  parent granted. A child created before a cascade reached its parent, but
  delivered after it, is born deleted.
- `update` sets the given fields of a live row; `delete` deletes it unless its
  declaration or rule refuses (a cascade then leaves the row where it is, and
  judges it again after each command applied to it: it goes once its rules
  let it), asks each child entity to delete the rows under it, and leaves a
  tombstone.
- an action or an answer runs its rule on the live row; an admission runs the
  parent's on the parent's row, then carries the child's write on to the child.
- `withdraw` gives back what an earlier ask took, exactly if it applied.
- a children-scoped command applies its op to each live row under the parent
  (matching `where`), in key order, each as its own derived command.

A rejection is recorded with its reason, and answered `refused` to whoever
asked, where the declaration says so. A rule that breaks its declaration
raises `DecideError`: a bug, so the message fails, is retried, and is
dead-lettered for an operator.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from queuefirst.model.actions import REFUSED, Admitted, Ask, Decision, Meta, Row, accept, ask_label, reject
from queuefirst.model.command import ADMIT, CREATE, DELETE, UPDATE, WITHDRAW, Command, Scope, Status
from queuefirst.model.declarations import ON_CREATE, ON_DELETE, Declaration, Kind
from queuefirst.model.entity import Entity
from queuefirst.model.log import LogEntry
from queuefirst.model.preconditions import first_refusal
from queuefirst.model.trail import asker
from queuefirst.model.working import StoredRow, Working

StatusOf = Callable[[uuid.UUID], "Status | None"]


class DecideError(RuntimeError):
    """A rule broke its declaration; the message fails with this reason."""


@dataclass
class Applied:
    """What one command did: its own log entry first, then one per row it reached."""

    entries: list[LogEntry] = field(default_factory=list)
    sends: list[Command] = field(default_factory=list)  # asks, answers, withdrawals, admitted writes

    @property
    def status(self) -> Status:
        return self.entries[0].status

    @property
    def reason(self) -> str | None:
        return self.entries[0].reason

    def log(self) -> list[LogEntry]:
        """The entries to write: the command's own carries everything it sent (its outbox)."""
        first, *rest = self.entries
        return [replace(first, outbox=tuple(self.sends)), *rest]


class Decider:
    def __init__(self, entity: Entity) -> None:
        missing = entity.missing_rules()
        if missing:
            raise ValueError(
                f"{entity.name} declares {', '.join(missing)} but its rules module writes no rule for them"
            )
        self.entity = entity
        self.defaults = {
            name: info.get_default(call_default_factory=True)
            for name, info in entity.fields.model_fields.items()
            if name in entity.set_by_actions
        }

    def apply(self, working: Working, command: Command, status_of: StatusOf = lambda _: None) -> Applied:
        """Apply one command; on `DecideError` the working set is as it was before."""
        working.begin()
        applied = Applied()
        try:
            if command.scope is Scope.CHILDREN:
                self._children(working, command, applied, status_of)
            else:
                self._row(working, command, applied, None, status_of)
        except DecideError:
            working.undo()
            raise
        return applied

    # -- one row ----------------------------------------------------------------------

    def _row(
        self, w: Working, command: Command, out: Applied, cause: uuid.UUID | None, status_of: StatusOf
    ) -> None:
        if command.op == CREATE:
            self._create(w, command, out, cause)
            return
        if command.op == WITHDRAW:
            self._withdraw(w, command, out, status_of)
            self._judge_kept(w, command, out)
            return
        row = w.rows.get(command.key)
        if row is None or not row.alive:
            self._reject(out, command, f"no {self.entity.name} with id {command.key}", cause)
            return
        if self.entity.parent and row.parent != command.parent:
            self._reject(out, command, self._other_parent(row, command.parent), cause)
            return
        if command.op == DELETE:
            self._delete(w, command, row, out, cause)
            return
        first = len(out.entries)
        if command.op == UPDATE:
            w.put(self._changed(row, command.payload, command))
            out.entries.append(LogEntry(command, Status.APPLIED, cause=cause))
        elif command.op == ADMIT:
            self._admit(w, command, row, out)
        else:
            self._decide(w, command, row, out, cause)
        if out.entries[first].status is Status.APPLIED:
            self._judge_kept(w, command, out)

    def _create(self, w: Working, command: Command, out: Applied, cause: uuid.UUID | None) -> None:
        row = w.rows.get(command.key)
        if row is not None and row.alive:
            self._reject(out, command, f"{self.entity.name} {command.key} already exists", cause)
            return
        if row is not None and row.parent != command.parent:
            self._reject(out, command, self._other_parent(row, command.parent), cause)
            return
        values = {**self.defaults, **self._fields_of(command.payload), **command.granted}
        created = StoredRow(
            command.key,
            command.parent,
            True,
            self._validated(values),
            command.stamp,
            row.stored if row else False,
        )
        declared = self.entity.hook(ON_CREATE)
        previous = self._fields(row.values) if row is not None else None
        decision = self._rule(
            ON_CREATE, (Row(created.key, created.parent, self._fields(created.values), previous),), command
        )
        if decision.rejected:
            self._reject(out, command, decision.rejection or "", cause)
            return
        created = self._changed(created, decision.changes, command)
        out.entries.append(LogEntry(command, Status.APPLIED, cause=cause))
        w.put(self._effects(w, command, created, decision, declared, out))
        marker = w.markers.get(command.parent) if command.parent is not None else None
        if marker is not None and marker.stamp > command.stamp:
            # Born under a parent the cascade already reached: do what it would have done.
            born = marker.for_row(command.key, born=command.command_id)
            self._row(w, born, out, marker.command_id, lambda _: None)
            if w.rows[command.key].alive:  # its rules refused: kept, as the cascade keeps rows
                w.keep(marker.key, command.key)

    def _delete(
        self, w: Working, command: Command, row: StoredRow, out: Applied, cause: uuid.UUID | None
    ) -> None:
        declared = self.entity.hook(ON_DELETE)
        decision = self._deleting(row, command)
        if decision.rejected:
            # A cascade's delete refused leaves the row where it is (a paid order is kept).
            self._reject(out, command, decision.rejection or "", cause)
            return
        if decision.changes:
            raise DecideError(
                f"{self.entity.name}.on_delete may not change the row; it changed {dict(decision.changes)}"
            )
        cascade = [self._cascade(child) for child in self.entity.children]
        out.entries.append(LogEntry(command, Status.APPLIED, cause=cause))
        decision = replace(decision, asks=(*decision.asks, *cascade))
        gone = self._effects(
            w, command, replace(row, alive=False, stamp=command.stamp), decision, declared, out, cascade=True
        )
        w.put(gone)
        if row.parent is not None:
            w.let_go(row.parent, row.key)

    def _deleting(self, row: StoredRow, command: Command) -> Decision:
        """Whether the row's declaration and rule let `command` delete it."""
        declared = self.entity.hook(ON_DELETE)
        refusal = first_refusal(declared.when, row.values) if declared else None
        return reject(refusal) if refusal else self._rule(ON_DELETE, (self._view(row),), command)

    def _judge_kept(self, w: Working, command: Command, out: Applied) -> None:
        """A row a cascade kept, changed by `command`: the cascade deletes it now if its rules let it
        (a paid order its customer's erasure kept, cancelled since, goes as a cancelled order goes).
        Kept still, nothing is recorded: the cascade's refusal stands as it was."""
        row = w.rows.get(command.key)
        if row is None or not row.alive or row.parent is None:
            return
        marker = w.markers.get(row.parent)
        if marker is None or row.key not in w.kept.get(row.parent, frozenset()):
            return
        again = marker.for_row(row.key, after=command.command_id)
        if not self._deleting(row, again).rejected:
            self._delete(w, again, row, out, marker.command_id)

    def _decide(
        self, w: Working, command: Command, row: StoredRow, out: Applied, cause: uuid.UUID | None
    ) -> None:
        declared = self.entity.declarations.get(command.op)
        if declared is None or declared.kind not in (Kind.ACTION, Kind.ANSWER):
            raise DecideError(f"{self.entity.name} declares no action or answer {command.op!r}")
        given = self._given(declared, command.payload)
        refusal = first_refusal(declared.when, row.values, given.model_dump())
        if refusal is not None:
            self._reject(out, command, refusal, cause)
            return
        if declared.kind is Kind.ANSWER and command.op == REFUSED and command.trail:
            # The ask it answers applied nothing: nothing of it is held any more.
            refused_ask = str(command.trail[-1].command_id)
            row = replace(row, holds=tuple(h for h in row.holds if h["id"] != refused_ask))
        decision = self._rule(command.op, (self._view(row), given), command)
        if decision.rejected:
            self._reject(out, command, decision.rejection or "", cause)
            return
        changed = self._changed(row, decision.changes, command)
        # A refusal's reason stays in the asker's history (and reads at GET /commands/<id>).
        said = getattr(given, "reason", None) if command.op == REFUSED else None
        out.entries.append(LogEntry(command, Status.APPLIED, said, cause=cause))
        w.put(self._effects(w, command, changed, decision, declared, out))

    def _admit(self, w: Working, command: Command, row: StoredRow, out: Applied) -> None:
        try:
            write = Admitted.model_validate(command.payload)
        except ValidationError as error:
            raise DecideError(f"{self.entity.name}: an admission that names no write: {error}") from error
        declared = self.entity.admissions.get(write.entity)
        if declared is None or write.op not in declared.ops:
            self._reject(out, command, f"{self.entity.name} admits no {write.entity} {write.op}", None)
            return
        refusal = first_refusal(declared.when, row.values)
        decision = (
            reject(refusal) if refusal else self._rule(declared.name, (self._view(row), write), command)
        )
        if decision.rejected:
            self._reject(out, command, decision.rejection or "", None)
            return
        out.entries.append(LogEntry(command, Status.APPLIED))
        w.put(self._changed(row, decision.changes, command))
        granted = to_jsonable_python(dict(decision.granted))
        out.sends.append(command.admitted(write.entity, write.op, write.key, write.payload, granted))

    def _withdraw(self, w: Working, command: Command, out: Applied, status_of: StatusOf) -> None:
        ask_id, op = uuid.UUID(str(command.payload["ask"])), str(command.payload["op"])
        declared = self.entity.actions.get(op)
        if declared is None or declared.undo is None:
            raise DecideError(f"{self.entity.name}.{op} cannot be withdrawn: it declares no undo")
        status = status_of(ask_id)
        row = w.rows.get(command.key)
        if status is None:
            # Not applied yet (in flight, or parked in the dead letters): it never will be.
            never = Command(
                command_id=ask_id,
                entity=command.entity,
                op=op,
                key=command.key,
                parent=command.parent,
                version=command.version,
            )
            out.entries.append(LogEntry(command, Status.APPLIED, f"{op} withdrawn before it applied"))
            out.entries.append(
                LogEntry(never, Status.WITHDRAWN, "withdrawn by its asker", cause=command.command_id)
            )
            return
        if status is not Status.APPLIED:
            out.entries.append(LogEntry(command, Status.APPLIED, f"nothing to give back: {op} was {status}"))
            return
        if row is None or not row.alive:
            out.entries.append(LogEntry(command, Status.APPLIED, "nothing to give back to: the row is gone"))
            return
        undo = self.entity.actions[declared.undo]
        given = self._given(undo, _mapping(command.payload.get("given")))
        decision = self._rule(undo.name, (self._view(row), given), command)
        if decision.rejected or decision.asks or decision.answered or decision.withdrawals:
            raise DecideError(f"{self.entity.name}.{undo.name} undoes {op}: it may only change the row")
        out.entries.append(LogEntry(command, Status.APPLIED, f"gave back what {op} took"))
        w.put(self._changed(row, decision.changes, command))

    # -- every row under a parent -----------------------------------------------------

    def _children(self, w: Working, command: Command, out: Applied, status_of: StatusOf) -> None:
        out.entries.append(LogEntry(command, Status.APPLIED))
        reached = [r.key for r in w.under(command.key) if r.alive and _matches(r.values, command.where)]
        for key in reached:
            self._row(w, command.for_row(key), out, command.command_id, status_of)
        if command.op == DELETE:
            w.mark(command.key, command)
            for key in reached:
                if w.rows[key].alive:  # its rules refused the delete: kept, and judged again later
                    w.keep(command.key, key)

    # -- what a decision sends ----------------------------------------------------------

    def _effects(
        self,
        w: Working,
        command: Command,
        row: StoredRow,
        decision: Decision,
        declared: Declaration | None,
        out: Applied,
        *,
        cascade: bool = False,
    ) -> StoredRow:
        """Send what the decision asks, withdraws and answers; the row with its holds updated."""
        if declared is not None and declared.kind is Kind.ANSWER and (decision.asks or decision.withdrawals):
            raise DecideError(
                f"{self.entity.name}.{command.op} is reached by an answer: it sends nothing down"
            )
        allowed = set(declared.asks) if declared else set()
        held = set(declared.holds) if declared else set()
        holds = list(row.holds)
        for index, ask in enumerate(decision.asks):
            kit_cascade = cascade and ask.op == DELETE and ask.scope is Scope.CHILDREN
            if ask.target not in allowed and not kit_cascade:
                raise DecideError(
                    f"{self.entity.name}.{command.op} asks {ask.target}, which it does not declare"
                )
            if ask.scope is Scope.CHILDREN and ask.entity not in self.entity.children:
                raise DecideError(
                    f"{self.entity.name} asks {ask.entity} for its children, but has none there"
                )
            key = ask.key if ask.key is not None else row.key
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
            out.sends.append(sent)
            if ask.target in held:
                holds.append(
                    {
                        "id": str(sent.command_id),
                        "entity": sent.entity,
                        "op": sent.op,
                        "key": sent.key,
                        "parent": sent.parent,
                        "payload": sent.payload,
                    }
                )
        for selector in decision.withdrawals:
            for hold in [h for h in holds if _selected(h, selector)]:
                holds.remove(hold)
                out.sends.append(
                    command.derive(
                        entity=hold["entity"],
                        op=WITHDRAW,
                        key=hold["key"],
                        label=f"withdraw/{hold['id']}",
                        parent=hold["parent"],
                        payload={"ask": hold["id"], "op": hold["op"], "given": hold["payload"]},
                    )
                )
        for selector in decision.settlements:
            holds = [h for h in holds if not _selected(h, selector)]
        if decision.answered is not None:
            name = decision.answered.name
            if declared is None or name not in declared.answers or name == REFUSED:
                raise DecideError(
                    f"{self.entity.name}.{command.op} answers {name!r}, which it does not declare"
                )
            to = asker(command.trail)
            if to is not None:  # nobody asked (the chain began here): nobody to answer
                out.sends.append(
                    command.answer(to, name, to_jsonable_python(dict(decision.answered.payload)))
                )
        return replace(row, holds=tuple(holds))

    def _reject(self, out: Applied, command: Command, reason: str, cause: uuid.UUID | None) -> None:
        out.entries.append(LogEntry(command, Status.REJECTED, reason, cause))
        declared = self._declaration_of(command.op)
        to = asker(command.trail)
        if declared is not None and declared.refusable and to is not None:
            out.sends.append(command.answer(to, REFUSED, {"reason": reason, "op": command.op}))

    # -- helpers ----------------------------------------------------------------------

    def _declaration_of(self, op: str) -> Declaration | None:
        name = {CREATE: ON_CREATE, DELETE: ON_DELETE}.get(op, op)
        return self.entity.declarations.get(name)

    def _cascade(self, child: str) -> Ask:
        return Ask(child, DELETE, None, Scope.CHILDREN)

    def _rule(self, name: str, args: tuple[Any, ...], command: Command) -> Decision:
        """The rule's decision (a declaration without a rule, where none is required, accepts)."""
        bound = self.entity.rules.get(name)
        if bound is None:
            return accept()
        call = (*args, self._meta(command)) if bound.wants_meta else args
        try:
            decision = bound.function(*call)
        except Exception as error:  # a bug in the rule: this message fails, the batch goes on
            raise DecideError(f"{self.entity.name}.{name} failed: {type(error).__name__}: {error}") from error
        if not isinstance(decision, Decision):
            raise DecideError(f"{self.entity.name}.{name} returned {type(decision).__name__}, not a Decision")
        return decision

    def _given(self, declared: Declaration, payload: dict[str, Any]) -> BaseModel:
        try:
            return declared.input.model_validate(payload)
        except ValidationError as error:
            raise DecideError(
                f"{self.entity.name}.{declared.name}: input no longer valid: {error}"
            ) from error

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

    def _fields(self, values: dict[str, Any]) -> BaseModel:
        return self.entity.fields.model_construct(**values)

    def _view(self, row: StoredRow) -> Row[Any]:
        return Row(row.key, row.parent, self._fields(row.values))

    def _meta(self, command: Command) -> Meta:
        return Meta(command.command_id, command.version, command.trail, command.op)


def _selected(hold: dict[str, Any], selector: tuple[str | None, str | None]) -> bool:
    entity, op = selector
    return (entity is None or hold["entity"] == entity) and (op is None or hold["op"] == op)


def _matches(values: dict[str, Any], where: dict[str, Any]) -> bool:
    return all(to_jsonable_python(values.get(name)) == wanted for name, wanted in where.items())


def _mapping(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}
