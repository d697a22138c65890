"""Boards: the root; deleting one deletes its cards."""

from typing import Annotated

from pydantic import BaseModel, Field

from queuefirst import Entity, Scaling


class BoardFields(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=100)]


boards = Entity(
    name="boards",
    fields=BoardFields,
    children=("cards",),
    scaling=Scaling(batch_size=10, maximum_concurrency=2, memory_mb=256, timeout_seconds=15),
)
