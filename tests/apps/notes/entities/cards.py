"""Cards: belong to a board."""

from typing import Annotated

from pydantic import BaseModel, Field

from queuefirst import Entity, Scaling


class CardFields(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=500)]
    done: bool = False


cards = Entity(
    name="cards",
    fields=CardFields,
    parent="boards",
    parent_field="board_id",
    scaling=Scaling(batch_size=10, maximum_concurrency=2, memory_mb=256, timeout_seconds=15),
)
