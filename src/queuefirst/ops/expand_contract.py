"""Expand, then contract: no revision breaks the images of the revision before it.

Migrations run before images roll out, and one entity's worker may stay on
an older image for as long as its owners like. So while a revision is applied
the images live are those built with the revision before it, and they read
and write exactly that revision's live columns (`queuefirst.ops.revisions`).
A revision after the application's baseline may therefore not, on a live
table or column:

- drop it, or rename it (the live images name it);
- change a column's type, or make it NOT NULL (the live images write it, or
  leave it empty);
- add a NOT NULL column without a default to a live table (the live images
  insert rows without it);
- drop a primary key or unique constraint (the live images' upserts name it);
- run SQL the check cannot read, unless the revision says why it is safe
  (`expand_contract_reviewed = "..."`).

Removing a column takes two revisions: the first retires it (the entity
module stops declaring it; `queuefirst migrations new` keeps the column and
leaves it out of the revision's live columns), the next drops it once no live
image uses it. Revisions up to the baseline (`Application.schema_baseline`)
are not checked: they were applied before any image depended on them.
"""

from __future__ import annotations

from alembic.operations import ops as alembic_ops

from queuefirst.ops.revisions import Revision

SAFE = (
    alembic_ops.CreateTableOp,
    alembic_ops.CreateIndexOp,
    alembic_ops.DropIndexOp,
    alembic_ops.CreateForeignKeyOp,
    alembic_ops.CreateUniqueConstraintOp,
    alembic_ops.CreateCheckConstraintOp,
    alembic_ops.CreateTableCommentOp,
    alembic_ops.DropTableCommentOp,
    alembic_ops.BulkInsertOp,
)
REVIEWED_ATTRIBUTE = "expand_contract_reviewed"


def operation_problems(operation: alembic_ops.MigrateOperation, previous: Revision) -> list[str]:
    """What `operation` would break for the images of `previous`; empty when nothing."""
    live = previous.live
    used_by = f"the images of revision {previous.id} use it"
    if isinstance(operation, SAFE):
        return []
    if isinstance(operation, alembic_ops.DropTableOp | alembic_ops.RenameTableOp):
        verb = "drops" if isinstance(operation, alembic_ops.DropTableOp) else "renames"
        if operation.table_name in live:
            hint = "retire it first (remove the entity), drop it in a later revision"
            return [f"{verb} table {operation.table_name}: {used_by}; {hint}"]
        return []
    if isinstance(operation, alembic_ops.DropColumnOp):
        if operation.column_name in live.get(operation.table_name, ()):
            name = f"{operation.table_name}.{operation.column_name}"
            hint = "retire it first (remove the field), drop it in a later revision"
            return [f"drops column {name}: {used_by}; {hint}"]
        return []
    if isinstance(operation, alembic_ops.AlterColumnOp):
        return _alter_problems(operation, previous)
    if isinstance(operation, alembic_ops.AddColumnOp):
        column = operation.column
        table = operation.table_name
        plain = column.server_default is None and column.identity is None and column.computed is None
        if table in previous.schema and not column.nullable and plain:
            return [
                f"adds NOT NULL column {table}.{column.name} without a default: the images of revision "
                f"{previous.id} insert rows without it; add it nullable or with a server default"
            ]
        return []
    if isinstance(operation, alembic_ops.DropConstraintOp):
        kind = operation.constraint_type or "constraint"
        if operation.table_name in live and kind in ("primary", "unique"):
            return [
                f"drops {kind} constraint {operation.constraint_name} of {operation.table_name}: {used_by}"
            ]
        return []
    if isinstance(operation, alembic_ops.ExecuteSQLOp):
        return [
            f"runs SQL the check cannot read ({str(operation.sqltext)[:60]!r}); say why it keeps the images "
            f"of revision {previous.id} working in `{REVIEWED_ATTRIBUTE} = '...'`"
        ]
    return [f"{type(operation).__name__} cannot be checked against the images of revision {previous.id}"]


def _alter_problems(operation: alembic_ops.AlterColumnOp, previous: Revision) -> list[str]:
    table, column = operation.table_name, operation.column_name
    if column not in previous.live.get(table, ()):
        return []
    name = f"{table}.{column}"
    used = f"the images of revision {previous.id} use it"
    problems = []
    if operation.modify_name and operation.modify_name != column:
        problems.append(f"renames column {name} to {operation.modify_name}: {used}; add a new field instead")
    if operation.modify_type is not None:
        problems.append(f"changes the type of column {name}: {used}; add a new field instead")
    if operation.modify_nullable is False:
        problems.append(
            f"makes column {name} NOT NULL: the images of revision {previous.id} may leave it empty"
        )
    return problems


def check(revisions: list[Revision], baseline: str | None = None) -> list[str]:
    """Every way a revision after `baseline` breaks the images of the revision before it."""
    ids = [r.id for r in revisions]
    if baseline is not None and baseline not in ids:
        raise ValueError(f"schema baseline {baseline!r} is not one of the revisions {ids}")
    first_checked = ids.index(baseline) + 1 if baseline is not None else 1
    problems: list[str] = []
    for index, revision in enumerate(revisions):
        problems += [f"{revision.id}: {p}" for p in _live_problems(revision)]
        if index < first_checked:
            continue
        previous = revisions[index - 1]
        if revision.unreadable is not None:
            problems.append(f"{revision.id}: cannot be read without a database: {revision.unreadable}")
            continue
        reviewed = getattr(revision.module, REVIEWED_ATTRIBUTE, None)
        for operation in revision.operations:
            if reviewed and isinstance(operation, alembic_ops.ExecuteSQLOp):
                continue
            problems += [f"{revision.id}: {p}" for p in operation_problems(operation, previous)]
    return problems


def _live_problems(revision: Revision) -> list[str]:
    """Live columns the schema lacks: the revision's own images would fail."""
    missing = [
        f"{table}.{column}"
        for table, columns in sorted(revision.live.items())
        for column in sorted(columns)
        if column not in revision.schema.get(table, {})
    ]
    return [f"its images use {', '.join(missing)}, which no revision up to it creates"] if missing else []
