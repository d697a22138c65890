"""Erasing an account, then what becomes of the orders it kept: the whole shop, in memory.

Through every worker's real batch path with the kit's harness (`World`), one
step at a time, so each test is one interleaving, always the same: the
customer's erasure deletes their pending and cancelled orders and keeps their
paid and shipped ones; an order it kept lives on only as long as it stays a
record. Cancelled afterwards (its stock given back), it goes the way the
erasure sent its cancelled orders, whichever of the cancel and the erasure's
cascade reached it first.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore
from queuefirst.testing import World
from shop import application as shop


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.integration)])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """Ann, with one order of one reserved Tea (stock 5 -> 4), paid: in memory, and on PostgreSQL
    (the kit's store, so what a cascade kept is read back from its markers table)."""
    registry, rng = shop.registry(rules=True), random.Random(7)
    if request.param == "postgres":
        database: Database = request.getfixturevalue("shop_db")  # emptied
        world = World(registry, stores=lambda entity: EntityStore(entity, database), rng=rng)
    else:
        world = World(registry, rng=rng)
    world.write("customers", "create", "ann", email="ann@example.com", name="Ann")
    world.write("products", "create", "tea", sku="TEA-1", name="Tea", price_minor=450, currency="EUR")
    world.settle()
    world.write("products", "restock", "tea", quantity=5)
    world.write("orders", "create", "o1", customer_id="ann", currency="EUR")
    world.settle()
    world.write("order_items", "create", "i1", order_id="o1", product_id="tea", quantity=1)
    world.settle()
    world.write("orders", "pay", "o1", reference="pay-1")
    world.settle()
    assert world.row("orders", "o1")["status"] == "paid"  # type: ignore[index]
    assert world.row("products", "tea")["stock"] == 4  # type: ignore[index]
    yield world


def test_a_paid_order_outlives_its_customers_erasure_as_a_record(world: World) -> None:
    world.write("customers", "delete", "ann")
    world.settle()
    assert world.row("customers", "ann") is None
    assert world.row("orders", "o1")["status"] == "paid"  # type: ignore[index]
    assert world.row("order_items", "i1")["status"] == "reserved"  # type: ignore[index]
    assert world.row("products", "tea")["stock"] == 4


def test_a_kept_order_cancelled_after_the_erasure_goes_with_it(world: World) -> None:
    # Regression: the cascade kept the paid order; the cancel then left a cancelled order alive
    # under the erased account (the property's "orders ... lives under a deleted customers").
    world.write("customers", "delete", "ann")
    world.settle()
    world.write("orders", "cancel", "o1", reason="changed my mind")
    world.settle()
    assert world.row("orders", "o1") is None
    assert world.row("order_items", "i1") is None
    assert world.row("products", "tea")["stock"] == 5  # given back once, by the cancel


def test_the_cancel_and_the_erasure_end_alike_in_either_order(world: World) -> None:
    world.write("orders", "cancel", "o1", reason="changed my mind")
    world.settle()
    world.write("customers", "delete", "ann")
    world.settle()
    assert world.row("orders", "o1") is None and world.row("order_items", "i1") is None
    assert world.row("products", "tea")["stock"] == 5


def test_a_kept_order_that_stays_a_record_stays(world: World) -> None:
    world.write("customers", "delete", "ann")
    world.settle()
    world.write("orders", "update", "o1", note="leave at the door")
    world.settle()
    world.write("orders", "ship", "o1")
    world.settle()
    assert world.row("orders", "o1")["status"] == "shipped"  # type: ignore[index]
    assert world.row("order_items", "i1")["status"] == "shipped"  # type: ignore[index]
    world.write("orders", "cancel", "o1", reason="too late")  # refused: a shipped order is not cancelled
    world.settle()
    assert world.row("orders", "o1")["status"] == "shipped"  # type: ignore[index]
    assert world.row("products", "tea")["stock"] == 4


def test_an_account_re_created_keeps_its_new_orders_whatever_they_become(world: World) -> None:
    world.write("customers", "delete", "ann")
    world.settle()
    world.write("customers", "create", "ann", email="ann@example.com", name="Ann")
    world.settle()
    world.write("orders", "create", "o2", customer_id="ann", currency="EUR")
    world.settle()
    world.write("orders", "cancel", "o2", reason="changed my mind")
    world.settle()
    assert world.row("orders", "o2")["status"] == "cancelled"  # type: ignore[index]
    # The order the erasure kept is still the erased account's: cancelled, it goes.
    world.write("orders", "cancel", "o1", reason="refund")
    world.settle()
    assert world.row("orders", "o1") is None
