"""`alembic upgrade head` builds exactly the schema the code declares."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from queuefirst.store.schema import StoreSchema

pytestmark = pytest.mark.integration


def test_migrations_match_the_registry_schema(engine: Engine, schema: StoreSchema) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []
