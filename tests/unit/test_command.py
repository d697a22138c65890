"""The command envelope: stamps order commands; derived children are deterministic."""

import uuid

import pytest
from pydantic import ValidationError

from queuefirst.api.versioning import VersionClock, new_id
from queuefirst.model.command import Command, Op


def command(version: int, command_id: uuid.UUID | None = None) -> Command:
    return Command(
        command_id=command_id or uuid.uuid4(), entity="customers", op=Op.DELETE, key="c1", version=version
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


def test_derived_child_is_byte_identical_on_every_derivation() -> None:
    parent = command(7)
    first = parent.derive(entity="orders", op=Op.PURGE, key="c1")
    again = Command.from_json(parent.to_json()).derive(entity="orders", op=Op.PURGE, key="c1")
    assert first.to_json() == again.to_json()
    assert first.version == parent.version
    assert first.command_id == uuid.uuid5(parent.command_id, "orders/c1")
    assert [s.entity for s in first.trail] == ["customers"]
    assert first.visited("customers") and not first.visited("orders")


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
