"""One suite for the batch path's lane logic, run against every store adapter.

`BatchPathSuite` holds the tests; `tests/unit/test_batch_path.py` runs them on
the memory store, `tests/integration/test_batch_path.py` on PostgreSQL. Each
adapter gives the suite the same few handles (`Adapter`): its store, a way to
make it refuse a value as a constraint would, faults to raise at the end of
the next units, and what it holds afterwards. The sender records what it is
asked to send, and can refuse a send (as SQS unreachable does).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from queuefirst.model.actions import Decision, Empty, Row, accept, reject
from queuefirst.model.command import Command, Scope, Status
from queuefirst.model.entity import Entity
from queuefirst.model.errors import (
    QueuefirstError,
    SendError,
    StoreConflict,
    StoreUnavailable,
)
from queuefirst.runtime.sender import CommandSender
from queuefirst.store.port import BatchStore
from queuefirst.worker.batch import ATTEMPTS, BatchApplier
from queuefirst.worker.lanes import HELD_BACK, Done, Failed, Message, Report


class TaskFields(BaseModel):
    title: str
    done: bool = False


tasks = Entity(name="tasks", fields=TaskFields, children=("steps",), set_by_actions=("done",))
tasks.action("finish", asks=("steps.close",))
tasks.action("broken")


@tasks.rule
def finish(row: Row[TaskFields], given: Empty) -> Decision:
    if row.fields.done:
        return reject("the task is already done")
    return accept(done=True).ask_children("steps", "close")


@tasks.rule
def broken(row: Row[TaskFields], given: Empty) -> Any:
    return None  # not a Decision: a bug in the entity's rules, as the worker sees one


class Adapter(Protocol):
    store: BatchStore

    def refuse(self, title: str) -> None:
        """From now on, a row titled `title` is refused (a constraint)."""
        ...

    def fail_next(self, *errors: QueuefirstError) -> None:
        """Raise these, one per unit, as the next units end."""
        ...

    def titles(self) -> dict[str, str]:
        """Live rows: key -> title."""
        ...

    def failure_reasons(self) -> dict[str, list[str]]:
        """message id -> every reason recorded for it, oldest first."""
        ...


class RecordingSender(CommandSender):
    def __init__(self) -> None:
        self.sent: list[Command] = []
        self.refusals = 0

    def send(self, commands: Sequence[Command]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise SendError({str(c.command_id): "injected: the queue is unreachable" for c in commands})
        self.sent += commands


def command(op: str, key: str, version: int, **payload: Any) -> Command:
    return Command(command_id=uuid.uuid4(), entity="tasks", op=op, key=key, version=version, payload=payload)


def messages(*commands: Command) -> list[Message]:
    return [Message(f"m{i}", c.to_json(), c.lane) for i, c in enumerate(commands)]


class BatchPathSuite:
    def apply(self, adapter: Adapter, sender: RecordingSender, *commands: Command) -> Report:
        return BatchApplier(tasks, adapter.store, sender).apply(messages(*commands))

    def test_each_lane_applies_in_order_and_a_rejection_is_an_answer(self, adapter: Adapter) -> None:
        sender = RecordingSender()
        report = self.apply(
            adapter,
            sender,
            command("create", "a", 1, title="first"),
            command("update", "a", 2, title="second"),
            command("finish", "a", 3),
            command("finish", "a", 4),
            command("create", "b", 5, title="other"),
        )
        statuses = [o.status for o in report.outcomes.values() if isinstance(o, Done)]
        assert statuses == [Status.APPLIED] * 3 + [Status.REJECTED, Status.APPLIED]
        assert report.outcomes["m3"].reason == "the task is already done"  # type: ignore[union-attr]
        assert adapter.titles() == {"a": "second", "b": "other"}
        assert [(c.entity, c.op, c.scope) for c in sender.sent] == [("steps", "close", Scope.CHILDREN)]

    def test_a_command_that_cannot_be_decided_holds_back_the_rest_of_its_lane_only(
        self, adapter: Adapter
    ) -> None:
        report = self.apply(
            adapter,
            RecordingSender(),
            command("create", "a", 1, title="first"),
            command("broken", "a", 2),
            command("update", "a", 3, title="must wait"),
            command("create", "b", 4, title="another lane"),
        )
        outcomes = report.outcomes
        assert isinstance(outcomes["m0"], Done) and isinstance(outcomes["m3"], Done)
        assert isinstance(outcomes["m1"], Failed) and "not a Decision" in outcomes["m1"].reason
        assert outcomes["m2"] == Failed(HELD_BACK, outcomes["m2"].command)
        assert adapter.titles() == {"a": "first", "b": "another lane"}
        reasons = adapter.failure_reasons()
        assert set(reasons) == {"m1", "m2"} and reasons["m2"] == [HELD_BACK]

    def test_a_malformed_message_fails_with_its_reason_and_holds_back_its_lane_only(
        self, adapter: Adapter
    ) -> None:
        good = command("create", "b", 2, title="fine")
        batch = [
            Message("bad", "not a command", "a"),
            Message("later", command("create", "a", 1, title="waits").to_json(), "a"),
            Message("good", good.to_json(), "b"),
        ]
        report = BatchApplier(tasks, adapter.store, RecordingSender()).apply(batch)
        assert set(report.failures) == {"bad", "later"}
        assert report.failures["bad"].startswith("malformed command")
        assert report.failures["later"] == HELD_BACK
        assert adapter.titles() == {"b": "fine"}
        assert set(adapter.failure_reasons()) == {"bad", "later"}

    def test_a_redelivered_command_changes_nothing_and_re_sends_its_asks(self, adapter: Adapter) -> None:
        create, done = command("create", "a", 1, title="t"), command("finish", "a", 2)
        first = RecordingSender()
        self.apply(adapter, first, create, done)
        again = RecordingSender()
        report = self.apply(adapter, again, create, done)
        assert [o.status for o in report.outcomes.values()] == [Status.DUPLICATE] * 2  # type: ignore[union-attr]
        assert [c.to_json() for c in again.sent] == [c.to_json() for c in first.sent]

    def test_a_command_the_store_refuses_is_isolated_and_everything_before_it_applies(
        self, adapter: Adapter
    ) -> None:
        adapter.refuse("poison")
        report = self.apply(
            adapter,
            RecordingSender(),
            command("create", "a", 1, title="before"),
            command("update", "a", 2, title="poison"),
            command("finish", "a", 3),  # the row ends poisoned: refused as the batch commits
            command("create", "b", 4, title="other lane"),
        )
        assert set(report.failures) == {"m1", "m2"}
        assert report.failures["m1"].startswith("database refused the command: ")
        assert report.failures["m2"] == HELD_BACK
        assert adapter.titles() == {"a": "before", "b": "other lane"}
        assert adapter.failure_reasons()["m1"][0].startswith("database refused")

    def test_a_conflict_runs_the_transaction_again(self, adapter: Adapter) -> None:
        adapter.fail_next(StoreConflict("injected: deadlock detected"))
        report = self.apply(adapter, RecordingSender(), command("create", "a", 1, title="t"))
        assert report.failures == {}
        assert adapter.titles() == {"a": "t"}

    def test_conflicts_every_time_fail_the_batch_with_nothing_applied(self, adapter: Adapter) -> None:
        adapter.fail_next(*[StoreConflict("injected: deadlock detected")] * ATTEMPTS)
        report = self.apply(adapter, RecordingSender(), command("create", "a", 1, title="t"))
        assert report.failures["m0"].startswith(f"database conflict {ATTEMPTS} times running")
        assert adapter.titles() == {}

    def test_with_the_store_unavailable_every_message_fails_and_nothing_applies(
        self, adapter: Adapter
    ) -> None:
        adapter.fail_next(StoreUnavailable("injected: connection refused"))
        report = self.apply(
            adapter,
            RecordingSender(),
            command("create", "a", 1, title="t"),
            command("update", "a", 2, title="u"),
            command("create", "b", 3, title="v"),
        )
        assert report.failures == {
            "m0": "database unavailable: injected: connection refused",
            "m1": HELD_BACK,
            "m2": "database unavailable: injected: connection refused",
        }
        assert adapter.titles() == {}

    def test_asks_not_sent_cut_the_lane_after_the_commit_and_a_redelivery_sends_them(
        self, adapter: Adapter
    ) -> None:
        sender = RecordingSender()
        self.apply(
            adapter, sender, command("create", "a", 1, title="t"), command("create", "b", 2, title="u")
        )
        finish_a, later_a, finish_b = (
            command("finish", "a", 3),
            command("update", "a", 4, title="x"),
            command("finish", "b", 5),
        )
        sender.refusals = 1
        report = self.apply(adapter, sender, finish_a, later_a, finish_b)
        assert report.failures["m0"].startswith("asks not sent: ")
        assert report.failures["m1"] == HELD_BACK
        assert "m2" not in report.failures  # another lane: its asks went out
        assert adapter.titles() == {"a": "x", "b": "u"}  # committed before the send
        recorded = adapter.failure_reasons()
        assert recorded["m0"][-1].startswith("asks not sent") and recorded["m1"][-1] == HELD_BACK
        redelivered = self.apply(adapter, sender, finish_a, later_a)
        assert [o.status for o in redelivered.outcomes.values()] == [Status.DUPLICATE] * 2  # type: ignore[union-attr]
        assert [c.key for c in sender.sent if c.op == "close"] == ["b", "a"]
