"""End to end on the shop: the README's walkthrough over HTTP, and a rejection sent straight
to a queue (as another producer would) ending as an answer, not a dead letter."""

from __future__ import annotations

import uuid

import boto3
import pytest

from queuefirst.model.command import Command, Producer
from queuefirst.model.names import queue_name
from queuefirst.runtime.sender import batch_entry
from tests.e2e.conftest import RunningStack
from tests.shop.walkthrough import applied, walkthrough

pytestmark = pytest.mark.e2e


def test_the_readme_walkthrough(shop_stack: RunningStack) -> None:
    walkthrough(shop_stack)
    log = shop_stack.log()
    assert "shop-orders-worker batch of 1 -> ok" in log and "shop-products-worker batch of" in log


def test_a_cancel_sent_straight_to_the_queue_ends_rejected_with_its_reason(shop_stack: RunningStack) -> None:
    stack = shop_stack
    stack.request("POST", "/customers", {"id": "bo", "email": "bo@example.com", "name": "Bo"}, as_user="bo")
    stack.eventually(lambda: stack.request("GET", "/customers/bo", as_user="bo")[0] == 200, what="customer")
    order = {"id": "o-bo", "customer_id": "bo", "currency": "EUR"}
    applied(stack, stack.request("POST", "/orders", order, as_user="bo")[1], "order", who="bo")
    jam = {"id": "jam", "sku": "JAM-1", "name": "Jam", "price_minor": 300, "currency": "EUR"}
    applied(stack, stack.request("POST", "/products", jam)[1], "product")
    applied(stack, stack.request("POST", "/products/jam/restock", {"quantity": 5})[1], "restock")
    item = {"id": "i-bo", "order_id": "o-bo", "product_id": "jam", "quantity": 1}
    applied(stack, stack.request("POST", "/order_items", item, as_user="bo")[1], "item", who="bo")
    applied(
        stack,
        stack.request("POST", "/orders/o-bo/pay", {"reference": "p"}, as_user="bo")[1],
        "paid",
        who="bo",
    )
    applied(stack, stack.request("POST", "/orders/o-bo/ship")[1], "shipped")

    # Another producer (a batch job, say) sends the command itself, past the api's check.
    cancel = Command(
        command_id=uuid.uuid4(),
        entity="orders",
        op="cancel",
        key="o-bo",
        parent="bo",
        version=2**62,
        payload={"reason": "sent straight to the queue"},
        producer=Producer(kind="operator", principal="batch-job"),
    )
    state = stack.state
    sqs = boto3.client(
        "sqs",
        endpoint_url=state["sqs_endpoint_url"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    url = sqs.get_queue_url(QueueName=queue_name("shop", "orders"))["QueueUrl"]
    entry = batch_entry(0, cancel)
    entry.pop("Id")
    sqs.send_message(QueueUrl=url, **entry)

    # An operator reads every command's status; bo, not the sender, does not see it.
    status_url = f"/operator-commands/{cancel.command_id}"
    stack.eventually(lambda: stack.request("GET", status_url)[1]["status"] == "rejected", what="rejected")
    status = stack.request("GET", status_url)[1]
    assert status["reason"] == "the order is shipped: only a pending or paid order can be cancelled"
    assert status["producer"] == {"kind": "operator", "principal": "batch-job"}
    assert stack.request("GET", f"/commands/{cancel.command_id}", as_user="bo")[0] == 404
    assert stack.request("GET", "/orders/o-bo", as_user="bo")[1]["status"] == "shipped"
    dead = stack.cli("dlq", "ls").stdout
    assert [line.split() for line in dead.splitlines() if line.startswith("orders")] == [["orders", "0"]]
