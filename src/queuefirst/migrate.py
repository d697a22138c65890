"""Preparing a database: `alembic upgrade head`, callable from code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def alembic_config(database_url: str, script_location: str = "shop:migrations") -> Config:
    config = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    config.set_main_option("script_location", script_location)
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, script_location: str = "shop:migrations") -> None:
    command.upgrade(alembic_config(database_url, script_location), "head")
