"""Each entity's SQL, built once per process from its declaration.

Every statement takes whole batches (reads an array of keys, writes a JSON
array of records), so a batch of any mix of commands costs the same few
statements, and the text never changes between batches: it is prepared once
per connection and nothing is compiled per call. Identifiers are composed
with psycopg's `sql` module, never by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from psycopg import sql

from queuefirst.model.entity import Entity
from queuefirst.store import columns
from queuefirst.store.tables import ALIVE, HOLDS, STAMP, TableNames

# The columns of the applied-command log the worker writes (`seq` numbers itself).
LOG_COLUMNS = (
    "command_id",
    "key",
    "scope",
    "op",
    "version",
    "status",
    "reason",
    "producer",
    "cause",
    "outbox",
)


def _names(names: list[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _records(table: sql.Identifier) -> sql.Composed:
    """A JSON array of records as rows of `table`'s type: one parameter, however many
    rows and columns, parsed by the server (cheaper than a typed array per column)."""
    return sql.SQL("json_populate_recordset(NULL::{}, %s::json)").format(table)


@dataclass(frozen=True)
class EntitySql:
    entity: Entity

    @cached_property
    def tables(self) -> TableNames:
        return TableNames(self.entity.name)

    @cached_property
    def row_columns(self) -> list[tuple[str, str]]:
        """(name, kind) of every column of the rows table, in order."""
        out = [("id", columns.TEXT)]
        if self.entity.parent_field:
            out.append((self.entity.parent_field, columns.TEXT))
        out += list(columns.field_kinds(self.entity.fields).items())
        out += [(ALIVE, columns.BOOLEAN), (STAMP, columns.TEXT)]
        return [*out, (HOLDS, columns.JSONB)] if self.entity.holds_asks else out

    @cached_property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.row_columns]

    # -- the worker's -----------------------------------------------------------------

    @cached_property
    def load_rows(self) -> str:
        """Rows by key, and every row under the given parents, locked in key order."""
        rows = sql.Identifier(self.tables.rows)
        where: sql.Composable = sql.SQL("id = ANY(%s::text[])")
        if self.entity.parent_field:
            where = sql.SQL("{} OR {} = ANY(%s::text[])").format(
                where, sql.Identifier(self.entity.parent_field)
            )
        query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY id FOR UPDATE")
        return query.format(_names(self.column_names), rows, where).as_string()

    @cached_property
    def insert_rows(self) -> str:
        """New rows, as a JSON array of records. No ON CONFLICT: a key another transaction
        created meanwhile fails this one, which runs again and finds the row."""
        query = sql.SQL("INSERT INTO {t} ({cols}) SELECT {cols} FROM {source}")
        rows = sql.Identifier(self.tables.rows)
        cols = _names(self.column_names)
        return query.format(t=rows, cols=cols, source=_records(rows)).as_string()

    @cached_property
    def update_rows(self) -> str:
        """Existing rows (locked by `load_rows`), as a JSON array of records: every column
        but the id and the parent; then their keys again, as an array. The planner takes
        a function's rows for a hundred: with only the join to go by, it scans the whole
        table; the keys let it find the rows by index."""
        parent = self.entity.parent_field
        names = [n for n, _ in self.row_columns if n not in ("id", parent)]
        rows = sql.Identifier(self.tables.rows)
        query = sql.SQL(
            "UPDATE {t} SET ({cols}) = ({values}) FROM {source} AS u "
            "WHERE {t}.id = u.id AND {t}.id = ANY(%s::text[])"
        )
        return query.format(
            t=rows,
            cols=_names(names),
            values=sql.SQL(", ").join(sql.Identifier("u", n) for n in names),
            source=_records(rows),
        ).as_string()

    @cached_property
    def load_log(self) -> str:
        query = sql.SQL("SELECT command_id, status, outbox FROM {} WHERE command_id = ANY(%s::uuid[])")
        return query.format(sql.Identifier(self.tables.commands)).as_string()

    @cached_property
    def insert_log(self) -> str:
        # No ON CONFLICT: a command applied twice at once must fail its second
        # transaction, which SQS then redelivers as the duplicate it is.
        log = sql.Identifier(self.tables.commands)
        query = sql.SQL("INSERT INTO {t} ({cols}) SELECT {cols} FROM {source}")
        return query.format(t=log, cols=_names(list(LOG_COLUMNS)), source=_records(log)).as_string()

    @cached_property
    def load_markers(self) -> str:
        query = sql.SQL("SELECT command, kept FROM {} WHERE parent_id = ANY(%s::text[])")
        return query.format(sql.Identifier(self.tables.markers)).as_string()

    @cached_property
    def save_markers(self) -> str:
        query = sql.SQL(
            "INSERT INTO {t} (parent_id, stamp, command, kept) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::jsonb[], %s::jsonb[]) "
            "ON CONFLICT (parent_id) DO UPDATE "
            "SET stamp = excluded.stamp, command = excluded.command, kept = excluded.kept "
            "WHERE excluded.stamp >= {t}.stamp"
        )
        return query.format(t=sql.Identifier(self.tables.markers)).as_string()

    @cached_property
    def insert_failures(self) -> str:
        query = sql.SQL(
            "INSERT INTO {} (message_id, command_id, reason) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[])"
        )
        return query.format(sql.Identifier(self.tables.failures)).as_string()

    # -- the api's ----------------------------------------------------------------------

    @cached_property
    def get_row(self) -> str:
        """One live row (None when absent or deleted)."""
        query = sql.SQL("SELECT {} FROM {} WHERE id = %s AND {}")
        return query.format(
            _names(self.column_names), sql.Identifier(self.tables.rows), sql.Identifier(ALIVE)
        ).as_string()

    @cached_property
    def text_columns(self) -> list[str]:
        """The id, the parent reference and every text field: what a search looks in."""
        return [name for name, kind in self.row_columns if kind == columns.TEXT and name != STAMP]

    def list_rows(
        self,
        *,
        under_parent: bool,
        after: bool,
        owned: sql.Composable | None = None,
        search: bool = False,
    ) -> str:
        """Live rows in key order, optionally under one parent, after a key, owned (`owned`:
        a condition on the rows, see `queuefirst.store.ownership`), and holding
        `%(search)s` (an ILIKE pattern) in one of their text columns."""
        conditions: list[sql.Composable] = [sql.Identifier(ALIVE)]
        if owned is not None:
            conditions.append(owned)
        if under_parent and self.entity.parent_field:
            conditions.append(sql.SQL("{} = %(parent)s").format(sql.Identifier(self.entity.parent_field)))
        if after:
            conditions.append(sql.SQL("id > %(after)s"))
        if search:
            matches = [sql.SQL("{} ILIKE %(search)s").format(sql.Identifier(c)) for c in self.text_columns]
            conditions.append(sql.SQL("({})").format(sql.SQL(" OR ").join(matches)))
        query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY id LIMIT %(limit)s")
        return query.format(
            _names(self.column_names), sql.Identifier(self.tables.rows), sql.SQL(" AND ").join(conditions)
        ).as_string()

    @cached_property
    def command_status(self) -> str:
        query = sql.SQL(
            "SELECT {entity}::text AS entity, command_id, key, scope, op, version, status, reason, producer, "
            "outbox FROM {t} WHERE command_id = ANY(%(command_ids)s::uuid[])"
        )
        return query.format(
            entity=sql.Literal(self.entity.name), t=sql.Identifier(self.tables.commands)
        ).as_string()

    @cached_property
    def key_state(self) -> str:
        """Whether a key holds a live row, and the stamp of the last command applied to it
        (deleted or not)."""
        query = sql.SQL("SELECT {}, {} FROM {} WHERE id = %s")
        return query.format(
            sql.Identifier(ALIVE), sql.Identifier(STAMP), sql.Identifier(self.tables.rows)
        ).as_string()

    @cached_property
    def history(self) -> str:
        """A row's command log, newest first: what touched it, who sent it, what became of it."""
        query = sql.SQL(
            "SELECT command_id, seq, op, scope, version, status, reason, producer, cause, applied_at "
            "FROM {} WHERE key = %(key)s ORDER BY seq DESC LIMIT %(limit)s"
        )
        return query.format(sql.Identifier(self.tables.commands)).as_string()

    @cached_property
    def parent_of(self) -> str:
        """A row's parent key, deleted or not (a tombstone keeps its parent): whose the row is."""
        assert self.entity.parent_field, f"{self.entity.name} has no parent"
        query = sql.SQL("SELECT {} FROM {} WHERE id = %s")
        return query.format(
            sql.Identifier(self.entity.parent_field), sql.Identifier(self.tables.rows)
        ).as_string()
