"""SQLAlchemy engines for Alembic and the tools, logged in as the functions are.

The URL is read by the one parser (`queuefirst.store.connect.conninfo`) and every
connection made by the one `connect`, a fresh RDS IAM token as its password
where the login is IAM: the engine only pools what `connect` opens.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine

from queuefirst.store.connect import connect, conninfo


def make_engine(
    url: str, *, pool_size: int = 2, connect_timeout: int = 5, iam_auth: bool = False, region: str = ""
) -> Engine:
    params = conninfo(url) | {"connect_timeout": connect_timeout}

    def connection() -> Any:
        # prepare_threshold=None: no server-side prepared statements, which RDS
        # Proxy would otherwise pin to one connection.
        return connect(params, iam_auth=iam_auth, region=region, prepare_threshold=None)

    return create_engine(
        "postgresql+psycopg://",
        creator=connection,
        pool_size=pool_size,
        max_overflow=2,
        pool_pre_ping=True,
        # IAM tokens live 15 minutes; a connection outliving one is fine, but
        # recycling keeps a long-running tool from holding connections for days.
        pool_recycle=600 if iam_auth else -1,
    )
