"""Products: the catalogue, with a stock level that order items reserve and release.

Stock may go below zero: an item is never refused for want of stock (no
answer can travel back to it), and the product then reads as oversold.
Every signed-in customer reads the catalogue; no customer owns a product, so
writes (and restocking) are the operators'.
"""

from typing import Annotated

from pydantic import BaseModel, Field, computed_field

from queuefirst import Access, Decision, Entity, Meta, Row, Scaling, accept


class ProductFields(BaseModel):
    sku: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    price_minor: Annotated[int, Field(ge=0, le=10**12, description="price in minor units")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    active: bool = True
    stock: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def oversold(self) -> bool:
        """More is reserved than was in stock."""
        return self.stock < 0


products = Entity(
    name="products",
    fields=ProductFields,
    managed=("stock",),
    access=Access(readable_by_all=True),
    scaling=Scaling(
        batch_size=10, maximum_concurrency=2, memory_mb=256, timeout_seconds=15, local_concurrency=1
    ),
)


class Quantity(BaseModel):
    quantity: Annotated[int, Field(gt=0, le=1_000_000)]


@products.action
def restock(row: Row[ProductFields], given: Quantity, meta: Meta) -> Decision:
    """Add stock."""
    return accept(stock=row.fields.stock + given.quantity)


@products.internal_action
def reserve(row: Row[ProductFields], given: Quantity, meta: Meta) -> Decision:
    """Take stock for an order item (asked by order_items; may go below zero)."""
    return accept(stock=row.fields.stock - given.quantity)


@products.internal_action
def release(row: Row[ProductFields], given: Quantity, meta: Meta) -> Decision:
    """Give back stock an order item held."""
    return accept(stock=row.fields.stock + given.quantity)
