"""Alembic migrations of the shop's store."""
