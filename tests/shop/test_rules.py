"""The shop's rules, one command at a time: GIVEN a row, WHEN a command, THEN what it decides and sends.

Through each entity's real decide path (declared preconditions, then its rule)
with the kit's harness (`queuefirst.testing.EntityRules`): no database, no
queue, no hand-built metadata. The worker runs exactly this.
"""

from __future__ import annotations

import pytest

from queuefirst.model.command import Scope, Status
from queuefirst.testing import EntityRules
from shop import application as shop

orders = EntityRules.of(shop, "orders")
items = EntityRules.of(shop, "order_items")
products = EntityRules.of(shop, "products")
customers = EntityRules.of(shop, "customers")
ORDER = {"currency": "EUR"}
ORDER_ROW = ("orders", "o1", "ann")  # the row that admitted the item (and hears its answers)
TEA = {"sku": "TEA-1", "name": "Tea", "price_minor": 450, "currency": "EUR"}


# -- orders -----------------------------------------------------------------------------------


def test_a_pending_order_with_reserved_items_and_none_waiting_is_paid() -> None:
    paid = orders.given("o1", "ann", **ORDER, items=2, total_minor=900).when("pay", reference="pay-1")
    assert paid.status is Status.APPLIED
    assert paid.changes == {"status": "paid", "payment_reference": "pay-1"} and paid.sends == []


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"status": "paid", "items": 1}, "only a pending order can be paid; this one is paid"),
        ({"status": "cancelled", "items": 1}, "only a pending order can be paid; this one is cancelled"),
        ({"items": 0}, "an order with no items cannot be paid"),
        ({"items": 1, "awaiting": 2}, "2 of its items are still being reserved; pay once they are"),
    ],
)
def test_an_order_is_paid_only_pending_with_items_none_of_them_waiting(
    row: dict[str, object], reason: str
) -> None:
    refused = orders.given("o1", "ann", **ORDER, **row).when("pay", reference="p")
    assert (refused.status, refused.reason) == (Status.REJECTED, reason)


def test_shipping_asks_the_reserved_items_to_ship() -> None:
    shipped = orders.given("o1", "ann", **ORDER, status="paid").when("ship")
    assert shipped.changes == {"status": "shipped"}
    (ask,) = shipped.sends
    assert (ask.entity, ask.op, ask.scope, ask.where) == (
        "order_items",
        "ship",
        Scope.CHILDREN,
        {"status": "reserved"},
    )


@pytest.mark.parametrize("status", ["pending", "paid"])
def test_cancelling_asks_every_item_to_give_its_stock_back(status: str) -> None:
    cancelled = orders.given("o1", "ann", **ORDER, status=status).when("cancel", reason="changed my mind")
    assert cancelled.changes == {"status": "cancelled", "cancel_reason": "changed my mind"}
    (ask,) = cancelled.sends
    assert (ask.entity, ask.op, ask.scope, ask.key) == ("order_items", "release", Scope.CHILDREN, "o1")


@pytest.mark.parametrize("status", ["shipped", "cancelled"])
def test_a_shipped_or_cancelled_order_is_not_cancelled(status: str) -> None:
    refused = orders.given("o1", "ann", **ORDER, status=status).when("cancel", reason="x")
    assert refused.reason == f"the order is {status}: only a pending or paid order can be cancelled"


@pytest.mark.parametrize("status", ["paid", "shipped"])
def test_a_paid_or_shipped_order_is_kept_as_a_record(status: str) -> None:
    kept = orders.given("o1", "ann", **ORDER, status=status).when("delete")
    assert (kept.reason, kept.row is not None and kept.row.alive) == (
        f"a {status} order is kept as a record",
        True,
    )
    assert kept.sends == []  # nothing cascades to its items: their stock stays taken


def test_a_pending_order_admits_an_item_counts_it_as_waiting_and_grants_its_currency() -> None:
    admitted = orders.given("o1", "ann", **ORDER).when_admitting(
        "order_items", "create", "i1", order_id="o1", product_id="p1", quantity=2
    )
    assert admitted.changes == {"awaiting": 1}
    (create,) = admitted.sends
    assert (create.entity, create.op, create.key, create.parent) == ("order_items", "create", "i1", "o1")
    assert (
        create.granted == {"currency": "EUR"}
        and create.command_id == admitted.applied.entries[0].command.command_id
    )


@pytest.mark.parametrize("status", ["paid", "shipped", "cancelled"])
def test_items_enter_and_leave_only_a_pending_order(status: str) -> None:
    for op in ("create", "delete"):
        refused = orders.given("o1", "ann", **ORDER, status=status).when_admitting("order_items", op, "i1")
        assert (
            refused.reason == f"items change only in a pending order; this one is {status}"
            and refused.sends == []
        )


def test_the_order_counts_its_items_from_their_answers() -> None:
    waiting = orders.given("o1", "ann", **ORDER, awaiting=2, items=1, total_minor=450)
    assert waiting.when_answered("item_reserved", "order_items", amount_minor=900).changes == {
        "awaiting": 1,
        "items": 2,
        "total_minor": 1350,
    }
    assert waiting.when_answered("item_refused", "order_items").changes == {"awaiting": 1}
    assert waiting.when_answered("item_removed", "order_items", amount_minor=450, counted=True).changes == {
        "items": 0,
        "total_minor": 0,
    }
    assert waiting.when_answered("refused", "order_items", reason="taken", op="create").changes == {
        "awaiting": 1
    }


# -- order items ----------------------------------------------------------------------------


def test_a_new_item_asks_its_product_for_its_quantity_in_its_orders_currency_and_holds_it() -> None:
    created = items.nothing("i1", "o1").run(
        items.command("create", "i1", "o1", {"order_id": "o1", "product_id": "p1", "quantity": 2}).model_copy(
            update={"granted": {"currency": "EUR"}}
        )
    )
    assert created.fields["status"] == "pending" and created.fields["unit_price_minor"] is None
    (reserve,) = created.sends
    assert (reserve.entity, reserve.op, reserve.key, reserve.payload) == (
        "products",
        "reserve",
        "p1",
        {"quantity": 2, "currency": "EUR"},
    )
    assert [(h["entity"], h["op"], h["id"]) for h in created.holds] == [
        ("products", "reserve", str(reserve.command_id))
    ]


def test_a_reserved_answer_gives_the_item_its_products_price_and_tells_the_order() -> None:
    pending = items.given("i1", "o1", product_id="p1", quantity=2, currency="EUR")
    reserved = pending.when_answered("reserved", "products", ORDER_ROW, unit_price_minor=450, currency="EUR")
    assert reserved.changes == {"status": "reserved", "unit_price_minor": 450}
    assert reserved.answer is not None and (reserved.answer.entity, reserved.answer.op) == (
        "orders",
        "item_reserved",
    )
    assert reserved.answer.payload == {"amount_minor": 900}


def test_a_refusal_marks_the_item_refused_with_the_products_reason_and_it_holds_nothing() -> None:
    held = (
        {
            "id": "00000000-0000-0000-0000-000000000001",
            "entity": "products",
            "op": "reserve",
            "key": "p1",
            "parent": None,
            "payload": {},
        },
    )
    pending = items.given("i1", "o1", product_id="p1", quantity=9, currency="EUR")
    pending.holds = held
    refused = pending.when_answered(
        "refused", "products", ORDER_ROW, reason="only 3 of Tea in stock", op="reserve"
    )
    assert refused.changes == {"status": "refused", "refusal_reason": "only 3 of Tea in stock"}
    assert refused.answer is not None and refused.answer.op == "item_refused"


def test_an_answer_arriving_after_the_item_let_go_of_its_stock_changes_nothing() -> None:
    released = items.given("i1", "o1", product_id="p1", quantity=2, status="released")
    late = released.when_answered("reserved", "products", unit_price_minor=450, currency="EUR")
    assert late.changes == {} and late.answer is None


@pytest.mark.parametrize("status", ["pending", "reserved"])
def test_releasing_an_item_withdraws_its_reservation(status: str) -> None:
    hold = {
        "id": "11111111-1111-1111-1111-111111111111",
        "entity": "products",
        "op": "reserve",
        "key": "p1",
        "parent": None,
        "payload": {"quantity": 2, "currency": "EUR"},
    }
    given = items.given("i1", "o1", product_id="p1", quantity=2, status=status)
    given.holds = (hold,)
    released = given.when("release")
    assert released.changes == {"status": "released"} and released.holds == ()
    (withdraw,) = released.sends
    assert (withdraw.entity, withdraw.op, withdraw.key) == ("products", "withdraw", "p1")
    assert withdraw.payload == {
        "ask": hold["id"],
        "op": "reserve",
        "given": {"quantity": 2, "currency": "EUR"},
    }


def test_a_shipped_item_keeps_its_stock_for_good() -> None:
    given = items.given("i1", "o1", product_id="p1", quantity=2, status="reserved")
    given.holds = (
        {"id": "x", "entity": "products", "op": "reserve", "key": "p1", "parent": None, "payload": {}},
    )
    shipped = given.when("ship")
    assert shipped.changes == {"status": "shipped"} and shipped.holds == () and shipped.sends == []


def test_deleting_a_reserved_item_withdraws_its_stock_and_tells_the_order_its_amount() -> None:
    given = items.given("i1", "o1", product_id="p1", quantity=2, status="reserved", unit_price_minor=450)
    given.holds = (
        {"id": "x", "entity": "products", "op": "reserve", "key": "p1", "parent": None, "payload": {}},
    )
    deleted = orders_trail_delete(given)
    assert [c.op for c in deleted.sends] == ["withdraw", "item_removed"]
    assert deleted.answer is not None and deleted.answer.payload == {"amount_minor": 900, "counted": True}


def orders_trail_delete(given):  # type: ignore[no-untyped-def]
    """A delete the order admitted (so the item may answer it)."""
    return given.when_asked("delete", by=("orders", "o1", "ann"))


# -- products ---------------------------------------------------------------------------------


def test_a_reservation_takes_stock_and_answers_with_the_price() -> None:
    reserved = products.given("p1", **TEA, stock=5).when_asked(
        "reserve", by=("order_items", "i1", "o1"), quantity=2, currency="EUR"
    )
    assert reserved.changes == {"stock": 3}
    assert reserved.answer is not None and reserved.answer.op == "reserved"
    assert reserved.answer.payload == {"unit_price_minor": 450, "currency": "EUR"}
    assert (reserved.answer.entity, reserved.answer.key, reserved.answer.parent) == (
        "order_items",
        "i1",
        "o1",
    )


@pytest.mark.parametrize(
    ("row", "given", "reason"),
    [
        ({"stock": 1}, {"quantity": 2, "currency": "EUR"}, "only 1 of Tea in stock"),
        ({"stock": 9, "active": False}, {"quantity": 2, "currency": "EUR"}, "Tea is not for sale"),
        ({"stock": 9}, {"quantity": 2, "currency": "USD"}, "Tea is priced in EUR, the order in USD"),
    ],
)
def test_a_reservation_that_cannot_be_met_is_refused_and_answered_so(row, given, reason) -> None:  # type: ignore[no-untyped-def]
    refused = products.given("p1", **{**TEA, **row}).when_asked(
        "reserve", by=("order_items", "i1", "o1"), **given
    )
    assert (refused.reason, refused.changes) == (reason, {})
    assert refused.answer is not None and refused.answer.op == "refused"
    assert refused.answer.payload == {"reason": reason, "op": "reserve"}


def test_a_withdrawn_reservation_gives_back_exactly_what_it_took_and_only_if_it_applied() -> None:
    ask = items.command("reserve", "p1", None, {}).command_id
    withdrawal = products.command(
        "withdraw",
        "p1",
        None,
        {"ask": str(ask), "op": "reserve", "given": {"quantity": 2, "currency": "EUR"}},
    )
    stocked = products.given("p1", **TEA, stock=3)
    assert stocked.run(withdrawal, {ask: Status.APPLIED}).changes == {"stock": 5}
    assert stocked.run(withdrawal, {ask: Status.REJECTED}).changes == {}
    never = stocked.run(withdrawal, {})
    assert never.changes == {} and [(e.command.command_id, e.status) for e in never.applied.entries][1] == (
        ask,
        Status.WITHDRAWN,
    )


# -- customers ---------------------------------------------------------------------------------


def test_suspending_cancels_the_customers_pending_orders() -> None:
    suspended = customers.given("ann", email="a@b.co", name="Ann").when("suspend", reason="fraud")
    assert suspended.changes == {"status": "suspended", "suspension_reason": "fraud"}
    (ask,) = suspended.sends
    assert (ask.entity, ask.op, ask.scope, ask.where, ask.payload) == (
        "orders",
        "cancel",
        Scope.CHILDREN,
        {"status": "pending"},
        {"reason": "customer suspended: fraud"},
    )


def test_a_suspended_customer_places_no_orders() -> None:
    refused = customers.given("ann", email="a@b.co", name="Ann", status="suspended").when_admitting(
        "orders", "create", "o1"
    )
    assert refused.reason == "a suspended customer cannot place orders"


def test_re_creating_an_account_does_not_lift_its_suspension() -> None:
    gone = customers.deleted("ann", email="a@b.co", name="Ann", status="suspended", suspension_reason="fraud")
    again = gone.when_created(email="a@b.co", name="Ann again")
    assert again.fields["status"] == "suspended" and again.fields["suspension_reason"] == "fraud"
    assert (
        customers.deleted("bob", email="b@b.co", name="Bob")
        .when_created(email="b@b.co", name="Bob")
        .fields["status"]
        == "active"
    )


@pytest.mark.parametrize(
    ("status", "op", "reason"),
    [
        ("suspended", "suspend", "the customer is already suspended"),
        ("active", "reinstate", "only a suspended customer can be reinstated"),
    ],
)
def test_suspension_and_reinstatement_each_apply_once(status: str, op: str, reason: str) -> None:
    payload = {"reason": "x"} if op == "suspend" else {}
    assert (
        customers.given("ann", email="a@b.co", name="Ann", status=status).when(op, **payload).reason == reason
    )
