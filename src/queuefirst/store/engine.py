"""Engines for PostgreSQL through psycopg 3."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """Accept the usual `postgresql://` spellings; always drive psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 2, connect_timeout: int = 5) -> Engine:
    # prepare_threshold=None: no server-side prepared statements, which RDS
    # Proxy would otherwise pin to one connection.
    return create_engine(
        normalise_url(url),
        pool_size=pool_size,
        max_overflow=2,
        pool_pre_ping=True,
        connect_args={"prepare_threshold": None, "connect_timeout": connect_timeout},
    )
