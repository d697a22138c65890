"""Boards: the root; closing one completes its open cards, deleting one deletes its cards.

A team's notice board: every signed-in end user reads the boards, no end user
owns one, so operators alone write them.
"""

from typing import Annotated

from pydantic import BaseModel, Field

from queuefirst import Access, Entity, Only, Scaling


class BoardFields(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=100)]
    closed: bool = False


boards = Entity(
    name="boards",
    fields=BoardFields,
    children=("cards",),
    set_by_actions=("closed",),
    access=Access(readable_by_all=True),
    scaling=Scaling(batch_size=10, maximum_concurrency=2, memory_mb=256, timeout_seconds=15),
)

boards.action(
    "close",
    when=Only(closed=False, reason="the board is already closed"),
    asks=("cards.complete",),
    summary="Close the board; its open cards are completed",
)
