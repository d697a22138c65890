"""Customers: end users of the phone app; the admin console suspends them."""

from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field

from queuefirst import Entity, Scaling


class CustomerFields(BaseModel):
    email: EmailStr
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")] | None = None
    status: Literal["active", "suspended"] = "active"


ENTITY = Entity(
    name="customers",
    fields=CustomerFields,
    children=("orders",),
    scaling=Scaling(
        batch_size=10, maximum_concurrency=2, memory_mb=512, timeout_seconds=30, local_concurrency=1
    ),
)
