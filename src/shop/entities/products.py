"""Products: the catalogue, managed from the admin console."""

from typing import Annotated

from pydantic import BaseModel, Field

from queuefirst import Entity, Scaling


class ProductFields(BaseModel):
    sku: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    price_minor: Annotated[int, Field(ge=0, le=10**12, description="price in minor units")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    active: bool = True


ENTITY = Entity(
    name="products",
    fields=ProductFields,
    scaling=Scaling(
        batch_size=10, maximum_concurrency=2, memory_mb=256, timeout_seconds=15, local_concurrency=1
    ),
)
