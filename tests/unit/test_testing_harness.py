"""The kit's test harness (`queuefirst.testing`) on the fixture app: what an application's own tests use."""

from __future__ import annotations

import random

from notes import application as notes
from queuefirst.model.command import Status
from queuefirst.testing import EntityRules, World


def test_entity_rules_run_the_declared_precondition_then_the_rule() -> None:
    boards = EntityRules.of(notes, "boards")
    closed = boards.given("b1", title="Todo").when("close")
    assert (closed.status, closed.changes) == (Status.APPLIED, {"closed": True})
    (ask,) = closed.sends
    assert (ask.entity, ask.op, ask.where) == ("cards", "complete", {"done": False})
    again = boards.given("b1", title="Todo", closed=True).when("close")
    assert (again.rejected, again.reason, again.sends) == (True, "the board is already closed", [])


def test_entity_rules_know_missing_rows_and_tombstones() -> None:
    boards = EntityRules.of(notes, "boards")
    assert boards.nothing("b9").when("close").reason == "no boards with id b9"
    assert boards.deleted("b1", title="Old").when_created(title="New").fields["title"] == "New"


def test_the_world_runs_every_command_and_cascade_through_the_real_batch_path() -> None:
    world = World(notes.registry(rules=True), rng=random.Random(3))
    world.write("boards", "create", "b1", title="Todo")
    world.settle()
    for key in ("c1", "c2"):
        world.write("cards", "create", key, board_id="b1", text=key)
    world.settle()
    close = world.write("boards", "close", "b1")
    world.settle()
    assert world.row("boards", "b1") == {"title": "Todo", "closed": True}
    assert world.row("cards", "c1")["done"] and world.row("cards", "c2")["done"]  # type: ignore[index]
    assert world.status("boards", close.command_id) is Status.APPLIED
    world.write("boards", "delete", "b1")
    world.settle()
    assert world.row("cards", "c1") is None and world.row("boards", "b1") is None


def test_the_world_stays_exact_when_sends_fail_and_deletes_are_lost() -> None:
    world = World(
        notes.registry(rules=True), rng=random.Random(5), send_failure_rate=0.3, lost_delete_rate=0.3
    )
    world.write("boards", "create", "b1", title="Todo")
    for n in range(10):
        world.write("cards", "create", f"c{n}", board_id="b1", text="x")
    world.write("boards", "close", "b1")
    world.settle()
    assert all(world.row("cards", f"c{n}")["done"] for n in range(10))  # type: ignore[index]
    assert any(report.failures for _, report in world.reports)  # it did fail along the way
