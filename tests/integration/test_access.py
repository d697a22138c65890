"""Least privilege in the database: the api reads, each worker writes only its own tables.

Uses the migrations function's own code path (`prepare`) and then logs in
as each user (the test server trusts local logins; on AWS they use IAM).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from queuefirst.model.command import Command, Op
from queuefirst.model.registry import Registry
from queuefirst.store.access import DatabaseUsers
from queuefirst.store.engine import make_engine
from queuefirst.store.migrate import prepare
from queuefirst.store.schema import StoreSchema, build_schema
from queuefirst.store.writer import EntityWriter
from shop import application as shop

pytestmark = pytest.mark.integration

USERS = DatabaseUsers(
    api="shop_api", workers={e: f"shop_{e}" for e in ("customers", "products", "orders", "order_items")}
)


@pytest.fixture(scope="module")
def as_user(postgres_url: str, schema: StoreSchema):  # type: ignore[no-untyped-def]
    prepare(postgres_url, shop, USERS)
    prepare(postgres_url, shop, USERS)  # idempotent: every deploy runs it
    engines = []

    def connect(user: str):  # type: ignore[no-untyped-def]
        url = make_url(postgres_url).set(username=user).render_as_string(hide_password=False)
        engine = make_engine(url, pool_size=1)
        engines.append(engine)
        return engine

    yield connect
    for engine in engines:
        engine.dispose()


def test_a_worker_user_applies_commands_to_its_own_entity(as_user, registry: Registry) -> None:  # type: ignore[no-untyped-def]
    engine = as_user("shop_orders")
    writer = EntityWriter(registry["orders"], build_schema([registry["orders"]]))
    purge = Command(command_id=uuid.uuid4(), entity="orders", op=Op.PURGE, key=f"c-{uuid.uuid4()}", version=1)
    create = Command(
        command_id=uuid.uuid4(),
        entity="orders",
        op=Op.CREATE,
        key=f"o-{uuid.uuid4()}",
        version=2,
        payload={"customer_id": purge.key, "currency": "EUR", "status": "pending", "note": None},
    )
    with engine.begin() as conn:
        results = writer.apply(conn, [purge, create])
    assert [r.outcome.value for r in results] == ["applied", "applied"]


@pytest.mark.parametrize("table", ["customers", "order_items", "products"])
def test_a_worker_user_cannot_write_another_entitys_table(as_user, table: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProgrammingError, match="permission denied"), as_user("shop_orders").begin() as conn:
        conn.execute(text(f"INSERT INTO {table} (id) VALUES ('x')"))


def test_the_api_user_reads_but_cannot_write(as_user) -> None:  # type: ignore[no-untyped-def]
    engine = as_user("shop_api")
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM customers")).scalar_one()
        conn.execute(text("SELECT count(*) FROM commands")).scalar_one()
    for statement in (
        "INSERT INTO customers (id) VALUES ('x')",
        "DELETE FROM orders",
        "INSERT INTO commands (command_id, entity, op, key, version, status) "
        "VALUES (gen_random_uuid(), 'a', 'b', 'c', 1, 'd')",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"), engine.begin() as conn:
            conn.execute(text(statement))


def test_iam_auth_logs_in_with_a_fresh_rds_token(postgres_url: str) -> None:
    """RDS Proxy takes IAM tokens as passwords. The token is signed locally by
    boto3 (AWS itself is not reachable here); the trusting test server ignores it."""
    from sqlalchemy import event

    engine = make_engine(postgres_url, pool_size=1, iam_auth=True, region="eu-west-1")
    seen: list[str] = []

    @event.listens_for(engine, "do_connect")
    def capture(dialect, conn_rec, cargs, cparams) -> None:  # type: ignore[no-untyped-def]
        seen.append(cparams["password"])

    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()
    assert len(seen) == 1
    assert "Action=connect" in seen[0] and "X-Amz-Signature=" in seen[0] and "eu-west-1" in seen[0]
