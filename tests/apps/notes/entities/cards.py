"""Cards: belong to a board; completed once.

Cards declare no access, the kit's default: no end user reaches them, operators
alone read and write them (every card route requires the operators' authorizer).
"""

from typing import Annotated

from pydantic import BaseModel, Field

from queuefirst import Decision, Empty, Entity, Meta, Row, Scaling, accept, reject


class CardFields(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=500)]
    done: bool = False


cards = Entity(
    name="cards",
    fields=CardFields,
    parent="boards",
    parent_field="board_id",
    managed=("done",),
    scaling=Scaling(batch_size=10, maximum_concurrency=2, memory_mb=256, timeout_seconds=15),
)


@cards.action
def complete(row: Row[CardFields], given: Empty, meta: Meta) -> Decision:
    """Mark the card done."""
    if row.fields.done:
        return reject("the card is already done")
    return accept(done=True)
