"""Boards' rules."""

from queuefirst import Decision, Empty, Row, accept

from . import BoardFields, boards


@boards.rule
def close(board: Row[BoardFields], given: Empty) -> Decision:
    return accept(closed=True).ask_children("cards", "complete", {"done": False})
