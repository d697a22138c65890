"""Orders: belong to a customer; own their items."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from queuefirst import Entity, Scaling


class OrderFields(BaseModel):
    status: Literal["pending", "paid", "shipped", "cancelled"] = "pending"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    note: Annotated[str, Field(max_length=1000)] | None = None


ENTITY = Entity(
    name="orders",
    fields=OrderFields,
    parent="customers",
    parent_field="customer_id",
    children=("order_items",),
    scaling=Scaling(
        batch_size=10,
        batching_window_seconds=1,
        maximum_concurrency=4,
        memory_mb=512,
        timeout_seconds=30,
        local_concurrency=2,
    ),
)
