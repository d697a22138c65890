"""The shop's business rules, one decide function at a time (GIVEN a row, WHEN an action, THEN...).

Pure functions: no database, no queue. The worker runs exactly these.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from queuefirst.model.actions import Audience, Decision, Empty, Meta, Row
from queuefirst.model.command import Scope
from shop.entities.customers import CustomerFields, Suspension, customers
from shop.entities.order_items import OrderItemFields, order_items
from shop.entities.orders import Cancellation, OrderFields, Payment, orders
from shop.entities.products import ProductFields, Quantity, products

META = Meta(uuid.uuid4(), 1, (), "test")


def row(fields: BaseModel, key: str = "k", parent: str | None = None) -> Row[Any]:
    return Row(key, parent, True, fields)


def order(status: str) -> Row[OrderFields]:
    return row(OrderFields(currency="EUR", status=status), "o1", "c1")  # type: ignore[arg-type]


def act(entity: Any, name: str, current: Row[Any], given: BaseModel | None = None) -> Decision:
    action = entity.actions[name]
    decision: Decision = action.decide(current, given or Empty(), META)
    return decision


# -- orders ---------------------------------------------------------------------------------


def test_a_pending_order_can_be_paid_and_records_its_reference() -> None:
    decision = act(orders, "pay", order("pending"), Payment(reference="pay-1"))
    assert not decision.rejected
    assert decision.changes == {"status": "paid", "payment_reference": "pay-1"} and decision.asks == ()


@pytest.mark.parametrize("status", ["paid", "shipped", "cancelled"])
def test_only_a_pending_order_can_be_paid(status: str) -> None:
    decision = act(orders, "pay", order(status), Payment(reference="p"))
    assert decision.rejection == f"only a pending order can be paid; this one is {status}"


def test_a_paid_order_ships() -> None:
    assert act(orders, "ship", order("paid")).changes == {"status": "shipped"}


@pytest.mark.parametrize("status", ["pending", "shipped", "cancelled"])
def test_only_a_paid_order_ships(status: str) -> None:
    assert (
        act(orders, "ship", order(status)).rejection
        == f"only a paid order can be shipped; this one is {status}"
    )


@pytest.mark.parametrize("status", ["pending", "paid"])
def test_a_pending_or_paid_order_cancels_and_asks_its_items_for_their_stock(status: str) -> None:
    decision = act(orders, "cancel", order(status), Cancellation(reason="changed my mind"))
    assert decision.changes == {"status": "cancelled", "cancel_reason": "changed my mind"}
    (ask,) = decision.asks
    assert (ask.entity, ask.op, ask.scope, ask.key) == ("order_items", "release", Scope.CHILDREN, None)


def test_a_shipped_order_cannot_be_cancelled() -> None:
    decision = act(orders, "cancel", order("shipped"), Cancellation(reason="x"))
    assert decision.rejection == "a shipped order cannot be cancelled" and decision.asks == ()


def test_a_cancelled_order_is_not_cancelled_twice() -> None:
    assert act(orders, "cancel", order("cancelled"), Cancellation(reason="x")).rejection == (
        "the order is already cancelled"
    )


# -- customers -------------------------------------------------------------------------------


def customer(status: str = "active") -> Row[CustomerFields]:
    return row(CustomerFields(email="a@example.com", name="Ann", status=status), "c1")  # type: ignore[arg-type]


def test_suspending_a_customer_asks_their_pending_orders_to_cancel() -> None:
    decision = act(customers, "suspend", customer(), Suspension(reason="fraud check"))
    assert decision.changes == {"status": "suspended", "suspension_reason": "fraud check"}
    (ask,) = decision.asks
    assert (ask.entity, ask.op, ask.scope, dict(ask.where)) == (
        "orders",
        "cancel",
        Scope.CHILDREN,
        {"status": "pending"},
    )
    assert dict(ask.payload) == {"reason": "customer suspended: fraud check"}


def test_a_suspended_customer_is_not_suspended_again_and_reinstates() -> None:
    assert act(customers, "suspend", customer("suspended"), Suspension(reason="x")).rejection == (
        "the customer is already suspended"
    )
    assert act(customers, "reinstate", customer("suspended")).changes == {
        "status": "active",
        "suspension_reason": None,
    }
    assert act(customers, "reinstate", customer()).rejection == "only a suspended customer can be reinstated"


# -- products --------------------------------------------------------------------------------


def product(stock: int) -> Row[ProductFields]:
    return row(ProductFields(sku="TEA-1", name="Tea", price_minor=1, currency="EUR", stock=stock), "p1")


def test_restock_reserve_and_release_move_the_stock_and_reserve_may_oversell() -> None:
    assert act(products, "restock", product(1), Quantity(quantity=4)).changes == {"stock": 5}
    assert act(products, "reserve", product(1), Quantity(quantity=3)).changes == {"stock": -2}
    assert act(products, "release", product(-2), Quantity(quantity=3)).changes == {"stock": 1}
    assert ProductFields(sku="TEA-1", name="Tea", price_minor=1, currency="EUR", stock=-2).oversold is True


def test_reserve_and_release_are_for_other_entities_to_ask_not_routes() -> None:
    routed = {name for name, a in products.actions.items() if a.audience is not Audience.INTERNAL}
    assert routed == {"restock"}


# -- order items -----------------------------------------------------------------------------


def item(reserved: bool) -> Row[OrderItemFields]:
    fields = OrderItemFields(
        product_id="p1", quantity=2, unit_price_minor=5, currency="EUR", reserved=reserved
    )
    return row(fields, "i1", "o1")


def test_a_new_item_reserves_its_quantity_on_its_product() -> None:
    decision = order_items.hooks["on_create"](item(reserved=False), META)
    assert decision.changes == {"reserved": True}
    (ask,) = decision.asks
    assert (ask.entity, ask.key, ask.op, dict(ask.payload)) == ("products", "p1", "reserve", {"quantity": 2})


def test_deleting_an_item_releases_what_it_holds_and_nothing_more() -> None:
    (ask,) = order_items.hooks["on_delete"](item(reserved=True), META).asks
    assert (ask.entity, ask.op, dict(ask.payload)) == ("products", "release", {"quantity": 2})
    assert order_items.hooks["on_delete"](item(reserved=False), META).asks == ()


def test_releasing_an_item_gives_its_stock_back_once() -> None:
    decision = act(order_items, "release", item(reserved=True))
    assert decision.changes == {"reserved": False} and decision.asks[0].op == "release"
    assert act(order_items, "release", item(reserved=False)).rejection == "the item holds no stock"
