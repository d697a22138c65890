"""Orders: belong to a customer, own their items; paid, shipped or cancelled by their actions.

pending -> paid -> shipped; pending or paid -> cancelled. Cancelling an order
asks its items to give their stock back. An order is its customer's (through
its parent): they place, pay and cancel it; shipping is the operators'.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from queuefirst import (
    OWNED_THROUGH_PARENT,
    Decision,
    Empty,
    Entity,
    Meta,
    Row,
    Scaling,
    accept,
    reject,
)


class OrderFields(BaseModel):
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    note: Annotated[str, Field(max_length=1000)] | None = None
    status: Literal["pending", "paid", "shipped", "cancelled"] = "pending"
    payment_reference: Annotated[str, Field(max_length=64)] | None = None
    cancel_reason: Annotated[str, Field(max_length=600)] | None = None


orders = Entity(
    name="orders",
    fields=OrderFields,
    parent="customers",
    parent_field="customer_id",
    children=("order_items",),
    managed=("status", "payment_reference", "cancel_reason"),
    fixed=("currency",),
    access=OWNED_THROUGH_PARENT,
    scaling=Scaling(
        batch_size=10, maximum_concurrency=4, memory_mb=512, timeout_seconds=30, local_concurrency=2
    ),
)


class Payment(BaseModel):
    reference: Annotated[
        str, Field(min_length=1, max_length=64, description="the payment provider's reference")
    ]


class Cancellation(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=600)]


@orders.action
def pay(row: Row[OrderFields], given: Payment, meta: Meta) -> Decision:
    """Record the payment of a pending order."""
    if row.fields.status != "pending":
        return reject(f"only a pending order can be paid; this one is {row.fields.status}")
    return accept(status="paid", payment_reference=given.reference)


@orders.operator_action
def ship(row: Row[OrderFields], given: Empty, meta: Meta) -> Decision:
    """Ship a paid order."""
    if row.fields.status != "paid":
        return reject(f"only a paid order can be shipped; this one is {row.fields.status}")
    return accept(status="shipped")


@orders.action
def cancel(row: Row[OrderFields], given: Cancellation, meta: Meta) -> Decision:
    """Cancel a pending or paid order; its items give their stock back."""
    if row.fields.status == "shipped":
        return reject("a shipped order cannot be cancelled")
    if row.fields.status == "cancelled":
        return reject("the order is already cancelled")
    return accept(status="cancelled", cancel_reason=given.reason).ask_children("order_items", "release")
