"""The command envelope: lanes, stamps, and asks derived deterministically."""

import uuid

import pytest
from pydantic import ValidationError

from queuefirst.api.versioning import VersionClock, new_id
from queuefirst.model.command import Command, Scope


def command(version: int, command_id: uuid.UUID | None = None) -> Command:
    return Command(
        command_id=command_id or uuid.uuid4(), entity="customers", op="delete", key="c1", version=version
    )


def test_stamp_orders_by_version_then_command_id() -> None:
    low, high = uuid.UUID(int=1), uuid.UUID(int=2)
    assert command(9).stamp < command(10).stamp  # numeric, not lexical, order
    assert command(5, low).stamp < command(5, high).stamp
    assert command(6, low).stamp > command(5, high).stamp


def test_json_round_trip_is_exact() -> None:
    original = command(42)
    assert Command.from_json(original.to_json()) == original
    assert Command.from_json(original.to_json()).to_json() == original.to_json()


def test_unknown_envelope_fields_are_refused() -> None:
    body = command(1).model_dump(mode="json") | {"surprise": 1}
    with pytest.raises(ValidationError):
        Command.model_validate(body)


def test_an_ask_is_byte_identical_on_every_derivation() -> None:
    parent = command(7)
    ask = {"entity": "orders", "op": "delete", "key": "c1", "label": "0:orders/children/c1/delete"}
    first = parent.derive(**ask, scope=Scope.CHILDREN)
    again = Command.from_json(parent.to_json()).derive(**ask, scope=Scope.CHILDREN)
    assert first.to_json() == again.to_json()
    assert first.version == parent.version
    assert first.command_id == uuid.uuid5(parent.command_id, "0:orders/children/c1/delete")
    assert [s.entity for s in first.trail] == ["customers"]
    assert first.visited("customers") and not first.visited("orders")
    assert first.producer is not None and first.producer.kind == "worker"


def test_the_lane_is_the_parent_of_a_childs_row_and_the_key_otherwise() -> None:
    root = command(1)
    child = Command(command_id=uuid.uuid4(), entity="orders", op="pay", key="o1", parent="c1", version=1)
    scoped = child.model_copy(update={"scope": Scope.CHILDREN, "key": "c1", "parent": None})
    assert (root.lane, child.lane, scoped.lane) == ("c1", "c1", "c1")


def test_a_chain_keeps_the_stamp_of_the_command_that_started_it() -> None:
    start = command(7)
    ask = start.derive(entity="orders", op="delete", key="c1", label="x", scope=Scope.CHILDREN)
    deeper = ask.derive(entity="order_items", op="delete", key="o1", label="y", scope=Scope.CHILDREN)
    assert start.stamp == ask.stamp == deeper.stamp


def test_a_row_reached_by_a_scoped_command_gets_its_own_derived_id() -> None:
    scoped = Command(
        command_id=uuid.uuid4(), entity="orders", op="delete", key="c1", scope=Scope.CHILDREN, version=3
    )
    row = scoped.for_row("o1")
    assert (row.key, row.parent, row.scope, row.lane) == ("o1", "c1", Scope.ROW, "c1")
    assert row.command_id == uuid.uuid5(scoped.command_id, "row/o1") == scoped.for_row("o1").command_id
    born = scoped.for_row("o1", born=uuid.UUID(int=5))
    after = scoped.for_row("o1", after=uuid.UUID(int=5))  # a kept row judged again after a change
    assert len({row.command_id, born.command_id, after.command_id}) == 3
    assert after.command_id == uuid.uuid5(scoped.command_id, f"row/o1/after/{uuid.UUID(int=5)}")


def test_version_clock_is_strictly_increasing_even_when_time_stands_still() -> None:
    clock = VersionClock(now_ns=lambda: 1_000_000_000)
    versions = [clock.next() for _ in range(1000)]
    assert versions == sorted(set(versions))
    assert versions[0] == 1_000_000


def test_version_clock_survives_time_going_backwards() -> None:
    times = iter([5_000_000_000, 4_000_000_000, 6_000_000_000])
    clock = VersionClock(now_ns=lambda: next(times))
    a, b, c = clock.next(), clock.next(), clock.next()
    assert a < b < c


def test_new_ids_are_time_ordered_uuid7() -> None:
    ids = [new_id() for _ in range(50)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)
