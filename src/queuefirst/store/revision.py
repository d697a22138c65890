"""The schema revision a function needs, and the one its database has.

Revisions are the application's Alembic revisions, numbered in one line by
`queuefirst migrations new` (0001, 0002, ...), so "at least" is numeric order.
An image carries the revision it needs in `QUEUEFIRST_SCHEMA_REVISION` (baked
at build time from `queuefirst plan --schema-revisions`, see
`queuefirst.ops.revisions`); the database records the revision it has in
Alembic's `alembic_version` table.

A function whose database is older than its image needs refuses to start:
the guard runs one query when the function's connection opens (at init in
the composition roots), logs one line saying what to run, and raises
`SchemaBehind`, so Lambda reports an init error for the whole invocation
instead of failing record after record. Deploys ask a new version before any
traffic moves to it: `queuefirst deploy` invokes it with `PROBE_EVENT` (the
answer names both revisions), the CDK trigger with an empty event (its init
is the check).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

ENV_VARIABLE = "QUEUEFIRST_SCHEMA_REVISION"
PROBE_KEY = "queuefirst"
PROBE_EVENT = {PROBE_KEY: "schema"}
_NUMBER = re.compile(r"^\d{4,}$")


class SchemaBehind(RuntimeError):
    """The database has not been migrated to the revision this image needs."""

    def __init__(self, needs: str, has: str | None, migrations_function: str) -> None:
        self.needs = needs
        self.has = has
        super().__init__(
            f"the database schema is at revision {has or 'none'} but this image needs {needs}: "
            f"run the migrations first (invoke {migrations_function}, or `queuefirst deploy "
            f"<function> --image <uri> --migrate`, or deploy the shared stack, whose migrations run "
            f"before its api), then deploy this image again"
        )


def revision_number(revision: str) -> int:
    if not _NUMBER.match(revision):
        raise ValueError(
            f"schema revision {revision!r} is not a number: queuefirst numbers revisions 0001, 0002, ..."
        )
    return int(revision)


def satisfies(has: str | None, needs: str) -> bool:
    """Whether a database at revision `has` serves an image that needs `needs`."""
    return has is not None and revision_number(has) >= revision_number(needs)


class Cursorable(Protocol):
    def execute(self, query: Any, params: Any = ...) -> Any: ...


def database_revision(conn: Cursorable) -> str | None:
    """The revision in alembic_version (one query); None for a database never migrated."""
    try:
        found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return str(found[0]) if found else None


@dataclass
class SchemaGuard:
    """Checks the database's revision against the image's, once per new connection."""

    needs: str | None
    migrations_function: str
    logger: Any = None  # a Powertools Logger; None in tools and tests
    seen: str | None = None

    def __call__(self, conn: Cursorable) -> None:
        if self.needs is None:
            return  # an image built without a revision, or the local stack from source
        self.seen = database_revision(conn)
        if satisfies(self.seen, self.needs):
            return
        error = SchemaBehind(self.needs, self.seen, self.migrations_function)
        if self.logger is not None:
            self.logger.error(
                "database schema behind this image",
                extra={"needs": self.needs, "database": self.seen, "run": self.migrations_function},
            )
        raise error

    def answer(self, conn: Cursorable, function_version: str) -> dict[str, Any]:
        """What a deploy's probe reads: the revisions on both sides, read now."""
        has = database_revision(conn)
        ok = self.needs is None or satisfies(has, self.needs)
        return {"schema": {"needs": self.needs, "database": has, "ok": ok, "version": function_version}}


def is_probe(event: Any) -> bool:
    return isinstance(event, dict) and event.get(PROBE_KEY) == PROBE_EVENT[PROBE_KEY]
