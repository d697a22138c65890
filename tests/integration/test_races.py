"""What concurrent worker invocations must not break.

FIFO queues never hand one lane to two invocations at once, but two
invocations do run side by side on other lanes, and SQS may deliver one
message twice at once when its visibility timeout runs out mid-batch. Here
two threads, each with its own connection to the real PostgreSQL, apply at
the same moment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from queuefirst.model.command import Command, Status
from queuefirst.model.registry import Registry
from queuefirst.runtime.sender import CommandSender
from queuefirst.store.database import Database
from queuefirst.store.entity_store import EntityStore
from queuefirst.worker.batch import BatchApplier, Done, Message
from tests.helpers import command, log, rows

pytestmark = pytest.mark.integration


class Unsent(CommandSender):
    """No queue: these commands ask nothing."""

    def __init__(self) -> None:
        self.sent: list[Command] = []

    def send(self, commands: Any) -> None:
        self.sent.extend(commands)


def at_once(*jobs: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        barrier.wait()
        results[index] = job()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def applying(url: str, notes: Registry, entity: str, *commands: Command) -> Callable[[], list[Done]]:
    def job() -> list[Done]:
        database = Database(url)
        try:
            applier = BatchApplier(notes[entity], EntityStore(notes[entity], database), Unsent())
            report = applier.apply([Message(str(i), c.to_json(), c.lane) for i, c in enumerate(commands)])
        finally:
            database.close()
        outcomes = list(report.outcomes.values())
        assert all(isinstance(o, Done) for o in outcomes), outcomes
        return outcomes  # type: ignore[return-value]

    return job


@pytest.mark.parametrize("attempt", range(5))
def test_two_creates_of_one_id_under_different_parents_apply_exactly_one(
    attempt: int, notes_db: Database, notes_url: str, notes: Registry
) -> None:
    cards = notes["cards"]
    first = command(cards, "create", "c1", {"text": "first", "board_id": "b1"})
    second = command(cards, "create", "c1", {"text": "second", "board_id": "b2"})

    ([a], [b]) = at_once(
        applying(notes_url, notes, "cards", first), applying(notes_url, notes, "cards", second)
    )

    assert sorted([a.status, b.status]) == [Status.APPLIED, Status.REJECTED]
    winner, loser = (first, b) if a.status == Status.APPLIED else (second, a)
    assert rows(notes_db, "cards")["c1"]["text"] == winner.payload["text"]
    assert loser.reason == "cards c1 already exists"


@pytest.mark.parametrize("attempt", range(5))
def test_one_command_delivered_twice_at_once_applies_once(
    attempt: int, notes_db: Database, notes_url: str, notes: Registry
) -> None:
    boards = notes["boards"]
    create = command(boards, "create", "b1", {"title": "T"})
    applying(notes_url, notes, "boards", create)()
    close = command(boards, "close", "b1")

    ([a], [b]) = at_once(
        applying(notes_url, notes, "boards", close), applying(notes_url, notes, "boards", close)
    )

    assert sorted([a.status, b.status]) == [Status.APPLIED, Status.DUPLICATE]
    assert [e["op"] for e in log(notes_db, "boards")] == ["create", "close"]
    # Both re-send the same asks; the receiving queue and worker keep one.
    assert (a.asks or b.asks) and [c.to_json() for c in a.asks or b.asks] == [
        c.to_json() for c in (b.asks or a.asks)
    ]
