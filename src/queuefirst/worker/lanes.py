"""A batch as lanes: each FIFO message group's messages in queue order, and where the lane is cut.

SQS hands a message group's messages back in order only if nothing after a
failed message is deleted, so a failure holds back the rest of its lane: once
one message of a lane fails, every later one of it in the batch fails too.
That rule lives here alone. Each phase of the batch path (decode, apply,
send) works on the items before a lane's cut and cuts the lane where one
fails; what is behind the cut is reported "held back", whatever a phase had
done with it (an applied command whose lane was cut before its asks went out
is redelivered, found in the log, and its asks re-sent).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from queuefirst.model.command import Command, Status

HELD_BACK = "held back: an earlier command of its lane failed in this batch"


@dataclass(frozen=True)
class Message:
    message_id: str
    body: str
    group: str | None = None  # the FIFO message group, when the queue said


@dataclass(frozen=True)
class Done:
    """The command is settled: applied, rejected with its reason, or a duplicate."""

    command: Command
    status: Status
    reason: str | None = None
    asks: tuple[Command, ...] = ()


@dataclass(frozen=True)
class Failed:
    """The message goes back to the queue (and, after enough tries, to its dead letters)."""

    reason: str
    command: Command | None = None


Outcome = Done | Failed


@dataclass(frozen=True)
class Item:
    message: Message
    command: Command | None = None  # None until decoded (and for good if it cannot be)


@dataclass
class Lane:
    id: str
    items: list[Item]
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    cut: int | None = None  # the first failed item; everything from here on fails

    def open(self) -> Iterator[tuple[int, Item]]:
        """The items before the cut, with their places in the lane."""
        end = len(self.items) if self.cut is None else self.cut
        yield from enumerate(self.items[:end])

    def settle(self, index: int, outcome: Done) -> None:
        self.outcomes[index] = outcome

    def fail(self, index: int, reason: str) -> None:
        """Cut the lane here: this item fails for `reason`, every later one is held back."""
        if self.cut is not None and self.cut <= index:
            return  # already behind an earlier failure
        self.cut = index
        self.outcomes[index] = Failed(reason, self.items[index].command)

    def outcome(self, index: int) -> Outcome:
        command = self.items[index].command
        if self.cut is not None and index > self.cut:
            return Failed(HELD_BACK, command)
        return self.outcomes.get(index) or Failed("not processed", command)

    def copy(self) -> Lane:
        """A working copy for one attempt at a transaction: kept only if it commits."""
        return replace(self, items=list(self.items), outcomes=dict(self.outcomes))

    def part(self, index: int) -> Lane:
        """The lane's item `index` alone, as a lane of its own (to find a poison command)."""
        return Lane(self.id, [self.items[index]])

    @property
    def commands(self) -> list[Command]:
        return [item.command for _, item in self.open() if item.command is not None]


def into_lanes(messages: Iterable[Message]) -> list[Lane]:
    """Messages grouped by message group (a message without one is a lane of its own), in order."""
    lanes: dict[str, Lane] = {}
    for message in messages:
        lane_id = message.group or message.message_id
        lanes.setdefault(lane_id, Lane(lane_id, [])).items.append(Item(message))
    return list(lanes.values())


def failing(lanes: Sequence[Lane], reason: str) -> list[Lane]:
    """Every lane cut at its first open item: the whole batch back to the queue."""
    out = [lane.copy() for lane in lanes]
    for lane in out:
        first = next(lane.open(), None)
        if first is not None:
            lane.fail(first[0], reason)
    return out


@dataclass(frozen=True)
class Report:
    """Each message's outcome, in the batch's order."""

    outcomes: dict[str, Outcome]

    @classmethod
    def of(cls, messages: Sequence[Message], lanes: Sequence[Lane]) -> Report:
        found = {
            item.message.message_id: lane.outcome(index)
            for lane in lanes
            for index, item in enumerate(lane.items)
        }
        return cls({m.message_id: found[m.message_id] for m in messages})

    @property
    def failures(self) -> dict[str, str]:
        return {m: o.reason for m, o in self.outcomes.items() if isinstance(o, Failed)}
