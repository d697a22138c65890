"""Given a row, when a command, then the decision: one entity's rules through its real decider.

    rules = EntityRules(orders)
    paid = rules.given(status="pending", items=1, currency="EUR").when("pay", reference="p-1")
    assert paid.changes == {"status": "paid", "payment_reference": "p-1"}
    assert rules.given(status="paid").when("pay", reference="p").reason == (
        "only a pending order can be paid; this one is paid")

The command is what a producer would send (its id, a version, the trail an
answer or an admission arrives with); the decision is the decider's own
(preconditions first, then the rule), and what it sends is the commands it
would put on the queues. No database, no queue.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from queuefirst.model.application import Application
from queuefirst.model.command import ADMIT, CREATE, Command, Producer, Scope, Status, TrailStep
from queuefirst.model.decider import Applied, Decider
from queuefirst.model.entity import Entity
from queuefirst.model.working import StoredRow, Working

_versions = itertools.count(1_000)


@dataclass(frozen=True)
class Outcome:
    """What one command did to the row: its status, why, the row after, what it sent."""

    applied: Applied
    row: StoredRow | None
    before: dict[str, Any]

    @property
    def status(self) -> Status:
        return self.applied.status

    @property
    def rejected(self) -> bool:
        return self.status is Status.REJECTED

    @property
    def reason(self) -> str | None:
        return self.applied.reason

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self.row.values) if self.row is not None else {}

    @property
    def changes(self) -> dict[str, Any]:
        """The fields whose values differ from before."""
        return {k: v for k, v in self.fields.items() if self.before.get(k, object()) != v}

    @property
    def sends(self) -> list[Command]:
        return list(self.applied.sends)

    def sent(self, entity: str, op: str | None = None) -> list[Command]:
        return [c for c in self.sends if c.entity == entity and (op is None or c.op == op)]

    @property
    def answer(self) -> Command | None:
        """The answer it sent up, if any (a command whose trail ends with its own answering step)."""
        found = [c for c in self.sends if c.trail and c.trail[-1].answered]
        return found[0] if found else None

    @property
    def holds(self) -> tuple[dict[str, Any], ...]:
        return self.row.holds if self.row is not None else ()


@dataclass
class Given:
    rules: EntityRules
    key: str
    parent: str | None
    values: dict[str, Any] | None  # None: no such row yet
    alive: bool = True
    holds: tuple[dict[str, Any], ...] = ()

    def _working(self) -> Working:
        working = Working()
        if self.values is not None:
            entity = self.rules.entity
            full = {
                n: i.get_default(call_default_factory=True) for n, i in entity.fields.model_fields.items()
            }
            row = StoredRow(self.key, self.parent, self.alive, {**full, **self.values}, "0", True, self.holds)
            working.rows[self.key] = row
        return working

    def run(self, command: Command, status_of: dict[uuid.UUID, Status] | None = None) -> Outcome:
        working = self._working()
        before = dict(working.rows[self.key].values) if self.key in working.rows else {}
        lookup = status_of or {}
        applied = Decider(self.rules.entity).apply(working, command, lambda i: lookup.get(i))
        return Outcome(applied, working.rows.get(self.key), before)

    def when(self, op: str, /, **payload: Any) -> Outcome:
        """A command `op` for the row, sent by a producer (the api, an operator)."""
        return self.run(self.rules.command(op, self.key, self.parent, payload))

    def when_asked(self, op: str, /, by: tuple[str, str, str | None], **payload: Any) -> Outcome:
        """The command `op` as the row `by` = (entity, key, parent) asked it (it may answer)."""
        return self.run(self.rules.command(op, self.key, self.parent, payload, trail=(_step(*by),)))

    def when_answered(
        self, name: str, /, by: str, above: tuple[str, str, str | None] | None = None, **payload: Any
    ) -> Outcome:
        """The answer `name` to an ask this row made of `by` (an entity), with its payload; `above`:
        the row (entity, key, parent) that asked this one, which an answer may be passed on to."""
        steps = [] if above is None else [_step(*above)]
        steps += [
            _step(self.rules.entity.name, self.key, self.parent),
            TrailStep(entity=by, command_id=uuid.uuid4(), answered=True),
        ]
        return self.run(self.rules.command(name, self.key, self.parent, payload, trail=tuple(steps)))

    def when_admitting(self, child: str, op: str, key: str, /, **payload: Any) -> Outcome:
        """A child's write arriving at this row for its admission."""
        write = {"entity": child, "op": op, "key": key, "payload": payload}
        return self.run(self.rules.command(ADMIT, self.key, self.parent, write))

    def when_created(self, /, **payload: Any) -> Outcome:
        entity = self.rules.entity
        if entity.parent_field and self.parent is not None:
            payload = {entity.parent_field: self.parent, **payload}
        return self.run(self.rules.command(CREATE, self.key, self.parent, payload))


@dataclass
class EntityRules:
    entity: Entity
    producer: Producer = field(default_factory=lambda: Producer(kind="test"))

    @classmethod
    def of(cls, application: Application, name: str) -> EntityRules:
        """The entity `name` of `application`, its rules loaded (as its worker loads them)."""
        return cls(application.load_entity(name, rules=True))

    def given(self, key: str = "k1", parent: str | None = None, /, **values: Any) -> Given:
        """The row `key` (under `parent`, for a child entity) with these fields (defaults elsewhere)."""
        return Given(self, key, self._parent(parent), values)

    def nothing(self, key: str = "k1", parent: str | None = None) -> Given:
        """No row `key` yet."""
        return Given(self, key, self._parent(parent), None)

    def deleted(self, key: str = "k1", parent: str | None = None, /, **values: Any) -> Given:
        """A tombstone: the row `key` once deleted, with these fields."""
        return Given(self, key, self._parent(parent), values, alive=False)

    def _parent(self, parent: str | None) -> str | None:
        return parent if parent is not None or self.entity.parent is None else "p1"

    def command(
        self,
        op: str,
        key: str,
        parent: str | None,
        payload: dict[str, Any],
        *,
        trail: tuple[TrailStep, ...] = (),
        scope: Scope = Scope.ROW,
    ) -> Command:
        return Command(
            command_id=uuid.uuid4(),
            entity=self.entity.name,
            op=op,
            key=key,
            parent=parent,
            version=next(_versions),
            payload=payload,
            trail=trail,
            scope=scope,
            producer=self.producer,
        )


def _step(entity: str, key: str, parent: str | None) -> TrailStep:
    return TrailStep(entity=entity, command_id=uuid.uuid4(), key=key, parent=parent)
