"""Preparing a database: `alembic upgrade head`, callable from code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from queuefirst.store.access import DatabaseUsers, apply_grants
from queuefirst.store.engine import make_engine
from queuefirst.store.schema import StoreSchema

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def alembic_config(database_url: str, script_location: str = "shop:migrations") -> Config:
    config = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    config.set_main_option("script_location", script_location)
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, script_location: str = "shop:migrations") -> None:
    command.upgrade(alembic_config(database_url, script_location), "head")


def prepare(
    database_url: str,
    schema: StoreSchema,
    users: DatabaseUsers | None,
    script_location: str = "shop:migrations",
) -> None:
    """Migrate to head, then (re)grant each function's database user exactly its tables."""
    upgrade(database_url, script_location)
    if users is None:
        return
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            apply_grants(conn, schema, users)
    finally:
        engine.dispose()
