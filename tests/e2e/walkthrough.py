"""The README's walkthrough, step by step, against a running `queuefirst dev`."""

from __future__ import annotations

from tests.e2e.conftest import RunningStack

CUSTOMER = {"email": "ann@example.com", "name": "Ann"}


def found(stack: RunningStack, path: str) -> bool:
    return stack.request("GET", path)[0] == 200


def gone(stack: RunningStack, path: str) -> bool:
    return stack.request("GET", path)[0] == 404


def walkthrough(stack: RunningStack) -> None:
    status, created = stack.request("POST", "/customers", {"id": "ann", **CUSTOMER})
    assert status == 202
    customer = created["id"]
    assert customer == "ann" and created["status_url"] == f"/commands/{created['command_id']}"
    stack.eventually(lambda: found(stack, f"/customers/{customer}"), what="customer applied")
    assert stack.request("GET", created["status_url"])[1]["status"] == "applied"

    assert stack.request("PATCH", f"/customers/{customer}", {"name": "Ann Lee"})[0] == 202
    stack.eventually(
        lambda: stack.request("GET", f"/customers/{customer}")[1]["name"] == "Ann Lee", what="partial update"
    )
    assert stack.request("GET", f"/customers/{customer}")[1]["email"] == "ann@example.com"

    stack.request(
        "POST",
        "/products",
        {"id": "tea", "sku": "TEA-1", "name": "Tea", "price_minor": 450, "currency": "EUR"},
    )
    stack.eventually(lambda: found(stack, "/products/tea"), what="product applied")
    stack.request("POST", "/orders", {"id": "o-1", "customer_id": customer, "currency": "EUR"})
    stack.eventually(lambda: found(stack, "/orders/o-1"), what="order applied")
    stack.request(
        "POST",
        "/order_items",
        {
            "id": "i-1",
            "order_id": "o-1",
            "product_id": "tea",
            "quantity": 2,
            "unit_price_minor": 450,
            "currency": "EUR",
        },
    )
    stack.eventually(lambda: found(stack, "/order_items/i-1"), what="item applied")
    listed = stack.request("GET", "/order_items?order_id=o-1")[1]
    assert [item["id"] for item in listed["items"]] == ["i-1"]

    assert stack.request("DELETE", f"/customers/{customer}")[0] == 202
    stack.eventually(lambda: gone(stack, "/order_items/i-1"), what="cascade reached the item")
    assert gone(stack, f"/customers/{customer}") and gone(stack, "/orders/o-1")
    assert found(stack, "/products/tea")  # not a child: untouched
