"""Engines for PostgreSQL through psycopg 3."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """Accept the usual `postgresql://` spellings; always drive psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(
    url: str, *, pool_size: int = 2, connect_timeout: int = 5, iam_auth: bool = False, region: str = ""
) -> Engine:
    # prepare_threshold=None: no server-side prepared statements, which RDS
    # Proxy would otherwise pin to one connection.
    engine = create_engine(
        normalise_url(url),
        pool_size=pool_size,
        max_overflow=2,
        pool_pre_ping=True,
        # IAM tokens live 15 minutes; a connection outliving one is fine, but
        # recycling keeps a warm function from holding connections for days.
        pool_recycle=600 if iam_auth else -1,
        connect_args={"prepare_threshold": None, "connect_timeout": connect_timeout},
    )
    if iam_auth:
        _use_iam_tokens(engine, region)
    return engine


def _use_iam_tokens(engine: Engine, region: str) -> None:
    """Each new connection gets a fresh RDS IAM token as its password."""
    import boto3

    rds = boto3.client("rds", region_name=region or None)

    @event.listens_for(engine, "do_connect")
    def token(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["password"] = rds.generate_db_auth_token(
            DBHostname=cparams["host"], Port=int(cparams.get("port") or 5432), DBUsername=cparams["user"]
        )
