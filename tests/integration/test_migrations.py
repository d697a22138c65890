"""Migrating to head builds exactly the schema the entity modules declare, for every app here."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from notes import application as notes_app
from queuefirst.model.application import Application
from queuefirst.schema.engine import make_engine
from queuefirst.schema.tables import build_schema
from shop import application as shop_app

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("app", "url_fixture"), [(notes_app, "notes_url"), (shop_app, "shop_url")])
def test_migrations_match_the_registry_schema(
    app: Application, url_fixture: str, request: pytest.FixtureRequest
) -> None:
    engine = make_engine(request.getfixturevalue(url_fixture), pool_size=1)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), build_schema(app.registry()).metadata)
    finally:
        engine.dispose()
    assert diff == []
