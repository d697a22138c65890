"""Products: the catalogue, with a stock level that order items reserve and get back.

Stock never goes below zero: a reservation the stock cannot meet is refused,
and so is one for a product not for sale or priced in another currency than
the order's; the item says why. A reservation answers with the product's price
and currency, which the item takes as its own. An item that lets its
reservation go withdraws it, and exactly what the reservation took comes back.
Every signed-in customer reads the catalogue; no customer owns a product, so
writes (and restocking) are the operators'.
"""

from typing import Annotated

from pydantic import BaseModel, Field

from queuefirst import REFUSED, Access, AtLeast, Audience, Entity, Only, Same, Scaling


class ProductFields(BaseModel):
    sku: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    price_minor: Annotated[int, Field(ge=0, le=10**12, description="price in minor units")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    active: bool = True
    stock: Annotated[int, Field(ge=0)] = 0


class Quantity(BaseModel):
    quantity: Annotated[int, Field(gt=0, le=1_000_000)]


class Reservation(BaseModel):
    quantity: Annotated[int, Field(gt=0, le=1_000_000)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="the order's currency")]


products = Entity(
    name="products",
    fields=ProductFields,
    set_by_actions=("stock",),
    access=Access(readable_by_all=True),
    scaling=Scaling(
        batch_size=10, maximum_concurrency=2, memory_mb=256, timeout_seconds=15, local_concurrency=1
    ),
)

products.action("restock", Quantity, summary="Add stock")
products.action(
    "reserve",
    Reservation,
    audience=Audience.INTERNAL,
    when=(
        Only(active=True, reason="{name} is not for sale"),
        Same(
            "currency",
            given="currency",
            reason="{name} is priced in {currency}, the order in {given.currency}",
        ),
        AtLeast("stock", given="quantity", reason="only {stock} of {name} in stock"),
    ),
    answers=("reserved", REFUSED),
    undo="release",
    summary="Take stock for an order item, and answer with the price (or why not)",
)
products.action(
    "release",
    Quantity,
    audience=Audience.INTERNAL,
    summary="Give back the stock a withdrawn reservation took",
)
