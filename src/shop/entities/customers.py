"""Customers: end users of the phone app; operators suspend and reinstate them.

A customer owns their own row: its id is their `sub` (the phone app creates
the row with the id its user pool gave them). Suspending and reinstating are
operators' actions, never the customer's.

Suspending a customer cancels their pending orders: the customers worker asks
the orders under the customer to cancel, through the orders queue.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from queuefirst import OWNED_BY_SELF, Decision, Empty, Entity, Meta, Row, Scaling, accept, reject

# A plain pattern rather than EmailStr: the OpenAPI document then states exactly
# what is accepted (`format: email` and email-validator's rules disagree at the edges).
Email = Annotated[str, Field(pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", max_length=254)]


class CustomerFields(BaseModel):
    email: Email
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")] | None = None
    status: Literal["active", "suspended"] = "active"
    suspension_reason: Annotated[str, Field(max_length=500)] | None = None


customers = Entity(
    name="customers",
    fields=CustomerFields,
    children=("orders",),
    managed=("status", "suspension_reason"),
    access=OWNED_BY_SELF,
    scaling=Scaling(
        batch_size=10, maximum_concurrency=2, memory_mb=512, timeout_seconds=30, local_concurrency=1
    ),
)


class Suspension(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@customers.operator_action
def suspend(row: Row[CustomerFields], given: Suspension, meta: Meta) -> Decision:
    """Suspend the customer; their pending orders are cancelled."""
    if row.fields.status == "suspended":
        return reject("the customer is already suspended")
    return accept(status="suspended", suspension_reason=given.reason).ask_children(
        "orders", "cancel", where={"status": "pending"}, reason=f"customer suspended: {given.reason}"
    )


@customers.operator_action
def reinstate(row: Row[CustomerFields], given: Empty, meta: Meta) -> Decision:
    """Reinstate a suspended customer (cancelled orders stay cancelled)."""
    if row.fields.status != "suspended":
        return reject("only a suspended customer can be reinstated")
    return accept(status="active", suspension_reason=None)
