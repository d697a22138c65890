"""The database a function opens: from its settings, with the schema guard on every connection."""

from __future__ import annotations

from typing import Any

from queuefirst.model.names import migrations_function_name
from queuefirst.runtime.settings import CommonSettings
from queuefirst.store.database import Database
from queuefirst.store.revision import SchemaGuard


def function_database(settings: CommonSettings, app: str, logger: Any) -> tuple[Database, SchemaGuard]:
    """The database and its guard (which also answers deploy probes). `logger`: the
    function's, where the guard says what to run when the database is behind."""
    guard = SchemaGuard(settings.schema_revision, migrations_function_name(app), logger)
    database = Database(
        settings.database_url,
        iam_auth=settings.db_iam_auth,
        region=settings.aws_region,
        prepared_statements=settings.db_prepared_statements,
        on_open=guard,
    )
    return database, guard


def probe_answer(database: Database, guard: SchemaGuard, version: str) -> dict[str, Any]:
    """What a deploy's probe reads from a new version: the revisions on both sides, read now."""
    with database.reading() as conn:
        return guard.answer(conn, version)
