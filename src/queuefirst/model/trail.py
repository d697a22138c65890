"""A command's trail: the chain that led to it, down the graph and back up, read as a stack.

Each step is a command that caused the next. A step going down (an ask, a
cascade, an admission) opens an ask; a step that `answered` closes the ask
open above it and hands the chain back to that asker's row. So the open asks
form a stack: an answer goes to the step it closes, and a command's own asker
(the row its answer would go to) is the top of the stack its trail leaves.

The rules that keep every chain finite, checked here on each command a worker
takes: a command going down never reaches an entity its trail passed, and
never follows an answer (a handler reached by an answer sends nothing down);
an answer goes exactly to the row whose ask it closes. With an acyclic graph,
a chain goes down at most the graph's depth, then up at most as far.
"""

from __future__ import annotations

from collections.abc import Sequence

from queuefirst.model.command import Command, TrailStep


class TrailError(ValueError):
    """The trail breaks the rules of chains: the reason says which."""


def open_asks(trail: Sequence[TrailStep]) -> list[TrailStep]:
    """The steps whose asks are still open, oldest first (the last is the current asker)."""
    stack: list[TrailStep] = []
    for index, step in enumerate(trail):
        if step.answered:
            if not stack:
                raise TrailError(f"step {index} ({step.entity}) answers, but nothing asked it")
            stack.pop()
        else:
            stack.append(step)
    return stack


def asker(trail: Sequence[TrailStep]) -> TrailStep | None:
    """The row that asked for the command with this trail (None: the chain's first command)."""
    stack = open_asks(trail)
    return stack[-1] if stack else None


def check_down(entity: str, command: Command) -> None:
    """A command going down to `entity`: it may not come back, nor follow an answer."""
    path = " -> ".join(step.entity for step in command.trail)
    if any(step.answered for step in command.trail):
        raise TrailError(f"a command reached by an answer may not go down: {path} -> {entity}")
    if any(step.entity == entity for step in command.trail):
        raise TrailError(f"causation trail revisits {entity}: {path} -> {entity}")


def check_answer(entity: str, command: Command) -> None:
    """An answer to `entity`: it closes the ask of this very row."""
    trail = command.trail
    if not trail or not trail[-1].answered:
        raise TrailError(f"{command.op} answers, but its trail ends with no answering step")
    stack = open_asks(trail[:-1])
    if not stack:
        raise TrailError(f"{command.op} answers {entity}, which asked nothing in its trail")
    closing = stack[-1]
    if (closing.entity, closing.key) != (entity, command.key):
        raise TrailError(
            f"{command.op} answers {closing.entity} {closing.key}'s ask, but reached {entity} {command.key}"
        )
