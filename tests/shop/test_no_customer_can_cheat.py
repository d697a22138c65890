"""The nine ways a signed-in customer could cheat the shop (issue 18), each tried as written over
HTTP through `queuefirst dev`, and each refused: at once by the api (a 409 or 422 in the rule's
own words, from the declared preconditions), or, sent straight to a queue past the api as
another producer could, by the workers (`rejected`, or `refused` with the product's reason).
Nothing lands in a dead-letter queue.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from queuefirst.model.command import Command, Producer
from queuefirst.model.names import queue_name
from queuefirst.runtime.sender import batch_entry
from tests.e2e.conftest import RunningStack
from tests.shop.walkthrough import applied

pytestmark = pytest.mark.e2e

EVE = "eve"  # the customer trying


class Shop:
    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack

    def eve(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.stack.request(method, path, body, as_user=EVE)

    def ops(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.stack.request(method, path, body)

    def done(self, answer: tuple[int, Any], what: str, who: str | None = EVE) -> dict[str, Any]:
        status, body = answer
        assert status == 202, (what, body)
        applied(self.stack, body, what, who=who) if who else applied_ops(self.stack, body, what)
        return body

    def status(self, accepted: dict[str, Any], who: str | None = EVE) -> dict[str, Any]:
        return (
            self.stack.request("GET", accepted["status_url"], as_user=who)[1]
            if who
            else self.ops("GET", accepted["status_url"])[1]
        )

    def field(self, path: str, name: str) -> Any:
        """A field of one of eve's rows, or of a product (every customer reads the catalogue)."""
        return self.eve("GET", path)[1].get(name)

    def product(self, key: str, *, stock: int, currency: str = "EUR", active: bool = True) -> None:
        body = {
            "id": key,
            "sku": key.upper(),
            "name": key.title(),
            "price_minor": 450,
            "currency": currency,
            "active": active,
        }
        self.done(self.ops("POST", "/products", body), f"product {key}", who=None)
        if stock:
            self.done(self.ops("POST", f"/products/{key}/restock", {"quantity": stock}), "restock", who=None)

    def order(self, key: str, currency: str = "EUR") -> None:
        self.done(
            self.eve("POST", "/orders", {"id": key, "customer_id": EVE, "currency": currency}), f"order {key}"
        )

    def item(self, order: str, product: str, quantity: int = 1, key: str | None = None) -> tuple[int, Any]:
        body = {
            "order_id": order,
            "product_id": product,
            "quantity": quantity,
            **({"id": key} if key else {}),
        }
        return self.eve("POST", "/order_items", body)

    def straight(
        self, entity: str, op: str, key: str, parent: str | None, payload: dict[str, Any]
    ) -> uuid.UUID:
        """Past the api: the command on the entity's queue itself, as another producer could send it."""
        state = self.stack.state
        sqs = boto3.client(
            "sqs",
            endpoint_url=state["sqs_endpoint_url"],
            region_name=state["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        command = Command(
            command_id=uuid.uuid4(),
            entity=entity,
            op=op,
            key=key,
            parent=parent,
            version=2**62,
            payload=payload,
            producer=Producer(kind="operator", principal="batch-job"),
        )
        entry = batch_entry(0, command)
        entry.pop("Id")
        sqs.send_message(
            QueueUrl=sqs.get_queue_url(QueueName=queue_name("shop", entity))["QueueUrl"], **entry
        )
        return command.command_id

    def settled(self, command_id: uuid.UUID) -> dict[str, Any]:
        path = f"/operator-commands/{command_id}"
        self.stack.eventually(
            lambda: self.ops("GET", path)[1]["status"] != "pending", what=f"{command_id} settled"
        )
        return self.ops("GET", path)[1]


def applied_ops(stack: RunningStack, accepted: dict[str, Any], what: str) -> None:
    stack.eventually(
        lambda: stack.request("GET", accepted["status_url"])[1]["status"] == "applied", what=what
    )


def refused(answer: tuple[int, Any], status: int, message: str) -> None:
    assert (answer[0], answer[1]["error"]["message"]) == (status, message), answer


def invalid(answer: tuple[int, Any], field: str) -> None:
    """A 422 naming the field: a client may not send it at all."""
    assert (answer[0], answer[1]["error"]["field"]) == (422, field), answer


@pytest.fixture(scope="module")
def shop(shop_stack: RunningStack) -> Shop:
    shop = Shop(shop_stack)
    shop.done(shop.eve("POST", "/customers", {"email": "eve@example.com", "name": "Eve"}), "eve signs up")
    return shop


def test_1_a_customer_cannot_set_their_own_price(shop: Shop) -> None:
    shop.product("tea", stock=10)
    shop.order("o-price")
    invalid(
        shop.eve(
            "POST",
            "/order_items",
            {"order_id": "o-price", "product_id": "tea", "quantity": 1, "unit_price_minor": 0},
        ),
        "unit_price_minor",
    )
    accepted = shop.done(shop.item("o-price", "tea", key="i-price"), "an honest item")
    assert shop.status(accepted)["outcome"] == "reserved"
    assert shop.field("/order_items/i-price", "unit_price_minor") == 450  # the product's, once reserved
    # And not after: an item has no field a client may change, so no PATCH at all.
    assert shop.eve("PATCH", "/order_items/i-price", {"unit_price_minor": 0})[0] == 405


@pytest.mark.parametrize("state", ["paid", "shipped", "cancelled"])
def test_2_no_item_enters_an_order_that_is_not_pending(shop: Shop, state: str) -> None:
    key = f"o-{state}"
    shop.order(key)
    shop.done(shop.item(key, "tea", key=f"i-first-{state}"), "its first item")
    shop.stack.eventually(lambda: shop.field(f"/orders/{key}", "items") == 1, what="counted")
    shop.done(shop.eve("POST", f"/orders/{key}/pay", {"reference": "p"}), "paid")
    if state == "shipped":
        shop.done(shop.ops("POST", f"/orders/{key}/ship"), "shipped", who=None)
    if state == "cancelled":
        taken = shop.field("/products/tea", "stock")
        shop.done(shop.eve("POST", f"/orders/{key}/cancel", {"reason": "x"}), "cancelled")
        # Its item withdraws its reservation; the product gives the one back (one hop more).
        back = taken + 1
        shop.stack.eventually(lambda: shop.field("/products/tea", "stock") == back, what="its stock back")
    stock = shop.field("/products/tea", "stock")
    refused(shop.item(key, "tea"), 409, f"items change only in a pending order; this one is {state}")
    # Straight to the orders queue, as its admission: rejected there, with the same words.
    write = {
        "entity": "order_items",
        "op": "create",
        "key": f"i-sneak-{state}",
        "payload": {"order_id": key, "product_id": "tea", "quantity": 1},
    }
    status = shop.settled(shop.straight("orders", "admit", key, EVE, write))
    assert (status["status"], status["reason"]) == (
        "rejected",
        f"items change only in a pending order; this one is {state}",
    )
    assert shop.field("/products/tea", "stock") == stock  # nothing taken


def test_3_a_shipped_order_is_not_erased_and_its_stock_is_never_given_back(shop: Shop) -> None:
    refused(shop.eve("DELETE", "/orders/o-shipped"), 409, "a shipped order is kept as a record")
    refused(shop.eve("DELETE", "/orders/o-paid"), 409, "a paid order is kept as a record")


def test_4_a_suspended_customer_places_no_order_even_after_re_creating_themselves(shop: Shop) -> None:
    shop.order("o-before")
    shop.done(shop.ops("POST", f"/customers/{EVE}/suspend", {"reason": "fraud"}), "suspended", who=None)
    shop.stack.eventually(
        lambda: shop.field("/orders/o-before", "status") == "cancelled", what="pending order cancelled"
    )
    refused(
        shop.eve("POST", "/orders", {"customer_id": EVE, "currency": "EUR"}),
        409,
        "a suspended customer cannot place orders",
    )
    refused(
        shop.eve("POST", "/orders/o-before/pay", {"reference": "p"}),
        409,
        "only a pending order can be paid; this one is cancelled",
    )
    shop.done(shop.eve("DELETE", f"/customers/{EVE}"), "eve deletes herself")
    shop.done(
        shop.eve("POST", "/customers", {"email": "eve@example.com", "name": "Eve again"}),
        "and signs up again",
    )
    assert shop.field(f"/customers/{EVE}", "status") == "suspended"
    refused(
        shop.eve("POST", "/orders", {"customer_id": EVE, "currency": "EUR"}),
        409,
        "a suspended customer cannot place orders",
    )
    # Her shipped order survived her account's deletion, as the shop's record.
    assert shop.field("/orders/o-shipped", "status") == "shipped"
    shop.done(shop.ops("POST", f"/customers/{EVE}/reinstate"), "reinstated", who=None)


def test_5_an_items_currency_is_its_products_and_must_be_its_orders(shop: Shop) -> None:
    body = {"order_id": "x", "product_id": "tea", "quantity": 1, "currency": "USD"}
    invalid(shop.eve("POST", "/order_items", body), "currency")
    shop.product("usd-tea", stock=5, currency="USD")
    shop.order("o-eur")
    # The api cannot tell (the order's currency reaches the product through the item): it arrives.
    status, accepted = shop.item("o-eur", "usd-tea", key="i-usd")
    assert status == 202
    shop.stack.eventually(lambda: shop.status(accepted)["status"] != "pending", what="the product answered")
    said = shop.status(accepted)
    assert (said["status"], said["reason"]) == ("refused", "Usd-Tea is priced in USD, the order in EUR")
    assert (
        shop.field("/order_items/i-usd", "status") == "refused"
        and shop.field("/products/usd-tea", "stock") == 5
    )


def test_6_a_product_not_for_sale_is_not_sold(shop: Shop) -> None:
    shop.product("old-tea", stock=5, active=False)
    refused(shop.item("o-eur", "old-tea"), 409, "Old-Tea is not for sale")


def test_7_no_item_outlives_its_orders_delete_under_any_interleaving(shop: Shop) -> None:
    for round_ in range(8):
        key = f"o-race-{round_}"
        shop.order(key)
        stock = shop.field("/products/tea", "stock")
        assert shop.item(key, "tea", 2, key=f"i-race-{round_}")[0] == 202
        assert shop.eve("DELETE", f"/orders/{key}")[0] == 202
        shop.stack.eventually(
            lambda key=key: shop.eve("GET", f"/orders/{key}")[0] == 404, what="order deleted"
        )
        shop.stack.eventually(
            lambda r=round_: shop.eve("GET", f"/order_items/i-race-{r}")[0] == 404, what="no live item"
        )
        shop.stack.eventually(
            lambda stock=stock: shop.field("/products/tea", "stock") == stock, what="its stock back, exactly"
        )


def test_8_an_empty_order_is_not_paid(shop: Shop) -> None:
    shop.order("o-empty")
    refused(
        shop.eve("POST", "/orders/o-empty/pay", {"reference": "p"}),
        409,
        "an order with no items cannot be paid",
    )


def test_9_stock_never_goes_below_zero(shop: Shop) -> None:
    shop.product("rare-tea", stock=5)
    shop.order("o-big")
    refused(shop.item("o-big", "rare-tea", 10_000), 409, "only 5 of Rare-Tea in stock")
    # Past the api, through the order's admission: the product refuses; the item says why.
    write = {
        "entity": "order_items",
        "op": "create",
        "key": "i-big",
        "payload": {"order_id": "o-big", "product_id": "rare-tea", "quantity": 10_000},
    }
    shop.settled(shop.straight("orders", "admit", "o-big", EVE, write))
    shop.stack.eventually(
        lambda: shop.field("/order_items/i-big", "status") == "refused", what="the item refused"
    )
    assert shop.field("/order_items/i-big", "refusal_reason") == "only 5 of Rare-Tea in stock"
    assert shop.field("/products/rare-tea", "stock") == 5


def test_nothing_lands_in_a_dead_letter_queue(shop: Shop) -> None:
    dead = shop.stack.cli("dlq", "ls").stdout
    counts = [line.split() for line in dead.splitlines() if line and not line.startswith("entity")]
    assert counts and all(count == "0" for _, count in counts), dead
