"""Database users with least privilege: the api and the console read; each worker writes its own tables.

On Aurora the functions log in through RDS Proxy with IAM tokens, so each
user is also granted `rds_iam` where that role exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from queuefirst.schema.tables import StoreSchema


@dataclass(frozen=True)
class DatabaseUsers:
    api: str
    workers: dict[str, str]  # entity -> user
    admin: str | None = None  # the console: reads rows, command logs and failure reasons

    @property
    def readers(self) -> list[str]:
        return [self.api, *([self.admin] if self.admin else [])]

    @property
    def everyone(self) -> list[str]:
        return [*self.readers, *self.workers.values()]


def _quote(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"database user names are letters, digits and underscores: {name!r}")
    return f'"{name}"'


def grant_statements(schema: StoreSchema, users: DatabaseUsers) -> list[str]:
    for user in users.everyone:
        _quote(user)  # every name checked before any is spliced into SQL
    statements: list[str] = []
    every_table = [t.name for t in schema.metadata.sorted_tables]
    for user in users.everyone:
        statements.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') "
            f"THEN CREATE ROLE {_quote(user)} LOGIN; END IF; END $$"
        )
        statements.append(f"REVOKE ALL ON {', '.join(every_table)} FROM {_quote(user)}")
        statements.append(
            f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') "
            f"THEN GRANT rds_iam TO {_quote(user)}; END IF; END $$"
        )
    # Every function reads the schema revision once, at init (queuefirst.store.revision).
    users_list = ", ".join(_quote(u) for u in users.everyone)
    statements.append(f"GRANT SELECT ON alembic_version TO {users_list}")
    readable = [
        name for tables in schema.entities.values() for name in (tables.rows.name, tables.commands.name)
    ]
    statements.append(f"GRANT SELECT ON {', '.join(readable)} TO {_quote(users.api)}")
    if users.admin:
        # The console also shows why a dead letter failed (each entity's failures table).
        failures = [tables.failures.name for tables in schema.entities.values()]
        statements.append(f"GRANT SELECT ON {', '.join([*readable, *failures])} TO {_quote(users.admin)}")
    for entity, user in users.workers.items():
        tables = schema.entities[entity]
        writable = [tables.rows.name] + ([tables.markers.name] if tables.markers is not None else [])
        logs = [tables.commands.name, tables.failures.name]
        statements.append(f"GRANT SELECT, INSERT, UPDATE ON {', '.join(writable)} TO {_quote(user)}")
        statements.append(f"GRANT SELECT, INSERT ON {', '.join(logs)} TO {_quote(user)}")
        statements.append(f"GRANT USAGE ON SEQUENCE {tables.failures.name}_id_seq TO {_quote(user)}")
    return statements


def apply_grants(conn: Connection, schema: StoreSchema, users: DatabaseUsers) -> None:
    for statement in grant_statements(schema, users):
        conn.execute(text(statement))
