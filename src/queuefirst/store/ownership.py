"""Whose a row is, in SQL: the owner of one row, and the condition that keeps a list to one owner's rows.

An entity owned by self is owned by its id; one owned through its parent by
its parent's owner, up the chain (`queuefirst.model.access`). Both read
tombstones too: a row's parent is fixed at creation and kept when it is
deleted, so whose a row is never changes.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection, sql

from queuefirst.model.access import Owner
from queuefirst.model.entity import Entity
from queuefirst.model.registry import Registry
from queuefirst.store.statements import EntitySql

OWNER_PARAMETER = "owner"


def owned_condition(registry: Registry, entity: Entity) -> sql.Composable:
    """Rows of `entity` (in a query over its table, unaliased) whose owner is `%(owner)s`."""
    owner = sql.Placeholder(OWNER_PARAMETER)
    if entity.access.owner is Owner.SELF:
        return sql.SQL("id = {}").format(owner)
    if entity.access.owner is not Owner.PARENT or entity.parent is None or entity.parent_field is None:
        raise ValueError(f"no end user owns a row of {entity.name}")
    parent = registry[entity.parent]
    column = sql.Identifier(entity.parent_field)
    if parent.access.owner is Owner.SELF:
        return sql.SQL("{} = {}").format(column, owner)
    inner = sql.SQL("SELECT id FROM {} WHERE {}").format(
        sql.Identifier(parent.name), owned_condition(registry, parent)
    )
    return sql.SQL("{} IN ({})").format(column, inner)


def owner_of(
    conn: Connection[Any], registry: Registry, statements: dict[str, EntitySql], entity: Entity, key: str
) -> str | None:
    """The subject owning row `key` of `entity`; None for no such row, or an entity nobody owns."""
    if entity.access.owner is Owner.SELF:
        found = conn.execute(statements[entity.name].latest_stamp, [key]).fetchone()
        return None if found is None else key
    if entity.access.owner is Owner.PARENT and entity.parent is not None:
        found = conn.execute(statements[entity.name].parent_of, [key]).fetchone()
        if found is None:
            return None
        return owner_of(conn, registry, statements, registry[entity.parent], str(found[0]))
    return None
