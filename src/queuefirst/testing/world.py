"""A whole application in process: producers' commands through every worker's real batch path.

    world = World(application.registry(rules=True))
    world.write("customers", "create", "ann", email="a@b.co", name="Ann")
    world.settle()
    assert world.row("customers", "ann")["status"] == "active"

Writes are routed as the api routes them (a write its parent admits goes to the
parent's lane, `queuefirst.model.admission`) and stamped with increasing
versions; `settle()` delivers batches (any batch SQS FIFO may form, chosen by
`rng`) to each entity's `BatchApplier` over its store until every queue is
empty. Stores are in memory unless given (`stores=`: the kit's PostgreSQL
store for a real database); sends may fail and deletes be lost on request, as
SQS's may, so duplicates and redeliveries happen.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable
from typing import Any

from queuefirst.model.admission import ParentRow, admission, through_parent
from queuefirst.model.command import Command, Producer, Status
from queuefirst.model.entity import Entity
from queuefirst.model.registry import Registry
from queuefirst.model.working import StoredRow
from queuefirst.store.memory import MemoryStore
from queuefirst.store.port import BatchStore, Reads
from queuefirst.testing.fifo import FifoQueues, FifoSender
from queuefirst.worker.batch import BatchApplier, Report

MAX_STEPS = 10_000


class World:
    def __init__(
        self,
        registry: Registry,
        *,
        stores: Callable[[Entity], BatchStore] = MemoryStore,
        rng: random.Random | None = None,
        send_failure_rate: float = 0.0,
        lost_delete_rate: float = 0.0,
    ) -> None:
        self.registry = registry
        self.rng = rng or random.Random(0)
        self.fifo = FifoQueues(
            self.rng, send_failure_rate=send_failure_rate, lost_delete_rate=lost_delete_rate
        )
        self.sender = FifoSender(self.fifo)
        self.stores = {name: stores(entity) for name, entity in registry.items()}
        self.appliers = {
            name: BatchApplier(entity, self.stores[name], self.sender) for name, entity in registry.items()
        }
        self.reports: list[tuple[str, Report]] = []
        self._versions = itertools.count(1_000)

    # -- producing, as the api does -------------------------------------------------------

    def command(
        self, entity: str, op: str, key: str, payload: dict[str, Any], parent: str | None = None
    ) -> Command:
        declared = self.registry[entity]
        if parent is None and declared.parent_field:
            parent = payload.get(declared.parent_field) if op == "create" else self._parent_of(entity, key)
        command = Command(
            command_id=uuid.uuid4(),
            entity=entity,
            op=op,
            key=key,
            parent=parent,
            version=next(self._versions),
            payload=payload,
            producer=Producer(kind="test"),
        )
        if admission(self.registry, entity, op) is not None and parent is not None:
            parent_entity = self.registry[declared.parent or ""]
            row = self.stored(parent_entity.name, parent)
            lane = row.parent if row is not None else None
            return through_parent(self.registry, command, ParentRow(parent, lane, 0))
        return command

    def write(self, entity: str, op: str, key: str, /, parent: str | None = None, **payload: Any) -> Command:
        """Send a write (a create, an update, a delete, an action) as a producer; the command sent."""
        command = self.command(entity, op, key, payload, parent)
        self.fifo.accept(command)
        return command

    # -- delivering -----------------------------------------------------------------------

    def step(self) -> bool:
        """Deliver one batch of one entity with messages; False when every queue is empty."""
        waiting = sorted(name for name, queue in self.fifo.queues.items() if queue)
        if not waiting:
            return False
        entity = self.rng.choice(waiting)
        batch = self.fifo.batch(entity)
        report = self.appliers[entity].apply(self.fifo.messages(batch))
        self.fifo.settle(entity, batch, set(report.failures))
        self.reports.append((entity, report))
        return True

    def settle(self, max_steps: int = MAX_STEPS) -> int:
        """Deliver until every queue is empty; the number of batches it took."""
        for steps in range(max_steps):
            if not self.step():
                return steps
        raise AssertionError(f"delivery did not settle in {max_steps} batches: {self.fifo.queues}")

    # -- reading ----------------------------------------------------------------------------

    def stored(self, entity: str, key: str) -> StoredRow | None:
        with self.stores[entity].unit() as unit:
            _, working = unit.load(Reads(frozenset(), frozenset({key}), frozenset(), frozenset()))
        return working.rows.get(key)

    def row(self, entity: str, key: str) -> dict[str, Any] | None:
        """The live row's fields (None: no such row, or deleted)."""
        found = self.stored(entity, key)
        return dict(found.values) if found is not None and found.alive else None

    def status(self, entity: str, command_id: uuid.UUID) -> Status | None:
        with self.stores[entity].unit() as unit:
            seen, _ = unit.load(Reads(frozenset({command_id}), frozenset(), frozenset(), frozenset()))
        return seen[command_id][0] if command_id in seen else None

    def _parent_of(self, entity: str, key: str) -> str | None:
        found = self.stored(entity, key)
        return found.parent if found is not None else None
