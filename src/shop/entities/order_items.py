"""Order items: belong to an order, reference a product and hold its stock.

Creating an item reserves its quantity on the product; deleting it (directly,
by cascade, or after its order's cancellation released it) gives the stock
back, exactly once. The item asks its product; nothing ever asks back. An
item is its order's customer's (through its parent chain).
"""

from typing import Annotated

from pydantic import BaseModel, Field

from queuefirst import OWNED_THROUGH_PARENT, Decision, Empty, Entity, Meta, Row, Scaling, accept, reject


class OrderItemFields(BaseModel):
    product_id: Annotated[str, Field(min_length=1, max_length=128)]
    quantity: Annotated[int, Field(gt=0, le=10_000)]
    unit_price_minor: Annotated[int, Field(ge=0, le=10**12, description="price in minor units")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    reserved: bool = False  # holds `quantity` of its product's stock


order_items = Entity(
    name="order_items",
    fields=OrderItemFields,
    parent="orders",
    parent_field="order_id",
    asks=("products",),
    references={"product_id": "products"},
    managed=("reserved",),
    fixed=("product_id", "quantity"),
    access=OWNED_THROUGH_PARENT,
    scaling=Scaling(
        batch_size=10, maximum_concurrency=4, memory_mb=256, timeout_seconds=30, local_concurrency=2
    ),
)


@order_items.on_create
def reserve_stock(row: Row[OrderItemFields], meta: Meta) -> Decision:
    item = row.fields
    return accept(reserved=True).ask("products", item.product_id, "reserve", quantity=item.quantity)


@order_items.on_delete
def release_stock(row: Row[OrderItemFields], meta: Meta) -> Decision:
    item = row.fields
    if not item.reserved:
        return accept()
    return accept().ask("products", item.product_id, "release", quantity=item.quantity)


@order_items.internal_action
def release(row: Row[OrderItemFields], given: Empty, meta: Meta) -> Decision:
    """Give the item's stock back (its order was cancelled)."""
    item = row.fields
    if not item.reserved:
        return reject("the item holds no stock")
    return accept(reserved=False).ask("products", item.product_id, "release", quantity=item.quantity)
