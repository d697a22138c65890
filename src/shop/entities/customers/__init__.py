"""Customers: end users of the phone app; operators suspend and reinstate them.

A customer owns their own row: its id is their `sub` (the phone app creates
the row with the id its user pool gave them). Suspending and reinstating are
operators' actions, never the customer's.

A customer admits their orders: an order is placed only while its customer
is active. Suspending a customer cancels their pending orders (the customers
worker asks the orders under the customer to cancel). A suspension outlives
the account: deleting and re-creating it (the same `sub`) gives back an
account still suspended, for the same reason.

Erasing an account deletes its pending and cancelled orders and their items;
its paid and shipped orders are kept, as records of the business, and their
stock is never given back by the erasure. A kept order cancelled afterwards is
no record any more: the erasure deletes it then, as it deletes cancelled orders.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from queuefirst import CREATE, OWNED_BY_SELF, Audience, Empty, Entity, Only, Scaling

# A plain pattern rather than EmailStr: the OpenAPI document then states exactly
# what is accepted (`format: email` and email-validator's rules disagree at the edges).
Email = Annotated[str, Field(pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", max_length=254)]


class CustomerFields(BaseModel):
    email: Email
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")] | None = None
    status: Literal["active", "suspended"] = "active"
    suspension_reason: Annotated[str, Field(max_length=500)] | None = None


class Suspension(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


customers = Entity(
    name="customers",
    fields=CustomerFields,
    children=("orders",),
    set_by_actions=("status", "suspension_reason"),
    access=OWNED_BY_SELF,
    scaling=Scaling(
        batch_size=10, maximum_concurrency=2, memory_mb=512, timeout_seconds=30, local_concurrency=1
    ),
)

customers.admits(
    "orders", CREATE, when=Only(status="active", reason="a suspended customer cannot place orders")
)
customers.on_create()
customers.action(
    "suspend",
    Suspension,
    audience=Audience.OPERATORS,
    when=Only(status="active", reason="the customer is already suspended"),
    asks=("orders.cancel",),
    summary="Suspend the customer; their pending orders are cancelled",
)
customers.action(
    "reinstate",
    Empty,
    audience=Audience.OPERATORS,
    when=Only(status="suspended", reason="only a suspended customer can be reinstated"),
    summary="Reinstate a suspended customer (cancelled orders stay cancelled)",
)
