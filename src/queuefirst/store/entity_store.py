"""Loading and saving one entity's rows, log and markers for a batch.

A batch reads everything it will decide on in one pipelined round trip (the
log entries of its commands, its rows, locked, and its parents' markers),
decides in memory, then writes in another: new rows, changed rows, log
entries, markers. The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from psycopg.types.json import Jsonb

from queuefirst.model.command import Command
from queuefirst.model.entity import Entity
from queuefirst.model.working import StoredRow, Working
from queuefirst.store import columns
from queuefirst.store.statements import EntitySql
from queuefirst.store.tables import ALIVE, STAMP

Outbox = list[Command]


class RowTaken(RuntimeError):
    """Another transaction created a row this batch meant to create: run the batch again."""


@dataclass(frozen=True)
class LogEntry:
    command: Command
    status: str
    reason: str | None
    cause: uuid.UUID | None
    outbox: Outbox | None


class EntityStore:
    def __init__(self, entity: Entity) -> None:
        self.entity = entity
        self.sql = EntitySql(entity)
        self.fields = list(entity.field_names)
        self.json_fields = {n for n, k in columns.field_kinds(entity.fields).items() if k == columns.JSONB}

    def load(
        self,
        conn: Connection[Any],
        command_ids: Iterable[uuid.UUID],
        keys: set[str],
        parents: set[str],
        marker_parents: set[str],
    ) -> tuple[dict[uuid.UUID, Outbox], Working]:
        """The outboxes of commands already applied, and the working set, rows locked."""
        with conn.pipeline(), conn.cursor() as log, conn.cursor() as rows, conn.cursor() as markers:
            log.execute(self.sql.load_log, [list(command_ids)], binary=True)
            row_params: list[Any] = [sorted(keys)]
            if self.entity.parent_field:
                row_params.append(sorted(parents))
            rows.execute(self.sql.load_rows, row_params, binary=True)
            wants_markers = bool(self.entity.parent_field and marker_parents)
            if wants_markers:
                markers.execute(self.sql.load_markers, [sorted(marker_parents)], binary=True)
            seen = {row[0]: [Command.model_validate(c) for c in row[1] or []] for row in log.fetchall()}
            working = Working(rows={r.key: r for r in map(self._row, rows.fetchall())})
            if wants_markers:
                for (command,) in markers.fetchall():
                    marker = Command.model_validate(command)
                    working.markers[marker.key] = marker
        return seen, working

    def save(self, conn: Connection[Any], working: Working, entries: list[LogEntry]) -> None:
        changed = [working.rows[key] for key in sorted(working.changed)]
        new = [row for row in changed if not row.stored]
        existing = [row for row in changed if row.stored]
        with conn.pipeline(), conn.cursor() as inserted, conn.cursor() as other:
            if new:
                inserted.execute(self.sql.insert_rows, self._row_arrays(new, with_parent=True), binary=True)
            if existing:
                other.execute(
                    self.sql.update_rows, self._row_arrays(existing, with_parent=False), binary=True
                )
            if entries:
                other.execute(self.sql.insert_log, _log_arrays(entries), binary=True)
            if working.changed_markers:
                parents = sorted(working.changed_markers)
                marker_commands = [working.markers[p] for p in parents]
                other.execute(
                    self.sql.save_markers,
                    [
                        parents,
                        [c.stamp for c in marker_commands],
                        [Jsonb(_jsonable(c)) for c in marker_commands],
                    ],
                )
            if new and len(inserted.fetchall()) != len(new):
                raise RowTaken(f"{self.entity.name}: a row was created concurrently")

    def record_failures(self, conn: Connection[Any], failures: list[tuple[str, str | None, str]]) -> None:
        conn.execute(self.sql.insert_failures, [list(column) for column in zip(*failures, strict=True)])

    def _row(self, record: tuple[Any, ...]) -> StoredRow:
        values = dict(zip(self.sql.column_names, record, strict=True))
        parent = values.pop(self.entity.parent_field) if self.entity.parent_field else None
        return StoredRow(
            key=values.pop("id"),
            parent=parent,
            alive=values.pop(ALIVE),
            stamp=values.pop(STAMP),
            values=values,
            stored=True,
        )

    def _row_arrays(self, rows: list[StoredRow], *, with_parent: bool) -> list[list[Any]]:
        arrays: list[list[Any]] = [[row.key for row in rows]]
        if with_parent and self.entity.parent_field:
            arrays.append([row.parent for row in rows])
        for name in self.fields:
            if name in self.json_fields:
                arrays.append([None if row.values[name] is None else Jsonb(row.values[name]) for row in rows])
            else:
                arrays.append([row.values[name] for row in rows])
        arrays.append([row.alive for row in rows])
        arrays.append([row.stamp for row in rows])
        return arrays


def _jsonable(command: Command) -> dict[str, Any]:
    return command.model_dump(mode="json", exclude_defaults=True)


def _log_arrays(entries: list[LogEntry]) -> list[list[Any]]:
    return [
        [e.command.command_id for e in entries],
        [e.command.key for e in entries],
        [e.command.scope.value for e in entries],
        [e.command.op for e in entries],
        [e.command.version for e in entries],
        [e.status for e in entries],
        [e.reason for e in entries],
        [
            Jsonb(e.command.producer.model_dump(exclude_none=True)) if e.command.producer else None
            for e in entries
        ],
        [e.cause for e in entries],
        [Jsonb([_jsonable(c) for c in e.outbox]) if e.outbox else None for e in entries],
    ]
