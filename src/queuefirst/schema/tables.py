"""Tables generated from the registry, as SQLAlchemy metadata for Alembic and the tools.

Per entity:

- `<entity>`: the rows; `alive` is false once deleted (a tombstone that keeps
  the id's parent), `stamp` names the last command applied to the row.
- `<entity>__commands`: every command applied to or rejected by the entity's
  worker, in the same transaction as its effect: the exactly-once log, each
  row's history, and the outbox of the asks each command sent.
- `<entity>__failures`: why a message failed (for dead-letter inspection).
- `<entity>__markers` (child entities): the newest cascade each parent has
  seen, so a row created before it but delivered after it is born deleted,
  and the rows its cascades kept (their rules refused the delete), judged
  again after each change.

The functions themselves never import SQLAlchemy: they run fixed SQL built
from the same column kinds (`queuefirst.store.statements`).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from queuefirst.model.entity import Entity
from queuefirst.model.registry import Registry
from queuefirst.store import columns
from queuefirst.store.tables import ALIVE, HOLDS, STAMP, TableNames

STAMP_TYPE = Text(collation="C")
_TYPES: dict[str, TypeEngine[typing.Any]] = {
    columns.TEXT: Text(),
    columns.BIGINT: BigInteger(),
    columns.BOOLEAN: Boolean(),
    columns.DOUBLE: Double(),
    columns.DATE: Date(),
    columns.TIMESTAMPTZ: DateTime(timezone=True),
    columns.JSONB: JSONB(),
}


@dataclass(frozen=True)
class EntityTables:
    rows: Table
    commands: Table
    failures: Table
    markers: Table | None


def entity_tables(metadata: MetaData, entity: Entity) -> EntityTables:
    names = TableNames(entity.name)
    row_columns: list[Column[typing.Any]] = [Column("id", Text, primary_key=True)]
    if entity.parent_field:
        row_columns.append(Column(entity.parent_field, Text, nullable=False))
    for name, kind in columns.field_kinds(entity.fields).items():
        row_columns.append(Column(name, _TYPES[kind], nullable=True))
    row_columns += [
        Column(ALIVE, Boolean, nullable=False),
        Column(STAMP, STAMP_TYPE, nullable=False),
    ]
    if entity.holds_asks:
        row_columns.append(Column(HOLDS, JSON, nullable=True))  # kept as written (see outbox)
    rows = Table(names.rows, metadata, *row_columns)
    if entity.parent_field:
        Index(f"ix_{entity.name}_{entity.parent_field}", rows.c[entity.parent_field], rows.c.id)
    commands = Table(
        names.commands,
        metadata,
        Column("command_id", Uuid, primary_key=True),
        # The order commands took effect in (the clock cannot tell a batch's apart).
        Column("seq", BigInteger, Identity(), nullable=False, unique=True),
        Column("key", Text, nullable=False),
        Column("scope", Text, nullable=False),
        Column("op", Text, nullable=False),
        Column("version", BigInteger, nullable=False),
        Column("status", Text, nullable=False),
        Column("reason", Text, nullable=True),
        Column("producer", JSONB, nullable=True),
        # A children-scoped command's id, for the entries it made per row.
        Column("cause", Uuid, nullable=True),
        # The asks this command sent, re-sent as they were when SQS redelivers it.
        # JSON, not JSONB: kept as written, so a redelivered command re-sends byte-identical commands
        # (JSONB would reorder their payloads' keys).
        Column("outbox", JSON, nullable=True),
        # The database's clock, not the worker's: for operators only, never
        # read back into a decision.
        Column("applied_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
        Index(f"ix_{names.commands}_key", "key", "seq"),
    )
    failures = Table(
        names.failures,
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("message_id", Text, nullable=False, index=True),
        Column("command_id", Text, nullable=True),
        Column("reason", Text, nullable=False),
        Column("failed_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    )
    markers = None
    if entity.parent_field:
        markers = Table(
            names.markers,
            metadata,
            Column("parent_id", Text, primary_key=True),
            Column("stamp", STAMP_TYPE, nullable=False),
            Column("command", JSONB, nullable=False),
            # The rows under the parent its cascades left where they were, still alive (a JSON list).
            Column("kept", JSONB, nullable=True),
        )
    return EntityTables(rows=rows, commands=commands, failures=failures, markers=markers)


@dataclass(frozen=True)
class StoreSchema:
    metadata: MetaData
    entities: dict[str, EntityTables]


def build_schema(entities: Registry | list[Entity]) -> StoreSchema:
    metadata = MetaData()
    listed = list(entities.values()) if isinstance(entities, Registry) else entities
    return StoreSchema(metadata, {entity.name: entity_tables(metadata, entity) for entity in listed})
