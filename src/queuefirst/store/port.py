"""What the batch path needs of a store, whichever holds the rows: one unit of work per transaction.

A unit loads what a batch decides on (its commands' log entries, its rows, its
parents' cascade markers and the rows they kept), then saves what the decisions
changed, with their log entries and the reasons of the messages that failed,
all committed together or not at all. A savepoint inside a unit undoes only what failed in it.

Two adapters pass the same suite of tests (`tests/batch_path.py`):
PostgreSQL (`queuefirst.store.entity_store`) and memory
(`queuefirst.store.memory`). Every method, and the unit's end, raises only the
kit's errors: `StoreUnavailable`, `StoreConflict` (run the unit again),
`StoreRefused` (the data is poison; find it with savepoints).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from queuefirst.model.command import WITHDRAW, Command, Scope, Status
from queuefirst.model.log import LogEntry
from queuefirst.model.working import Working

Outbox = tuple[Command, ...]
# A command found in the log: what became of it, and what it sent.
Logged = tuple[Status, Outbox]


@dataclass(frozen=True)
class Reads:
    """What a batch of commands reads before it decides."""

    # Their log entries (which are duplicates), and those of the asks they withdraw.
    command_ids: frozenset[uuid.UUID]
    keys: frozenset[str]  # rows by key
    parents: frozenset[str]  # every row under these (children-scoped commands)
    # The cascades these parents saw, and the rows they kept (late-born rows, kept rows changed).
    marker_parents: frozenset[str]

    @classmethod
    def of(cls, commands: Iterable[Command]) -> Reads:
        listed = list(commands)
        parents = {c.key for c in listed if c.scope is Scope.CHILDREN}
        under = {c.parent for c in listed if c.scope is Scope.ROW and c.parent is not None}
        withdrawn = {uuid.UUID(str(c.payload["ask"])) for c in listed if c.op == WITHDRAW}
        return cls(
            command_ids=frozenset({c.command_id for c in listed} | withdrawn),
            keys=frozenset(c.key for c in listed if c.scope is Scope.ROW),
            parents=frozenset(parents),
            marker_parents=frozenset(parents | under),
        )


@dataclass(frozen=True)
class FailureRecord:
    """Why a message failed, kept for `queuefirst dlq show` and the console."""

    message_id: str
    command_id: str | None
    reason: str


class BatchUnit(Protocol):
    def load(self, reads: Reads) -> tuple[dict[uuid.UUID, Logged], Working]:
        """What the log says of the commands it holds, and the working set."""
        ...

    def save(self, working: Working, entries: Sequence[LogEntry]) -> None: ...

    def record_failures(self, failures: Sequence[FailureRecord]) -> None: ...

    def savepoint(self) -> AbstractContextManager[None]: ...


class BatchStore(Protocol):
    def unit(self, *, pipelined: bool = False) -> AbstractContextManager[BatchUnit]:
        """`pipelined`: the adapter may hold back errors until the unit ends (PostgreSQL's
        pipeline mode, one round trip for the reads and one for the writes)."""
        ...
