"""The batch path's store on PostgreSQL: one entity's rows, log and markers, a unit per transaction.

A batch reads everything it will decide on in one pipelined round trip (the
log entries of its commands, its rows, locked, and its parents' markers with
the rows they kept), decides in memory, then writes without waiting for an
answer: new rows, changed rows, log entries, markers and failure reasons
travel with the COMMIT.
Implements `queuefirst.store.port.BatchStore`; psycopg's errors leave as the
kit's (`queuefirst.store.translation`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from psycopg.types.json import Jsonb

from queuefirst.model.command import Command, Status
from queuefirst.model.entity import Entity
from queuefirst.model.log import LogEntry
from queuefirst.model.working import StoredRow, Working
from queuefirst.store.database import Connection, Database
from queuefirst.store.port import FailureRecord, Logged, Reads
from queuefirst.store.statements import EntitySql
from queuefirst.store.tables import ALIVE, HOLDS, STAMP
from queuefirst.store.translation import translated


class EntityStore:
    def __init__(self, entity: Entity, database: Database) -> None:
        self.entity = entity
        self.database = database
        self.sql = EntitySql(entity)

    @contextmanager
    def unit(self, *, pipelined: bool = False) -> Iterator[_Unit]:
        with self.database.transaction(pipelined=pipelined) as conn:
            yield _Unit(self, conn)


class _Unit:
    """One transaction of the batch path (the caller commits it by leaving `unit()`)."""

    def __init__(self, store: EntityStore, conn: Connection) -> None:
        self.entity = store.entity
        self.sql = store.sql
        self.database = store.database
        self.conn = conn

    def savepoint(self) -> AbstractContextManager[None]:
        return self.database.savepoint(self.conn)

    def load(self, reads: Reads) -> tuple[dict[uuid.UUID, Logged], Working]:
        """The outboxes of commands already applied, and the working set, rows locked."""
        # Every read is sent before any answer is awaited: in a pipelined
        # transaction, one round trip (with the BEGIN before them).
        conn = self.conn
        with translated(), conn.cursor() as log, conn.cursor() as rows, conn.cursor() as markers:
            log.execute(self.sql.load_log, [list(reads.command_ids)], binary=True)
            row_params: list[Any] = [sorted(reads.keys)]
            if self.entity.parent_field:
                row_params.append(sorted(reads.parents))
            rows.execute(self.sql.load_rows, row_params, binary=True)
            wants_markers = bool(self.entity.parent_field and reads.marker_parents)
            if wants_markers:
                markers.execute(self.sql.load_markers, [sorted(reads.marker_parents)], binary=True)
            seen = {
                row[0]: (Status(row[1]), tuple(Command.model_validate(c) for c in row[2] or []))
                for row in log.fetchall()
            }
            working = Working(rows={r.key: r for r in map(self._row, rows.fetchall())})
            if wants_markers:
                for command, kept in markers.fetchall():
                    marker = Command.model_validate(command)
                    working.markers[marker.key] = marker
                    if kept:
                        working.kept[marker.key] = frozenset(kept)
        return seen, working

    def save(self, working: Working, entries: Sequence[LogEntry]) -> None:
        changed = [working.rows[key] for key in sorted(working.changed)]
        new = [row for row in changed if not row.stored]
        existing = [row for row in changed if row.stored]
        # Nothing here waits for an answer: in a pipelined transaction the writes
        # travel with the COMMIT. A key another transaction created meanwhile, or a
        # command it applied meanwhile, fails the transaction (a unique violation),
        # which the caller runs again.
        with translated(), self.conn.cursor() as cursor:
            if new:
                cursor.execute(self.sql.insert_rows, [self._records(new)])
            if existing:
                cursor.execute(self.sql.update_rows, [self._records(existing), [r.key for r in existing]])
            if entries:
                cursor.execute(self.sql.insert_log, [_log_records(entries)])
            if working.changed_markers:
                parents = sorted(working.changed_markers)
                marker_commands = [working.markers[p] for p in parents]
                cursor.execute(
                    self.sql.save_markers,
                    [
                        parents,
                        [c.stamp for c in marker_commands],
                        [Jsonb(_jsonable(c)) for c in marker_commands],
                        [Jsonb(sorted(working.kept.get(p, ()))) for p in parents],
                    ],
                )

    def record_failures(self, failures: Sequence[FailureRecord]) -> None:
        if not failures:
            return
        columns = [
            [f.message_id for f in failures],
            [f.command_id for f in failures],
            [f.reason[:2000] for f in failures],
        ]
        with translated():
            self.conn.execute(self.sql.insert_failures, columns)

    def _row(self, record: tuple[Any, ...]) -> StoredRow:
        values = dict(zip(self.sql.column_names, record, strict=True))
        parent = values.pop(self.entity.parent_field) if self.entity.parent_field else None
        return StoredRow(
            key=values.pop("id"),
            parent=parent,
            alive=values.pop(ALIVE),
            stamp=values.pop(STAMP),
            holds=tuple(values.pop(HOLDS, None) or ()),
            values=values,
            stored=True,
        )

    def _records(self, rows: list[StoredRow]) -> str:
        """The rows as the JSON array of records the write statements take."""
        parent = self.entity.parent_field
        records = [
            {
                "id": row.key,
                **({parent: row.parent} if parent else {}),
                **row.values,
                ALIVE: row.alive,
                STAMP: row.stamp,
                **({HOLDS: list(row.holds) or None} if self.entity.holds_asks else {}),
            }
            for row in rows
        ]
        return json.dumps(records, default=_json_value)


def _jsonable(command: Command) -> dict[str, Any]:
    return command.model_dump(mode="json", exclude_defaults=True)


def _log_records(entries: Sequence[LogEntry]) -> str:
    return json.dumps(
        [
            {
                "command_id": str(e.command.command_id),
                "key": e.command.key,
                "scope": e.command.scope.value,
                "op": e.command.op,
                "version": e.command.version,
                "status": e.status,
                "reason": e.reason,
                "producer": e.command.producer.model_dump(exclude_none=True) if e.command.producer else None,
                "cause": None if e.cause is None else str(e.cause),
                "outbox": [_jsonable(c) for c in e.outbox] if e.outbox else None,
            }
            for e in entries
        ]
    )


def _json_value(value: object) -> str:
    """Field values JSON has no type for, as PostgreSQL reads them: dates and times in
    ISO form, anything else (a UUID, a Decimal) as its text."""
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat() if callable(isoformat) else value)
