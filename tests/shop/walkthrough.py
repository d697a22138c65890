"""The README's walkthrough, step by step, against a running `queuefirst dev` of the shop.

Ann is an end user (her token's sub is `ann`: she owns customer `ann`, her
orders and their items); the catalogue, shipping and suspensions are an
operator's. Each request carries the token its route asks for.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import RunningStack

ANN = "ann"
CUSTOMER = {"email": "ann@example.com", "name": "Ann"}
ITEM = {"product_id": "tea"}  # its price and currency are its product's, never the client's


def found(stack: RunningStack, path: str, who: str = ANN) -> bool:
    return stack.request("GET", path, as_user=who)[0] == 200


def gone(stack: RunningStack, path: str, who: str = ANN) -> bool:
    return stack.request("GET", path, as_user=who)[0] == 404


def field(stack: RunningStack, path: str, name: str, who: str = ANN) -> Any:
    return stack.request("GET", path, as_user=who)[1].get(name)


def applied(stack: RunningStack, accepted: dict[str, Any], what: str, who: str = ANN) -> None:
    stack.eventually(
        lambda: stack.request("GET", accepted["status_url"], as_user=who)[1]["status"] == "applied", what=what
    )


def walkthrough(stack: RunningStack) -> None:
    def ann(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return stack.request(method, path, body, as_user=ANN)

    # Ann signs up: her customer row's id is her token's sub.
    status, created = ann("POST", "/customers", CUSTOMER)
    assert (status, created["id"]) == (202, ANN)
    assert created["status_url"] == f"/commands/{created['command_id']}"
    applied(stack, created, "customer created")
    # The command records who sent it.
    assert ann("GET", created["status_url"])[1]["producer"] == {"kind": "api", "principal": "user:ann"}
    assert ann("PATCH", "/customers/ann", {"name": "Ann Lee"})[0] == 202
    # An operator adds a product with ten in stock (an operator's token: the routes say so).
    stocked = stack.request(
        "POST",
        "/products",
        {"id": "tea", "sku": "TEA-1", "name": "Tea", "price_minor": 450, "currency": "EUR"},
    )[1]
    assert stocked["status_url"].startswith("/operator-commands/")
    stack.eventually(lambda: found(stack, "/products/tea"), what="product created")
    applied(stack, stack.request("POST", "/products/tea/restock", {"quantity": 10})[1], "restock")
    assert field(stack, "/customers/ann", "name") == "Ann Lee"

    # An order (its customer admits it) with an item (its order admits it): the item reserves its
    # quantity on the product, which answers with its price; the order counts it.
    applied(stack, ann("POST", "/orders", {"id": "o-1", "customer_id": ANN, "currency": "EUR"})[1], "order")
    applied(
        stack, ann("POST", "/order_items", {"id": "i-1", "order_id": "o-1", "quantity": 2, **ITEM})[1], "item"
    )
    assert field(stack, "/products/tea", "stock") == 8
    item = ann("GET", "/order_items/i-1")[1]
    assert (item["status"], item["unit_price_minor"], item["currency"]) == ("reserved", 450, "EUR")
    # The item tells its order, one hop later: the order counts one item, its total 900.
    stack.eventually(lambda: field(stack, "/orders/o-1", "total_minor") == 900, what="the order counted it")
    assert field(stack, "/orders/o-1", "items") == 1

    # More than the stock holds: refused, with the product's reason; the item says why.
    status, too_many = ann("POST", "/order_items", {"id": "i-9", "order_id": "o-1", "quantity": 100, **ITEM})
    assert (status, too_many["error"]["message"]) == (409, "only 8 of Tea in stock")

    # Ann pays, an operator ships; her cancel now is refused by the api with the rule's reason.
    applied(stack, ann("POST", "/orders/o-1/pay", {"reference": "pay-1"})[1], "payment")
    applied(stack, stack.request("POST", "/orders/o-1/ship")[1], "shipping")
    status, refused = ann("POST", "/orders/o-1/cancel", {"reason": "too late"})
    assert (status, refused["error"]["message"]) == (
        409,
        "the order is shipped: only a pending or paid order can be cancelled",
    )

    # Nobody else reaches ann's rows: another customer's token gets 404, as for a row that is not there.
    assert stack.request("GET", "/orders/o-1", as_user="bob")[0] == 404
    assert stack.request("GET", "/order_items?order_id=o-1", as_user="bob")[0] == 404

    # A second, pending order; an operator suspends ann, which cancels it and its stock comes back.
    applied(stack, ann("POST", "/orders", {"id": "o-2", "customer_id": ANN, "currency": "EUR"})[1], "order")
    ann("POST", "/order_items", {"id": "i-2", "order_id": "o-2", "quantity": 3, **ITEM})
    stack.eventually(lambda: field(stack, "/products/tea", "stock") == 5, what="second reservation")
    assert stack.request("POST", "/customers/ann/suspend", {"reason": "fraud check"})[0] == 202
    stack.eventually(
        lambda: field(stack, "/orders/o-2", "status") == "cancelled", what="pending order cancelled"
    )
    stack.eventually(lambda: field(stack, "/products/tea", "stock") == 8, what="its stock released")
    assert field(stack, "/orders/o-1", "status") == "shipped"  # not pending: untouched

    # Ann deletes her account: it cascades to her orders; the cancelled one goes with its items,
    # the shipped one is kept as the shop's record, and its goods' stock is never given back.
    assert ann("DELETE", "/customers/ann")[0] == 202
    stack.eventually(lambda: gone(stack, "/orders/o-2"), what="cascade reached the orders")
    stack.eventually(lambda: gone(stack, "/order_items/i-2"), what="and their items")
    assert gone(stack, "/customers/ann")
    assert field(stack, "/orders/o-1", "status") == "shipped" and found(stack, "/order_items/i-1")
    assert field(stack, "/products/tea", "stock") == 8  # not under ann: untouched
