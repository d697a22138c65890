"""Alembic environment of every queuefirst application.

The target schema is generated from the application's registry, so
`alembic revision --autogenerate` (`queuefirst migrations new`) writes exactly
the difference between the database and the entity modules.
"""

from alembic import context

from queuefirst.model.application import load_application
from queuefirst.schema.engine import make_engine
from queuefirst.schema.tables import build_schema

config = context.config
application = config.attributes.get("application") or load_application()
target_metadata = build_schema(application.registry()).metadata
url = config.attributes.get("database_url")
if not url:
    raise SystemExit("no database to migrate: pass database_url (queuefirst migrations upgrade does)")

if context.is_offline_mode():
    # Offline, the URL only names the dialect the SQL is written for.
    context.configure(url="postgresql+psycopg://", target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url, pool_size=1)
    with engine.connect() as connection:
        live_columns = {t.name: sorted(c.name for c in t.columns) for t in target_metadata.sorted_tables}
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            process_revision_directives=config.attributes.get("process_revision_directives"),
            # Written into each generated revision (see script.py.mako).
            template_args={"live_columns": repr(dict(sorted(live_columns.items())))},
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
