"""Orders: belong to a customer, admit their items, and are paid, shipped or cancelled.

pending -> paid -> shipped; pending or paid -> cancelled. An order admits
items (their creates and deletes) only while it is pending: every write to
its items is decided here first, in the order's lane, so no item enters or
leaves an order that is paid, shipped, cancelled or deleted, whatever
arrives when. It grants each new item its own currency, and keeps count of
its items from their answers: how many are reserved, their total, and how
many are still waiting for their product. It is paid only with at least one
item reserved and none waiting.

Cancelling asks its items to give their stock back; shipping keeps it for
good. A paid or shipped order is kept as a record: neither its customer's
delete nor the erasure of the customer's account removes it, and its stock
is never given back. An order is its customer's (through its parent): they
place, pay and cancel it; shipping is the operators'.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from queuefirst import (
    CREATE,
    DELETE,
    OWNED_THROUGH_PARENT,
    REFUSED,
    AtLeast,
    Audience,
    Empty,
    Entity,
    Only,
    Refusal,
    Scaling,
)


class OrderFields(BaseModel):
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    note: Annotated[str, Field(max_length=1000)] | None = None
    status: Literal["pending", "paid", "shipped", "cancelled"] = "pending"
    items: int = Field(default=0, description="items reserved")
    total_minor: int = Field(default=0, description="what the reserved items cost, in minor units")
    awaiting: int = Field(default=0, description="items still waiting for their product's answer")
    payment_reference: Annotated[str, Field(max_length=64)] | None = None
    cancel_reason: Annotated[str, Field(max_length=600)] | None = None


class Payment(BaseModel):
    reference: Annotated[
        str, Field(min_length=1, max_length=64, description="the payment provider's reference")
    ]


class Cancellation(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=600)]


class ItemReserved(BaseModel):
    amount_minor: int


class ItemRemoved(BaseModel):
    amount_minor: int
    counted: bool  # it was reserved (counted in items and total), else still waiting


orders = Entity(
    name="orders",
    fields=OrderFields,
    parent="customers",
    parent_field="customer_id",
    children=("order_items",),
    set_by_actions=("status", "items", "total_minor", "awaiting", "payment_reference", "cancel_reason"),
    fixed=("currency",),
    access=OWNED_THROUGH_PARENT,
    scaling=Scaling(
        batch_size=10, maximum_concurrency=4, memory_mb=512, timeout_seconds=30, local_concurrency=2
    ),
)

orders.admits(
    "order_items",
    CREATE,
    DELETE,
    when=Only(status="pending", reason="items change only in a pending order; this one is {status}"),
)
orders.action(
    "pay",
    Payment,
    when=(
        Only(status="pending", reason="only a pending order can be paid; this one is {status}"),
        Only(awaiting=0, reason="{awaiting} of its items are still being reserved; pay once they are"),
        AtLeast("items", 1, reason="an order with no items cannot be paid"),
    ),
    summary="Record the payment of a pending order",
)
orders.action(
    "ship",
    audience=Audience.OPERATORS,
    when=Only(status="paid", reason="only a paid order can be shipped; this one is {status}"),
    asks=("order_items.ship",),
    summary="Ship a paid order",
)
orders.action(
    "cancel",
    Cancellation,
    when=Only(
        status=("pending", "paid"),
        reason="the order is {status}: only a pending or paid order can be cancelled",
    ),
    asks=("order_items.release",),
    summary="Cancel a pending or paid order; its items give their stock back",
)
orders.on_delete(when=Only(status=("pending", "cancelled"), reason="a {status} order is kept as a record"))
orders.answer("item_reserved", ItemReserved, summary="an item's product took its stock")
orders.answer("item_refused", Empty, summary="an item's product refused it")
orders.answer("item_removed", ItemRemoved, summary="an item left the order")
orders.answer(REFUSED, Refusal, summary="an item's create or delete was refused")
