"""Reads for the api and the console: live rows, keyset pages, command status and history."""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import Connection, sql

from queuefirst.model.entity import Entity
from queuefirst.model.payloads import row_model
from queuefirst.model.registry import Registry
from queuefirst.store.ownership import OWNER_PARAMETER, owned_condition, owner_of
from queuefirst.store.statements import EntitySql
from queuefirst.store.tables import ALIVE, HOLDS, STAMP


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_after: str | None


@dataclass(frozen=True)
class FoundRow:
    key: str
    parent: str | None
    values: dict[str, Any]
    stamp: str

    @property
    def version(self) -> int:
        return int(self.stamp.split(".", 1)[0])


class Reader:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.sql = {name: EntitySql(entity) for name, entity in registry.items()}
        self._status = (
            sql.SQL(" UNION ALL ")
            .join(sql.SQL(self.sql[name].command_status) for name in registry)
            .as_string()
        )

    def find(self, conn: Connection[Any], entity: Entity, key: str) -> FoundRow | None:
        """The live row, with its parent and its stamp."""
        statements = self.sql[entity.name]
        record = conn.execute(statements.get_row, [key]).fetchone()
        return None if record is None else self._found(entity, statements, record)

    def get(self, conn: Connection[Any], entity: Entity, key: str) -> dict[str, Any] | None:
        found = self.find(conn, entity, key)
        return None if found is None else self.visible(entity, found)

    def exists(self, conn: Connection[Any], entity: Entity, key: str) -> bool:
        return self.find(conn, entity, key) is not None

    def key_state(self, conn: Connection[Any], entity: Entity, key: str) -> tuple[bool, int]:
        """Whether a live row holds the key, and the version of the last command applied
        to it, deleted or not (0: never), in one read."""
        state = conn.execute(self.sql[entity.name].key_state, [key]).fetchone()
        return (bool(state[0]), int(state[1].split(".", 1)[0])) if state else (False, 0)

    def list(
        self,
        conn: Connection[Any],
        entity: Entity,
        *,
        limit: int,
        after: str | None = None,
        parent_id: str | None = None,
        owner: str | None = None,
        search: str | None = None,
    ) -> Page:
        """A page of live rows; `owner`: only that end user's (the entity must be one they own);
        `search`: rows holding this text in their id, parent reference or a text field."""
        statements = self.sql[entity.name]
        owned = None if owner is None else owned_condition(self.registry, entity)
        query = statements.list_rows(
            under_parent=parent_id is not None, after=after is not None, owned=owned, search=bool(search)
        )
        parameters = {
            "parent": parent_id,
            "after": after,
            "limit": limit + 1,
            OWNER_PARAMETER: owner,
            "search": _contains(search),
        }
        records = conn.execute(query, parameters).fetchall()
        items = [self.visible(entity, self._found(entity, statements, r)) for r in records[:limit]]
        return Page(items=items, next_after=items[-1]["id"] if len(records) > limit else None)

    def owner(self, conn: Connection[Any], entity: Entity, key: str) -> str | None:
        """The end user owning the row (deleted or not); None if there is none, or no such row."""
        return owner_of(conn, self.registry, self.sql, entity, key)

    def command_entries(
        self, conn: Connection[Any], command_ids: builtins.list[uuid.UUID]
    ) -> builtins.list[dict[str, Any]]:
        """Every log entry of these commands, in every entity's log (an admitted write has two:
        its parent's admission and its own), with what each sent."""
        cursor = conn.execute(self._status, {"command_ids": command_ids})
        names = [column.name for column in cursor.description or []]
        return [dict(zip(names, record, strict=True)) for record in cursor.fetchall()]

    def history(
        self, conn: Connection[Any], entity: Entity, key: str, limit: int = 100
    ) -> builtins.list[dict[str, Any]]:
        """Every command logged against the row (children-scoped ones as their per-row entries)."""
        cursor = conn.execute(self.sql[entity.name].history, {"key": key, "limit": limit})
        names = [column.name for column in cursor.description or []]
        return [dict(zip(names, record, strict=True)) for record in cursor.fetchall()]

    def visible(self, entity: Entity, found: FoundRow) -> dict[str, Any]:
        """The row as reads return it: id, parent reference, fields and computed fields."""
        head: dict[str, Any] = {"id": found.key}
        if entity.parent_field:
            head[entity.parent_field] = found.parent
        dumped = row_model(entity).model_construct(**head, **found.values).model_dump(mode="json")
        return head | dumped  # the id and the parent first, then the fields

    def _found(self, entity: Entity, statements: EntitySql, record: tuple[Any, ...]) -> FoundRow:
        values = dict(zip(statements.column_names, record, strict=True))
        parent = values.pop(entity.parent_field) if entity.parent_field else None
        values.pop(ALIVE)
        values.pop(HOLDS, None)
        return FoundRow(key=values.pop("id"), parent=parent, stamp=values.pop(STAMP), values=values)


def _contains(text: str | None) -> str | None:
    """An ILIKE pattern matching `text` anywhere, its own wildcards taken literally."""
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
