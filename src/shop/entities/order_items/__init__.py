"""Order items: belong to an order, reference a product, and hold the stock they reserved.

An item enters its order only through the order's admission (while the order
is pending), which grants it the order's currency. Its create asks its
product to reserve its quantity in that currency; the item is `pending`
until the product answers: `reserved`, with the product's price and
currency, which the item takes (the client never sets them), or `refused`,
with the product's reason. Either way the item tells its order, which keeps
its items' count and total from these answers.

The stock a reservation took is held by the item: when it is released (its
order cancelled) or deleted, it withdraws the reservation, and the product
gives back exactly what that reservation took, even one still on its way;
when it ships, the stock is kept for good. An item is its order's customer's
(through its parent chain).
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from queuefirst import (
    OWNED_THROUGH_PARENT,
    REFUSED,
    Audience,
    Empty,
    Entity,
    Reference,
    Refusal,
    Scaling,
)

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class OrderItemFields(BaseModel):
    product_id: Annotated[str, Field(min_length=1, max_length=128)]
    quantity: Annotated[int, Field(gt=0, le=10_000)]
    unit_price_minor: (
        Annotated[int, Field(ge=0, le=10**12, description="its product's, once reserved")] | None
    ) = None
    currency: Currency | None = Field(default=None, description="its order's, granted by the order")
    status: Literal["pending", "reserved", "refused", "released", "shipped"] = "pending"
    refusal_reason: Annotated[str, Field(max_length=2000)] | None = None


class Reserved(BaseModel):
    unit_price_minor: int
    currency: Currency


order_items = Entity(
    name="order_items",
    fields=OrderItemFields,
    parent="orders",
    parent_field="order_id",
    asks=("products",),
    # The api checks, as a courtesy, what the product's reserve requires of it (for sale, in stock).
    references={"product_id": Reference("products", checked_by="reserve", given={"quantity": "quantity"})},
    set_by_actions=("unit_price_minor", "currency", "status", "refusal_reason"),
    fixed=("product_id", "quantity"),
    access=OWNED_THROUGH_PARENT,
    scaling=Scaling(
        batch_size=10, maximum_concurrency=4, memory_mb=256, timeout_seconds=30, local_concurrency=2
    ),
)

order_items.on_create(asks=("products.reserve",), holds=("products.reserve",), answers=(REFUSED,))
order_items.on_delete(answers=("item_removed",))
order_items.answer("reserved", Reserved, answers=("item_reserved",), summary="the product took the stock")
order_items.answer(REFUSED, Refusal, answers=("item_refused",), summary="the product refused the reservation")
order_items.action(
    "release",
    Empty,
    audience=Audience.INTERNAL,
    summary="Give the item's stock back (its order was cancelled)",
)
order_items.action(
    "ship",
    Empty,
    audience=Audience.INTERNAL,
    summary="The item left with its order: its stock is gone for good",
)
