"""Boards' rules."""

from notes.entities.boards import BoardFields, boards
from queuefirst import Decision, Empty, Row, accept


@boards.rule
def close(board: Row[BoardFields], given: Empty) -> Decision:
    return accept(closed=True).ask_children("cards", "complete", {"done": False})
