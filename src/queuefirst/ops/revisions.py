"""What each schema revision does and which images it serves, read from the revision scripts.

No database is needed: each revision's `upgrade()` runs against Alembic's own
`Operations` with `invoke` replaced by a recorder, so its operations are
Alembic's op objects, executed nowhere.

- *Schema at a revision*: the tables and columns after the operations of
  every revision up to it.
- *Live columns of a revision*: what the images built with it read and write.
  `queuefirst migrations new` writes them into each revision it generates
  (`live_columns`, from the entity modules); a revision without them (the
  baseline, a hand-written one) counts every column of its schema as live.
- *The revision a function needs*: the newest revision that made a column
  live in one of its tables (a worker: its entity's; the api: every table).
  Retiring or dropping a column never moves it: an image that stopped using a
  column runs on a database that still has it. Baked into each image at
  build time (`queuefirst plan --schema-revisions`).

The expand/contract rules these feed are in `queuefirst.ops.expand_contract`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.operations import ops as alembic_ops
from alembic.script import ScriptDirectory
from sqlalchemy import Column

from queuefirst.schema.upgrade import ENVIRONMENT
from queuefirst.store.tables import TableNames

Live = dict[str, frozenset[str]]  # table -> live columns


class RevisionsError(RuntimeError):
    """The revision scripts cannot be read as one line of revisions."""


@dataclass(frozen=True)
class ColumnInfo:
    nullable: bool
    has_default: bool


Schema = dict[str, dict[str, ColumnInfo]]


@dataclass
class Revision:
    id: str
    module: ModuleType
    operations: list[alembic_ops.MigrateOperation] = field(default_factory=list)
    unreadable: str | None = None  # why its operations could not be recorded
    schema: Schema = field(default_factory=dict)  # after this revision
    live: Live = field(default_factory=dict)  # what its images use

    @property
    def recorded_live(self) -> Mapping[str, Iterable[str]] | None:
        value = getattr(self.module, "live_columns", None)
        return value if isinstance(value, Mapping) else None


def _column_info(column: Column[Any]) -> ColumnInfo:
    has_default = (
        column.server_default is not None or column.identity is not None or column.computed is not None
    )
    return ColumnInfo(nullable=bool(column.nullable) and not column.primary_key, has_default=has_default)


def record_operations(module: ModuleType) -> list[alembic_ops.MigrateOperation]:
    """The operations a revision's upgrade() asks for, executed nowhere."""
    recorded: list[alembic_ops.MigrateOperation] = []
    context = MigrationContext.configure(dialect_name="postgresql", opts={"as_sql": True})
    with Operations.context(context) as operations:
        operations.invoke = recorded.append  # type: ignore[method-assign,assignment]
        module.upgrade()
    return recorded


def apply(schema: Schema, operation: alembic_ops.MigrateOperation) -> None:
    """The effect of one operation on the tables and columns (indexes do not matter here)."""
    if isinstance(operation, alembic_ops.CreateTableOp):
        columns = [c for c in operation.columns if isinstance(c, Column)]
        schema[operation.table_name] = {c.name: _column_info(c) for c in columns}
    elif isinstance(operation, alembic_ops.DropTableOp):
        schema.pop(operation.table_name, None)
    elif isinstance(operation, alembic_ops.RenameTableOp):
        schema[operation.new_table_name] = schema.pop(operation.table_name, {})
    elif isinstance(operation, alembic_ops.AddColumnOp):
        schema.setdefault(operation.table_name, {})[operation.column.name] = _column_info(operation.column)
    elif isinstance(operation, alembic_ops.DropColumnOp):
        schema.get(operation.table_name, {}).pop(operation.column_name, None)
    elif isinstance(operation, alembic_ops.AlterColumnOp):
        table = schema.get(operation.table_name, {})
        info = table.pop(operation.column_name, ColumnInfo(True, False))
        if operation.modify_nullable is not None:
            info = ColumnInfo(bool(operation.modify_nullable), info.has_default)
        table[operation.modify_name or operation.column_name] = info


def load_revisions(versions: Path) -> list[Revision]:
    """The revisions in `versions`, oldest first, each with its operations, schema and live set."""
    if not versions.is_dir():
        return []
    script = ScriptDirectory(str(ENVIRONMENT), version_locations=[str(versions)])
    heads = script.get_heads()
    if len(heads) > 1:
        raise RevisionsError(
            f"{versions}: revisions branch into heads {sorted(heads)}; merge them into one line"
        )
    scripts = list(reversed(list(script.walk_revisions())))
    revisions: list[Revision] = []
    schema: Schema = {}
    for item in scripts:
        revision = Revision(str(item.revision), item.module)
        try:
            revision.operations = record_operations(item.module)
        except Exception as error:  # a data migration asking for a connection, say
            revision.unreadable = f"{type(error).__name__}: {error}"
        for operation in revision.operations:
            apply(schema, operation)
        revision.schema = {t: dict(c) for t, c in schema.items()}
        recorded = revision.recorded_live
        if recorded is None:
            revision.live = {t: frozenset(c) for t, c in revision.schema.items()}
        else:
            revision.live = {t: frozenset(c) for t, c in recorded.items()}
        revisions.append(revision)
    return revisions


def entity_tables(entity: str) -> frozenset[str]:
    names = TableNames(entity)
    return frozenset({names.rows, names.commands, names.failures, names.markers})


def required_revision(revisions: list[Revision], tables: frozenset[str] | None = None) -> str | None:
    """The newest revision that made a column of `tables` (None: of any table) live."""
    needed: str | None = None
    before: Live = {}
    for revision in revisions:
        for table, columns in revision.live.items():
            if (tables is None or table in tables) and columns - before.get(table, frozenset()):
                needed = revision.id
        before = revision.live
    return needed


def required_revisions(versions: Path, entities: Iterable[str]) -> dict[str, str | None]:
    """Per function kind: `api` (reads every table) and each entity's worker."""
    revisions = load_revisions(versions)
    needs: dict[str, str | None] = {"api": required_revision(revisions)}
    for entity in entities:
        needs[entity] = required_revision(revisions, entity_tables(entity))
    return needs


def live_columns_of(metadata_tables: Iterable[Any]) -> dict[str, list[str]]:
    """The live set the entity modules declare: every column of the generated schema."""
    return {table.name: sorted(c.name for c in table.columns) for table in metadata_tables}
