"""Cards: belong to a board; completed once.

Cards declare no access, the kit's default: no end user reaches them, operators
alone read and write them (every card route requires the operators' authorizer).
"""

from typing import Annotated

from pydantic import BaseModel, Field

from queuefirst import Entity, Only, Scaling


class CardFields(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=500)]
    done: bool = False


cards = Entity(
    name="cards",
    fields=CardFields,
    parent="boards",
    parent_field="board_id",
    set_by_actions=("done",),
    scaling=Scaling(batch_size=10, maximum_concurrency=2, memory_mb=256, timeout_seconds=15),
)

cards.action(
    "complete", when=Only(done=False, reason="the card is already done"), summary="Mark the card done"
)
