"""Order items: belong to an order, reference a product."""

from typing import Annotated

from pydantic import BaseModel, Field

from queuefirst import Entity, Scaling


class OrderItemFields(BaseModel):
    product_id: Annotated[str, Field(min_length=1, max_length=128)]
    quantity: Annotated[int, Field(gt=0, le=10_000)]
    unit_price_minor: Annotated[int, Field(ge=0, le=10**12, description="price in minor units")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


ENTITY = Entity(
    name="order_items",
    fields=OrderItemFields,
    parent="orders",
    parent_field="order_id",
    references={"product_id": "products"},
    scaling=Scaling(
        batch_size=25,
        batching_window_seconds=1,
        maximum_concurrency=4,
        memory_mb=256,
        timeout_seconds=30,
        local_concurrency=2,
    ),
)
