"""Reads for the api: visible rows only, keyset pagination, command status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from queuefirst.model.entity import Entity
from queuefirst.store.schema import ALIVE, StoreSchema


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_after: str | None


class Reader:
    def __init__(self, schema: StoreSchema) -> None:
        self.schema = schema

    def _visible_columns(self, entity: Entity) -> list[Any]:
        rows = self.schema.entities[entity.name].rows
        names = ["id", *([entity.parent_field] if entity.parent_field else []), *entity.field_names]
        return [rows.c[n] for n in names]

    def get(self, conn: Connection, entity: Entity, key: str) -> dict[str, Any] | None:
        rows = self.schema.entities[entity.name].rows
        query = select(*self._visible_columns(entity)).where(rows.c.id == key, rows.c[ALIVE])
        row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def exists(self, conn: Connection, entity: Entity, key: str) -> bool:
        rows = self.schema.entities[entity.name].rows
        query = select(rows.c.id).where(rows.c.id == key, rows.c[ALIVE])
        return conn.execute(query).first() is not None

    def latest_version(self, conn: Connection, entity: Entity, key: str) -> int:
        """The highest version any command has written to this row, tombstones
        included (0 for a row never written): the api stamps above it, so a
        write through an instance whose clock lags is not silently superseded."""
        rows = self.schema.entities[entity.name].rows
        stamps = [column for column in rows.c if column.name.endswith("stamp")]
        query = select(func.greatest(*stamps)).where(rows.c.id == key)
        newest = conn.execute(query).scalar()
        return int(newest.split(".", 1)[0]) if newest else 0

    def list(
        self,
        conn: Connection,
        entity: Entity,
        *,
        limit: int,
        after: str | None = None,
        parent_id: str | None = None,
    ) -> Page:
        rows = self.schema.entities[entity.name].rows
        query = select(*self._visible_columns(entity)).where(rows.c[ALIVE])
        if parent_id is not None and entity.parent_field:
            query = query.where(rows.c[entity.parent_field] == parent_id)
        if after is not None:
            query = query.where(rows.c.id > after)
        found = [dict(r) for r in conn.execute(query.order_by(rows.c.id).limit(limit + 1)).mappings()]
        more = len(found) > limit
        items = found[:limit]
        return Page(items=items, next_after=items[-1]["id"] if more else None)

    def command_status(self, conn: Connection, command_id: uuid.UUID) -> dict[str, Any] | None:
        commands = self.schema.commands
        query = select(
            commands.c.command_id, commands.c.entity, commands.c.op, commands.c.key, commands.c.status
        ).where(commands.c.command_id == command_id)
        row = conn.execute(query).mappings().first()
        return dict(row) if row else None
