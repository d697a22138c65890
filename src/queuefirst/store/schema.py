"""Tables generated from the registry.

Each entity table holds, beside each field's value, the stamp of the command
that last wrote it (field-level last-writer-wins), the stamps of the newest
create and delete, and the oldest create (which decides whether a cascade
reached the row). `alive` is derived, so no reader can get visibility wrong.
Stamps are text in the "C" collation: fixed-width, compared as bytes.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

from pydantic import TypeAdapter
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
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

STAMP = Text(collation="C")
CREATED = "created_stamp"
FIRST_CREATED = "first_created_stamp"
DELETED = "deleted_stamp"
ALIVE = "alive"


def stamp_column(field: str) -> str:
    return f"{field}__stamp"


def purge_table_name(entity: str) -> str:
    return f"{entity}__purges"


def _column_type(annotation: object) -> TypeEngine[typing.Any]:
    # The field's JSON schema says what it holds, whatever the Python spelling
    # (EmailStr, Literal, Annotated constraints, Optional).
    schema = TypeAdapter[typing.Any](annotation).json_schema()  # type: ignore[arg-type]
    kinds = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    kind = kinds[0] if len(kinds) == 1 else {}
    if "enum" in kind or "const" in kind:
        return Text()
    match kind.get("type"), kind.get("format"):
        case "string", "date-time":
            return DateTime(timezone=True)
        case "string", "date":
            return Date()
        case "string", _:
            return Text()
        case "integer", _:
            return BigInteger()
        case "boolean", _:
            return Boolean()
        case "number", _:
            return Double()
    return JSONB()


@dataclass(frozen=True)
class EntityTables:
    rows: Table
    purges: Table | None


def entity_tables(metadata: MetaData, entity: Entity) -> EntityTables:
    columns: list[Column[typing.Any]] = [Column("id", Text, primary_key=True)]
    if entity.parent_field:
        columns.append(Column(entity.parent_field, Text, nullable=True))
    for name, info in entity.fields.model_fields.items():
        columns.append(Column(name, _column_type(info.annotation), nullable=True))
        columns.append(Column(stamp_column(name), STAMP, nullable=True))
    columns += [
        Column(CREATED, STAMP, nullable=True),
        Column(FIRST_CREATED, STAMP, nullable=True),
        Column(DELETED, STAMP, nullable=True),
        Column(
            ALIVE,
            Boolean,
            Computed(f"{CREATED} IS NOT NULL AND {CREATED} > COALESCE({DELETED}, '')", persisted=True),
        ),
    ]
    rows = Table(entity.name, metadata, *columns)
    purges = None
    if entity.parent_field:
        Index(f"ix_{entity.name}_{entity.parent_field}", rows.c[entity.parent_field], rows.c.id)
        purges = Table(
            purge_table_name(entity.name),
            metadata,
            Column("parent_id", Text, primary_key=True),
            Column("stamp", STAMP, nullable=False),
            Column("command_id", Uuid, nullable=False),
            Column("version", BigInteger, nullable=False),
            Column("trail", JSONB, nullable=False),
        )
    return EntityTables(rows=rows, purges=purges)


@dataclass(frozen=True)
class StoreSchema:
    metadata: MetaData
    entities: dict[str, EntityTables]
    commands: Table
    failures: Table


def build_schema(entities: Registry | list[Entity]) -> StoreSchema:
    metadata = MetaData()
    listed = list(entities.values()) if isinstance(entities, Registry) else entities
    tables = {entity.name: entity_tables(metadata, entity) for entity in listed}
    commands = Table(
        "commands",
        metadata,
        Column("command_id", Uuid, primary_key=True),
        Column("entity", Text, nullable=False),
        Column("op", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("version", BigInteger, nullable=False),
        Column("status", Text, nullable=False),
        # The database's clock, not the worker's: for operators only, never
        # read back into a decision.
        Column("applied_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    )
    failures = Table(
        "command_failures",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("message_id", Text, nullable=False, index=True),
        Column("command_id", Text, nullable=True),
        Column("entity", Text, nullable=False),
        Column("reason", Text, nullable=False),
        Column("failed_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    )
    return StoreSchema(metadata=metadata, entities=tables, commands=commands, failures=failures)
