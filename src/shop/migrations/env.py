"""Alembic environment: the target schema is generated from the shop registry."""

import os

from alembic import context

from queuefirst.store.engine import make_engine, normalise_url
from queuefirst.store.schema import build_schema
from shop.registry import load_registry

config = context.config
target_metadata = build_schema(load_registry()).metadata
url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
if not url:
    raise SystemExit("DATABASE_URL is not set: it names the database to migrate")

if context.is_offline_mode():
    context.configure(url=normalise_url(url), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url, pool_size=1)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
