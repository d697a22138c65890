"""One line of an entity's command log: a command and what became of it.

The log is the exactly-once record (a command found in it is a duplicate), each
row's history, and the outbox of the asks each command sent, re-sent exactly as
they were when SQS redelivers the command.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from queuefirst.model.command import Command, Status


@dataclass(frozen=True)
class LogEntry:
    command: Command
    status: Status
    reason: str | None = None
    # For the per-row entries of a children-scoped command: that command's id.
    cause: uuid.UUID | None = None
    outbox: tuple[Command, ...] = ()
