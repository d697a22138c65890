"""Applying commands to an entity's table so that any delivery order converges.

Every write is one `INSERT ... ON CONFLICT DO UPDATE ... WHERE` upsert:
each field keeps the value of the command with the highest stamp that set
it, deletes leave tombstones, and a cascade (`purge`) leaves a marker on the
parent id so a child created before it but delivered after it is born
deleted. The caller owns the transaction; this module never commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Table, case, func, literal, or_, select, text
from sqlalchemy.dialects.postgresql import insert

from queuefirst.model.command import Command, Op, TrailStep
from queuefirst.model.entity import Entity
from queuefirst.store.schema import (
    CREATED,
    DELETED,
    FIRST_CREATED,
    StoreSchema,
    stamp_column,
)


class Outcome(StrEnum):
    APPLIED = "applied"
    SUPERSEDED = "superseded"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass
class Result:
    """What became of one command, and the commands it sends to children."""

    command: Command
    outcome: Outcome
    children: list[Command] = field(default_factory=list)
    reason: str | None = None


class EntityWriter:
    def __init__(self, entity: Entity, schema: StoreSchema) -> None:
        tables = schema.entities[entity.name]
        self.entity = entity
        self.rows: Table = tables.rows
        self.purges: Table | None = tables.purges
        self.commands = schema.commands
        self._stamp_columns = [stamp_column(f) for f in entity.field_names] + [CREATED, DELETED]

    def apply(self, conn: Connection, commands: Sequence[Command]) -> list[Result]:
        """Apply validated commands of this entity in the caller's transaction."""
        results = {c.command_id: Result(c, Outcome.APPLIED) for c in commands}
        seen = self._already_applied(conn, [c.command_id for c in commands])
        fresh: dict[Any, Command] = {}
        for command in commands:
            if command.command_id in seen:
                results[command.command_id].outcome = Outcome.DUPLICATE
            else:
                fresh.setdefault(command.command_id, command)
        self._lock(conn, commands)
        markers = self._markers(
            conn,
            {
                c.payload[self.entity.parent_field]
                for c in commands
                if c.op is Op.CREATE and self.entity.parent_field
            },
        )
        row_commands = [c for c in fresh.values() if c.op is not Op.PURGE]
        for command_id, reason in self._parent_conflicts(conn, row_commands).items():
            results[command_id].outcome = Outcome.REJECTED
            results[command_id].reason = reason
        accepted = [c for c in row_commands if results[c.command_id].outcome is Outcome.APPLIED]
        for round_ in _rounds(accepted):
            for command, won in self._upsert(conn, round_, markers):
                if not won:
                    results[command.command_id].outcome = Outcome.SUPERSEDED
        for command in fresh.values():
            if command.op is Op.PURGE and not self._purge(conn, command):
                results[command.command_id].outcome = Outcome.SUPERSEDED
        for command in {c.command_id: c for c in commands}.values():
            result = results[command.command_id]
            if result.outcome is Outcome.REJECTED:
                continue
            if command.op is Op.PURGE:
                # Also for a duplicate: its first delivery may have failed to
                # send these, which is why SQS delivered it again.
                result.children += self._cascade(command, self._reached(conn, command))
            elif command.op is Op.DELETE:
                result.children += self._cascade(command, [command.key])
            elif command.op is Op.CREATE and self.entity.parent_field:
                marker = markers.get(str(command.payload[self.entity.parent_field]))
                if marker is not None and marker.stamp > command.stamp:
                    # Born under a parent already cascaded: the cascade would
                    # have reached this row, so send what it would have sent.
                    result.children += self._cascade(marker, [command.key])
        self._log(conn, [results[command_id] for command_id in fresh])
        return [results[c.command_id] for c in commands]

    # -- reads inside the transaction -------------------------------------------------

    def _already_applied(self, conn: Connection, ids: list[Any]) -> set[Any]:
        query = select(self.commands.c.command_id).where(self.commands.c.command_id.in_(ids))
        return set(conn.scalars(query))

    def _lock(self, conn: Connection, commands: Iterable[Command]) -> None:
        """Transaction locks that keep concurrent batches of this entity apart.

        A create reads its parent's purge marker; a purge writes it and then
        marks existing rows: without a lock on the parent, a create committing
        between the two would escape the cascade. And a create checks the
        row's parent before its upsert: without a lock on the row, two creates
        naming different parents could both pass. Taken in one sorted order,
        so two batches cannot deadlock on them.
        """
        if not self.entity.parent_field:
            return
        modes: dict[str, bool] = {}
        for command in commands:
            if command.op is Op.PURGE:
                modes[f"parent/{command.key}"] = True
            elif command.op is Op.CREATE:
                parent = f"parent/{command.payload[self.entity.parent_field]}"
                modes[parent] = modes.get(parent, False)
                modes[f"row/{command.key}"] = True
        for key, exclusive in sorted(modes.items()):
            fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
            conn.execute(text(f"SELECT {fn}(hashtextextended(:k, 0))"), {"k": f"{self.entity.name}/{key}"})

    def _markers(self, conn: Connection, parents: set[Any]) -> dict[str, Command]:
        """The newest cascade each parent has seen, rebuilt as the purge command it was,
        so a create born under it sends exactly what that cascade would have sent."""
        if self.purges is None or not parents:
            return {}
        rows = conn.execute(select(self.purges).where(self.purges.c.parent_id.in_(parents)))
        return {
            row.parent_id: Command(
                command_id=row.command_id,
                entity=self.entity.name,
                op=Op.PURGE,
                key=row.parent_id,
                version=row.version,
                trail=tuple(TrailStep.model_validate(step) for step in row.trail),
            )
            for row in rows
        }

    def _parent_conflicts(self, conn: Connection, commands: list[Command]) -> dict[Any, str]:
        # A row's parent is fixed by its first create. A create naming another
        # parent is refused: no order of delivery could make both true.
        parent_field = self.entity.parent_field
        creates = [c for c in commands if c.op is Op.CREATE]
        if not parent_field or not creates:
            return {}
        parent_col = self.rows.c[parent_field]
        query = select(self.rows.c.id, parent_col).where(
            self.rows.c.id.in_({c.key for c in creates}), parent_col.is_not(None)
        )
        known: dict[str, str] = {row[0]: row[1] for row in conn.execute(query)}
        conflicts: dict[Any, str] = {}
        for command in sorted(creates, key=lambda c: c.stamp):
            wanted = command.payload[parent_field]
            current = known.setdefault(command.key, str(wanted))
            if current != wanted:
                conflicts[command.command_id] = (
                    f"{self.entity.name} {command.key} belongs to {parent_field}={current}; "
                    f"a create naming {parent_field}={wanted} cannot apply"
                )
        return conflicts

    # -- writes -----------------------------------------------------------------------

    def _row_values(self, command: Command, markers: dict[str, Command]) -> dict[str, Any]:
        values: dict[str, Any] = {"id": command.key, CREATED: None, FIRST_CREATED: None, DELETED: None}
        if self.entity.parent_field:
            values[self.entity.parent_field] = None
        for name in self.entity.field_names:
            values[name] = None
            values[stamp_column(name)] = None
        if command.op is Op.DELETE:
            values[DELETED] = command.stamp
            return values
        for name, value in command.payload.items():
            if name == self.entity.parent_field:
                values[name] = value
                marker = markers.get(str(value))
                values[DELETED] = marker.stamp if marker else None
            else:
                values[name] = value
                values[stamp_column(name)] = command.stamp
        if command.op is Op.CREATE:
            values[CREATED] = values[FIRST_CREATED] = command.stamp
        return values

    def _upsert(
        self, conn: Connection, commands: list[Command], markers: dict[str, Command]
    ) -> list[tuple[Command, bool]]:
        # Rows in key order, so concurrent batches lock rows in the same order.
        commands = sorted(commands, key=lambda c: c.key)
        stmt = insert(self.rows).values([self._row_values(c, markers) for c in commands])
        new, old = stmt.excluded, self.rows.c
        assignments: dict[str, Any] = {}
        for name in self.entity.field_names:
            stamp = stamp_column(name)
            newer = new[stamp] > func.coalesce(old[stamp], literal(""))
            assignments[name] = case((newer, new[name]), else_=old[name])
            assignments[stamp] = func.greatest(old[stamp], new[stamp])
        if self.entity.parent_field:
            parent = self.entity.parent_field
            assignments[parent] = func.coalesce(old[parent], new[parent])
        assignments[CREATED] = func.greatest(old[CREATED], new[CREATED])
        assignments[DELETED] = func.greatest(old[DELETED], new[DELETED])
        assignments[FIRST_CREATED] = func.least(old[FIRST_CREATED], new[FIRST_CREATED])
        changed = or_(
            *(new[s] > func.coalesce(old[s], literal("")) for s in self._stamp_columns),
            new[FIRST_CREATED] < old[FIRST_CREATED],
        )
        upsert = stmt.on_conflict_do_update(index_elements=["id"], set_=assignments, where=changed).returning(
            self.rows.c.id, *(self.rows.c[s] for s in self._stamp_columns)
        )
        written = {row[0]: set(row[1:]) for row in conn.execute(upsert)}
        # A command won if some column now holds its stamp (stamps are unique).
        return [(c, c.stamp in written.get(c.key, ())) for c in commands]

    def _purge(self, conn: Connection, command: Command) -> bool:
        """Cascade from the parent `command.key`: mark it, tombstone what is under it.

        Returns whether this cascade is the newest the parent has seen.
        """
        assert self.purges is not None and self.entity.parent_field is not None
        marker = insert(self.purges).values(
            parent_id=command.key,
            stamp=command.stamp,
            command_id=command.command_id,
            version=command.version,
            trail=[step.model_dump(mode="json") for step in command.trail],
        )
        upsert = marker.on_conflict_do_update(
            index_elements=["parent_id"],
            set_={c: marker.excluded[c] for c in ("stamp", "command_id", "version", "trail")},
            where=marker.excluded.stamp > self.purges.c.stamp,
        ).returning(self.purges.c.parent_id)
        won = conn.execute(upsert).first() is not None
        under_parent = self.rows.c[self.entity.parent_field] == command.key
        stale = or_(self.rows.c[DELETED].is_(None), self.rows.c[DELETED] < command.stamp)
        # In key order, as the upserts lock rows: concurrent batches cannot deadlock.
        locked = select(self.rows.c.id).where(under_parent, stale).order_by(self.rows.c.id).with_for_update()
        conn.execute(self.rows.update().where(self.rows.c.id.in_(locked)).values({DELETED: command.stamp}))
        return won

    def _reached(self, conn: Connection, command: Command) -> list[str]:
        """Rows the cascade reaches: those that existed before it, in stamp order.

        Rows created later are untouched and pass nothing on.
        """
        assert self.entity.parent_field is not None
        query = (
            select(self.rows.c.id)
            .where(
                self.rows.c[self.entity.parent_field] == command.key,
                self.rows.c[FIRST_CREATED] < command.stamp,
            )
            .order_by(self.rows.c.id)
        )
        return list(conn.scalars(query))

    def _cascade(self, command: Command, keys: Iterable[str]) -> list[Command]:
        return [
            command.derive(entity=child, op=Op.PURGE, key=key)
            for key in keys
            for child in self.entity.children
        ]

    def _log(self, conn: Connection, results: list[Result]) -> None:
        rows = [
            {
                "command_id": r.command.command_id,
                "entity": r.command.entity,
                "op": r.command.op.value,
                "key": r.command.key,
                "version": r.command.version,
                "status": r.outcome.value,
            }
            for r in results
            if r.outcome is not Outcome.REJECTED
        ]
        if rows:
            conn.execute(insert(self.commands).values(rows).on_conflict_do_nothing())


def _rounds(commands: list[Command]) -> list[list[Command]]:
    """Split so no key repeats within a round: one upsert may touch a row once."""
    by_key: dict[str, list[Command]] = defaultdict(list)
    for command in commands:
        by_key[command.key].append(command)
    depth = max((len(group) for group in by_key.values()), default=0)
    return [[group[i] for group in by_key.values() if i < len(group)] for i in range(depth)]
