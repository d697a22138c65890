"""The batch path's lane logic on the memory store (the same suite runs on PostgreSQL:
tests/integration/test_batch_path.py)."""

from __future__ import annotations

import pytest

from queuefirst.model.errors import QueuefirstError
from queuefirst.model.working import StoredRow
from queuefirst.store.memory import MemoryStore
from tests.batch_path import BatchPathSuite, tasks


class MemoryAdapter:
    def __init__(self) -> None:
        self.refused: set[str] = set()
        self.store = MemoryStore(tasks, refuse=self._refuse)

    def _refuse(self, row: StoredRow) -> str | None:
        title = row.values.get("title")
        return (
            f'new row for relation "tasks" violates check constraint (title {title!r})'
            if title in self.refused
            else None
        )

    def refuse(self, title: str) -> None:
        self.refused.add(title)

    def fail_next(self, *errors: QueuefirstError) -> None:
        self.store.faults += errors

    def titles(self) -> dict[str, str]:
        return {key: row.values["title"] for key, row in self.store.rows.items() if row.alive}

    def failure_reasons(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for record in self.store.failures:
            found.setdefault(record.message_id, []).append(record.reason)
        return found


@pytest.fixture
def adapter() -> MemoryAdapter:
    return MemoryAdapter()


class TestOnTheMemoryStore(BatchPathSuite):
    pass
