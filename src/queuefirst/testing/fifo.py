"""SQS FIFO, simulated in memory, so a test (or Hypothesis) can choose every delivery.

This stands in for the queues only (the workers, their transactions and the
database are the real ones): a test cannot make a real SQS server pick a
chosen batch, fail a chosen delete or redeliver on cue. It keeps exactly
what SQS FIFO promises and nothing more:

- per queue, one message group (lane) at a time is handed out, its messages
  in the order the queue accepted them; a batch takes a prefix of each
  available lane, interleaved in any way;
- a message is gone only when deleted; a failed one, and everything behind it
  in its lane, comes back in order;
- a send may fail as a whole (nothing accepted), and a delete may be lost, so
  an applied message comes back as a duplicate.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from queuefirst.model.command import Command
from queuefirst.model.errors import SendError
from queuefirst.runtime.sender import CommandSender
from queuefirst.worker.batch import Message


@dataclass
class Queued:
    message_id: str
    command: Command


@dataclass
class FifoQueues:
    rng: random.Random
    send_failure_rate: float = 0.0
    lost_delete_rate: float = 0.0
    queues: dict[str, list[Queued]] = field(default_factory=dict)
    # Every lane's acceptance order, first copy of each command only: (entity, lane) -> ids.
    accepted: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _numbers: int = 0

    def accept(self, command: Command) -> None:
        self._numbers += 1
        self.queues.setdefault(command.entity, []).append(Queued(f"m{self._numbers}", command))
        order = self.accepted.setdefault((command.entity, command.lane), [])
        if str(command.command_id) not in order:
            order.append(str(command.command_id))

    def has_messages(self) -> bool:
        return any(self.queues.values())

    def batch(self, entity: str) -> list[Queued]:
        """Up to ten messages: a random prefix of each lane, lanes interleaved at random."""
        lanes: dict[str, list[Queued]] = {}
        for queued in self.queues.get(entity, []):
            lanes.setdefault(queued.command.lane, []).append(queued)
        picked = [lane[: self.rng.randint(1, len(lane))] for lane in lanes.values()]
        self.rng.shuffle(picked)
        chosen: list[Queued] = []
        while any(picked) and len(chosen) < 10:
            lane = self.rng.choice([p for p in picked if p])
            chosen.append(lane.pop(0))
        return chosen

    def settle(self, entity: str, batch: list[Queued], failed: set[str]) -> None:
        """Delete what succeeded (unless the delete is lost); the rest stays, in order."""
        gone = {
            q.message_id
            for q in batch
            if q.message_id not in failed and self.rng.random() >= self.lost_delete_rate
        }
        self.queues[entity] = [q for q in self.queues[entity] if q.message_id not in gone]

    @staticmethod
    def messages(batch: list[Queued]) -> list[Message]:
        return [Message(q.message_id, q.command.to_json(), q.command.lane) for q in batch]


class FifoSender(CommandSender):
    """A worker's sender into the simulated queues; a whole send may fail."""

    def __init__(self, queues: FifoQueues) -> None:
        self.fifo = queues
        self.sent: list[Command] = []

    def send(self, commands: Sequence[Command]) -> None:
        if self.fifo.rng.random() < self.fifo.send_failure_rate:
            raise SendError({str(c.command_id): "injected: the queue refused" for c in commands})
        for command in commands:
            self.fifo.accept(command)
            self.sent.append(command)
