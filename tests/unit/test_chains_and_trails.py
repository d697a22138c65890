"""A command's trail as a stack of open asks, and the declared preconditions' own words."""

from __future__ import annotations

import uuid

import pytest

from queuefirst.model.command import Command, TrailStep
from queuefirst.model.preconditions import AtLeast, Only, Same, first_refusal
from queuefirst.model.trail import TrailError, asker, check_answer, check_down


def step(entity: str, key: str, answered: bool = False) -> TrailStep:
    return TrailStep(entity=entity, command_id=uuid.uuid4(), key=key, parent=None, answered=answered)


def command(entity: str, op: str, key: str, *trail: TrailStep) -> Command:
    return Command(command_id=uuid.uuid4(), entity=entity, op=op, key=key, version=1, trail=trail)


ORDER, ITEM, PRODUCT = step("orders", "o1"), step("order_items", "i1"), step("products", "p1", answered=True)


def test_the_asker_is_the_top_of_the_open_asks() -> None:
    assert asker(()) is None  # the chain's first command: nobody asked
    assert asker((ORDER,)) == ORDER  # an admitted item's asker: its order
    assert asker((ORDER, ITEM)) == ITEM  # the product's reserve: asked by the item
    assert asker((ORDER, ITEM, PRODUCT)) == ORDER  # the item, answered, answers on up to its order


def test_an_answer_goes_exactly_to_the_row_whose_ask_it_closes() -> None:
    check_answer("order_items", command("order_items", "reserved", "i1", ORDER, ITEM, PRODUCT))
    with pytest.raises(TrailError, match="answers order_items i1's ask, but reached order_items i2"):
        check_answer("order_items", command("order_items", "reserved", "i2", ORDER, ITEM, PRODUCT))
    with pytest.raises(TrailError, match="ends with no answering step"):
        check_answer("order_items", command("order_items", "reserved", "i1", ORDER, ITEM))


def test_nothing_goes_down_after_an_answer_nor_back_to_an_entity_it_passed() -> None:
    check_down("products", command("products", "reserve", "p1", ORDER, ITEM))
    with pytest.raises(TrailError, match="reached by an answer may not go down"):
        check_down("customers", command("customers", "x", "c1", ORDER, ITEM, PRODUCT))
    with pytest.raises(TrailError, match="revisits orders: orders -> order_items -> orders"):
        check_down("orders", command("orders", "x", "o1", ORDER, ITEM))


@pytest.mark.parametrize(
    ("requirement", "row", "given", "refusal"),
    [
        (Only(status="pending"), {"status": "paid"}, {}, "only when status is pending; it is paid"),
        (Only(status=("pending", "paid")), {"status": "paid"}, {}, None),
        (
            Only(active=True, reason="{name} is not for sale"),
            {"active": False, "name": "Tea"},
            {},
            "Tea is not for sale",
        ),
        (
            AtLeast("stock", given="quantity", reason="only {stock} left"),
            {"stock": 1},
            {"quantity": 2},
            "only 1 left",
        ),
        (AtLeast("stock", given="quantity"), {"stock": 1}, {}, None),  # the input unknown here: cannot tell
        (AtLeast("items", 1), {"items": 0}, {}, "items must be at least 1; it is 0"),
        (
            Same("currency", given="currency"),
            {"currency": "USD"},
            {"currency": "EUR"},
            "currency is USD, not EUR",
        ),
    ],
)
def test_a_precondition_says_why_in_its_own_words(requirement, row, given, refusal) -> None:  # type: ignore[no-untyped-def]
    assert requirement.refusal(row, given) == refusal


def test_the_first_failing_precondition_is_the_one_said() -> None:
    requirements = (Only(status="pending", reason="not pending"), AtLeast("items", 1, reason="empty"))
    assert first_refusal(requirements, {"status": "paid", "items": 0}) == "not pending"
    assert first_refusal(requirements, {"status": "pending", "items": 0}) == "empty"
    assert first_refusal(requirements, {"status": "pending", "items": 1}) is None
