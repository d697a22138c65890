"""The README's walkthrough, step by step, against a running `queuefirst dev` of the shop."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import RunningStack

CUSTOMER = {"email": "ann@example.com", "name": "Ann"}
ITEM = {"product_id": "tea", "unit_price_minor": 450, "currency": "EUR"}


def found(stack: RunningStack, path: str) -> bool:
    return stack.request("GET", path)[0] == 200


def gone(stack: RunningStack, path: str) -> bool:
    return stack.request("GET", path)[0] == 404


def field(stack: RunningStack, path: str, name: str) -> Any:
    return stack.request("GET", path)[1].get(name)


def applied(stack: RunningStack, accepted: dict[str, Any], what: str) -> None:
    stack.eventually(
        lambda: stack.request("GET", accepted["status_url"])[1]["status"] == "applied", what=what
    )


def walkthrough(stack: RunningStack) -> None:
    # A customer and a product with ten in stock.
    status, created = stack.request("POST", "/customers", {"id": "ann", **CUSTOMER})
    assert (status, created["id"]) == (202, "ann")
    assert created["status_url"] == f"/commands/{created['command_id']}"
    applied(stack, created, "customer created")
    assert stack.request("PATCH", "/customers/ann", {"name": "Ann Lee"})[0] == 202
    stack.request(
        "POST",
        "/products",
        {"id": "tea", "sku": "TEA-1", "name": "Tea", "price_minor": 450, "currency": "EUR"},
    )
    stack.eventually(lambda: found(stack, "/products/tea"), what="product created")
    applied(stack, stack.request("POST", "/products/tea/restock", {"quantity": 10})[1], "restock")
    assert field(stack, "/customers/ann", "name") == "Ann Lee"

    # An order with an item: the item reserves its quantity on the product.
    applied(
        stack,
        stack.request("POST", "/orders", {"id": "o-1", "customer_id": "ann", "currency": "EUR"})[1],
        "order",
    )
    stack.request("POST", "/order_items", {"id": "i-1", "order_id": "o-1", "quantity": 2, **ITEM})
    stack.eventually(lambda: field(stack, "/products/tea", "stock") == 8, what="stock reserved")
    assert field(stack, "/order_items/i-1", "reserved") is True

    # Pay, ship; a cancel now is refused by the api with the rule's reason.
    applied(stack, stack.request("POST", "/orders/o-1/pay", {"reference": "pay-1"})[1], "payment")
    applied(stack, stack.request("POST", "/orders/o-1/ship")[1], "shipping")
    status, refused = stack.request("POST", "/orders/o-1/cancel", {"reason": "too late"})
    assert (status, refused["error"]["message"]) == (409, "a shipped order cannot be cancelled")

    # A second, pending order; suspending ann cancels it and its stock comes back.
    applied(
        stack,
        stack.request("POST", "/orders", {"id": "o-2", "customer_id": "ann", "currency": "EUR"})[1],
        "order",
    )
    stack.request("POST", "/order_items", {"id": "i-2", "order_id": "o-2", "quantity": 3, **ITEM})
    stack.eventually(lambda: field(stack, "/products/tea", "stock") == 5, what="second reservation")
    assert stack.request("POST", "/customers/ann/suspend", {"reason": "fraud check"})[0] == 202
    stack.eventually(
        lambda: field(stack, "/orders/o-2", "status") == "cancelled", what="pending order cancelled"
    )
    stack.eventually(lambda: field(stack, "/products/tea", "stock") == 8, what="its stock released")
    assert field(stack, "/orders/o-1", "status") == "shipped"  # not pending: untouched

    # Deleting ann cascades to her orders and their items; every reservation ends.
    assert stack.request("DELETE", "/customers/ann")[0] == 202
    stack.eventually(lambda: gone(stack, "/order_items/i-1"), what="cascade reached the items")
    stack.eventually(lambda: field(stack, "/products/tea", "stock") == 10, what="all stock back")
    assert gone(stack, "/customers/ann") and gone(stack, "/orders/o-1") and gone(stack, "/order_items/i-2")
    assert found(stack, "/products/tea")  # not under ann: untouched
