"""The kit's semantics, on rows in memory: what each command does to a lane (no I/O)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from notes import application as notes
from queuefirst.model.actions import Decision, Empty, Row, accept, reject
from queuefirst.model.command import Command, Scope, Status
from queuefirst.model.decider import DecideError, Decider
from queuefirst.model.entity import Entity
from queuefirst.model.preconditions import Only
from queuefirst.model.working import StoredRow, Working

REGISTRY = notes.registry(rules=True)
BOARDS, CARDS = REGISTRY["boards"], REGISTRY["cards"]
_versions = iter(range(1, 10_000))


def cmd(entity: Entity, op: str, key: str, payload: dict[str, Any] | None = None, **extra: Any) -> Command:
    parent = extra.pop("parent", None)
    if entity.parent_field and op == "create" and parent is None:
        parent = (payload or {})[entity.parent_field]
    return Command(
        command_id=uuid.uuid4(),
        entity=entity.name,
        op=op,
        key=key,
        parent=parent,
        version=extra.pop("version", next(_versions)),
        payload=payload or {},
        **extra,
    )


def apply(entity: Entity, working: Working, *commands: Command) -> list[Any]:
    decider = Decider(entity)
    return [decider.apply(working, c) for c in commands]


def test_create_then_update_then_delete_a_root_row() -> None:
    # GIVEN an empty lane
    working = Working()
    # WHEN a board is created, renamed and deleted
    created, updated, deleted = apply(
        BOARDS,
        working,
        cmd(BOARDS, "create", "b1", {"title": "Todo"}),
        cmd(BOARDS, "update", "b1", {"title": "Done"}),
        cmd(BOARDS, "delete", "b1"),
    )
    # THEN each applies, the row is a tombstone with the last title, and the delete cascades
    assert [created.status, updated.status, deleted.status] == [Status.APPLIED] * 3
    row = working.rows["b1"]
    assert (row.alive, row.values["title"], row.values["closed"]) == (False, "Done", False)
    (purge,) = deleted.sends
    assert (purge.entity, purge.op, purge.scope, purge.key) == ("cards", "delete", Scope.CHILDREN, "b1")
    assert purge.trail[-1].entity == "boards"


def test_a_second_create_of_a_live_row_is_rejected_with_its_reason() -> None:
    working = Working()
    first, second = apply(
        BOARDS,
        working,
        cmd(BOARDS, "create", "b1", {"title": "A"}),
        cmd(BOARDS, "create", "b1", {"title": "B"}),
    )
    assert (first.status, second.status) == (Status.APPLIED, Status.REJECTED)
    assert second.reason == "boards b1 already exists"
    assert working.rows["b1"].values["title"] == "A"


def test_updates_deletes_and_actions_on_a_missing_row_are_rejected() -> None:
    working = Working()
    results = apply(
        BOARDS,
        working,
        cmd(BOARDS, "update", "nope", {"title": "x"}),
        cmd(BOARDS, "delete", "nope"),
        cmd(BOARDS, "close", "nope"),
    )
    assert [r.status for r in results] == [Status.REJECTED] * 3
    assert all(r.reason == "no boards with id nope" for r in results)
    assert working.changed == set()


def test_an_action_decides_on_the_current_row_and_rejects_a_repeat() -> None:
    working = Working()
    _, first, again = apply(
        BOARDS,
        working,
        cmd(BOARDS, "create", "b1", {"title": "T"}),
        cmd(BOARDS, "close", "b1"),
        cmd(BOARDS, "close", "b1"),
    )
    assert first.status == Status.APPLIED and working.rows["b1"].values["closed"] is True
    (ask,) = first.sends
    assert (ask.entity, ask.op, ask.scope, ask.where) == (
        "cards",
        "complete",
        Scope.CHILDREN,
        {"done": False},
    )
    assert (again.status, again.reason) == (Status.REJECTED, "the board is already closed")


def test_a_children_scoped_command_reaches_the_matching_rows_under_its_parent_in_key_order() -> None:
    working = Working()
    apply(
        CARDS,
        working,
        cmd(CARDS, "create", "c2", {"text": "two", "board_id": "b1"}),
        cmd(CARDS, "create", "c1", {"text": "one", "board_id": "b1"}),
        cmd(CARDS, "create", "c9", {"text": "other board", "board_id": "b2"}),
    )
    apply(CARDS, working, cmd(CARDS, "complete", "c2", parent="b1"))
    scoped = cmd(CARDS, "complete", "b1", scope=Scope.CHILDREN, where={"done": False})
    (result,) = apply(CARDS, working, scoped)
    assert [(e.command.key, e.status) for e in result.entries] == [
        ("b1", Status.APPLIED),
        ("c1", Status.APPLIED),
    ]
    assert result.entries[1].cause == scoped.command_id
    assert working.rows["c1"].values["done"] and not working.rows["c9"].values["done"]


def test_a_card_created_before_its_boards_cascade_but_delivered_after_is_born_deleted() -> None:
    working = Working()
    purge = cmd(CARDS, "delete", "b1", scope=Scope.CHILDREN, version=20)
    apply(CARDS, working, purge)
    assert working.markers["b1"] == purge
    late = cmd(CARDS, "create", "c1", {"text": "late", "board_id": "b1"}, version=10)
    (born,) = apply(CARDS, working, late)
    assert [e.status for e in born.entries] == [Status.APPLIED, Status.APPLIED]
    assert born.entries[1].command.op == "delete" and born.entries[1].cause == purge.command_id
    assert working.rows["c1"].alive is False
    newer = cmd(CARDS, "create", "c2", {"text": "after", "board_id": "b1"}, version=30)
    apply(CARDS, working, newer)
    assert working.rows["c2"].alive is True


class Entry(BaseModel):
    text: str
    settled: bool = False


# A child whose rules refuse some deletes: a cascade leaves those rows where they are.
ENTRIES = Entity(
    name="entries", fields=Entry, parent="books", parent_field="book_id", set_by_actions=("settled",)
)
ENTRIES.action("settle")
ENTRIES.action("reopen")
ENTRIES.on_delete(when=Only(settled=False, reason="a settled entry is kept"))


@ENTRIES.rule
def settle(row: Row[Entry], given: Empty) -> Decision:
    return accept(settled=True)


@ENTRIES.rule
def reopen(row: Row[Entry], given: Empty) -> Decision:
    return accept(settled=False)


@ENTRIES.rule
def on_delete(row: Row[Entry]) -> Decision:
    return reject("a pinned entry is kept") if row.fields.text == "pinned" else accept()


def test_a_row_a_cascade_kept_is_deleted_by_it_once_its_rules_let_it_be_and_not_before() -> None:
    # GIVEN a settled entry, kept by its book's cascade (the delete refused)
    working = Working()
    apply(ENTRIES, working, cmd(ENTRIES, "create", "e1", {"text": "t", "book_id": "bk1"}, version=1))
    apply(ENTRIES, working, cmd(ENTRIES, "settle", "e1", parent="bk1", version=2))
    purge = cmd(ENTRIES, "delete", "bk1", scope=Scope.CHILDREN, version=10)
    (cascade,) = apply(ENTRIES, working, purge)
    assert [e.status for e in cascade.entries] == [Status.APPLIED, Status.REJECTED]
    assert working.rows["e1"].alive and working.kept == {"bk1": frozenset({"e1"})}
    # WHEN it changes and stays what its rules keep, it stays, and nothing more is recorded
    (renamed,) = apply(ENTRIES, working, cmd(ENTRIES, "update", "e1", {"text": "u"}, parent="bk1"))
    assert [e.status for e in renamed.entries] == [Status.APPLIED] and working.rows["e1"].alive
    # WHEN it changes into what the cascade deletes, the cascade deletes it, in the same command
    reopen = cmd(ENTRIES, "reopen", "e1", parent="bk1", version=20)
    (reopened,) = apply(ENTRIES, working, reopen)
    assert [(e.command.op, e.status, e.cause) for e in reopened.entries] == [
        ("reopen", Status.APPLIED, None),
        ("delete", Status.APPLIED, purge.command_id),
    ]
    assert reopened.entries[1].command.command_id == purge.for_row("e1", after=reopen.command_id).command_id
    assert not working.rows["e1"].alive and working.kept == {"bk1": frozenset()}


def test_a_row_created_after_the_cascade_is_not_the_cascades_to_judge() -> None:
    working = Working()
    apply(ENTRIES, working, cmd(ENTRIES, "delete", "bk1", scope=Scope.CHILDREN, version=10))
    apply(ENTRIES, working, cmd(ENTRIES, "create", "e2", {"text": "new", "book_id": "bk1"}, version=11))
    apply(ENTRIES, working, cmd(ENTRIES, "settle", "e2", parent="bk1", version=12))
    (reopened,) = apply(ENTRIES, working, cmd(ENTRIES, "reopen", "e2", parent="bk1", version=13))
    assert [e.status for e in reopened.entries] == [Status.APPLIED] and working.rows["e2"].alive


def test_a_row_born_under_a_cascade_its_rules_refuse_is_kept_and_judged_again() -> None:
    working = Working()
    apply(ENTRIES, working, cmd(ENTRIES, "delete", "bk1", scope=Scope.CHILDREN, version=10))
    (born,) = apply(
        ENTRIES, working, cmd(ENTRIES, "create", "e3", {"text": "pinned", "book_id": "bk1"}, version=5)
    )
    assert [e.status for e in born.entries] == [Status.APPLIED, Status.REJECTED]
    assert working.rows["e3"].alive and working.kept == {"bk1": frozenset({"e3"})}
    (unpinned,) = apply(ENTRIES, working, cmd(ENTRIES, "update", "e3", {"text": "plain"}, parent="bk1"))
    assert [e.status for e in unpinned.entries] == [Status.APPLIED, Status.APPLIED]
    assert not working.rows["e3"].alive


def test_undo_takes_back_what_a_command_kept_and_let_go() -> None:
    working = Working(kept={"bk1": frozenset({"e1"})})
    working.begin()
    working.let_go("bk1", "e1")
    working.keep("bk1", "e2")
    working.undo()
    assert working.kept == {"bk1": frozenset({"e1"})} and working.changed_markers == set()


def test_a_create_naming_another_parent_than_the_ids_first_is_rejected() -> None:
    working = Working()
    apply(
        CARDS,
        working,
        cmd(CARDS, "create", "c1", {"text": "x", "board_id": "b1"}),
        cmd(CARDS, "delete", "c1", parent="b1"),
    )
    (moved,) = apply(CARDS, working, cmd(CARDS, "create", "c1", {"text": "y", "board_id": "b2"}))
    assert moved.status == Status.REJECTED
    assert moved.reason == "cards c1 belongs to board_id=b1; a command naming board_id=b2 cannot apply"


class Thing(BaseModel):
    n: int = 0


def test_a_decide_function_that_breaks_its_contract_fails_and_changes_nothing() -> None:
    things = Entity(name="things", fields=Thing, set_by_actions=("n",))
    things.action("bump")
    things.action("stray")

    @things.rule
    def bump(row: Row[Thing], given: Empty) -> Decision:
        return accept(n="not a number")

    @things.rule
    def stray(row: Row[Thing], given: Empty) -> Decision:
        return accept().ask("strangers", "poke", "x1")

    working = Working(rows={"t": StoredRow("t", None, True, {"n": 1}, "s", True)})
    for op in ("bump", "stray"):
        with pytest.raises(DecideError):
            Decider(things).apply(working, cmd(things, op, "t"))
    assert working.rows["t"].values == {"n": 1} and working.changed == set()


def test_asks_are_derived_deterministically_from_the_command() -> None:
    board = cmd(BOARDS, "create", "b1", {"title": "T"})
    first, second = Working(), Working()
    apply(BOARDS, first, board)
    apply(BOARDS, second, board)
    close = cmd(BOARDS, "close", "b1")
    (a,) = apply(BOARDS, first, close)
    (b,) = apply(BOARDS, second, close)
    assert [c.to_json() for c in a.sends] == [c.to_json() for c in b.sends]
