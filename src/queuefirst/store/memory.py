"""The batch path's store in memory: the same port as PostgreSQL's, for tests of the lane logic.

It keeps the promises the batch path relies on, and the ways PostgreSQL breaks
them, so one suite of tests runs against both (`tests/batch_path.py`):

- a unit is all or nothing: it works on a copy that replaces the store's state
  only when the unit ends without an error; a savepoint undoes what failed in it;
- a row inserted under a key the store already holds, or a command logged twice,
  is a `StoreConflict` (PostgreSQL's unique violation, which the batch path
  answers by running the transaction again);
- `refuse` plays a table constraint: a row it names a reason for is a
  `StoreRefused`, as a CHECK constraint's violation is;
- `faults` are raised one per unit when it ends, in order (an outage, a deadlock).

Units run one at a time: it has no concurrency to offer, only its semantics.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from queuefirst.model.command import Command
from queuefirst.model.entity import Entity
from queuefirst.model.errors import QueuefirstError, StoreConflict, StoreRefused
from queuefirst.model.log import LogEntry
from queuefirst.model.working import StoredRow, Working
from queuefirst.store.port import FailureRecord, Logged, Reads

Refuse = Callable[[StoredRow], "str | None"]


@dataclass
class _State:
    rows: dict[str, StoredRow] = field(default_factory=dict)
    log: dict[uuid.UUID, LogEntry] = field(default_factory=dict)
    markers: dict[str, Command] = field(default_factory=dict)
    kept: dict[str, frozenset[str]] = field(default_factory=dict)
    failures: list[FailureRecord] = field(default_factory=list)

    def copy(self) -> _State:
        # Rows are replaced, never changed in place (see Working.put): copying the maps suffices.
        return _State(
            dict(self.rows), dict(self.log), dict(self.markers), dict(self.kept), list(self.failures)
        )


class MemoryStore:
    def __init__(self, entity: Entity, *, refuse: Refuse | None = None) -> None:
        self.entity = entity
        self.refuse = refuse
        self.faults: list[QueuefirstError] = []
        self._state = _State()

    @property
    def rows(self) -> dict[str, StoredRow]:
        return self._state.rows

    @property
    def log(self) -> dict[uuid.UUID, LogEntry]:
        return self._state.log

    @property
    def failures(self) -> list[FailureRecord]:
        return self._state.failures

    @contextmanager
    def unit(self, *, pipelined: bool = False) -> Iterator[_MemoryUnit]:
        unit = _MemoryUnit(self, self._state.copy())
        yield unit
        if self.faults:
            raise self.faults.pop(0)
        self._state = unit.state


class _MemoryUnit:
    def __init__(self, store: MemoryStore, state: _State) -> None:
        self.store = store
        self.state = state

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        saved = self.state.copy()
        try:
            yield
        except BaseException:
            self.state = saved
            raise

    def load(self, reads: Reads) -> tuple[dict[uuid.UUID, Logged], Working]:
        state = self.state
        seen = {
            cid: (state.log[cid].status, state.log[cid].outbox)
            for cid in reads.command_ids
            if cid in state.log
        }
        rows = {
            key: replace(row, values=dict(row.values), stored=True)
            for key, row in state.rows.items()
            if key in reads.keys or row.parent in reads.parents
        }
        markers = {p: state.markers[p] for p in reads.marker_parents if p in state.markers}
        kept = {p: state.kept[p] for p in reads.marker_parents if p in state.kept}
        return seen, Working(rows=rows, markers=markers, kept=kept)

    def save(self, working: Working, entries: Sequence[LogEntry]) -> None:
        state = self.state
        for key in sorted(working.changed):
            row = working.rows[key]
            if not row.stored and key in state.rows:
                raise StoreConflict(f"duplicate key: {self.store.entity.name} {key} exists")
            reason = self.store.refuse(row) if self.store.refuse is not None else None
            if reason is not None:
                raise StoreRefused(reason)
            state.rows[key] = replace(row, values=dict(row.values), stored=True)
        for entry in entries:
            if entry.command.command_id in state.log:
                raise StoreConflict(f"duplicate key: command {entry.command.command_id} is logged")
            state.log[entry.command.command_id] = entry
        for parent in working.changed_markers:
            marker = working.markers[parent]
            current = state.markers.get(parent)
            if current is None or marker.stamp >= current.stamp:
                state.markers[parent] = marker
                state.kept[parent] = working.kept.get(parent, frozenset())

    def record_failures(self, failures: Sequence[FailureRecord]) -> None:
        self.state.failures.extend(failures)
